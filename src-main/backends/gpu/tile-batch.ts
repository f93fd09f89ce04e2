// Many small NMF fits at once on the GPU: the tiles of an image, each fitted by accelerated HALS (the maths of the
// engine's fitBlock, for a fixed number of iterations), packed side by side in flat textures so that every step of
// every tile's iteration is one dispatch for the whole batch.
//
// What runs where. Everything after the upload stays on the device: the products (V·Hᵀ with H·Hᵀ in one dispatch,
// Wᵀ·V with Wᵀ·W in another), the sweeps, and the final error; the host uploads V, W0 and H0 once and reads W, H and
// per-row errors back once. The sweeps run there too: fitBlock's rule gives each tile about rows·cols / (2(rows +
// cols)·k) sweeps, so they cost (rows + cols)·k²·sweeps ≈ rows·cols·k / 2, a quarter of the 2·rows·cols·k of the
// products, which left on the host would cap the gain near 5×; and each iteration would move W and H over the bus
// twice. A HALS sweep updates the columns of W one after another, but each row of W only reads its own row (and the
// Gram matrix), and each column of H only its own column: so one dispatch per column index updates that column in
// every row of every tile at once. A dispatch cannot keep a row of W in registers (gpu.js kernels have no arrays),
// hence one per column rather than per sweep: per half-iteration one dispatch per (sweep, column) that some tile of
// the batch needs, each over the whole batch.

import { EXACT_FLOAT_INDEX, type DeviceMatrix, type GpuKernels } from './kernels.js';
import type { GpuBackend } from './gpu-backend.js';
import type { GpuJsKernel } from './runtime.js';

/** One tile to fit: V rows×cols, W0 rows×k and H0 k×cols, row-major. */
export interface BatchTile {
  V: Float32Array;
  rows: number;
  cols: number;
  k: number;
  W0: Float32Array;
  H0: Float32Array;
}

export interface BatchFitOptions {
  /** HALS iterations, every tile the same number (no early stop: the batch moves in step). */
  maxIter: number;
  /** Most sweeps over W (and over H) per product, as fitBlock's innerSweeps: per tile half the product/sweep cost ratio, from 2 up to this. */
  innerSweeps: number;
  /** The gpu backend to run on (its device, its queue). */
  backend: GpuBackend;
}

export interface BatchFit {
  /** rows×k, row-major. */
  W: Float32Array;
  /** k×cols, row-major. */
  H: Float32Array;
  iterations: number;
  /** ‖V − W·H‖²_F at the end. */
  error: number;
}

/** What gpu.js provides to a kernel body as `this`. */
interface KernelThis {
  readonly thread: { readonly x: number };
  readonly constants: Record<string, number>;
}
type Flat = number[];

// Per-tile fields in the meta table (META floats per tile; the kernels spell these numbers out, as they must).
const META = 9;
const M_ROWS = 0;
const M_COLS = 1;
const M_K = 2;
const M_V = 3; // offset of V in the packed V
const M_W = 4; // offset of W (and of V·Hᵀ, same layout) in the packed W
const M_H = 5; // offset of H (and of Wᵀ·V) in the packed H
const M_G = 6; // offset of the k×k Gram matrix in the packed Gram matrices
const M_SWEEPS = 7;
const M_R = 8; // offset of the tile's rows in the packed per-row errors

// ---- kernel sources (see kernels.ts for the conventions). Offsets arrive as float32: exact below 2^24. ------------
// Entry x of a packed layout belongs to tile owner[x] (−1: padding, see packedLength). Its row within the tile is
// (x − offset + 0.5)/width floored, then moved by one where a shader's inexact division landed beside it (the
// products that check it are exact integers in float32).

