import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { NMFZ_MAGIC, NMFZ_VERSION } from '../../src-main/codec/container.js';
import { decodeNmfz, decodePixels, encodeNmfz, readNmfzHeader, storedQuality, withQuality } from '../../src-main/codec/nmfz.js';
import type { NmfzContent, NmfzHeader } from '../../src-main/codec/nmfz.js';
import { dequantizePlane, packCodes, quantizePlane, storedScale, unpackCodes } from '../../src-main/codec/quantize.js';
import { fromArray } from '../../src-main/engine/matrix.js';
import { toSample } from '../../src-main/codec/types.js';
import { UserError } from '../../src-main/engine/errors.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomFactors(rows: number, cols: number, k: number, seed: number) {
  const r = rng(seed);
  const W = fromArray(rows, k, Array.from({ length: rows * k }, () => r() * 3));
  const H = fromArray(k, cols, Array.from({ length: k * cols }, () => r() * 0.01));
  return { W, H };
}

test('packCodes/unpackCodes round-trip every code at 6, 8, 12 and 16 bits, with deltas that wrap', () => {
  for (const bits of [6, 8, 12, 16] as const) {
    const max = 2 ** bits - 1;
    const codes = Uint16Array.from([0, max, 0, 1, max - 1, 5, 5, 5, 0, max, max, 0, 17]);
    const packed = packCodes(codes, 5, bits);
    assert.equal(packed.length, bits <= 8 ? codes.length : 2 * codes.length);
    if (bits === 6) assert.ok(packed.every((z) => z < 64), 'zig-zagged 6-bit deltas stay under 64');
    assert.deepEqual(unpackCodes(packed, codes.length, 5, bits), codes);
  }
});

test('a decoded value becomes a sample as Math.round and a clamp make it, also where v + 0.5 rounds up', () => {
  const edges = [-1, -0.5, -0.49, -0, 0, 0.5 - 2 ** -54, 0.49999999999999994, 0.5, 1.5, 2.5, 127.49999999999999, 127.5, 254.49999999999997, 254.5, 255.49, 255.5, 300, 65534.5, 65535.4];
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const values = [...edges, ...Array.from({ length: 10000 }, () => 300 * random() - 20), ...Array.from({ length: 1000 }, () => Math.floor(300 * random()) + 0.5)];
  for (const max of [255, 65535]) {
    for (const v of values) {
      const r = Math.round(v);
      assert.equal(toSample(v, max), r < 0 ? 0 : r > max ? max : r + 0, `${v} at ${max}`);
    }
  }
});

test('quantizePlane balances each component and keeps W·H within the quantisation step', () => {
  const { W, H } = randomFactors(30, 40, 5, 1);
  for (const bits of [6, 8, 12, 16] as const) {
    const q = quantizePlane(W, H, bits);
    const { Wt, H: Hd } = dequantizePlane(q, bits);
    for (let j = 0; j < 5; j++) {
      let mw = 0;
      let mh = 0;
      for (let i = 0; i < 30; i++) mw = Math.max(mw, q.wCodes[j * 30 + i]!);
      for (let l = 0; l < 40; l++) mh = Math.max(mh, q.hCodes[j * 40 + l]!);
      // Both halves of a component use the full code range after balancing.
      assert.ok(mw >= 2 ** bits - 2 && mh >= 2 ** bits - 2, `component ${j}: max codes ${mw}, ${mh}`);
    }
    let worst = 0;
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      for (let l = 0; l < 40; l++) {
        let exact = 0;
        let stored = 0;
        for (let j = 0; j < 5; j++) {
          exact += W.data[i * 5 + j]! * H.data[j * 40 + l]!;
          stored += Wt[j * 30 + i]! * Hd[j * 40 + l]!;
        }
        worst = Math.max(worst, Math.abs(exact - stored));
        peak = Math.max(peak, exact);
      }
    }
    assert.ok(worst / peak < 8 / 2 ** bits, `${bits} bits: relative error ${worst / peak}`);
  }
});

test('a compact scale is the balanced maximum rounded up to bits + 3 significant bits, the codes made against it; a flat component keeps its whole scale', () => {
  let seed = 11;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const bits of [6, 8, 12, 16] as const) {
    for (let n = 0; n < 2000; n++) {
      const m = 10 ** (12 * random() - 8);
      const s = storedScale(m, bits);
      assert.equal(s, Math.fround(s));
      assert.ok(s >= m && s <= m * (1 + 2 ** -(bits + 2)), `${m} at ${bits} bits: ${s}`);
      // bits + 3 significant bits: s / 2^(e − bits − 2) is a whole number below 2^(bits + 3)
      const units = s / 2 ** (Math.floor(Math.log2(s)) - bits - 2);
      assert.ok(Number.isInteger(units) && units < 2 ** (bits + 3), `${s} has more than ${bits + 3} significant bits`);
    }
    const { W, H } = randomFactors(30, 40, 5, 2);
    const q = quantizePlane(W, H, bits, true);
    q.scales.forEach((s) => assert.ok(s > 0 && s === storedScale(s, bits), `${bits} bits: scale ${s} is not stored as itself`));
    // A flat component keeps its exact scale, and decodes to its value.
    const flat = quantizePlane(fromArray(3, 1, [0.7, 0.7, 0.7]), fromArray(1, 2, [0.3, 0.3]), bits, true);
    assert.equal(flat.scales[0], Math.fround(Math.sqrt(0.7) * Math.sqrt(0.3)));
    const { Wt, H: Hd } = dequantizePlane(flat, bits);
    assert.ok(Math.abs(Wt[0]! * Hd[0]! - 0.21) < 1e-7, `${bits} bits: a flat component decodes to ${Wt[0]! * Hd[0]!}`);
  }
});

