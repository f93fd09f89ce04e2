// Colour modes: how an image's colour channels become the matrices that NMF factorizes, and how ranks are shared.

import { UserError } from '../engine/errors.js';
import { allocate } from '../engine/matrix.js';
import type { DType, Matrix } from '../engine/matrix.js';
import type { ColorMode, ImagePixels } from './types.js';
import { colourChannels, maxValue, toSample } from './types.js';

export type PlaneName = 'gray' | 'rgb' | 'r' | 'g' | 'b' | 'y' | 'cb' | 'cr';

export interface PlaneLayout {
  name: PlaneName;
  rows: number;
  cols: number;
}

/**
 * The matrices of an image in a colour mode. A gray image is one height×width matrix in every mode. In colour:
 * 'stacked' is one height×(3·width) matrix [R | G | B]; 'channels' three height×width matrices R, G, B; 'ycbcr'
 * three height×width matrices Y, Cb, Cr (JPEG's full-range BT.601 transform, which keeps every value in range
 * and so non-negative).
 */
export function planeLayouts(img: { width: number; height: number; channels: number }, mode: ColorMode): PlaneLayout[] {
  const { width: w, height: h } = img;
  if (colourChannels(img) === 1) return [{ name: 'gray', rows: h, cols: w }];
  switch (mode) {
    case 'stacked':
      return [{ name: 'rgb', rows: h, cols: 3 * w }];
    case 'channels':
      return (['r', 'g', 'b'] as const).map((name) => ({ name, rows: h, cols: w }));
    case 'ycbcr':
      return (['y', 'cb', 'cr'] as const).map((name) => ({ name, rows: h, cols: w }));
  }
}

/**
 * Share of the total rank given to each chroma plane in 'ycbcr' mode; luma gets the rest. Chroma is smooth and
 * the eye forgives it, so it needs far fewer components (measured in docs/colour-modes.md).
 */
export const YCBCR_CHROMA_SHARE = 0.1;

/**
 * How a total rank is shared between the planes: all of it for a single plane, as evenly as possible over R, G, B,
 * and in favour of luma for Y, Cb, Cr. Every plane gets at least 1. `chromaShare` 0 gives each chroma plane rank 1,
 * which is exact for an image without colour (R = G = B: Cb and Cr are constant).
 */
export function splitRank(planes: readonly PlaneLayout[], mode: ColorMode, total: number, chromaShare = YCBCR_CHROMA_SHARE): number[] {
  if (planes.length === 1) return [total];
  if (mode === 'ycbcr') {
    const chroma = Math.max(1, Math.round(total * chromaShare));
    return [total - 2 * chroma, chroma, chroma];
  }
  const base = Math.floor(total / 3);
  const extra = total - 3 * base;
  return [base + (extra > 0 ? 1 : 0), base + (extra > 1 ? 1 : 0), base];
}

/** The smallest total rank a mode allows (one component per plane). */
export function minRank(planes: readonly PlaneLayout[], mode: ColorMode): number {
  return planes.length === 1 ? 1 : 3;
}

/** The largest total rank for which every plane's rank stays within min(rows, cols). */
export function maxRank(planes: readonly PlaneLayout[], mode: ColorMode, chromaShare = YCBCR_CHROMA_SHARE): number {
  const limit = Math.min(...planes.map((p) => Math.min(p.rows, p.cols)));
  if (planes.length === 1) return limit;
  let best = minRank(planes, mode);
  // splitRank is monotone per plane, so walk down from the even-share bound.
  for (let total = 3 * limit; total >= best; total--) {
    if (splitRank(planes, mode, total, chromaShare).every((r) => r <= limit)) return total;
  }
  return best;
}

/** Refuses a rank the mode cannot use, with the allowed range. */
export function checkRank(planes: readonly PlaneLayout[], mode: ColorMode, total: number, chromaShare = YCBCR_CHROMA_SHARE): void {
  const lo = minRank(planes, mode);
  const hi = maxRank(planes, mode, chromaShare);
  if (!Number.isInteger(total) || total < lo || total > hi) {
    throw new UserError(`rank must be an integer from ${lo} to ${hi} for this image in colour mode '${mode}' (got ${total})`, 'usage');
  }
}

