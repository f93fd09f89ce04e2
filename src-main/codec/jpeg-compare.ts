// The JPEG baseline: a JPEG of about the same byte size as the .nmfz (quality searched with sharp) and its quality.

import sharp from 'sharp';
import { psnr } from './metrics.js';
import { ssimParallel } from './ssim-parallel.js';
import type { ImagePixels } from './types.js';
import { colourChannels } from './types.js';

export interface JpegComparison {
  /** The highest quality whose file fits the byte budget (1 when even that is larger). */
  jpegQuality: number;
  jpegBytes: number;
  jpegPsnr: number;
  jpegSsim: number;
  /** The JPEG's pixels, laid out like the original (alpha copied over, 16-bit scaled by 257). */
  decoded: ImagePixels;
}

/** The colour channels as 8-bit samples (16-bit reduced with rounding): what a JPEG can hold. */
function colour8(img: ImagePixels): { data: Uint8Array; channels: 1 | 3 } {
  const colours = colourChannels(img);
  const n = img.width * img.height;
  const out = new Uint8Array(n * colours);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < colours; c++) {
      const v = img.data[p * img.channels + c]!;
      out[p * colours + c] = img.bitDepth === 16 ? Math.round(v / 257) : v;
    }
  }
  return { data: out, channels: colours };
}

async function encodeJpeg(rgb: { data: Uint8Array; channels: 1 | 3 }, img: ImagePixels, quality: number): Promise<Buffer> {
  return sharp(rgb.data, { raw: { width: img.width, height: img.height, channels: rgb.channels } })
    .jpeg({ quality })
    .toBuffer();
}

/**
 * Searches JPEG quality 1–100 (sharp's defaults otherwise: 4:2:0 chroma, no metadata) for the largest file not over
 * `targetBytes`, and measures it against `original` with the same PSNR and SSIM as the .nmfz.
 */
export async function compareJpeg(original: ImagePixels, targetBytes: number): Promise<JpegComparison> {
  const rgb = colour8(original);
  let lo = 1;
  let hi = 100;
  let best: { q: number; bytes: Buffer } | null = null;
  const sizes = new Map<number, Buffer>();
  const at = async (q: number): Promise<Buffer> => {
    let b = sizes.get(q);
    if (!b) {
      b = await encodeJpeg(rgb, original, q);
      sizes.set(q, b);
    }
    return b;
  };
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const b = await at(mid);
    if (b.length <= targetBytes) {
      best = { q: mid, bytes: b };
      lo = mid + 1;
    } else hi = mid - 1;
  }
  best ??= { q: 1, bytes: await at(1) };
  const { data, info } = await sharp(best.bytes)
    .toColourspace(rgb.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const C = original.channels;
  const colours = rgb.channels;
  const n = original.width * original.height;
  const out = original.bitDepth === 16 ? new Uint16Array(n * C) : new Uint8Array(n * C);
  const scale = original.bitDepth === 16 ? 257 : 1;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < colours; c++) out[p * C + c] = data[p * info.channels + c]! * scale;
    if (C !== colours) out[p * C + C - 1] = original.data[p * C + C - 1]!;
  }
  const decoded: ImagePixels = { width: original.width, height: original.height, channels: C, bitDepth: original.bitDepth, data: out };
  return { jpegQuality: best.q, jpegBytes: best.bytes.length, jpegPsnr: psnr(original, decoded), jpegSsim: await ssimParallel(original, decoded), decoded };
}