test('a component that is all zero is stored with scale 0', () => {
  const W = fromArray(3, 2, [1, 0, 2, 0, 3, 0]);
  const H = fromArray(2, 2, [1, 2, 3, 4]);
  const q = quantizePlane(W, H, 8);
  assert.equal(q.scales[1], 0);
  assert.deepEqual(Array.from(q.hCodes.subarray(2)), [0, 0]);
});

function sampleContent(): NmfzContent {
  const width = 20;
  const height = 12;
  const header: NmfzHeader = {
    width,
    height,
    channels: 4,
    bitDepth: 8,
    colorMode: 'channels',
    rank: 6,
    planes: [
      { name: 'r', rows: height, cols: width, rank: 2 },
      { name: 'g', rows: height, cols: width, rank: 2 },
      { name: 'b', rows: height, cols: width, rank: 2 },
    ],
    quantization: { bits: 12, scale: 'per-component', coding: 'delta-zigzag' },
    alpha: 'lossless',
    nmf: { solver: 'hals', init: 'nndsvda', betaLoss: 'frobenius', maxIter: 10, tol: 1e-4, seed: 0, alphaW: 0, alphaH: 'same', l1Ratio: 0, iterations: 10, backend: 'reference' },
    original: { name: 'x.png', format: 'png', bytes: 1234 },
    software: 'NMF Studio test',
  };
  const planes = [0, 1, 2].map((s) => {
    const { W, H } = randomFactors(height, width, 2, s + 10);
    return quantizePlane(W, H, 12);
  });
  const alpha = new Uint8Array(width * height);
  for (let p = 0; p < alpha.length; p++) alpha[p] = p % 3 === 0 ? 255 : p % 256;
  return { header, planes, alpha };
}

test('encodeNmfz → decodeNmfz gives back the header, the codes and the alpha plane exactly', () => {
  const c = sampleContent();
  const bytes = encodeNmfz(c);
  assert.deepEqual([...bytes.subarray(0, 8)], [...NMFZ_MAGIC]);
  assert.equal(bytes.readUInt16LE(8), 1, '12-bit factors: version 1, which every reader reads');
  const d = decodeNmfz(bytes, 'x.nmfz');
  assert.deepEqual(d.header, c.header);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(d.planes[i]!.wCodes, c.planes[i]!.wCodes);
    assert.deepEqual(d.planes[i]!.hCodes, c.planes[i]!.hCodes);
    assert.deepEqual(d.planes[i]!.scales, c.planes[i]!.scales);
  }
  assert.deepEqual(d.alpha, c.alpha);
  const a = decodePixels(d);
  const b = decodePixels(decodeNmfz(bytes, 'x.nmfz'));
  assert.deepEqual(a.data, b.data);
  for (let p = 0; p < 20 * 12; p++) assert.equal(a.data[p * 4 + 3], c.alpha![p]);
  assert.equal(readNmfzHeader(bytes, 'x.nmfz').header.rank, 6);
});

test('6-bit factors are written as format version 2 and read back exactly; a version-1 file cannot claim them', () => {
  const c = sampleContent();
  const planes = [0, 1, 2].map((s) => {
    const { W, H } = randomFactors(12, 20, 2, s + 10);
    return quantizePlane(W, H, 6);
  });
  const six: NmfzContent = { ...c, header: { ...c.header, quantization: { ...c.header.quantization, bits: 6 } }, planes };
  const bytes = encodeNmfz(six);
  assert.equal(bytes.readUInt16LE(8), 2);
  const d = decodeNmfz(bytes, 'six.nmfz');
  assert.deepEqual(d.header, six.header);
  for (let i = 0; i < 3; i++) assert.deepEqual(d.planes[i]!.hCodes, planes[i]!.hCodes);
  assert.ok(planes.every((q) => q.wCodes.every((v) => v <= 63) && q.hCodes.some((v) => v === 63)), 'codes use the 6-bit range');
  assert.equal(readNmfzHeader(bytes, 'six.nmfz').formatVersion, 2);
  // measured quality goes in without changing the version
  assert.equal(withQuality(bytes, storedQuality(30, 0.9, 0.1), 'six.nmfz').readUInt16LE(8), 2);
  // the same file stamped version 1 is refused: version 1 knows 8, 12 and 16 bits only
  const old = Buffer.from(bytes);
  old.writeUInt16LE(1, 8);
  old.writeUInt32LE(crc32(old.subarray(0, old.length - 4)), old.length - 4);
  expectUserError(() => decodeNmfz(old, 'bad.nmfz'), /corrupt \.nmfz header \(quantization\)/);
});