// Entries [0, wTotal): V·Hᵀ in W's layout; entries wTotal.. : H·Hᵀ in the Gram layout.
function tileVHtAndGram(this: KernelThis, v: Flat, h: Flat, meta: Flat, wOwner: Flat, gOwner: Flat): number {
  let sum = 0;
  if (this.thread.x < this.constants.wTotal) {
    const t = wOwner[this.thread.x];
    if (t < 0) {
      return 0;
    }
    const cols = meta[t * 9 + 1];
    const k = meta[t * 9 + 2];
    const local = this.thread.x - meta[t * 9 + 4];
    let i = Math.floor((local + 0.5) / k);
    if (local < i * k) {
      i = i - 1;
    }
    if (local >= i * k + k) {
      i = i + 1;
    }
    const j = local - i * k;
    const vi = meta[t * 9 + 3] + i * cols;
    const hj = meta[t * 9 + 5] + j * cols;
    for (let l = 0; l < cols; l++) {
      sum += v[vi + l] * h[hj + l];
    }
  } else {
    const y = this.thread.x - this.constants.wTotal;
    const t = gOwner[y];
    if (t < 0) {
      return 0;
    }
    const cols = meta[t * 9 + 1];
    const k = meta[t * 9 + 2];
    const local = y - meta[t * 9 + 6];
    let a = Math.floor((local + 0.5) / k);
    if (local < a * k) {
      a = a - 1;
    }
    if (local >= a * k + k) {
      a = a + 1;
    }
    const b = local - a * k;
    const ha = meta[t * 9 + 5] + a * cols;
    const hb = meta[t * 9 + 5] + b * cols;
    for (let l = 0; l < cols; l++) {
      sum += h[ha + l] * h[hb + l];
    }
  }
  return sum;
}

// Entries [0, hTotal): Wᵀ·V in H's layout; entries hTotal.. : Wᵀ·W in the Gram layout.
function tileWtVAndGram(this: KernelThis, v: Flat, w: Flat, meta: Flat, hOwner: Flat, gOwner: Flat): number {
  let sum = 0;
  if (this.thread.x < this.constants.hTotal) {
    const t = hOwner[this.thread.x];
    if (t < 0) {
      return 0;
    }
    const rows = meta[t * 9];
    const cols = meta[t * 9 + 1];
    const k = meta[t * 9 + 2];
    const local = this.thread.x - meta[t * 9 + 5];
    let j = Math.floor((local + 0.5) / cols);
    if (local < j * cols) {
      j = j - 1;
    }
    if (local >= j * cols + cols) {
      j = j + 1;
    }
    const l = local - j * cols;
    const v0 = meta[t * 9 + 3] + l;
    const w0 = meta[t * 9 + 4] + j;
    for (let i = 0; i < rows; i++) {
      sum += w[w0 + i * k] * v[v0 + i * cols];
    }
  } else {
    const y = this.thread.x - this.constants.hTotal;
    const t = gOwner[y];
    if (t < 0) {
      return 0;
    }
    const rows = meta[t * 9];
    const k = meta[t * 9 + 2];
    const local = y - meta[t * 9 + 6];
    let a = Math.floor((local + 0.5) / k);
    if (local < a * k) {
      a = a - 1;
    }
    if (local >= a * k + k) {
      a = a + 1;
    }
    const b = local - a * k;
    const w0 = meta[t * 9 + 4];
    for (let i = 0; i < rows; i++) {
      sum += w[w0 + i * k + a] * w[w0 + i * k + b];
    }
  }
  return sum;
}

// Column j of W in every tile (sweep s): W[i][j] ← max(0, W[i][j] + (A[i][j] − Σ_t W[i][t]·B[t][j]) / B[j][j]), A and
// B = H·Hᵀ from tileVHtAndGram (prod); every other entry, and tiles of rank ≤ j or fewer sweeps than s, unchanged.
function tileSweepW(this: KernelThis, w: Flat, prod: Flat, meta: Flat, wOwner: Flat, j: number, s: number): number {
  const cur = w[this.thread.x];
  const t = wOwner[this.thread.x];
  if (t < 0) {
    return cur;
  }
  const k = meta[t * 9 + 2];
  if (j >= k || s >= meta[t * 9 + 7]) {
    return cur;
  }
  const w0 = meta[t * 9 + 4];
  const local = this.thread.x - w0;
  let i = Math.floor((local + 0.5) / k);
  if (local < i * k) {
    i = i - 1;
  }
  if (local >= i * k + k) {
    i = i + 1;
  }
  if (Math.abs(local - i * k - j) > 0.5) {
    return cur;
  }
  const g = this.constants.wTotal + meta[t * 9 + 6];
  const d = prod[g + j * k + j];
  if (d <= 0) {
    return cur;
  }
  let acc = prod[this.thread.x];
  for (let c = 0; c < k; c++) {
    acc -= w[w0 + i * k + c] * prod[g + c * k + j];
  }
  const next = cur + acc / d;
  return Math.max(next, 0);
}

