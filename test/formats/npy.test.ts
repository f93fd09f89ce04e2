import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { encodeNpy, parseNpy } from '../../src-main/formats/index.js';
import { fixture } from '../helpers/paths.js';
import { assertMessage, elements, npyBytes, random, userError } from './helpers.js';

const f64 = (v: DataView, o: number, x: number, le: boolean) => v.setFloat64(o, x, le);
const f32 = (v: DataView, o: number, x: number, le: boolean) => v.setFloat32(o, x, le);

test('float64 C-order arrays written by numpy.save read back exactly', () => {
  const manifest = JSON.parse(readFileSync(fixture('sklearn', 'manifest.json'), 'utf8')) as { cases: { name: string; shape: [number, number] }[] };
  const first = manifest.cases[0]!;
  const bytes = readFileSync(fixture('sklearn', first.name, 'V.npy'));
  const r = parseNpy(bytes, 'V.npy');
  assert.deepEqual([r.matrix.rows, r.matrix.cols], first.shape);
  assert.equal(r.dtype, 'float64');
  assert.equal(r.sourceDtype, 'float64');
  assert.equal(r.format, 'npy');
  assert.ok(r.matrix.data instanceof Float64Array);
  // The same values as numpy stored them, in C order right after the 64-byte-aligned header.
  const raw = new Float64Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + 128 + first.shape[0] * first.shape[1] * 8));
  assert.deepEqual(r.matrix.data, raw);
  // and the encoder reproduces numpy's file byte for byte
  assert.deepEqual(encodeNpy(r.matrix), new Uint8Array(bytes));
});

test('float32 stays float32; float64 stays float64', () => {
  const r = parseNpy(npyBytes({ descr: '<f4', shape: [2, 2], data: elements([0.1, 0.2, 0.5, 3], 4, f32) }), 'a.npy');
  assert.equal(r.dtype, 'float32');
  assert.ok(r.matrix.data instanceof Float32Array);
  assert.deepEqual(Array.from(r.matrix.data), [0.1, 0.2, 0.5, 3].map(Math.fround));
  const d = parseNpy(npyBytes({ descr: '<f8', shape: [1, 2], data: elements([0.1, 0.2], 8, f64) }), 'b.npy');
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(Array.from(d.matrix.data), [0.1, 0.2]);
});

test('Fortran order is transposed into the row-major matrix', () => {
  // the 2×3 matrix [[1,2,3],[4,5,6]] stored column by column
  const column = [1, 4, 2, 5, 3, 6];
  for (const [descr, size, set] of [
    ['<f8', 8, f64],
    ['<f4', 4, f32],
    ['>f8', 8, (v: DataView, o: number, x: number) => v.setFloat64(o, x, false)],
    ['<i2', 2, (v: DataView, o: number, x: number) => v.setInt16(o, x, true)],
  ] as const) {
    const r = parseNpy(npyBytes({ descr, shape: [2, 3], fortran: true, data: elements(column, size, set) }), 'f.npy');
    assert.deepEqual(Array.from(r.matrix.data), [1, 2, 3, 4, 5, 6], descr);
  }
});

test('big-endian floats and integers', () => {
  const vals = [0.25, 1e-300, 7, 123456.789];
  const be = parseNpy(npyBytes({ descr: '>f8', shape: [2, 2], data: elements(vals, 8, f64, false) }), 'be.npy');
  assert.deepEqual(Array.from(be.matrix.data), vals);
  const be32 = parseNpy(npyBytes({ descr: '>f4', shape: [1, 4], data: elements(vals, 4, f32, false) }), 'be.npy');
  assert.equal(be32.dtype, 'float32');
  assert.deepEqual(Array.from(be32.matrix.data), vals.map(Math.fround));
  const i32 = parseNpy(npyBytes({ descr: '>i4', shape: [1, 2], data: elements([70000, 3], 4, (v, o, x, le) => v.setInt32(o, x, le), false) }), 'i.npy');
  assert.deepEqual(Array.from(i32.matrix.data), [70000, 3]);
});

