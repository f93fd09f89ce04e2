import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyCell, formatNumber, scan, scanDecimal } from '../../src-main/formats/numbers.js';
import { random } from './helpers.js';

const encoder = new TextEncoder();
const read = (text: string) => {
  const v = scanDecimal(encoder.encode(text + '\n'), 0, 46);
  assert.equal(scan.end, text.length, `${text} read to its end`);
  return v;
};

test('scanDecimal agrees with Number() bit for bit on random decimal texts', () => {
  const rnd = random(2024);
  const int = (n: number) => Math.floor(rnd() * n);
  for (let k = 0; k < 100_000; k++) {
    const length = 1 + int(22);
    let digits = String(1 + int(9));
    for (let d = 1; d < length; d++) digits += int(10);
    const point = int(length + 1);
    let text = point === length ? digits : `${digits.slice(0, point)}.${digits.slice(point)}`;
    if (point === 0) text = `0${text}`;
    if (rnd() < 0.5) text += `e${int(2) ? '-' : '+'}${int(80)}`;
    if (rnd() < 0.3) text = `-${text}`;
    assert.ok(Object.is(read(text), Number(text)), text);
  }
});

test('scanDecimal agrees with Number() on how JavaScript, numpy and pandas print doubles', () => {
  const rnd = random(99);
  for (let k = 0; k < 50_000; k++) {
    const x = rnd() * 10 ** Math.floor(rnd() * 80 - 40);
    for (const text of [String(x), x.toExponential(18), x.toPrecision(17), x.toFixed(6)]) assert.ok(Object.is(read(text), Number(text)), text);
  }
});

/** The exact decimal expansion of (2m+1)·2^(e−1): the point halfway between a double and the next one. */
function halfway(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
  const exponent = Number((bits >> 52n) & 0x7ffn) - 1075;
  const m = 2n * mantissa + 1n;
  const e = exponent - 1;
  if (e >= 0) return (m << BigInt(e)).toString();
  const digits = (m * 5n ** BigInt(-e)).toString();
  const whole = digits.length + e;
  return whole > 0 ? `${digits.slice(0, whole)}.${digits.slice(whole)}` : `0.${'0'.repeat(-whole)}${digits}`;
}

test('scanDecimal rounds correctly on decimals cut from the exact halfway points between doubles', () => {
  const rnd = random(31);
  let checked = 0;
  for (let k = 0; k < 5_000; k++) {
    const exact = halfway(rnd() * 10 ** Math.floor(rnd() * 30 - 15));
    const significant = exact.replace('.', '').replace(/^0+/, '');
    const lead = exact.length - exact.replace(/^0\.?0*/, '').length;
    for (const n of [16, 17, 18, 19, 25]) {
      // the expansion cut to n significant digits, and the next n-digit decimal above it
      for (const cut of [significant.slice(0, n), (BigInt(significant.slice(0, n)) + 1n).toString()]) {
        if (cut.length !== Math.min(n, significant.length)) continue;
        const digits = exact.replace('.', '');
        const point = exact.indexOf('.') < 0 ? exact.length : exact.indexOf('.');
        const full = (digits.slice(0, lead > 0 ? lead - 1 : 0) + cut).padEnd(Math.max(point, 1), '0');
        const text = lead > 0 ? `0.${full.slice(1)}` : full.length > point ? `${full.slice(0, point)}.${full.slice(point)}` : full;
        assert.ok(Object.is(read(text), Number(text)), text);
        checked++;
      }
    }
    assert.ok(Object.is(read(exact), Number(exact)), exact);
  }
  assert.ok(checked > 20_000);
});

test('decimal commas are read where asked for', () => {
  const b = encoder.encode('3,25;\n');
  assert.equal(scanDecimal(b, 0, 44), 3.25);
  assert.equal(scan.end, 4);
  const long = encoder.encode('0,12345678901234567890123\n');
  assert.equal(scanDecimal(long, 0, 44), 0.12345678901234568);
});

test('classifyCell tells numbers, missing markers, infinities and text apart', () => {
  assert.equal(classifyCell('1.5'), 'number');
  assert.equal(classifyCell('1,5', 44), 'number');
  assert.equal(classifyCell('1,5'), 'text');
  for (const m of ['', 'NaN', 'nan', 'NA', 'N/A', '#N/A', 'null']) assert.equal(classifyCell(m), 'missing', m);
  for (const i of ['inf', '-Inf', 'Infinity', '1e999']) assert.equal(classifyCell(i), 'infinite', i);
  for (const t of ['abc', '1.2.3', '0x10', '1e', '--1', '1 2']) assert.equal(classifyCell(t), 'text', t);
});

test('formatNumber: shortest round trip for float64 and float32', () => {
  assert.equal(formatNumber(0.1), '0.1');
  assert.equal(formatNumber(NaN), '');
  assert.equal(formatNumber(1e21), '1e+21');
  assert.equal(formatNumber(Math.fround(0.1), 'float32'), '0.1');
  assert.equal(formatNumber(Math.fround(1 / 3), 'float32'), '0.33333334');
  assert.equal(formatNumber(Math.fround(3.4e38), 'float32'), '3.4e+38');
  assert.equal(formatNumber(2 ** -149, 'float32'), '1e-45');
  assert.equal(formatNumber(Math.fround(1e-7), 'float32'), '1e-7');
  assert.equal(formatNumber(Math.fround(-2.5e-6), 'float32'), '-0.0000025');
  assert.equal(formatNumber(Math.fround(1.5e20), 'float32'), '150000000000000000000');
  assert.equal(formatNumber(Math.fround(1.5e21), 'float32'), '1.5e+21');
  assert.equal(formatNumber(33554432, 'float32'), '33554432'); // 3.355443e7 would name it too, but is not shorter
  const rnd = random(8);
  for (let k = 0; k < 20_000; k++) {
    const v = Math.fround(rnd() * 10 ** Math.floor(rnd() * 60 - 30));
    const text = formatNumber(v, 'float32');
    assert.equal(Math.fround(Number(text)), v, text);
    assert.equal(text, String(Number(text)), 'written the way JavaScript writes that number');
    // no shorter precision names the same float32
    let shortest = 1;
    while (Math.fround(Number(v.toPrecision(shortest))) !== v) shortest++;
    const digits = Number(text).toExponential().replace(/e.*$/, '').replace(/[-.]/g, '');
    assert.equal(digits.length, shortest, `${v} written as ${text}`);
  }
});