// Row j of H in every tile (sweep s): H[j][l] ← max(0, H[j][l] + (C[j][l] − Σ_t B[j][t]·H[t][l]) / B[j][j]), C and
// B = Wᵀ·W from tileWtVAndGram (prod).
function tileSweepH(this: KernelThis, h: Flat, prod: Flat, meta: Flat, hOwner: Flat, j: number, s: number): number {
  const cur = h[this.thread.x];
  const t = hOwner[this.thread.x];
  if (t < 0) {
    return cur;
  }
  const k = meta[t * 9 + 2];
  if (j >= k || s >= meta[t * 9 + 7]) {
    return cur;
  }
  const cols = meta[t * 9 + 1];
  const h0 = meta[t * 9 + 5];
  const local = this.thread.x - h0;
  let a = Math.floor((local + 0.5) / cols);
  if (local < a * cols) {
    a = a - 1;
  }
  if (local >= a * cols + cols) {
    a = a + 1;
  }
  if (Math.abs(a - j) > 0.5) {
    return cur;
  }
  const l = local - a * cols;
  const g = this.constants.hTotal + meta[t * 9 + 6];
  const d = prod[g + j * k + j];
  if (d <= 0) {
    return cur;
  }
  let acc = prod[this.thread.x];
  for (let c = 0; c < k; c++) {
    acc -= prod[g + j * k + c] * h[h0 + c * cols + l];
  }
  const next = cur + acc / d;
  return Math.max(next, 0);
}

// Σ_l (V[i][l] − (W·H)[i][l])² for row i of a tile: one value per row of every tile, added up per tile on the host.
function tileRowErrors(this: KernelThis, v: Flat, w: Flat, h: Flat, meta: Flat, rOwner: Flat): number {
  const t = rOwner[this.thread.x];
  if (t < 0) {
    return 0;
  }
  const cols = meta[t * 9 + 1];
  const k = meta[t * 9 + 2];
  const i = this.thread.x - meta[t * 9 + 8];
  const vi = meta[t * 9 + 3] + i * cols;
  const wi = meta[t * 9 + 4] + i * k;
  const h0 = meta[t * 9 + 5];
  let sum = 0;
  for (let l = 0; l < cols; l++) {
    let wh = 0;
    for (let c = 0; c < k; c++) {
      wh += w[wi + c] * h[h0 + c * cols + l];
    }
    const d = v[vi + l] - wh;
    sum += d * d;
  }
  return sum;
}

/** The batch kernels with their flat arguments and trailing numbers (see the WGSL translation test). */
export const TILE_KERNEL_SOURCES: Readonly<Record<string, { fn: (...args: never[]) => number; args: number; numbers?: number }>> = {
  tileVHtAndGram: { fn: tileVHtAndGram, args: 5 },
  tileWtVAndGram: { fn: tileWtVAndGram, args: 5 },
  tileSweepW: { fn: tileSweepW, args: 4, numbers: 2 },
  tileSweepH: { fn: tileSweepH, args: 4, numbers: 2 },
  tileRowErrors: { fn: tileRowErrors, args: 5 },
};

// ---- packing -------------------------------------------------------------------------------------------------------

/**
 * The length a packed array is padded to: n rounded up to an eighth of its power of two (at most 12.5 % more), so
 * that batches of similar size share compiled kernels (gpu.js compiles one per operand length); padding entries
 * belong to no tile. Never beyond the exact float32 range a group is cut to (see groupTiles).
 */
