// Small test inputs made with sharp from the fixture images, in every format, depth and layout the codec reads.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { fixture } from '../helpers/paths.js';

export function tempDir(prefix = 'nmf-codec-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fixture image shrunk to `width` pixels wide (aspect kept): quick to factorize. */
export function small(name: string, width = 48): Sharp {
  return sharp(fixture('images', name)).resize({ width });
}

/** Raw 8-bit RGBA of a small fixture. */
export async function rawRgba(name: string, width = 48): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await small(name, width).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export interface Sample {
  file: string;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  bitDepth: 8 | 16;
  format: string;
  lossless: boolean;
}

/** Writes one input per case into `dir` and describes what reading it must give. */
export async function makeSamples(dir: string): Promise<Record<string, Sample>> {
  const out: Record<string, Sample> = {};
  const put = async (key: string, name: string, bytes: Buffer, s: Omit<Sample, 'file'>): Promise<void> => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    out[key] = { file, ...s };
  };
  const rgb = small('astronaut.png');
  const { info } = await rgb.clone().raw().toBuffer({ resolveWithObject: true });
  const w = info.width;
  const h = info.height;
  const gray = small('camera.png').toColourspace('b-w');
  const g = await gray.clone().raw().toBuffer({ resolveWithObject: true });
  const rgba = small('horse.png');
  const a = await rgba.clone().raw().toBuffer({ resolveWithObject: true });
  await put('png8', 'rgb8.png', await rgb.clone().png().toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'png', lossless: true });
  const deep = await deepen(rgb.clone(), w, h, 3);
  await put('png16', 'rgb16.png', await deep.clone().png().toBuffer(), { width: w, height: h, channels: 3, bitDepth: 16, format: 'png', lossless: true });
  await put('gray8', 'gray8.png', await gray.clone().png().toBuffer(), { width: g.info.width, height: g.info.height, channels: 1, bitDepth: 8, format: 'png', lossless: true });
  await put('gray16', 'gray16.png', await (await deepen(gray.clone(), g.info.width, g.info.height, 1)).png().toBuffer(), { width: g.info.width, height: g.info.height, channels: 1, bitDepth: 16, format: 'png', lossless: true });
  await put('rgba8', 'rgba8.png', await rgba.clone().png().toBuffer(), { width: a.info.width, height: a.info.height, channels: 4, bitDepth: 8, format: 'png', lossless: true });
  // Gray with alpha: a gray ramp under a varying alpha, as raw 2-channel samples.
  const ga = Buffer.alloc(g.info.width * g.info.height * 2);
  for (let p = 0; p < g.info.width * g.info.height; p++) {
    ga[2 * p] = g.data[p]!;
    ga[2 * p + 1] = (p * 7) % 256;
  }
  await put('grayAlpha', 'gray-alpha.png', await sharp(ga, { raw: { width: g.info.width, height: g.info.height, channels: 2 } }).toColourspace('b-w').png().toBuffer(), {
    width: g.info.width, height: g.info.height, channels: 2, bitDepth: 8, format: 'png', lossless: true,
  });
  await put('palette', 'palette.png', await rgb.clone().png({ palette: true, colours: 32 }).toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'png', lossless: true });
  await put('jpeg', 'photo.jpg', await rgb.clone().jpeg({ quality: 90 }).toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'jpeg', lossless: false });
  await put('webp', 'photo.webp', await rgb.clone().webp({ quality: 90 }).toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'webp', lossless: false });
  await put('webpAlpha', 'alpha.webp', await rgba.clone().webp({ lossless: true }).toBuffer(), { width: a.info.width, height: a.info.height, channels: 4, bitDepth: 8, format: 'webp', lossless: true });
  await put('tiff8', 'rgb8.tif', await rgb.clone().tiff().toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'tiff', lossless: true });
  await put('tiff16', 'rgb16.tif', await deep.clone().tiff({ compression: 'deflate' }).toBuffer(), { width: w, height: h, channels: 3, bitDepth: 16, format: 'tiff', lossless: true });
  await put('gif', 'anim.gif', await rgb.clone().gif().toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'gif', lossless: false });
  // Three frames of different colours: only the first is read.
  const frames = await Promise.all(
    ['#c03030', '#30c030', '#3030c0'].map((c) => sharp({ create: { width: 30, height: 20, channels: 3, background: c } }).png().toBuffer()),
  );
  await put('animated', 'frames.gif', await sharp(frames, { join: { animated: true } }).gif().toBuffer(), { width: 30, height: 20, channels: 4, bitDepth: 8, format: 'gif', lossless: false });
  await put('avif', 'photo.avif', await rgb.clone().avif({ quality: 70 }).toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'avif', lossless: false });
  // EXIF orientation 6 (rotate 90° clockwise to display): stored 48×32, shown 32×48.
  const wide = small('chelsea.png');
  const wi = (await wide.clone().raw().toBuffer({ resolveWithObject: true })).info;
  await put('exif', 'rotated.jpg', await wide.clone().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(), {
    width: wi.height, height: wi.width, channels: 3, bitDepth: 8, format: 'jpeg', lossless: false,
  });
  // Display P3 pixels: the same picture with other numbers, which reading converts back to sRGB.
  await put('p3', 'display-p3.png', await rgb.clone().withIccProfile('p3').png().toBuffer(), { width: w, height: h, channels: 3, bitDepth: 8, format: 'png', lossless: false });
  // The same 16-bit pixels declared Display P3 and sRGB by an iCCP chunk (no transform applied on the way).
  const png16 = await deep.clone().png().toBuffer();
  await put('p3x16', 'display-p3-16.png', withIccChunk(png16, 'Display P3', await profileBytes('p3')), { width: w, height: h, channels: 3, bitDepth: 16, format: 'png', lossless: false });
  await put('srgbx16', 'srgb-16.png', withIccChunk(png16, 'sRGB', await profileBytes('srgb')), { width: w, height: h, channels: 3, bitDepth: 16, format: 'png', lossless: true });
  const png8 = await rgb.clone().png().toBuffer();
  await put('p3x8', 'display-p3-8-tagged.png', withIccChunk(png8, 'Display P3', await profileBytes('p3')), { width: w, height: h, channels: 3, bitDepth: 8, format: 'png', lossless: false });
  return out;
}