test('integer, unsigned, bool and float16 dtypes', () => {
  const cases: [string, number, (v: DataView, o: number, x: number, le: boolean) => void, number[], string][] = [
    ['|i1', 1, (v, o, x) => v.setInt8(o, x), [0, 127], 'int8'],
    ['|u1', 1, (v, o, x) => v.setUint8(o, x), [0, 255], 'uint8'],
    ['<i2', 2, (v, o, x, le) => v.setInt16(o, x, le), [1, 32767], 'int16'],
    ['<u2', 2, (v, o, x, le) => v.setUint16(o, x, le), [1, 65535], 'uint16'],
    ['<i4', 4, (v, o, x, le) => v.setInt32(o, x, le), [5, 2147483647], 'int32'],
    ['<u4', 4, (v, o, x, le) => v.setUint32(o, x, le), [5, 4294967295], 'uint32'],
    ['<i8', 8, (v, o, x, le) => v.setBigInt64(o, BigInt(x), le), [5, 2 ** 53], 'int64'],
    ['>u8', 8, (v, o, x, le) => v.setBigUint64(o, BigInt(x), le), [5, 2 ** 60], 'uint64'],
    ['|b1', 1, (v, o, x) => v.setUint8(o, x), [1, 0], 'bool'],
    ['<f2', 2, (v, o, x, le) => v.setUint16(o, x, le), [0x3c00, 0x3800], 'float16'], // 1.0, 0.5
  ];
  for (const [descr, size, set, vals, name] of cases) {
    const le = !descr.startsWith('>');
    const r = parseNpy(npyBytes({ descr, shape: [1, 2], data: elements(vals, size, set, le) }), 'i.npy');
    assert.equal(r.sourceDtype, name);
    const expected = name === 'float16' ? [1, 0.5] : vals;
    assert.deepEqual(Array.from(r.matrix.data), expected, descr);
    assert.equal(r.dtype, name === 'float16' ? 'float32' : 'float64', descr);
  }
});

test('format versions 2.0 and 3.0 (4-byte header length; UTF-8 header)', () => {
  for (const version of [[2, 0], [3, 0]] as [number, number][]) {
    const r = parseNpy(npyBytes({ descr: '<f8', shape: [1, 3], version, data: elements([1, 2, 3], 8, f64) }), 'v.npy');
    assert.deepEqual(Array.from(r.matrix.data), [1, 2, 3]);
  }
  assertMessage(userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [1, 1], version: [4, 0], data: elements([1], 8, f64) }), 'v.npy')), 'v.npy: .npy format version 4.0 is not supported');
});

test('NaN entries are missing; negatives and infinities are refused with row and column', () => {
  const data = elements([1, NaN, 3, NaN, 5, 6], 8, f64);
  const r = parseNpy(npyBytes({ descr: '<f8', shape: [2, 3], data }), 'm.npy');
  assert.equal(r.missing, 2);
  const neg = userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [2, 3], data: elements([1, 2, 3, 4, -0.5, 6], 8, f64) }), 'data.npy'));
  assert.equal(neg.message, 'data.npy: row 2, column 2: negative value -0.5 (use --clip-negative to set negatives to 0)');
  // Fortran order reports the position in the matrix, not in the file
  const negF = userError(() => parseNpy(npyBytes({ descr: '<f4', shape: [2, 3], fortran: true, data: elements([1, 2, 3, -0.1, 5, 6], 4, f32) }), 'data.npy'));
  assert.equal(negF.message, 'data.npy: row 2, column 2: negative value -0.1 (use --clip-negative to set negatives to 0)');
  const negInt = userError(() => parseNpy(npyBytes({ descr: '<i2', shape: [1, 2], data: elements([3, -7], 2, (v, o, x, le) => v.setInt16(o, x, le)) }), 'data.npy'));
  assertMessage(negInt, 'row 1, column 2: negative value -7');
  const inf = userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [1, 2], data: elements([3, -Infinity], 8, f64) }), 'data.npy', { clipNegative: true }));
  assert.equal(inf.message, 'data.npy: row 1, column 2: infinite value -Infinity (values must be finite numbers)');
  const clipped = parseNpy(npyBytes({ descr: '<f4', shape: [1, 3], data: elements([-1, 2, -3], 4, f32) }), 'data.npy', { clipNegative: true });
  assert.equal(clipped.clipped, 2);
  assert.deepEqual(Array.from(clipped.matrix.data), [0, 2, 0]);
});