export function packedLength(n: number): number {
  if (n <= 64) return 64;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.min(EXACT_FLOAT_INDEX - 1, Math.ceil(n / step) * step);
}

/** Sweeps per product for one tile: fitBlock's rule. */
export function sweepsFor(rows: number, cols: number, k: number, innerSweeps: number): number {
  return Math.max(2, Math.min(innerSweeps, Math.round(0.5 * (1 + (rows * cols) / ((rows + cols) * k)))));
}

/** The tiles of one dispatch group, packed. */
export interface PackedBatch {
  /** Indices into the caller's tiles. */
  tiles: number[];
  meta: Float32Array;
  v: Float32Array;
  w: Float32Array;
  h: Float32Array;
  wOwner: Float32Array;
  hOwner: Float32Array;
  gOwner: Float32Array;
  rOwner: Float32Array;
  gTotal: number;
  /** Longest loop any kernel runs: the largest rows, cols or rank. */
  loop: number;
  /**
   * Columns to sweep in sweep s: the largest rank among tiles with more than s sweeps (one entry per sweep). Tiles of
   * low rank take many sweeps and tiles of high rank few, so this skips most of the largest rank × most sweeps.
   */
  columnsInSweep: number[];
}

/** Packs tiles (indices `which`) side by side: each tile's V, W, H, Gram and rows at its own offsets. */
export function packTiles(tiles: readonly BatchTile[], which: readonly number[], innerSweeps: number): PackedBatch {
  let nv = 0, nw = 0, nh = 0, ng = 0, nr = 0, loop = 1;
  for (const n of which) {
    const { rows, cols, k } = tiles[n]!;
    nv += rows * cols;
    nw += rows * k;
    nh += k * cols;
    ng += k * k;
    nr += rows;
    loop = Math.max(loop, rows, cols, k);
  }
  const meta = new Float32Array(packedLength(which.length * META));
  const v = new Float32Array(packedLength(nv));
  const w = new Float32Array(packedLength(nw));
  const h = new Float32Array(packedLength(nh));
  const wOwner = new Float32Array(w.length).fill(-1);
  const hOwner = new Float32Array(h.length).fill(-1);
  const gOwner = new Float32Array(packedLength(ng)).fill(-1);
  const rOwner = new Float32Array(packedLength(nr)).fill(-1);
  let ov = 0, ow = 0, oh = 0, og = 0, or = 0;
  const columnsInSweep: number[] = [];
  which.forEach((n, t) => {
    const { rows, cols, k, V, W0, H0 } = tiles[n]!;
    const sweeps = sweepsFor(rows, cols, k, innerSweeps);
    const m = t * META;
    [meta[m + M_ROWS], meta[m + M_COLS], meta[m + M_K], meta[m + M_SWEEPS]] = [rows, cols, k, sweeps];
    [meta[m + M_V], meta[m + M_W], meta[m + M_H], meta[m + M_G], meta[m + M_R]] = [ov, ow, oh, og, or];
    v.set(V.subarray(0, rows * cols), ov);
    w.set(W0.subarray(0, rows * k), ow);
    h.set(H0.subarray(0, k * cols), oh);
    wOwner.fill(t, ow, ow + rows * k);
    hOwner.fill(t, oh, oh + k * cols);
    gOwner.fill(t, og, og + k * k);
    rOwner.fill(t, or, or + rows);
    ov += rows * cols;
    ow += rows * k;
    oh += k * cols;
    og += k * k;
    or += rows;
    for (let sweep = 0; sweep < sweeps; sweep++) columnsInSweep[sweep] = Math.max(columnsInSweep[sweep] ?? 0, k);
  });
  return { tiles: [...which], meta, v, w, h, wOwner, hOwner, gOwner, rOwner, gTotal: gOwner.length, loop: packedLength(loop), columnsInSweep };
}