/** 16-bit pixels with real low bits: each 8-bit sample v becomes 257·v plus a fine ripple. */
async function deepen(img: Sharp, width: number, height: number, channels: 1 | 3): Promise<Sharp> {
  const raw = await img.raw().toBuffer();
  const out = new Uint16Array(width * height * channels);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(65535, raw[i]! * 257 + ((i * 37) % 200));
  return sharp(out, { raw: { width, height, channels } }).toColourspace(channels === 1 ? 'grey16' : 'rgb16');
}

/** The ICC profile sharp knows by `name` ('srgb', 'p3', 'cmyk'). */
export async function profileBytes(name: string): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).withIccProfile(name).png().toBuffer();
  return (await sharp(png).metadata()).icc!;
}

/** A PNG with an iCCP chunk added after IHDR: the samples stay as they are, only their meaning changes. */
export function withIccChunk(png: Buffer, name: string, icc: Buffer): Buffer {
  const at = 8 + 8 + 13 + 4;
  return Buffer.concat([png.subarray(0, at), crcChunk('iCCP', Buffer.concat([Buffer.from(`${name}\0\0`, 'latin1'), zlib.deflateSync(icc)])), png.subarray(at)]);
}

/** The chunk types of a PNG, in order. */
export function pngChunkTypes(png: Buffer): string[] {
  const out: string[] = [];
  for (let at = 8; at + 8 <= png.length; at += 12 + png.readUInt32BE(at)) out.push(png.toString('latin1', at + 4, at + 8));
  return out;
}

function crcChunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const tb = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(tb) >>> 0);
  return Buffer.concat([len, tb, crc]);
}

/** A valid-looking PNG whose header claims width×height pixels (with a few bytes of image data). */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    crcChunk('IHDR', ihdr),
    crcChunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    crcChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Every bad input the readers must refuse, written into `dir`: [file, what the message must mention]. */
export async function makeBadInputs(dir: string): Promise<[string, RegExp][]> {
  const list: [string, Buffer | null, RegExp][] = [
    ['empty.png', Buffer.alloc(0), /empty file/],
    ['notes.png', Buffer.from('This is a text file, not a picture.\n'), /not an image in a supported format/],
    ['half.png', (await small('coffee.png', 64).png().toBuffer()).subarray(0, 700), /truncated or corrupt/],
    ['half.jpg', (await small('coffee.png', 64).jpeg().toBuffer()).subarray(0, 900), /truncated or corrupt/],
    ['huge.png', pngClaiming(200000, 200000), /200000×200000 .* over the limit/],
    ['drawing.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20"/></svg>'), /SVG images are not supported/],
    ['old.bmp', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]), /not an image in a supported format/],
    ['missing.png', null, /no such file/],
  ];
  const out: [string, RegExp][] = [];
  for (const [name, bytes, re] of list) {
    const file = path.join(dir, name);
    if (bytes) writeFileSync(file, bytes);
    out.push([file, re]);
  }
  out.push([fixture('images', 'truncated.jpg'), /truncated or corrupt/]);
  return out;
}
