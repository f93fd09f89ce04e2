// The tiled layout's geometry and decoding: a plane cut into a grid of tiles, each tile its own V_t ≈ W_t·H_t,
// put back together and its seams smoothed by the deblocking filter (docs/FORMAT.md, version 3).

import type { Matrix } from '../engine/matrix.js';
import { dequantizePlane, levels, reconstructRow } from './quantize.js';
import { TILE_WASM_BASE64 } from './kernel/tile-wasm.js';
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
  tiles.forEach((q, t) => {
    const r = tileRect(g, t);
    reconstructTileInto(q, bits, max, plane, r.y * g.cols + r.x, g.cols);
  });
  return plane;
}

/** The tile decoder of kernel/tile.c, on memory of its own (grown as tiles need), or null where it cannot run. */
class TileKernel {
  private memory = new WebAssembly.Memory({ initial: 4 });
  private readonly run: (...args: number[]) => void;
  private constructor(module: WebAssembly.Module) {
    this.run = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports.reconstruct as (...args: number[]) => void;
  }

  private static made: TileKernel | null | undefined;
  static get(): TileKernel | null {
    if (TileKernel.made === undefined) {
      try {
        TileKernel.made = new TileKernel(new WebAssembly.Module(Buffer.from(TILE_WASM_BASE64, 'base64')));
      } catch {
        TileKernel.made = null; // no WebAssembly SIMD here: reconstructRow's loops
      }
    }
    return TileKernel.made;
  }

  /** The tile's rows×cols samples (a view of the kernel's memory, good until its next call). */
  samples(q: QuantizedPlane, bits: QuantBits, max: number): Float32Array {
    const { rows, cols, rank: k } = q;
    // After the two pages the linker reserves: W codes, H codes, scales, Wᵀ and H in double, the samples.
    const at = (bytes: number[]): number[] => {
      let p = 2 * 65536;
      return bytes.map((b) => ((p = Math.ceil(p / 16) * 16), (p += b), p - b));
    };
    const [wc, hc, sc, wt, h, out, end] = at([2 * k * rows, 2 * k * cols, 4 * k, 8 * k * rows, 8 * k * cols, 4 * rows * cols, 0]) as [number, number, number, number, number, number, number];
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / 65536));
    const buf = this.memory.buffer;
    new Uint16Array(buf, wc, k * rows).set(q.wCodes);
    new Uint16Array(buf, hc, k * cols).set(q.hCodes);
    new Float32Array(buf, sc, k).set(q.scales);
    this.run(wc, hc, sc, rows, k, cols, levels(bits), max, wt, h, out);
    return new Float32Array(buf, out, rows * cols);
  }
}

/**
 * Tile q's samples (sample units, unrounded, float32) into dest from `at`, `stride` a row: by the WebAssembly kernel
 * where it runs (a photograph's decode spent a quarter of its time summing tiles in JavaScript), else by
 * reconstructRow; the same numbers either way.
 */
export function reconstructTileInto(q: QuantizedPlane, bits: QuantBits, max: number, dest: Float32Array, at: number, stride: number): void {
  const kernel = TileKernel.get();
  if (kernel) {
    const D = kernel.samples(q, bits, max);
    for (let i = 0; i < q.rows; i++) dest.set(D.subarray(i * q.cols, (i + 1) * q.cols), at + i * stride);
    return;
  }
  const { Wt, H } = dequantizePlane(q, bits);
  const row = new Float64Array(q.cols);
  for (let i = 0; i < q.rows; i++) {
    reconstructRow(Wt, H, q.rows, q.rank, q.cols, i, max, row);
    dest.set(row, at + i * stride);
  }
}

/**
 * The samples of a decoded tile (rows×cols, row-major) that border strips hold: its first two and last two rows,
 * then, row by row, its first two and last two columns (fewer where the tile is smaller: repeated). A fit's tile
 * thread keeps them from the tile it decoded to measure, so that the encoder's thread fills its strips without
 * decoding the tiles again.
 */
export function tileEdges(D: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(4 * cols + 4 * rows);
  const edgeRows = [0, Math.min(1, rows - 1), Math.max(0, rows - 2), rows - 1];
  edgeRows.forEach((i, e) => {
    for (let j = 0; j < cols; j++) out[e * cols + j] = D[i * cols + j]!;
  });
  const at = 4 * cols;
  const c1 = Math.min(1, cols - 1);
  const c2 = Math.max(0, cols - 2);
  for (let i = 0; i < rows; i++) {
    out[at + 4 * i] = D[i * cols]!;
    out[at + 4 * i + 1] = D[i * cols + c1]!;
    out[at + 4 * i + 2] = D[i * cols + c2]!;
    out[at + 4 * i + 3] = D[i * cols + cols - 1]!;
  }
  return out;
}

