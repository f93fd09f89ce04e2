// The tiled layout's geometry and decoding: a plane cut into a grid of tiles, each tile its own V_t ≈ W_t·H_t,
// put back together and its seams smoothed by the deblocking filter (docs/FORMAT.md, version 3).

import type { Matrix } from '../engine/matrix.js';
import { dequantizePlane, reconstructRow } from './quantize.js';
import type { QuantizedPlane } from './quantize.js';
import type { QuantBits } from './types.js';

/**
 * Tile side in pixels. 128 was measured on the photo set against 64 and 256 (README): smaller tiles pay for more
 * factor edges per pixel, larger ones for components that span what the picture does not share.
 */
export const DEFAULT_TILE_SIZE = 128;
/** Tile sides a file may give (smaller tiles leave the deblocking filter no room). */
export const MIN_TILE_SIZE = 8;
export const MAX_TILE_SIZE = 4096;

export interface TileGrid {
  tileSize: number;
  rows: number;
  cols: number;
  tilesX: number;
  tilesY: number;
  count: number;
}

/** One tile: its top-left corner and size within the plane. */
export interface TileRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function tileGrid(rows: number, cols: number, tileSize: number): TileGrid {
  const tilesX = Math.ceil(cols / tileSize);
  const tilesY = Math.ceil(rows / tileSize);
  return { tileSize, rows, cols, tilesX, tilesY, count: tilesX * tilesY };
}

/** Tile t (row-major over the grid); edge tiles are smaller. */
export function tileRect(g: TileGrid, t: number): TileRect {
  const tx = t % g.tilesX;
  const ty = Math.floor(t / g.tilesX);
  const x = tx * g.tileSize;
  const y = ty * g.tileSize;
  return { x, y, w: Math.min(g.tileSize, g.cols - x), h: Math.min(g.tileSize, g.rows - y) };
}

/** The tile's entries of a plane, row-major h×w, in float64. */
export function cutTile(plane: Matrix, r: TileRect): Float64Array {
  const out = new Float64Array(r.w * r.h);
  for (let i = 0; i < r.h; i++) {
    const src = (r.y + i) * plane.cols + r.x;
    for (let j = 0; j < r.w; j++) out[i * r.w + j] = plane.data[src + j]!;
  }
  return out;
}

/**
 * A plane's samples from its tiles' codes (sample units, 0 … max, unrounded), in float32: each tile's W·H as the
 * global decoder sums it (float64, components in groups of four, times max), then stored as float32.
 */
export function reconstructTiles(tiles: readonly QuantizedPlane[], g: TileGrid, bits: QuantBits, max: number): Float32Array {
  const plane = new Float32Array(g.rows * g.cols);
  const row = new Float64Array(g.tileSize);
  tiles.forEach((q, t) => {
    const r = tileRect(g, t);
    const { Wt, H } = dequantizePlane(q, bits);
    for (let i = 0; i < r.h; i++) {
      const out = row.subarray(0, r.w);
      reconstructRow(Wt, H, r.h, q.rank, r.w, i, max, out);
      plane.set(out, (r.y + i) * g.cols + r.x);
    }
  });
  return plane;
}

/**
 * The deblocking filter: across every tile border, a step Δ = q0 − p0 between the two samples that meet there is
 * spread over the two samples on each side (p1 += Δ/8, p0 += 3Δ/8, q0 −= 3Δ/8, q1 −= Δ/8, the step left is Δ/4)
 * when |Δ| < threshold: a seam the tiles' separate fits left, while a larger step is an edge of the picture and kept.
 * Vertical borders first (every row), then horizontal ones (every column), in float64 from and back to float32.
 */
export function deblockPlane(plane: Float32Array, g: TileGrid, threshold: number): void {
  if (!(threshold > 0)) return;
  const { rows, cols, tileSize } = g;
  const smooth = (i1: number, i0: number, j0: number, j1: number): void => {
    const p0 = plane[i0]!;
    const q0 = plane[j0]!;
    const d = q0 - p0;
    if (!(Math.abs(d) < threshold)) return;
    plane[i0] = p0 + (3 * d) / 8;
    plane[j0] = q0 - (3 * d) / 8;
    if (i1 >= 0) plane[i1] = plane[i1]! + d / 8;
    if (j1 >= 0) plane[j1] = plane[j1]! - d / 8;
  };
  for (let x0 = tileSize; x0 < cols; x0 += tileSize) {
    const right = x0 + 1 < cols;
    for (let y = 0; y < rows; y++) {
      const b = y * cols + x0;
      smooth(b - 2, b - 1, b, right ? b + 1 : -1);
    }
  }
  for (let y0 = tileSize; y0 < rows; y0 += tileSize) {
    const below = y0 + 1 < rows;
    for (let x = 0; x < cols; x++) {
      const b = y0 * cols + x;
      smooth(b - 2 * cols, b - cols, b, below ? b + cols : -1);
    }
  }
}

