// Pictures for the window: images as 8-bit RGBA, the difference heat map, component thumbnails, live previews.

import type { ComponentInfo, Raster } from '../api/contract.js';
import { colormapIndex, colormapTable } from '../codec/colormaps.js';
import { chromaOffset, ycbcrToRgb, type PlaneName } from '../codec/colour.js';
import type { ColorMode, ImagePixels } from '../codec/types.js';
import type { Matrix } from '../engine/matrix.js';

/** Any decoded image as 8-bit RGBA (16-bit samples rounded to their nearest 8-bit value). */
export function toRaster(img: ImagePixels): Raster {
  const { width, height, channels: C, data } = img;
  const n = width * height;
  const rgba = new Uint8Array(n * 4);
  const k = img.bitDepth === 16 ? 1 / 257 : 1;
  for (let p = 0; p < n; p++) {
    const s = p * C;
    const d = p * 4;
    if (C <= 2) {
      const v = Math.round(data[s]! * k);
      rgba[d] = rgba[d + 1] = rgba[d + 2] = v;
      rgba[d + 3] = C === 2 ? Math.round(data[s + 1]! * k) : 255;
    } else {
      rgba[d] = Math.round(data[s]! * k);
      rgba[d + 1] = Math.round(data[s + 1]! * k);
      rgba[d + 2] = Math.round(data[s + 2]! * k);
      rgba[d + 3] = C === 4 ? Math.round(data[s + 3]! * k) : 255;
    }
  }
  return { width, height, rgba };
}

/** matplotlib's magma (perceptually ordered, dark → bright) at t in [0, 1], for error heat maps. */
const MAGMA = colormapTable('magma');

function ramp(t: number, out: Uint8Array, at: number): void {
  const k = colormapIndex(t) * 3;
  out[at] = MAGMA[k]!;
  out[at + 1] = MAGMA[k + 1]!;
  out[at + 2] = MAGMA[k + 2]!;
  out[at + 3] = 255;
}

/**
 * |original − reconstruction| per pixel (largest over the colour channels, alpha aside) as a heat map.
 * Scaled so the 99.5th percentile of the error is the brightest colour: small errors stay visible
 * instead of vanishing under one outlier. `scale` is the error, in 8-bit levels, shown at full brightness.
 */
export function diffRaster(a: ImagePixels, b: ImagePixels): { raster: Raster; scale: number } {
  const { width, height } = a;
  const n = width * height;
  const C = a.channels;
  const colour = C >= 3 ? 3 : 1;
  const k = a.bitDepth === 16 ? 1 / 257 : 1;
  const err = new Float32Array(n);
  const histogram = new Uint32Array(256);
  for (let p = 0; p < n; p++) {
    let e = 0;
    for (let c = 0; c < colour; c++) e = Math.max(e, Math.abs(a.data[p * C + c]! - b.data[p * C + c]!) * k);
    err[p] = e;
    histogram[Math.min(255, Math.floor(e))]!++;
  }
  let seen = 0;
  let p995 = 255;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v]!;
    if (seen >= 0.995 * n) {
      p995 = v + 1;
      break;
    }
  }
  const scale = Math.max(8, p995);
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) ramp(err[p]! / scale, rgba, p * 4);
  return { raster: { width, height, rgba }, scale };
}

/** Indices of every `step`-th row/column, so a thumbnail or preview never costs more than it shows. */
function sampleIndices(size: number, max: number): Int32Array {
  const out = Math.min(size, max);
  const idx = new Int32Array(out);
  for (let i = 0; i < out; i++) idx[i] = Math.min(size - 1, Math.floor(((i + 0.5) * size) / out));
  return idx;
}

/** The pixel grid of a plane: image width and height (a stacked [R|G|B] plane is three images wide). */
function planeImageSize(name: PlaneName, plane: { rows: number; cols: number }): { width: number; height: number } {
  return { width: name === 'rgb' ? plane.cols / 3 : plane.cols, height: plane.rows };
}

/**
 * The rank-1 layer w_j·h_jᵀ of one plane as a small picture, normalised to its own maximum: colour for a
 * stacked RGB plane, grey for a single channel.
 */