/** Sample (i, j) on a tile's border (two rows or columns from its edge) from its tileEdges, times `scale`. */
export function edgeSampler(edges: Float32Array, rows: number, cols: number, scale: number): (i: number, j: number) => number {
  return (i, j) => {
    let v: number;
    if (i < 2) v = edges[i * cols + j]!;
    else if (i >= rows - 2) v = edges[(i - rows + 4) * cols + j]!;
    else if (j < 2) v = edges[4 * cols + 4 * i + j]!;
    else v = edges[4 * cols + 4 * i + 2 + j - cols + 2]!;
    return Math.fround(v * scale);
  };
}

/**
 * One step of the deblocking filter across a border, on the samples i1, i0 | j0, j1 of `a` (j1 −1 at the plane's
 * edge): the step Δ = j0 − i0 is spread over the two samples on each side (i1 += Δ/8, i0 += 3Δ/8, j0 −= 3Δ/8,
 * j1 −= Δ/8, the step left is Δ/4) when |Δ| < threshold.
 */
function smooth(a: Float32Array, i1: number, i0: number, j0: number, j1: number, threshold: number): void {
  const p0 = a[i0]!;
  const q0 = a[j0]!;
  const d = q0 - p0;
  if (!(Math.abs(d) < threshold)) return;
  a[i0] = p0 + (3 * d) / 8;
  a[j0] = q0 - (3 * d) / 8;
  if (i1 >= 0) a[i1] = a[i1]! + d / 8;
  if (j1 >= 0) a[j1] = a[j1]! - d / 8;
}

/**
 * The deblocking filter: across every tile border, a step between the two samples that meet there is smoothed
 * (smooth) when it is smaller than the threshold: a seam the tiles' separate fits left, while a larger step is an
 * edge of the picture and kept. Vertical borders first (every row), then horizontal ones (every column), in
 * float64 from and back to float32.
 */
export function deblockPlane(plane: Float32Array, g: TileGrid, threshold: number): void {
  if (!(threshold > 0)) return;
  deblockVertical(plane, g.cols, g.tileSize, 0, g.rows, threshold);
  const { rows, cols, tileSize } = g;
  for (let y0 = tileSize; y0 < rows; y0 += tileSize) deblockHorizontal(plane, cols, y0 * cols, y0 + 1 < rows, threshold);
}

/** The vertical borders of rows `from` … `to`−1 of a band `cols` wide. */
function deblockVertical(a: Float32Array, cols: number, tileSize: number, from: number, to: number, threshold: number): void {
  for (let x0 = tileSize; x0 < cols; x0 += tileSize) {
    const right = x0 + 1 < cols;
    for (let y = from; y < to; y++) {
      const b = y * cols + x0;
      smooth(a, b - 2, b - 1, b, right ? b + 1 : -1, threshold);
    }
  }
}

/** A horizontal border whose first row below starts at `at` (with two rows above it, and one more below when `below`). */
function deblockHorizontal(a: Float32Array, cols: number, at: number, below: boolean, threshold: number): void {
  for (let x = 0; x < cols; x++) {
    const b = at + x;
    smooth(a, b - 2 * cols, b - cols, b, below ? b + cols : -1, threshold);
  }
}

/**
 * A tiled plane decoded one band of tile rows at a time, deblocked exactly as deblockPlane does the whole plane:
 * each band's vertical borders, then the horizontal border above it, with the band before's last two rows kept
 * for it. Holds a band, not the plane.
 */
export class BandDeblocker {
  /** Image rows y0 − 2 … y0 + h − 1 of the band starting at y0 (the first two: the band before's last). */
  readonly buffer: Float32Array;
  constructor(
    private readonly g: TileGrid,
    private readonly threshold: number,
  ) {
    this.buffer = new Float32Array((g.tileSize + 2) * g.cols);
  }

  /** Where row i of tile row `ty`'s band goes in `buffer`. */
  rowAt(i: number): number {
    return (i + 2) * this.g.cols;
  }

  /**
   * Tile row `ty`'s band, its samples already at rowAt(0 …), deblocked: the image rows now final (`count` of them
   * from row `y`, in `rows`), which stay in place until carry(ty).
   */
  finish(ty: number): { y: number; rows: Float32Array; count: number } {
    const { rows, cols, tileSize } = this.g;
    const y0 = ty * tileSize;
    const h = Math.min(tileSize, rows - y0);
    const b = this.buffer;
    if (this.threshold > 0) {
      deblockVertical(b, cols, tileSize, 2, 2 + h, this.threshold);
      if (ty > 0) deblockHorizontal(b, cols, 2 * cols, y0 + 1 < rows, this.threshold);
    }
    // The band's last two rows wait for the next band's border, unless it is the last.
    const from = ty > 0 ? y0 - 2 : y0;
    const to = y0 + h >= rows ? y0 + h : y0 + h - 2;
    return { y: from, rows: b.subarray((from - y0 + 2) * cols, (to - y0 + 2) * cols), count: to - from };
  }

