import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { maxRank, minRank, planeLayouts, splitRank } from '../../src-main/codec/colour.js';
import { CpuBackend } from '../../src-main/backends/cpu/index.js';
import { ImageEncoder } from '../../src-main/codec/encoder.js';
import { decodeImage } from '../../src-main/codec/image-io.js';
import { createReferenceBackend } from '../../src-main/engine/index.js';
import { fixture } from '../helpers/paths.js';

async function smallSource(name: string, width: number) {
  const bytes = await sharp(fixture('images', name)).resize({ width }).png().toBuffer();
  return decodeImage(bytes, name);
}

test('ranks are shared evenly over R, G, B and in favour of luma over Y, Cb, Cr', () => {
  const img = { width: 40, height: 30, channels: 3 };
  assert.deepEqual(splitRank(planeLayouts(img, 'channels'), 'channels', 10), [4, 3, 3]);
  assert.deepEqual(splitRank(planeLayouts(img, 'ycbcr'), 'ycbcr', 20), [16, 2, 2]);
  assert.deepEqual(splitRank(planeLayouts(img, 'ycbcr'), 'ycbcr', 20, 0), [18, 1, 1]);
  assert.deepEqual(splitRank(planeLayouts(img, 'ycbcr'), 'ycbcr', 3), [1, 1, 1]);
  assert.deepEqual(splitRank(planeLayouts(img, 'stacked'), 'stacked', 7), [7]);
  assert.deepEqual(splitRank(planeLayouts({ ...img, channels: 1 }, 'ycbcr'), 'ycbcr', 7), [7]);
  const ycc = planeLayouts(img, 'ycbcr');
  assert.equal(minRank(ycc, 'ycbcr'), 3);
  assert.ok(splitRank(ycc, 'ycbcr', maxRank(ycc, 'ycbcr')).every((r) => r <= 30));
  assert.ok(splitRank(ycc, 'ycbcr', maxRank(ycc, 'ycbcr') + 1).some((r) => r > 30));
});

for (const [name, make, slack] of [
  ['reference', async () => createReferenceBackend(), 1e-6],
  ['cpu (float32 products)', () => CpuBackend.create({ threads: 2 }), 1e-5],
] as const) {
  test(`a larger rank starts from the smaller fit: its first error is no worse than where that fit ended (${name})`, async () => {
    const backend = await make();
    try {
      const src = await smallSource('chelsea.png', 64);
      const starts = new Map<number, number>();
      const enc = new ImageEncoder(src, {
        backend,
        colorMode: 'stacked',
        maxIter: 20,
        onProgress: (p) => {
          if (p.iteration === 0) starts.set(p.rank, p.relErr);
        },
      });
      const small = await enc.fit(4);
      const ended = await import('../../src-main/engine/index.js').then(({ relErr }) => relErr(enc.V[0]!, small.planes[0]!.W, small.planes[0]!.H));
      await enc.fit(9);
      assert.ok(starts.get(9)! <= ended * (1 + slack), `rank 9 starts at ${starts.get(9)}, rank 4 ended at ${ended}`);
      // Cold, rank 9 would start from NNDSVD of the image, far worse.
      const cold = new ImageEncoder(src, { backend, colorMode: 'stacked', maxIter: 0, onProgress: (p) => starts.set(-9, p.relErr) });
      await cold.fit(9);
      assert.ok(starts.get(9)! < starts.get(-9)!, `warm ${starts.get(9)} vs cold ${starts.get(-9)}`);
      // Going down keeps the strongest components of the nearest larger fit.
      await enc.fit(6);
      assert.ok(starts.get(6)! < starts.get(-9)!);
    } finally {
      await backend.dispose();
    }
  });
}

test('an RGB image without colour gives its chroma planes one component each, and they decode exactly', async () => {
  const backend = createReferenceBackend();
  try {
    const gray = await sharp(fixture('images', 'camera.png')).resize({ width: 32 }).toColourspace('srgb').png().toBuffer();
    const src = await decodeImage(gray, 'camera-rgb.png');
    assert.equal(src.pixels.channels, 3);
    const enc = new ImageEncoder(src, { backend, maxIter: 10 });
    const e = await enc.encodeRank(8);
    assert.deepEqual(e.fit.ranks, [6, 1, 1]);
    for (let i = 0; i < e.decoded.data.length; i += 3) {
      assert.ok(Math.abs(e.decoded.data[i]! - e.decoded.data[i + 1]!) <= 1 && Math.abs(e.decoded.data[i]! - e.decoded.data[i + 2]!) <= 1);
    }
  } finally {
    await backend.dispose();
  }
});

test('16-bit gray and YCbCr planes stay within range, and a fit is cached per rank', async () => {
  const backend = createReferenceBackend();
  try {
    const src = await smallSource('coffee.png', 40);
    const enc = new ImageEncoder(src, { backend, maxIter: 5 });
    for (const V of enc.V) for (const v of V.data) assert.ok(v >= 0 && v <= 1);
    const a = await enc.fit(6);
    assert.equal(await enc.fit(6), a);
    assert.deepEqual(a.ranks, splitRank(enc.layouts, 'ycbcr', 6));
  } finally {
    await backend.dispose();
  }
});
