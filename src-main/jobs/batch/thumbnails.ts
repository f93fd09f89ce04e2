// Small WebP thumbnails of an original and its reconstruction, for the HTML report.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../../formats/atomic.js';

/** Interleaved pixels, as the codec decodes them (8 or 16 bits, 1–4 channels, alpha last). */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitDepth: 8 | 16;
  readonly data: Uint8Array | Uint16Array;
}

/** Longest side of a thumbnail, in pixels: shown at 96 CSS pixels, sharp on high-density screens. */
export const THUMBNAIL_SIZE = 160;

function eightBit(img: Pixels): Buffer {
  if (img.bitDepth === 8) return Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const out = Buffer.allocUnsafe(img.data.length);
  for (let i = 0; i < img.data.length; i++) out[i] = img.data[i]! >> 8;
  return out;
}

export async function thumbnail(img: Pixels): Promise<Buffer> {
  return sharp(eightBit(img), { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 70, alphaQuality: 70 })
    .toBuffer();
}

/** Writes both thumbnails (replacing older ones: they belong to the report, which every run rewrites). */
export async function writeThumbnails(original: Pixels, reconstruction: Pixels, targets: { original: string; reconstruction: string }): Promise<void> {
  await mkdir(path.dirname(targets.original), { recursive: true });
  const [a, b] = await Promise.all([thumbnail(original), thumbnail(reconstruction)]);
  await writeFileAtomic(targets.original, a, { overwrite: true });
  await writeFileAtomic(targets.reconstruction, b, { overwrite: true });
}