  /** Keeps band `ty`'s last two rows for the next band's border. */
  carry(ty: number): void {
    const { rows, cols, tileSize } = this.g;
    const h = Math.min(tileSize, rows - ty * tileSize);
    this.buffer.copyWithin(0, h * cols, (h + 2) * cols);
  }
}

/**
 * The samples the deblocking filter reads and writes, the two on each side of every tile border, as strips: four
 * columns down each vertical border (`vertical`, border v's row y at (v·rows + y)·4) and four rows along each
 * horizontal one (`horizontal`, border h's row dy at (h·4 + dy + 2)·cols). A sample where strips cross is in both:
 * the horizontal strip takes the vertical pass's result before its own pass, and gives its result back after, so
 * both end as deblockPlane leaves the plane.
 */
export class BorderStrips {
  readonly vertical: Float32Array;
  readonly horizontal: Float32Array;
  readonly vx: number;
  readonly hy: number;

  constructor(readonly g: TileGrid) {
    this.vx = Math.max(0, g.tilesX - 1);
    this.hy = Math.max(0, g.tilesY - 1);
    this.vertical = new Float32Array(this.vx * g.rows * 4);
    this.horizontal = new Float32Array(this.hy * 4 * g.cols);
  }

  /** Sets sample (y, x) wherever the strips hold it (nowhere when it is no border's). */
  set(y: number, x: number, value: number): void {
    const { tileSize: T, rows, cols } = this.g;
    const cx = x % T;
    const v = cx >= T - 2 && x - cx + T < cols ? (x - cx) / T : cx <= 1 && x >= T ? (x - cx) / T - 1 : -1;
    if (v >= 0) this.vertical[(v * rows + y) * 4 + (cx <= 1 ? cx + 2 : cx - T + 2)] = value;
    const cy = y % T;
    const h = cy >= T - 2 && y - cy + T < rows ? (y - cy) / T : cy <= 1 && y >= T ? (y - cy) / T - 1 : -1;
    if (h >= 0) this.horizontal[(h * 4 + (cy <= 1 ? cy + 2 : cy - T + 2)) * cols + x] = value;
  }

  /** Every sample of the strips from `at(y, x)`, tile by tile through `tile(t)`, which gives that tile's sampler. */
  fill(tile: (t: number) => (i: number, j: number) => number): void {
    const g = this.g;
    for (let t = 0; t < g.count; t++) {
      const r = tileRect(g, t);
      const hasLeft = r.x > 0;
      const hasRight = r.x + r.w < g.cols;
      const hasTop = r.y > 0;
      const hasBottom = r.y + r.h < g.rows;
      if (!(hasLeft || hasRight || hasTop || hasBottom)) continue;
      const at = tile(t);
      for (let i = 0; i < r.h; i++) {
        const edgeRow = (hasTop && i < 2) || (hasBottom && i >= r.h - 2);
        for (let j = 0; j < r.w; j++) {
          if (edgeRow || (hasLeft && j < 2) || (hasRight && j >= r.w - 2)) this.set(r.y + i, r.x + j, at(i, j));
          else if (j >= 2 && j < r.w - 2) j = r.w - 3; // past the middle of an inner row
        }
      }
    }
  }

  /**
   * The strips' values from a whole plane (scaled by nothing: the plane's own units): what fill() gives from it, copied
   * column strip by column strip and row by row (fill's sample-by-sample placing took a tile thread 0.1 s on a
   * photograph of 48-pixel tiles).
   */
  static of(plane: Float32Array, g: TileGrid): BorderStrips {
    const s = new BorderStrips(g);
    const { tileSize: T, rows, cols } = g;
    const vertical = s.vertical;
    // Run once per plane, cold: the loops are kept plain (a loop per sample took a tile thread 30 ms), and whole rows
    // are copied natively.
    for (let v = 0; v < s.vx; v++) {
      const x0 = (v + 1) * T;
      const last = x0 + 1 < cols;
      for (let y = 0, src = x0 - 2, dst = v * rows * 4; y < rows; y++, src += cols, dst += 4) {
        vertical[dst] = plane[src]!;
        vertical[dst + 1] = plane[src + 1]!;
        vertical[dst + 2] = plane[src + 2]!;
        if (last) vertical[dst + 3] = plane[src + 3]!;
      }
    }
    for (let h = 0; h < s.hy; h++) {
      const y0 = (h + 1) * T;
      const n = y0 + 1 < rows ? 4 : 3;
      for (let d = 0; d < n; d++) s.horizontal.set(plane.subarray((y0 - 2 + d) * cols, (y0 - 1 + d) * cols), (h * 4 + d) * cols);
    }
    return s;
  }