// JPEG's (JFIF) full-range BT.601 YCbCr.
const KR = 0.299;
const KB = 0.114;
const KG = 1 - KR - KB;

/** The offset of Cb and Cr: 128 for 8-bit, 32768 for 16-bit. */
export function chromaOffset(max: number): number {
  return (max + 1) / 2;
}

/** True when every pixel has R = G = B: a gray picture stored as colour. */
export function isAchromatic(img: ImagePixels): boolean {
  if (colourChannels(img) === 1) return true;
  const { data, channels: C } = img;
  for (let i = 0; i < data.length; i += C) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/**
 * The image's planes as matrices with values in [0, 1] (pixel ÷ 255 or 65535), in the given precision; written
 * into `into` when given (matrices of planeLayouts' shapes, e.g. in shared memory).
 */
export function imageToPlanes(img: ImagePixels, mode: ColorMode, dtype: DType, into?: Matrix[]): Matrix[] {
  const layouts = planeLayouts(img, mode);
  const max = maxValue(img.bitDepth);
  const inv = 1 / max;
  const { width: w, height: h, channels: C, data } = img;
  const n = w * h;
  const planes = into ?? layouts.map((p) => allocate(p.rows, p.cols, dtype));
  if (layouts.length === 1 && layouts[0]!.name === 'gray') {
    const out = planes[0]!.data;
    for (let p = 0; p < n; p++) out[p] = data[p * C]! * inv;
    return planes;
  }
  if (layouts[0]!.name === 'rgb') {
    const out = planes[0]!.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = (y * w + x) * C;
        const dst = y * 3 * w + x;
        out[dst] = data[src]! * inv;
        out[dst + w] = data[src + 1]! * inv;
        out[dst + 2 * w] = data[src + 2]! * inv;
      }
    }
    return planes;
  }
  const [p0, p1, p2] = [planes[0]!.data, planes[1]!.data, planes[2]!.data];
  if (mode === 'channels') {
    for (let p = 0; p < n; p++) {
      p0[p] = data[p * C]! * inv;
      p1[p] = data[p * C + 1]! * inv;
      p2[p] = data[p * C + 2]! * inv;
    }
    return planes;
  }
  const off = chromaOffset(max);
  for (let p = 0; p < n; p++) {
    const r = data[p * C]!;
    const g = data[p * C + 1]!;
    const b = data[p * C + 2]!;
    const y = KR * r + KG * g + KB * b;
    p0[p] = y * inv;
    p1[p] = (off + (b - y) / (2 * (1 - KB))) * inv;
    p2[p] = (off + (r - y) / (2 * (1 - KR))) * inv;
  }
  return planes;
}

/**
 * ycbcrToRgb over n samples of three planes, each result made a sample (toSample), into out[(from + i)·C + channel]: the same numbers, without a call per pixel.
 */
export function ycbcrToSamples(
  y: Float32Array, cb: Float32Array, cr: Float32Array, n: number, off: number, max: number,
  out: Uint8Array | Uint16Array, from: number, C: number,
): void {
  const toR = 2 * (1 - KR);
  const toB = 2 * (1 - KB);
  for (let p = 0, o = from * C; p < n; p++, o += C) {
    const Y = y[p]!;
    const r = Y + toR * (cr[p]! - off);
    const b = Y + toB * (cb[p]! - off);
    const g = (Y - KR * r - KB * b) / KG;
    out[o] = toSample(r, max);
    out[o + 1] = toSample(g, max);
    out[o + 2] = toSample(b, max);
  }
}

/** Inverse of the YCbCr transform for one pixel, in pixel units (unrounded). */
export function ycbcrToRgb(y: number, cb: number, cr: number, off: number, out: Float64Array): void {
  const r = y + 2 * (1 - KR) * (cr - off);
  const b = y + 2 * (1 - KB) * (cb - off);
  out[0] = r;
  out[1] = (y - KR * r - KB * b) / KG;
  out[2] = b;
}
