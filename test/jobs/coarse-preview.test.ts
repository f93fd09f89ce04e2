import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { COARSE_SIDE, coarsePreview } from '../../src-main/jobs/coarse-preview.js';
import { fixture } from '../helpers/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-coarse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** PSNR of an RGBA raster against RGB(A) pixels of the same size, over the colour channels. */
function psnrRgba(rgba: Uint8Array, reference: Buffer, channels: number): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < rgba.length / 4; p++) {
    for (let c = 0; c < 3; c++) {
      const ref = reference[p * channels + (channels < 3 ? 0 : c)]!;
      sum += (rgba[p * 4 + c]! - ref) ** 2;
      n++;
    }
  }
  return 10 * Math.log10((255 * 255) / (sum / n));
}

test('a colour photograph: shrunk to COARSE_SIDE across, and the low-rank fit looks like the shrunk image', async () => {
  const file = fixture('images', 'astronaut.png');
  const preview = await coarsePreview(file, 'ycbcr');
  assert.ok(preview);
  const { raster, stage } = preview;
  assert.equal(Math.max(raster.width, raster.height), COARSE_SIDE);
  assert.equal(raster.width, COARSE_SIDE, 'a square image stays square');
  assert.equal(raster.rgba.length, raster.width * raster.height * 4);
  assert.match(stage, new RegExp(`^coarse preview: rank \\d+ at ${raster.width}×${raster.height}$`));
  // Against the same shrink: close, and far closer than the flat mean colour would be.
  const shrunk = await sharp(file).resize(raster.width, raster.height).removeAlpha().raw().toBuffer();
  const ours = psnrRgba(raster.rgba, shrunk, 3);
  let mean = 0;
  for (const v of shrunk) mean += v / shrunk.length;
  const flat = psnrRgba(new Uint8Array(raster.rgba.length).fill(Math.round(mean)), shrunk, 3);
  assert.ok(ours > 20, `coarse preview PSNR ${ours.toFixed(1)} dB`);
  assert.ok(ours > flat + 8, `${ours.toFixed(1)} dB against ${flat.toFixed(1)} dB for a flat image`);
});

test('a gray image, a wide strip and an image smaller than the preview keep their shape', async () => {
  const gray = await coarsePreview(fixture('images', 'camera.png'), 'ycbcr');
  assert.ok(gray);
  for (let p = 0; p < gray.raster.width * gray.raster.height; p++) {
    const [r, g, b] = [gray.raster.rgba[p * 4]!, gray.raster.rgba[p * 4 + 1]!, gray.raster.rgba[p * 4 + 2]!];
    assert.ok(r === g && g === b, 'gray stays gray');
  }
  const strip = path.join(dir, 'strip.png');
  await sharp({ create: { width: 1000, height: 2, channels: 3, background: '#3a6' } }).png().toFile(strip);
  const s = await coarsePreview(strip, 'channels');
  assert.ok(s);
  assert.equal(s.raster.width, COARSE_SIDE);
  assert.equal(s.raster.height, 1);
  const tiny = path.join(dir, 'tiny.png');
  await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } }).png().toFile(tiny);
  const t = await coarsePreview(tiny, 'stacked');
  assert.ok(t);
  assert.deepEqual([t.raster.width, t.raster.height], [3, 2], 'never enlarged');
});

test('a file that is not an image gives no preview (the encoding reports why)', async () => {
  const bad = path.join(dir, 'bad.png');
  writeFileSync(bad, 'not a picture');
  assert.equal(await coarsePreview(bad, 'ycbcr'), null);
});