test('withQuality puts the measured quality in the header and keeps the payload byte for byte', () => {
  const c = sampleContent();
  const bytes = encodeNmfz(c);
  const plain = readNmfzHeader(bytes, 'x.nmfz');
  assert.equal(plain.header.quality, undefined, 'none unless measured');
  const q = storedQuality(31.234567891, 0.98765432, 0.0512345678);
  assert.deepEqual(q, { psnr: 31.2346, ssim: 0.987654, relErr: 0.0512346 });
  assert.deepEqual(storedQuality(Infinity, 1, 0), { psnr: null, ssim: 1, relErr: 0 }, 'identical pixels: no finite PSNR');
  const measured = withQuality(bytes, q, 'x.nmfz');
  const d = decodeNmfz(measured, 'x.nmfz');
  assert.deepEqual(d.header, { ...c.header, quality: q });
  assert.deepEqual(decodePixels(d).data, decodePixels(decodeNmfz(bytes, 'x.nmfz')).data);
  // the compressed payload is the same bytes at the end of the file (before the CRC)
  const payloadLength = bytes.readUInt32LE(16);
  assert.deepEqual(measured.subarray(measured.length - 4 - payloadLength, -4), bytes.subarray(bytes.length - 4 - payloadLength, -4));
});

test('a malformed quality field is dropped, not a reason to refuse a file that decodes', () => {
  const c = sampleContent();
  for (const bad of [{ psnr: 'high', ssim: 0.9, relErr: 0.1 }, { psnr: 30, ssim: 2, relErr: 0.1 }, { psnr: 30, ssim: 0.9 }, 'good']) {
    const bytes = encodeNmfz({ ...c, header: { ...c.header, quality: bad as never } });
    const d = decodeNmfz(bytes, 'x.nmfz');
    assert.equal('quality' in d.header, false, JSON.stringify(bad));
    assert.deepEqual(decodePixels(d).data, decodePixels(decodeNmfz(encodeNmfz(c), 'x.nmfz')).data);
  }
});

function expectUserError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, /^bad\.nmfz: /);
    return true;
  });
}

test('corrupt, truncated, foreign and newer files are refused with one clear line', () => {
  const good = encodeNmfz(sampleContent());
  for (let i = 0; i < good.length; i += Math.max(1, Math.floor(good.length / 40))) {
    const flipped = Buffer.from(good);
    flipped[i] = flipped[i]! ^ 0x10;
    expectUserError(() => decodeNmfz(flipped, 'bad.nmfz'), /corrupt|not a \.nmfz|newer|unknown|truncated/);
  }
  const mid = Buffer.from(good);
  mid[Math.floor(good.length / 2)] ^= 0xff;
  expectUserError(() => decodeNmfz(mid, 'bad.nmfz'), /checksum mismatch/);
  for (const n of [0, 5, 8, 23, good.length - 1, Math.floor(good.length / 2)]) {
    expectUserError(() => decodeNmfz(good.subarray(0, n), 'bad.nmfz'), n === 0 ? /empty/ : /truncated/);
  }
  expectUserError(() => decodeNmfz(Buffer.concat([good, Buffer.from([0])]), 'bad.nmfz'), /unexpected bytes/);
  expectUserError(() => decodeNmfz(Buffer.from('\x89PNG\r\n\x1a\n and more bytes here to pass the length'), 'bad.nmfz'), /not a \.nmfz file/);
  const newer = Buffer.from(good);
  newer.writeUInt16LE(NMFZ_VERSION + 1, 8);
  newer.writeUInt32LE(crc32(newer.subarray(0, newer.length - 4)), newer.length - 4);
  expectUserError(() => decodeNmfz(newer, 'bad.nmfz'), new RegExp(`version ${NMFZ_VERSION + 1} was written by a newer NMF Studio`));
  const zero = Buffer.from(good);
  zero.writeUInt16LE(0, 8);
  expectUserError(() => decodeNmfz(zero, 'bad.nmfz'), /unknown \.nmfz format version 0/);
});

test('a header claiming absurd dimensions is refused before anything is inflated', () => {
  const c = sampleContent();
  const huge: NmfzContent = { ...c, header: { ...c.header, width: 200000, height: 200000 } };
  // The payload no longer matches, but the size check comes first.
  const bytes = encodeNmfz({ ...huge, alpha: null, header: { ...huge.header, alpha: 'none', channels: 3 } } as NmfzContent);
  expectUserError(() => decodeNmfz(bytes, 'bad.nmfz'), /200000×200000 is over the limit/);
});