/** Cuts the tiles into groups whose packed (and padded) arrays each stay within `limit` entries and exact float32 offsets. */
export function groupTiles(tiles: readonly BatchTile[], limit: number): number[][] {
  // packedLength pads by less than an eighth
  const cap = Math.floor(Math.min(limit, EXACT_FLOAT_INDEX - 1) / 1.125);
  const groups: number[][] = [];
  let current: number[] = [];
  let nv = 0, nwg = 0, nhg = 0;
  tiles.forEach((tile, n) => {
    const { rows, cols, k } = tile;
    const [dv, dw, dh] = [rows * cols, rows * k + k * k, k * cols + k * k];
    if (dv > cap || dw > cap || dh > cap) throw new RangeError(`tile ${n} (${rows}×${cols}, rank ${k}) is too large for one texture`);
    if (current.length > 0 && (nv + dv > cap || nwg + dw > cap || nhg + dh > cap)) {
      groups.push(current);
      current = [];
      nv = nwg = nhg = 0;
    }
    current.push(n);
    nv += dv;
    nwg += dw;
    nhg += dh;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}

function checkTile(tile: BatchTile, n: number): void {
  const { rows, cols, k } = tile;
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && Number.isInteger(k) && rows >= 1 && cols >= 1 && k >= 1)) {
    throw new RangeError(`tile ${n}: rows, cols and k must be positive integers, got ${rows}×${cols}, rank ${k}`);
  }
  if (tile.V.length < rows * cols || tile.W0.length < rows * k || tile.H0.length < k * cols) {
    throw new RangeError(`tile ${n}: V must hold ${rows * cols} values, W0 ${rows * k} and H0 ${k * cols}`);
  }
}

// ---- running -------------------------------------------------------------------------------------------------------

/**
 * The batch kernels compiled on each device, kept for later batches (compiling costs more than a batch's dispatches);
 * they go with the device when its backend is disposed.
 */
const compiledFor = new WeakMap<GpuKernels, { made: Map<string, GpuJsKernel>; uploaders: Map<string, GpuJsKernel> }>();

/** Fits one packed group on the device: its fits in packing order, from W, H and per-row errors read back once. */
async function fitGroup(kernels: GpuKernels, p: PackedBatch, maxIter: number): Promise<BatchFit[]> {
  const out: BatchFit[] = [];
  let compiled = compiledFor.get(kernels);
  if (!compiled) compiledFor.set(kernels, (compiled = { made: new Map(), uploaders: new Map() }));
  const { made, uploaders } = compiled;
  const resident: DeviceMatrix[] = [];
  const up = async (a: Float32Array): Promise<DeviceMatrix> => {
    const m = await kernels.uploadFlat(a, uploaders);
    resident.push(m);
    return m;
  };
  try {
    const nw = p.w.length;
    const nh = p.h.length;
    const v = await up(p.v);
    const meta = await up(p.meta);
    const wOwner = await up(p.wOwner);
    const hOwner = await up(p.hOwner);
    const gOwner = await up(p.gOwner);
    const rOwner = await up(p.rOwner);
    let w = await up(p.w);
    let h = await up(p.h);
    let wSlot = 0;
    let hSlot = 0;
    const loop = p.loop;
    for (let it = 0; it < maxIter; it++) {
      const prodW = await kernels.flat('tileVHtAndGram', tileVHtAndGram, 'pw', nw + p.gTotal, { wTotal: nw }, loop, [v, h, meta, wOwner, gOwner], made);
      for (const [s, columns] of p.columnsInSweep.entries()) {
        for (let j = 0; j < columns; j++) {
          w = await kernels.flat('tileSweepW', tileSweepW, `w${wSlot}`, nw, { wTotal: nw }, loop, [w, prodW, meta, wOwner, j, s], made);
          wSlot ^= 1;
        }
      }
      const prodH = await kernels.flat('tileWtVAndGram', tileWtVAndGram, 'ph', nh + p.gTotal, { hTotal: nh }, loop, [v, w, meta, hOwner, gOwner], made);
      for (const [s, columns] of p.columnsInSweep.entries()) {
        for (let j = 0; j < columns; j++) {
          h = await kernels.flat('tileSweepH', tileSweepH, `h${hSlot}`, nh, { hTotal: nh }, loop, [h, prodH, meta, hOwner, j, s], made);
          hSlot ^= 1;
        }
      }
    }
    const errors = await kernels.flat('tileRowErrors', tileRowErrors, 'err', p.rOwner.length, {}, loop, [v, w, h, meta, rOwner], made);
    await kernels.readBack(
      [
        { matrix: w, fromRow: 0, rows: 1 },
        { matrix: h, fromRow: 0, rows: 1 },
        { matrix: errors, fromRow: 0, rows: 1 },
      ],
      ([wAll, hAll, rowErr]) => {
        p.tiles.forEach((_, t) => {
          const at = (field: number): number => p.meta[t * META + field]!;
          const [rows, cols, k] = [at(M_ROWS), at(M_COLS), at(M_K)];
          let error = 0;
          for (let i = 0; i < rows; i++) error += rowErr![at(M_R) + i]!;
          out[t] = { W: wAll!.slice(at(M_W), at(M_W) + rows * k), H: hAll!.slice(at(M_H), at(M_H) + k * cols), iterations: maxIter, error };
        });
      },
    );
  } finally {
    for (const m of resident) kernels.free(m);
  }
  return out;
}