  copy(): BorderStrips {
    const s = new BorderStrips(this.g);
    s.vertical.set(this.vertical);
    s.horizontal.set(this.horizontal);
    return s;
  }

  restore(from: BorderStrips): void {
    this.vertical.set(from.vertical);
    this.horizontal.set(from.horizontal);
  }

  /** deblockPlane on the strips. */
  deblock(threshold: number): void {
    if (!(threshold > 0)) return;
    const { rows, cols, tileSize: T } = this.g;
    const V = this.vertical;
    const H = this.horizontal;
    for (let v = 0; v < this.vx; v++) {
      const right = (v + 1) * T + 1 < cols;
      for (let y = 0; y < rows; y++) {
        const b = (v * rows + y) * 4 + 2;
        smooth(V, b - 2, b - 1, b, right ? b + 1 : -1, threshold);
      }
    }
    this.crossings((vi, hi) => (H[hi] = V[vi]!));
    for (let h = 0; h < this.hy; h++) deblockHorizontal(H, cols, (h * 4 + 2) * cols, (h + 1) * T + 1 < rows, threshold);
    this.crossings((vi, hi) => (V[vi] = H[hi]!));
  }

  /** Each sample held by both strips: its index in each. */
  private crossings(each: (vi: number, hi: number) => void): void {
    const { rows, cols, tileSize: T } = this.g;
    for (let h = 0; h < this.hy; h++) {
      for (let dy = -2; dy < 2; dy++) {
        const y = (h + 1) * T + dy;
        if (y >= rows) continue;
        for (let v = 0; v < this.vx; v++) {
          for (let dx = -2; dx < 2; dx++) {
            const x = (v + 1) * T + dx;
            if (x < cols) each((v * rows + y) * 4 + dx + 2, (h * 4 + dy + 2) * cols + x);
          }
        }
      }
    }
  }

  /**
   * Σ (scale·a − b)² over every sample (both copies where strips cross, as every border's own samples), with b from
   * `other`, and Σ |step| across the borders of this one times scale: in deblockPlane's order of borders.
   */
  measure(other: BorderStrips | null, scale: number, otherScale: number): { error: number; jump: number } {
    const { rows, cols, tileSize: T } = this.g;
    const V = this.vertical;
    const H = this.horizontal;
    const oV = other?.vertical;
    const oH = other?.horizontal;
    let error = 0;
    let jump = 0;
    for (let v = 0; v < this.vx; v++) {
      const x0 = (v + 1) * T;
      const n = x0 + 1 < cols ? 4 : 3;
      for (let y = 0; y < rows; y++) {
        const b = (v * rows + y) * 4;
        jump += scale * Math.abs(V[b + 2]! - V[b + 1]!);
        if (oV) for (let d = 0; d < n; d++) error += (scale * V[b + d]! - otherScale * oV[b + d]!) ** 2;
      }
    }
    for (let h = 0; h < this.hy; h++) {
      const y0 = (h + 1) * T;
      const n = y0 + 1 < rows ? 4 : 3;
      const b = h * 4 * cols;
      for (let x = 0; x < cols; x++) {
        jump += scale * Math.abs(H[b + 2 * cols + x]! - H[b + cols + x]!);
        if (oH) for (let d = 0; d < n; d++) error += (scale * H[b + d * cols + x]! - otherScale * oH[b + d * cols + x]!) ** 2;
      }
    }
    return { error, jump };
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
 * is within SEAM_JUMP_ALLOWANCE of the original's there (the strongest filtering when none is). Both are given as
 * their border strips (the only samples the filter changes); `original` times `scale` is in the units of
 * `decoded`, which is left as it was.
 */
export function chooseDeblockThreshold(decoded: BorderStrips, original: BorderStrips, max: number, scale = 1): number {
  if (decoded.g.tilesX < 2 && decoded.g.tilesY < 2) return 0;
  const originalJump = original.measure(null, scale, scale).jump;
  const kept = decoded.copy();
  let best = -1;
  let bestErr = Number.POSITIVE_INFINITY;
  let smoothest = 0;
  let smoothestJump = Number.POSITIVE_INFINITY;
  for (const c of DEBLOCK_CANDIDATES) {
    const threshold = c * max;
    decoded.deblock(threshold);
    const { error: e, jump } = decoded.measure(original, 1, scale);
    decoded.restore(kept);
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
