import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, encodeImage, readImage } from '../../src-main/codec/image-io.js';
import { psnr } from '../../src-main/codec/metrics.js';
import type { ImagePixels } from '../../src-main/codec/types.js';
import { UserError } from '../../src-main/engine/errors.js';
import { isSrgb, parseIcc } from '../../src-main/codec/icc.js';
import { makeBadInputs, makeSamples, pngChunkTypes, small, tempDir } from './images.js';
import type { Sample } from './images.js';

const tmp = tempDir();
let samples: Record<string, Sample>;
before(async () => {
  samples = await makeSamples(tmp.dir);
});
after(() => tmp.cleanup());

test('every format, depth and layout reads with the expected size, channels and depth', async () => {
  for (const [key, s] of Object.entries(samples)) {
    const img = await readImage(s.file);
    assert.equal(img.format, s.format, key);
    assert.deepEqual(
      [img.pixels.width, img.pixels.height, img.pixels.channels, img.pixels.bitDepth],
      [s.width, s.height, s.channels, s.bitDepth],
      key,
    );
    assert.equal(img.pixels.data.length, s.width * s.height * s.channels, key);
    assert.ok(s.bitDepth === 16 ? img.pixels.data instanceof Uint16Array : img.pixels.data instanceof Uint8Array, key);
  }
});

test('16-bit samples keep their low bits', async () => {
  for (const key of ['png16', 'tiff16', 'gray16']) {
    const px = (await readImage(samples[key]!.file)).pixels;
    let low = 0;
    for (const v of px.data) if (v % 257 !== 0) low++;
    // An 8-bit image scaled up would have every sample a multiple of 257.
    assert.ok(low > px.data.length / 2, `${key}: only ${low} of ${px.data.length} samples use 16 bits`);
  }
});

test('an animated GIF gives its first frame', async () => {
  const img = (await readImage(samples.animated!.file)).pixels;
  assert.deepEqual([img.width, img.height], [30, 20]);
  const C = img.channels;
  for (let p = 0; p < 30 * 20; p++) assert.ok(img.data[p * C]! > 150 && img.data[p * C + 1]! < 100, 'red, the first frame');
});

test('alpha is read as the last channel, exactly', async () => {
  const img = await readImage(samples.grayAlpha!.file);
  for (let p = 0; p < img.pixels.width * img.pixels.height; p++) assert.equal(img.pixels.data[2 * p + 1], (p * 7) % 256);
});

test('EXIF orientation is applied: a stored 48×32 photo tagged "rotate 90°" reads as 32×48, turned', async () => {
  const img = (await readImage(samples.exif!.file)).pixels;
  const { data, info } = await sharp(samples.exif!.file).rotate(90).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [img.width, img.height]);
  const turned: ImagePixels = { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
  assert.ok(psnr(turned, img) > 40, 'same pixels as an explicit 90° rotation');
});

test('an embedded non-sRGB profile (Display P3) is converted to sRGB on reading', async () => {
  const viaP3 = (await readImage(samples.p3!.file)).pixels;
  const srgb = (await readImage(samples.png8!.file)).pixels;
  const raw = await sharp(samples.p3!.file, { ignoreIcc: true }).raw().toBuffer();
  const ignored: ImagePixels = { ...viaP3, data: new Uint8Array(raw) };
  assert.ok(psnr(srgb, viaP3) > 45, `converted: ${psnr(srgb, viaP3)} dB from the sRGB original`);
  assert.ok(psnr(srgb, ignored) < 35, `unconverted numbers differ: ${psnr(srgb, ignored)} dB`);
});