/** One packed group fitted on the backend's device, as fitTilesBatched does each group (exposed for tests). */
export function fitPacked(backend: GpuBackend, p: PackedBatch, maxIter: number): Promise<BatchFit[]> {
  return backend.serial(() => fitGroup(backend.kernels, p, maxIter));
}

/**
 * Fits every tile by accelerated HALS from its W0 and H0 for maxIter iterations, as the engine's fitBlock does one
 * tile (Frobenius loss, no regularisation, updates clipped at 0; sweeps per product by fitBlock's rule), but all tiles
 * at once on the GPU. A tile whose V is all zeros comes back as zeros after no iterations, as from fitBlock. Results
 * are float32 (fitBlock's are float64: they agree to float32 rounding).
 */
export async function fitTilesBatched(tiles: readonly BatchTile[], options: BatchFitOptions): Promise<BatchFit[]> {
  const { backend, maxIter, innerSweeps } = options;
  tiles.forEach(checkTile);
  const out: BatchFit[] = new Array(tiles.length);
  const live: BatchTile[] = [];
  const liveIndex: number[] = [];
  tiles.forEach((tile, n) => {
    let energy = 0;
    for (let c = 0; c < tile.rows * tile.cols; c++) energy += tile.V[c]! * tile.V[c]!;
    if (energy === 0 || maxIter < 1) {
      const W = energy === 0 ? new Float32Array(tile.rows * tile.k) : tile.W0.slice(0, tile.rows * tile.k);
      const H = energy === 0 ? new Float32Array(tile.k * tile.cols) : tile.H0.slice(0, tile.k * tile.cols);
      out[n] = { W, H, iterations: 0, error: energy === 0 ? 0 : residual(tile, W, H) };
    } else {
      live.push(tile);
      liveIndex.push(n);
    }
  });
  if (live.length === 0) return out;
  for (const group of groupTiles(live, backend.runtime.maxElements)) {
    const fits = await fitPacked(backend, packTiles(live, group, innerSweeps), maxIter);
    group.forEach((m, t) => (out[liveIndex[m]!] = fits[t]!));
  }
  return out;
}

/** ‖V − W·H‖² of one tile on the host, in float64. */
function residual(tile: BatchTile, W: Float32Array, H: Float32Array): number {
  const { rows, cols, k, V } = tile;
  let s = 0;
  for (let i = 0; i < rows; i++) {
    for (let l = 0; l < cols; l++) {
      let wh = 0;
      for (let c = 0; c < k; c++) wh += W[i * k + c]! * H[c * cols + l]!;
      const d = V[i * cols + l]! - wh;
      s += d * d;
    }
  }
  return s;
}