/** Thresholds the writer tries for each plane, as fractions of the sample range (0: no filtering). */
export const DEBLOCK_CANDIDATES = [0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255, 32 / 255, 64 / 255];

/**
 * Seams may step at most this much more, on average, than the original does at the same places: where the tiles'
 * separate fits leave larger steps, the grid shows.
 */
export const SEAM_JUMP_ALLOWANCE = 1.1;

/**
 * The deblocking threshold (sample units) for a plane, among DEBLOCK_CANDIDATES: the one that brings the samples
 * next to the borders closest to the original's in squared error, among those whose mean step across the borders
 * is within SEAM_JUMP_ALLOWANCE of the original's there (the strongest filtering when none is). `original` times
 * `scale` is in the units of `decoded`, which is left as it was.
 */
export function chooseDeblockThreshold(decoded: Float32Array, original: ArrayLike<number>, g: TileGrid, max: number, scale = 1): number {
  if (g.tilesX < 2 && g.tilesY < 2) return 0;
  const { rows, cols, tileSize } = g;
  // The pairs of samples that meet at a border, and the strips two samples wide on each side of the borders: the
  // only samples the filter changes, where its error is measured.
  const vx = Math.ceil(cols / tileSize) - 1;
  const hy = Math.ceil(rows / tileSize) - 1;
  const pairs = new Int32Array(2 * (vx * rows + hy * cols));
  const idx = new Int32Array(4 * (vx * rows + hy * cols));
  let np = 0;
  let ni = 0;
  for (let x0 = tileSize; x0 < cols; x0 += tileSize) {
    for (let y = 0; y < rows; y++) {
      const b = y * cols + x0;
      pairs[np++] = b - 1;
      pairs[np++] = b;
      for (let dx = -2; dx < 2; dx++) if (x0 + dx < cols) idx[ni++] = b + dx;
    }
  }
  for (let y0 = tileSize; y0 < rows; y0 += tileSize) {
    for (let x = 0; x < cols; x++) {
      const b = y0 * cols + x;
      pairs[np++] = b - cols;
      pairs[np++] = b;
      for (let dy = -2; dy < 2; dy++) if (y0 + dy < rows) idx[ni++] = b + dy * cols;
    }
  }
  let originalJump = 0;
  for (let i = 0; i < np; i += 2) originalJump += scale * Math.abs(original[pairs[i + 1]!]! - original[pairs[i]!]!);
  const target = new Float64Array(ni);
  const kept = new Float32Array(ni);
  for (let n = 0; n < ni; n++) {
    target[n] = scale * original[idx[n]!]!;
    kept[n] = decoded[idx[n]!]!;
  }
  // Each candidate filters the plane itself, which is then put back as it was.
  let best = -1;
  let bestErr = Number.POSITIVE_INFINITY;
  let smoothest = 0;
  let smoothestJump = Number.POSITIVE_INFINITY;
  for (const c of DEBLOCK_CANDIDATES) {
    const threshold = c * max;
    deblockPlane(decoded, g, threshold);
    let e = 0;
    for (let n = 0; n < ni; n++) e += (decoded[idx[n]!]! - target[n]!) ** 2;
    let jump = 0;
    for (let i = 0; i < np; i += 2) jump += Math.abs(decoded[pairs[i + 1]!]! - decoded[pairs[i]!]!);
    for (let n = 0; n < ni; n++) decoded[idx[n]!] = kept[n]!;
    if (jump < smoothestJump) {
      smoothestJump = jump;
      smoothest = threshold;
    }
    if (jump <= SEAM_JUMP_ALLOWANCE * originalJump && e < bestErr) {
      bestErr = e;
      best = threshold;
    }
  }
  return best >= 0 ? best : smoothest;
}
