import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readImage } from '../../src-main/codec/image-io.js';
import { compressionRatios, mse, psnr, rawBytesOf, relErr, ssim, ssimSums } from '../../src-main/codec/metrics.js';
import { bandSums, ssimParallel, SsimAsDecoded } from '../../src-main/codec/ssim-parallel.js';
import type { ImagePixels } from '../../src-main/codec/types.js';
import { fixture } from '../helpers/paths.js';

interface Pair {
  original: string;
  distorted: string;
  mode: string;
  width: number;
  height: number;
  psnr: number;
  ssim: number;
  mse: number;
}
const pairs = (JSON.parse(readFileSync(fixture('metrics', 'metrics.json'), 'utf8')) as { pairs: Pair[] }).pairs;

for (const pair of pairs) {
  test(`PSNR and SSIM match scikit-image on ${pair.original} vs ${pair.distorted}`, async () => {
    const a = (await readImage(fixture('metrics', pair.original))).pixels;
    const b = (await readImage(fixture('metrics', pair.distorted))).pixels;
    assert.equal(a.channels, pair.mode === 'L' ? 1 : 3);
    assert.equal(a.width, pair.width);
    assert.equal(a.height, pair.height);
    assert.ok(Math.abs(mse(a, b) - pair.mse) < 1e-9 * pair.mse, `mse ${mse(a, b)} vs ${pair.mse}`);
    assert.ok(Math.abs(psnr(a, b) - pair.psnr) < 1e-6, `psnr ${psnr(a, b)} vs ${pair.psnr}`);
    const s = ssim(a, b);
    assert.ok(Math.abs(s - pair.ssim) < 1e-4, `ssim ${s} vs ${pair.ssim}`);
    // The TypeScript path (used where WebAssembly is unavailable) agrees with the kernel.
    assert.ok(Math.abs(ssim(a, b, false) - s) < 1e-12);
  });
}

function synthetic(width: number, height: number, channels: 1 | 2 | 3 | 4, bitDepth: 8 | 16, f: (i: number) => number): ImagePixels {
  const n = width * height * channels;
  const data = bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = f(i);
  return { width, height, channels, bitDepth, data };
}

test('identical images: PSNR is infinite, SSIM 1, relErr 0', () => {
  const a = synthetic(40, 30, 3, 8, (i) => (i * 37) % 256);
  assert.equal(psnr(a, a), Infinity);
  assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
  assert.equal(relErr(a, a), 0);
});

test('16-bit PSNR uses peak 65535 and alpha is left out of every metric', () => {
  const a = synthetic(20, 20, 4, 16, (i) => (i % 4 === 3 ? 65535 : 1000));
  const b = synthetic(20, 20, 4, 16, (i) => (i % 4 === 3 ? 0 : 1010));
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10((65535 * 65535) / 100)) < 1e-9);
  assert.ok(Math.abs(relErr(a, b) - 0.01) < 1e-12);
});

test('SSIM is NaN below the 11×11 window, as scikit-image refuses such images', () => {
  const a = synthetic(10, 40, 1, 8, (i) => i % 256);
  assert.ok(Number.isNaN(ssim(a, a)));
});

test('compressionRatios: ratio, fileRatio and factorRatio from one function', () => {
  const r = compressionRatios({
    rawBytes: rawBytesOf({ width: 100, height: 50, channels: 3, bitDepth: 8 }),
    originalFileBytes: 6000,
    compressedBytes: 1500,
    planes: [{ rows: 50, cols: 300, rank: 10 }],
  });
  assert.equal(r.ratio, 15000 / 1500);
  assert.equal(r.fileRatio, 4);
  assert.equal(r.factorRatio, (50 * 300) / (10 * 350));
  const three = compressionRatios({
    rawBytes: 10,
    originalFileBytes: 10,
    compressedBytes: 5,
    planes: [
      { rows: 50, cols: 100, rank: 6 },
      { rows: 50, cols: 100, rank: 2 },
      { rows: 50, cols: 100, rank: 2 },
    ],
  });
  assert.equal(three.factorRatio, (3 * 5000) / (10 * 150));
});

test('the WebAssembly kernel and the TypeScript path agree on 8- and 16-bit images and on row bands', () => {
  const a16 = synthetic(61, 47, 4, 16, (i) => (i * 7919) % 65536);
  const b16 = synthetic(61, 47, 4, 16, (i) => ((i * 7919) % 65536) ^ 0x3f3);
  assert.ok(Math.abs(ssim(a16, b16) - ssim(a16, b16, false)) < 1e-12);
  const a8 = synthetic(40, 33, 2, 8, (i) => (i * 31) % 256);
  const b8 = synthetic(40, 33, 2, 8, (i) => (i * 37) % 256);
  for (const [r0, r1] of [[0, 33], [3, 9], [10, 30], [20, 33]] as const) {
    const w = ssimSums(a8, b8, r0, r1);
    const t = ssimSums(a8, b8, r0, r1, false);
    assert.ok(Math.abs(w[0]! - t[0]!) < 1e-9, `${r0}–${r1}: ${w[0]} vs ${t[0]}`);
  }
});

test('SSIM summed chunk by chunk as rows are decoded gives ssim() to rounding, one chunk per thread out at a time', async () => {
  const w = 1000;
  const h = 1100;
  for (const [channels, bitDepth] of [[3, 8], [4, 16]] as const) {
    const a = synthetic(w, h, channels, bitDepth, (i) => (Math.imul(i, 2654435761) >>> 20) & (bitDepth === 16 ? 65535 : 255));
    const b = synthetic(w, h, channels, bitDepth, (i) => a.data[i]! ^ (i % 13));
    // b's rows arrive band by band, as a decoder writes them; the chunks are summed "elsewhere" after a turn.
    const rows = b.bitDepth === 16 ? new Uint16Array(b.data.length) : new Uint8Array(b.data.length);
    let out = 0;
    let most = 0;
    const asDecoded = new SsimAsDecoded(a, 2, async (bands) => {
      most = Math.max(most, ++out);
      await new Promise((r) => setTimeout(r, 1));
      out--;
      return bands.map(bandSums);
    });
    for (let y = 0; y < h; y += 48) {
      const end = Math.min(h, y + 48);
      rows.set(b.data.subarray(y * w * channels, end * w * channels), y * w * channels);
      asDecoded.decoded(rows, end);
    }
    const whole = await asDecoded.finish({ ...b, data: rows });
    assert.ok(Math.abs(whole - ssim(a, b)) < 1e-12, `${channels}×${bitDepth}: ${whole} vs ${ssim(a, b)}`);
    assert.ok(most <= 2, `${most} chunks out at once`);
  }
});

test('ssimParallel splits large images across worker threads and gives ssim() to rounding', async () => {
  const w = 1200;
  const h = 900;
  const a = synthetic(w, h, 3, 8, (i) => (Math.imul(i, 2654435761) >>> 24) & 255);
  const b = synthetic(w, h, 3, 8, (i) => (a.data[i]! + (i % 11)) & 255);
  const serial = ssim(a, b);
  const parallel = await ssimParallel(a, b, 3);
  assert.ok(Math.abs(serial - parallel) < 1e-12, `${serial} vs ${parallel}`);
  const a16 = synthetic(w, h, 1, 16, (i) => (i * 7919) % 65536);
  const b16 = synthetic(w, h, 1, 16, (i) => ((i * 7919) % 65536) ^ 0x55);
  assert.ok(Math.abs(ssim(a16, b16) - (await ssimParallel(a16, b16, 2))) < 1e-12);
});