test('16-bit pixels with a Display P3 profile are converted to sRGB at 16 bits, in agreement with sharp at 8 bits', async () => {
  const deep = (await readImage(samples.p3x16!.file)).pixels;
  assert.equal(deep.bitDepth, 16);
  const stored = (await readImage(samples.srgbx16!.file)).pixels;
  const png16 = (await readImage(samples.png16!.file)).pixels;
  assert.deepEqual(stored.data, png16.data, 'an sRGB profile leaves 16-bit samples exactly as stored');
  // sharp's own 8-bit conversion of the same picture tagged P3 is the reference, to within 8-bit rounding.
  const shallow = (await readImage(samples.p3x8!.file)).pixels;
  const untouched = (await readImage(samples.png8!.file)).pixels;
  let worst = 0;
  let moved = 0;
  for (let i = 0; i < deep.data.length; i++) {
    worst = Math.max(worst, Math.abs(deep.data[i]! / 257 - shallow.data[i]!));
    moved = Math.max(moved, Math.abs(shallow.data[i]! - untouched.data[i]!));
  }
  assert.ok(moved >= 10, `P3 → sRGB moves colours (${moved})`);
  assert.ok(worst <= 2.5, `16-bit conversion within ${worst} of sharp's 8-bit one`);
});

test('encodeImage: PNG, TIFF and WebP give back the same pixels, 16-bit stays 16-bit, colour is tagged sRGB', async () => {
  for (const key of ['png8', 'png16', 'gray8', 'gray16', 'rgba8', 'grayAlpha', 'tiff16']) {
    const src = (await readImage(samples[key]!.file)).pixels;
    for (const format of ['png', 'tiff', 'webp'] as const) {
      if (format === 'webp' && src.bitDepth === 16) continue;
      const bytes = await encodeImage(src, format);
      let back = (await decodeImage(bytes, `${key}.${format}`)).pixels;
      if (format === 'webp' && src.channels <= 2) {
        // WebP has no gray: R = G = B = the gray value.
        const C = back.channels;
        const gray = new Uint8Array(src.data.length);
        for (let p = 0; p < src.width * src.height; p++) {
          assert.equal(back.data[p * C], back.data[p * C + 1]);
          assert.equal(back.data[p * C], back.data[p * C + 2]);
          gray[p * src.channels] = back.data[p * C]!;
          if (src.channels === 2) gray[p * 2 + 1] = back.data[p * C + 3]!;
        }
        back = { ...src, data: gray };
      }
      assert.deepEqual([back.channels, back.bitDepth], [src.channels, src.bitDepth], `${key} as ${format}`);
      assert.deepEqual(back.data, src.data, `${key} as ${format}`);
      if (format === 'png') {
        assert.deepEqual(pngChunkTypes(bytes).slice(0, 4), ['IHDR', 'sRGB', 'gAMA', 'cHRM'], `${key} as PNG: marked sRGB`);
      } else if (src.channels >= 3) {
        const icc = (await sharp(bytes).metadata()).icc;
        assert.ok(icc && isSrgb(parseIcc(icc)), `${key} as ${format}: sRGB profile`);
      }
    }
  }
  const rgb16 = (await readImage(samples.png16!.file)).pixels;
  const jpeg = await encodeImage(rgb16, 'jpeg');
  const back = (await decodeImage(jpeg, 'x.jpg')).pixels;
  assert.equal(back.bitDepth, 8);
});

test('bad inputs are refused with one line naming the file and the reason', async () => {
  const dir = tempDir();
  try {
    for (const [file, reason] of await makeBadInputs(dir.dir)) {
      await assert.rejects(readImage(file), (err: unknown) => {
        assert.ok(err instanceof UserError, `${file}: ${String(err)}`);
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message, reason);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
    }
    await assert.rejects(readImage(dir.dir), /is a folder/);
  } finally {
    dir.cleanup();
  }
});

test('the pixel limit is checked from the header, before decoding', async () => {
  const bytes = await small('coffee.png', 64).png().toBuffer();
  await assert.rejects(decodeImage(bytes, 'coffee-64.png', { maxPixels: 1000 }), /coffee-64\.png: 64×43 .* over the limit/);
  assert.equal((await decodeImage(bytes, 'coffee-64.png', { maxPixels: 64 * 43 })).pixels.width, 64);
});