export function componentThumbnail(name: PlaneName, W: Matrix, H: Matrix, j: number, maxSide = 128): Raster {
  const { width, height } = planeImageSize(name, { rows: W.rows, cols: H.cols });
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const tw = Math.max(1, Math.round(width * scale));
  const th = Math.max(1, Math.round(height * scale));
  const rows = sampleIndices(height, th);
  const cols = sampleIndices(width, tw);
  const r = W.cols;
  let max = 0;
  for (let i = 0; i < W.rows; i++) max = Math.max(max, W.data[i * r + j]!);
  let hmax = 0;
  for (let c = 0; c < H.cols; c++) hmax = Math.max(hmax, H.data[j * H.cols + c]!);
  const peak = max * hmax || 1;
  const rgba = new Uint8Array(tw * th * 4);
  const stacked = name === 'rgb';
  for (let y = 0; y < th; y++) {
    const w = W.data[rows[y]! * r + j]!;
    for (let x = 0; x < tw; x++) {
      const d = (y * tw + x) * 4;
      const col = cols[x]!;
      if (stacked) {
        for (let c = 0; c < 3; c++) rgba[d + c] = Math.round((255 * w * H.data[j * H.cols + c * width + col]!) / peak);
      } else {
        rgba[d] = rgba[d + 1] = rgba[d + 2] = Math.round((255 * w * H.data[j * H.cols + col]!) / peak);
      }
      rgba[d + 3] = 255;
    }
  }
  return { width: tw, height: th, rgba };
}

/**
 * The components of one or more factor pairs as the window lists them: numbered on from `first` in factor order,
 * each with its share of the energy, largest first.
 */
export function componentInfos(factors: readonly { name: PlaneName; W: Matrix; H: Matrix }[], first = 0): ComponentInfo[] {
  const components: ComponentInfo[] = [];
  let index = first;
  for (const f of factors) {
    const energies = componentEnergies(f.W, f.H);
    energies.forEach((energy, j) => components.push({ index: index + j, energy, thumbnail: componentThumbnail(f.name, f.W, f.H, j) }));
    index += f.W.cols;
  }
  const total = components.reduce((a, c) => a + c.energy, 0) || 1;
  for (const c of components) c.energy /= total;
  return components.sort((a, b) => b.energy - a.energy || a.index - b.index);
}

/** Energy of each component of a plane, ‖w_j‖²·‖h_j‖² (the squared Frobenius norm of its layer). */
export function componentEnergies(W: Matrix, H: Matrix): number[] {
  const r = W.cols;
  return Array.from({ length: r }, (_, j) => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < W.rows; i++) a += W.data[i * r + j]! ** 2;
    for (let c = 0; c < H.cols; c++) b += H.data[j * H.cols + c]! ** 2;
    return a * b;
  });
}

/**
 * A live, reduced-size picture of a fit in progress. `planes` holds each plane's current factors, or null
 * for a plane not fitted yet (shown neutral: zero for R/G/B, no colour for Cb/Cr). Values are in [0, 1].
 */
export function previewRaster(
  mode: ColorMode,
  names: readonly PlaneName[],
  planes: readonly ({ W: Matrix; H: Matrix } | null)[],
  size: { width: number; height: number },
  maxSide = 512,
): Raster {
  const scale = Math.min(1, maxSide / Math.max(size.width, size.height));
  const tw = Math.max(1, Math.round(size.width * scale));
  const th = Math.max(1, Math.round(size.height * scale));
  const rows = sampleIndices(size.height, th);
  const cols = sampleIndices(size.width, tw);
  const value = (p: number, y: number, col: number): number => {
    const f = planes[p];
    if (!f) return names[p] === 'cb' || names[p] === 'cr' ? chromaOffset(255) / 255 : 0;
    const r = f.W.cols;
    let s = 0;
    const wi = rows[y]! * r;
    for (let k = 0; k < r; k++) s += f.W.data[wi + k]! * f.H.data[k * f.H.cols + col]!;
    return s;
  };
  const rgba = new Uint8Array(tw * th * 4);
  const rgb = new Float64Array(3);
  const clamp = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const d = (y * tw + x) * 4;
      const c = cols[x]!;
      if (names.length === 1 && names[0] === 'gray') {
        rgba[d] = rgba[d + 1] = rgba[d + 2] = clamp(255 * value(0, y, c));
      } else if (names[0] === 'rgb') {
        for (let ch = 0; ch < 3; ch++) rgba[d + ch] = clamp(255 * value(0, y, ch * size.width + c));
      } else if (mode === 'ycbcr') {
        ycbcrToRgb(255 * value(0, y, c), 255 * value(1, y, c), 255 * value(2, y, c), chromaOffset(255), rgb);
        rgba[d] = clamp(rgb[0]!);
        rgba[d + 1] = clamp(rgb[1]!);
        rgba[d + 2] = clamp(rgb[2]!);
      } else {
        for (let ch = 0; ch < 3; ch++) rgba[d + ch] = clamp(255 * value(ch, y, c));
      }
      rgba[d + 3] = 255;
    }
  }
  return { width: tw, height: th, rgba };
}