test('bad magic, truncation, absurd shapes and headers are refused before allocating', () => {
  assert.equal(userError(() => parseNpy(new Uint8Array(0), 'e.npy')).message, 'e.npy: the file is empty');
  assertMessage(userError(() => parseNpy(new TextEncoder().encode('1,2,3\n4,5,6\n'), 'data.npy')), 'data.npy: not a .npy file', 'looks like text');
  assertMessage(userError(() => parseNpy(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0, 0, 0]), 'p.npy')), 'not a .npy file', 'PNG image');
  const full = npyBytes({ descr: '<f8', shape: [3, 4], data: elements(new Array(12).fill(1), 8, f64) });
  const cut = userError(() => parseNpy(full.subarray(0, full.length - 9), 'data.npy'));
  assertMessage(cut, 'data.npy: truncated .npy file', '3×4 float64 values (96 bytes)', '87 bytes');
  assertMessage(userError(() => parseNpy(full.subarray(0, 40), 'data.npy')), 'truncated .npy file: the header');
  // a header claiming a huge array: refused on the claim, not on a failed allocation
  const huge = userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [1000000, 1000000], data: new Uint8Array(8) }), 'huge.npy'));
  assertMessage(huge, 'huge.npy: the header claims 1,000,000×1,000,000', 'more than the 2,147,483,648 supported');
  const bigger = userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [40000, 40000], data: new Uint8Array(64) }), 'big.npy'));
  assertMessage(bigger, 'truncated .npy file', '40,000×40,000');
  const broken = new Uint8Array(64);
  broken.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  broken[8] = 50;
  broken.fill(0x41, 10);
  assertMessage(userError(() => parseNpy(broken, 'h.npy')), 'h.npy: the .npy header is not readable');
});

test('unsupported dtypes and shapes each get their own line', () => {
  const one = (descr: string, size = 8) => npyBytes({ descr, shape: [1, 1], data: new Uint8Array(size) });
  assertMessage(userError(() => parseNpy(one('<c16', 16), 'c.npy')), "c.npy: dtype '<c16': complex numbers are not supported");
  assertMessage(userError(() => parseNpy(one('|O'), 'o.npy')), "o.npy: dtype '|O': object arrays are not supported");
  assertMessage(userError(() => parseNpy(one('<U3', 12), 'u.npy')), 'text arrays are not supported');
  assertMessage(userError(() => parseNpy(one('<M8[ns]'), 't.npy')), 'dates and times are not supported');
  assertMessage(userError(() => parseNpy(one('<f16', 16), 'l.npy')), 'extended-precision floats');
  const structured = new TextEncoder().encode("{'descr': [('x', '<f8'), ('y', '<i4')], 'fortran_order': False, 'shape': (1, 1), }");
  const s = npyBytes({ descr: 'x', shape: [1, 1], data: new Uint8Array(12) });
  const header = new Uint8Array(s.length);
  header.set(s);
  header.fill(0x20, 10, 127);
  header.set(structured, 10);
  assertMessage(userError(() => parseNpy(header, 's.npy')), 's.npy: structured dtypes');
  assertMessage(
    userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [4], data: new Uint8Array(32) }), 'v.npy')),
    'v.npy: the array is 1-D (shape 4); a matrix must be 2-D',
    'reshape(1, -1)',
  );
  assertMessage(userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [2, 2, 2], data: new Uint8Array(64) }), 'c.npy')), 'c.npy: the array is 3-D (shape 2×2×2)');
  assertMessage(userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [], data: new Uint8Array(8) }), 's.npy')), 'the array is a single number');
  assertMessage(userError(() => parseNpy(npyBytes({ descr: '<f8', shape: [0, 3], data: new Uint8Array(0) }), 'z.npy')), 'z.npy: the array is empty (shape 0×3)');
});

test('Python 2 headers (long integers like 3L) are read', () => {
  const bytes = npyBytes({ descr: '<f8', shape: [1, 2], data: elements([1, 2], 8, f64) });
  const text = new TextDecoder('latin1').decode(bytes.subarray(10, 64));
  const patched = text.replace('(1, 2), }  ', '(1L, 2L), }');
  assert.equal(patched.length, text.length);
  bytes.set(new TextEncoder().encode(patched), 10);
  assert.deepEqual(Array.from(parseNpy(bytes, 'p2.npy').matrix.data), [1, 2]);
});

test('encodeNpy writes numpy\'s layout and round-trips, converting precision on request', () => {
  const rnd = random(5);
  const m = { rows: 7, cols: 9, data: new Float64Array(63).map(() => rnd()) };
  const bytes = encodeNpy(m);
  assert.equal((bytes.length - 63 * 8) % 64, 0);
  const header = new TextDecoder().decode(bytes.subarray(10, bytes.length - 63 * 8));
  assert.match(header, /^\{'descr': '<f8', 'fortran_order': False, 'shape': \(7, 9\), \} +\n$/);
  assert.deepEqual(parseNpy(bytes, 'x.npy').matrix.data, m.data);
  const as32 = parseNpy(encodeNpy(m, 'float32'), 'x.npy');
  assert.equal(as32.dtype, 'float32');
  assert.deepEqual(as32.matrix.data, Float32Array.from(m.data));
  // a Node Buffer, and an unaligned view into a larger buffer, read the same
  assert.deepEqual(parseNpy(Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5), 'x.npy').matrix.data, m.data);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(parseNpy(shifted.subarray(3), 'x.npy').matrix.data, m.data);
});
