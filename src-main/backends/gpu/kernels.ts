// The gpu.js kernels of the GPU backend and the bookkeeping around them: one compiled kernel per operation and shape,
// resident tiles of V, temporaries that never leave the device, readback into flat float32 rows.
//
// The same JavaScript kernel sources compile to GLSL (headless-gl) and to WGSL (WebGPU); every call is awaited so
// that WebGPU's asynchronous results and GL's synchronous ones go through one path.

import type { GpuJsKernel, GpuRuntime } from './runtime.js';

/** What gpu.js provides to a kernel body as `this`. */
interface KernelThis {
  readonly thread: { readonly x: number; readonly y: number };
  readonly constants: Record<string, number>;
}
type Grid = number[][];
type Flat = number[];

/** Indices, row starts and offsets reach the shaders as float32: exact only below 2^24. */
export const EXACT_FLOAT_INDEX = 1 << 24;

// np.finfo(np.float32).eps, scikit-learn's EPSILON in _nmf.py
export const EPSILON = 1.1920928955078125e-7;

/** β cases the kernels branch on (compile-time constants, so each compiled shader keeps one branch). */
export const LOSS_KIND = { frobenius: 0, kl: 1, is: 2, other: 3 } as const;

export function lossKind(beta: number): number {
  if (beta === 2) return LOSS_KIND.frobenius;
  if (beta === 1) return LOSS_KIND.kl;
  if (beta === 0) return LOSS_KIND.is;
  return LOSS_KIND.other;
}

// ---- kernel sources: plain functions that gpu.js parses and translates; `this` is gpu.js's kernel context ----------

// out[y][x] = Σ_t a[y][t]·b[t][x]
function mmNN(this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let t = 0; t < this.constants.inner; t++) {
    sum += a[this.thread.y][t] * b[t][this.thread.x];
  }
  return sum;
}
// out[y][x] = Σ_t a[t][y]·b[t][x]
function mmTN(this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let t = 0; t < this.constants.inner; t++) {
    sum += a[t][this.thread.y] * b[t][this.thread.x];
  }
  return sum;
}
// out[y][x] = Σ_t a[y][t]·b[x][t]
function mmNT(this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let t = 0; t < this.constants.inner; t++) {
    sum += a[this.thread.y][t] * b[this.thread.x][t];
  }
  return sum;
}
// out[y][x] = Σ_t a[t][y]·b[x][t]
function mmTT(this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let t = 0; t < this.constants.inner; t++) {
    sum += a[t][this.thread.y] * b[this.thread.x][t];
  }
  return sum;
}

function copyTile(this: KernelThis, v: Grid): number {
  return v[this.thread.y][this.thread.x];
}

// One tile of the elementwise factors of scikit-learn's β multiplicative updates (_multiplicative_update_h/_w):
// which = 0 gives V ∘ (WH)^(β−2), with WH clipped at EPSILON when β < 2; which = 1 gives (WH)^(β−1), clipped when
// β < 1 (β = 1 never asks for it). One kernel for both, so the two share one temporary on the device.
function betaTerm(this: KernelThis, v: Grid, w: Grid, h: Grid, which: number): number {
  let wh = 0;
  for (let l = 0; l < this.constants.rank; l++) {
    wh += w[this.thread.y][l] * h[l][this.thread.x];
  }
  if (which > 0.5) {
    if (this.constants.kind === 2) {
      return 1 / Math.max(wh, this.constants.eps);
    }
    let powerBase = wh;
    if (this.constants.beta < 1) {
      powerBase = Math.max(wh, this.constants.eps);
    }
    if (powerBase <= 0) {
      return 0;
    }
    return Math.pow(powerBase, this.constants.beta - 1);
  }
  const x = v[this.thread.y][this.thread.x];
  if (this.constants.kind === 1) {
    return x / Math.max(wh, this.constants.eps);
  }
  if (this.constants.kind === 2) {
    const c = Math.max(wh, this.constants.eps);
    return x / (c * c);
  }
  let base = wh;
  if (this.constants.beta < 2) {
    base = Math.max(wh, this.constants.eps);
  }
  if (base <= 0) {
    return 0;
  }
  return x * Math.pow(base, this.constants.beta - 2);
}

// Per-entry β-divergence terms summed over a run of `chunk` rows of one column; the host adds the partial sums in
// float64. Each entry's term is arranged so that sums of them equal scikit-learn's _beta_divergence without its
// large cancelling totals (Frobenius is halved and the general case divided by β(β−1) on the host). Output rows
// from `chunks` on repeat the same runs with the Frobenius term, so one dispatch can give both losses.
function lossChunk(this: KernelThis, v: Grid, w: Grid, h: Grid): number {
  let c = this.thread.y;
  let kind = this.constants.kind;
  if (c >= this.constants.chunks) {
    c = c - this.constants.chunks;
    kind = 0;
  }
  let acc = 0;
  for (let t = 0; t < this.constants.chunk; t++) {
    const i = c * this.constants.chunk + t;
    if (i < this.constants.rows) {
      let wh = 0;
      for (let l = 0; l < this.constants.rank; l++) {
        wh += w[i][l] * h[l][this.thread.x];
      }
      const x = v[i][this.thread.x];
      if (kind === 0) {
        const d = x - wh;
        acc += d * d;
      } else if (kind === 1) {
        if (x > this.constants.eps) {
          acc += x * Math.log(x / Math.max(wh, this.constants.eps)) - x + wh;
        } else {
          acc += wh;
        }
      } else if (kind === 2) {
        if (x > this.constants.eps) {
          const d = x / Math.max(wh, this.constants.eps);
          acc += d - 1 - Math.log(d);
        } else {
          acc -= 1;
        }
      } else {
        let term = 0;
        if (wh > 0) {
          term = (this.constants.beta - 1) * Math.pow(wh, this.constants.beta);
        }
        if (x > this.constants.eps) {
          term += Math.pow(x, this.constants.beta) - this.constants.beta * x * Math.pow(Math.max(wh, this.constants.eps), this.constants.beta - 1);
        }
        acc += term;
      }
    }
  }
  return acc;
}

// ---- Frobenius multiplicative updates kept on the device (see resident-mu.ts) ---------------------------------------
// W is rows×rank and H is kept as Hᵀ (cols×rank), so both factors have the rank index fastest and every product with
// V or Vᵀ reads the long index down the rows of both operands: neighbouring threads read neighbouring entries.

// out[y][x] = a[x][y]
function transpose(this: KernelThis, a: Grid): number {
  return a[this.thread.x][this.thread.y];
}

// scikit-learn's W half-step in one pass: W ∘ (V·Hᵀ) / (W·HHᵀ), a zero denominator read as EPSILON as the engine does.
// vt is Vᵀ (cols×rows), ht is Hᵀ, hht holds H·Hᵀ in its first rank rows.
function muStepW(this: KernelThis, vt: Grid, ht: Grid, w: Grid, hht: Grid): number {
  let num = 0;
  for (let j = 0; j < this.constants.inner; j++) {
    num += vt[j][this.thread.y] * ht[j][this.thread.x];
  }
  let den = 0;
  for (let l = 0; l < this.constants.rank; l++) {
    den += w[this.thread.y][l] * hht[l][this.thread.x];
  }
  if (den === 0) {
    den = this.constants.eps;
  }
  return w[this.thread.y][this.thread.x] * (num / den);
}

// Rows y < cols: (VᵀW)[y][x], the H half-step's numerator in Hᵀ's layout; rows cols.. : (WᵀW)[y − cols][x]. One
// dispatch for both, since both walk down the rows of W.
function vtwAndGram(this: KernelThis, v: Grid, w: Grid): number {
  let sum = 0;
  if (this.thread.y < this.constants.cols) {
    for (let i = 0; i < this.constants.inner; i++) {
      sum += v[i][this.thread.y] * w[i][this.thread.x];
    }
  } else {
    const k = this.thread.y - this.constants.cols;
    for (let i = 0; i < this.constants.inner; i++) {
      sum += w[i][k] * w[i][this.thread.x];
    }
  }
  return sum;
}

// scikit-learn's H half-step in Hᵀ's layout: Hᵀ ∘ (VᵀW) / (Hᵀ·WᵀW), numerator and Gram matrix from vtwAndGram.
function muStepH(this: KernelThis, ht: Grid, ng: Grid): number {
  let den = 0;
  for (let l = 0; l < this.constants.rank; l++) {
    den += ht[this.thread.y][l] * ng[this.constants.cols + l][this.thread.x];
  }
  if (den === 0) {
    den = this.constants.eps;
  }
  return ht[this.thread.y][this.thread.x] * (ng[this.thread.y][this.thread.x] / den);
}

// H·Hᵀ and the loss's cross term, in runs of `chunk` rows of Hᵀ: output row c·(rank+1) + r holds run c's share of
// row r, where rows r < rank are (H·Hᵀ)[r][x] and row rank is Σ_j (VᵀW)[j][x]·Hᵀ[j][x], the cross term ⟨WᵀV, H⟩ for
// rank index x. One sum down all of Hᵀ would give only (rank+1)·rank threads, too few to fill a GPU, each walking
// all the columns; sumRuns then adds the runs up.
function gramAndCrossRuns(this: KernelThis, ht: Grid, ng: Grid): number {
  const run = Math.floor(this.thread.y / (this.constants.rank + 1));
  const r = this.thread.y - run * (this.constants.rank + 1);
  let sum = 0;
  if (r < this.constants.rank) {
    for (let t = 0; t < this.constants.chunk; t++) {
      const j = run * this.constants.chunk + t;
      if (j < this.constants.inner) {
        sum += ht[j][r] * ht[j][this.thread.x];
      }
    }
  } else {
    for (let t = 0; t < this.constants.chunk; t++) {
      const j = run * this.constants.chunk + t;
      if (j < this.constants.inner) {
        sum += ng[j][this.thread.x] * ht[j][this.thread.x];
      }
    }
  }
  return sum;
}

// out[y][x] = Σ_c parts[c·rows + y][x]: the runs of gramAndCrossRuns added up.
function sumRuns(this: KernelThis, parts: Grid): number {
  let sum = 0;
  for (let c = 0; c < this.constants.runs; c++) {
    sum += parts[c * this.constants.rows + this.thread.y][this.thread.x];
  }
  return sum;
}

// ---- sparse V (CSR blocks; see sparse.ts) ---------------------------------------------------------------------------
// Every operand is a flat array: CSR arrays have no second dimension, and a factor with more rows than a texture side
// still fits a flat texture (gpu.js folds it into a square). Indices arrive as float32, exact below 2^24.

// out[y][x] = Σ over the entries p of row y: values[p]·b[indices[p]·rank + x]. indptr holds the block's row starts
// relative to its first entry; b is a dense factor (S.cols × rank, row-major). Rows differ in length, so the loop
// runs to each row's own count (loopMaxIterations covers the longest row of the block).
function csrTimesDense(this: KernelThis, indptr: Flat, indices: Flat, values: Flat, b: Flat): number {
  const start = indptr[this.thread.y];
  const count = indptr[this.thread.y + 1] - start;
  let sum = 0;
  for (let q = 0; q < count; q++) {
    const p = start + q;
    sum += values[p] * b[indices[p] * this.constants.rank + this.thread.x];
  }
  return sum;
}

// out[p] = Σ_t a[rowOf[p]·rank + t]·b[indices[p]·rank + t]: W·H at the block's entries (scikit-learn's
// _special_sparse_dot), one thread per entry, rowOf naming each entry's row within the block.
function csrAtEntries(this: KernelThis, rowOf: Flat, indices: Flat, a: Flat, b: Flat): number {
  const i = rowOf[this.thread.x];
  const j = indices[this.thread.x];
  let sum = 0;
  for (let t = 0; t < this.constants.rank; t++) {
    sum += a[i * this.constants.rank + t] * b[j * this.constants.rank + t];
  }
  return sum;
}

function copyFlat(this: KernelThis, v: Flat): number {
  return v[this.thread.x];
}

const RESIDENT_SOURCES = { copyTile, transpose, muStepW, vtwAndGram, muStepH, gramAndCrossRuns, sumRuns } as const;
export type ResidentKernel = keyof typeof RESIDENT_SOURCES;

const PRODUCT_SOURCES = { NN: mmNN, TN: mmTN, NT: mmNT, TT: mmTT } as const;
export type ProductVariant = keyof typeof PRODUCT_SOURCES;

/**
 * Every kernel source with the number of arguments it takes (2-D, or flat where `flat`), so each can be checked
 * against each translator.
 */
export const KERNEL_SOURCES: Readonly<Record<string, { fn: (...args: never[]) => number; args: number; flat?: true }>> = {
  mmNN: { fn: mmNN, args: 2 },
  mmTN: { fn: mmTN, args: 2 },
  mmNT: { fn: mmNT, args: 2 },
  mmTT: { fn: mmTT, args: 2 },
  copyTile: { fn: copyTile, args: 1 },
  betaTerm: { fn: betaTerm, args: 3 },
  lossChunk: { fn: lossChunk, args: 3 },
  transpose: { fn: transpose, args: 1 },
  muStepW: { fn: muStepW, args: 4 },
  vtwAndGram: { fn: vtwAndGram, args: 2 },
  muStepH: { fn: muStepH, args: 2 },
  gramAndCrossRuns: { fn: gramAndCrossRuns, args: 2 },
  sumRuns: { fn: sumRuns, args: 1 },
  csrTimesDense: { fn: csrTimesDense, args: 4, flat: true },
  csrAtEntries: { fn: csrAtEntries, args: 4, flat: true },
  copyFlat: { fn: copyFlat, args: 1, flat: true },
};

// ---- operands ------------------------------------------------------------------------------------------------------

/** A matrix that lives on the device: a resident tile of V or a temporary computed from it. */
export interface DeviceMatrix {
  readonly rows: number;
  readonly cols: number;
  /** gpu.js Texture (headless-gl) or WebGPUBufferResult (WebGPU). */
  readonly handle: unknown;
  /** Temporaries belong to their kernel and are overwritten by its next call. */
  readonly temporary: boolean;
}

/** A host matrix uploaded with the call (factor blocks: small next to V). */
export interface HostMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export type Operand = DeviceMatrix | HostMatrix;

function isHost(x: Operand): x is HostMatrix {
  return 'data' in x;
}

interface Releasable {
  delete?: () => void;
}

// The parts of WebGPU (Dawn) readBack uses; the numbers are fixed by the WebGPU specification.
const BUFFER_MAP_READ = 0x0001;
const BUFFER_COPY_DST = 0x0008;
const MAP_MODE_READ = 0x0001;
interface GpuStagingBuffer {
  readonly size: number;
  mapAsync(mode: number, offset: number, size: number): Promise<void>;
  getMappedRange(offset: number, size: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface WebGpuHandle {
  readonly buffer: unknown;
  readonly context: {
    readonly device: {
      createBuffer(descriptor: { size: number; usage: number }): GpuStagingBuffer;
      createCommandEncoder(): {
        copyBufferToBuffer(source: unknown, sourceOffset: number, destination: unknown, destinationOffset: number, size: number): void;
        finish(): unknown;
      };
      readonly queue: { submit(commands: unknown[]): void };
    };
  };
}

/** Rows per thread in the loss reduction: enough threads to fill a GPU, few enough partial sums to read back. */
export const LOSS_CHUNK = 32;

export class GpuKernels {
  private readonly cache = new Map<string, GpuJsKernel>();
  /** Kernels compiled so far, for tests and diagnostics. */
  compiled = 0;
  /** What each resident kernel returned last, released when it runs again. */
  private readonly lastOutput = new Map<GpuJsKernel, unknown>();
  /** WebGPU: the buffer readBack maps, kept between calls. */
  private staging: GpuStagingBuffer | null = null;

  constructor(private readonly rt: GpuRuntime) {}

  private settings(output: [number, number], constants: Record<string, number>, loop: number, pipeline: boolean, immutable: boolean, integers = false): Record<string, unknown> {
    return {
      // whole-number constants as integers: loop bounds become integer literals, which a shader compiler can unroll,
      // instead of float comparisons it cannot see through (only for kernels whose constants are counts)
      strictIntegers: integers,
      output,
      constants,
      precision: 'single',
      // highp: gpu.js would otherwise pick the lowest precision the output allows
      tactic: 'precision',
      // four floats per RGBA texel on GL, so V and its tiles take their float32 size, not four times it
      optimizeFloatMemory: this.rt.mode === 'headlessgl',
      loopMaxIterations: Math.max(1000, loop + 1),
      pipeline,
      immutable,
    };
  }

  private kernel(key: string, source: (...args: never[]) => number, settings: Record<string, unknown>, into = this.cache): GpuJsKernel {
    let k = into.get(key);
    if (!k) {
      k = this.rt.gpu.createKernel(source.toString(), settings);
      into.set(key, k);
      this.compiled++;
    }
    return k;
  }

  private arg(x: Operand): unknown {
    return isHost(x) ? new this.rt.gpujs.Input(x.data, [x.cols, x.rows]) : x.handle;
  }

  private static sig(x: Operand): string {
    return `${isHost(x) ? 'h' : 'd'}${x.rows}x${x.cols}`;
  }

  /** Runs a kernel and refuses gpu.js's silent fallback to its JavaScript CPU kernel. */
  private async call(k: GpuJsKernel, args: unknown[]): Promise<unknown> {
    const result = await k(...args);
    const mode = k.kernel.constructor.mode;
    if (mode === 'cpu' || mode === 'webasm') {
      throw new Error(`gpu.js fell back to its ${mode} kernel; the GPU did not run this product`);
    }
    return result;
  }

  /**
   * Uploads a rows×cols block of V once; it stays on the device until free(). Upload kernels keep a staging copy
   * of their last input, so their owner passes its own map and drops them with dropUploaders() when it can.
   */
  async upload(data: Float32Array, rows: number, cols: number, uploaders: Map<string, GpuJsKernel>): Promise<DeviceMatrix> {
    const k = this.kernel(`copy:${rows}x${cols}`, copyTile, this.settings([cols, rows], {}, 0, true, true), uploaders);
    const handle = await this.call(k, [new this.rt.gpujs.Input(data, [cols, rows])]);
    return { rows, cols, handle, temporary: false };
  }

  /**
   * Whether upload kernels may go as soon as their tiles are made. On WebGPU each result holds its own reference to
   * its buffer; a GL kernel deletes every texture it ever created when destroyed, so there they live as long as V.
   */
  get uploadersAreDisposable(): boolean {
    return this.rt.mode === 'webgpu';
  }

  dropUploaders(uploaders: Map<string, GpuJsKernel>): void {
    for (const k of uploaders.values()) k.destroy();
    uploaders.clear();
  }

  /** a·b with the given transposes, read back as a flat row-major float32 array (m×n). */
  async product(variant: ProductVariant, a: Operand, b: Operand): Promise<Float32Array> {
    const transA = variant[0] === 'T';
    const transB = variant[1] === 'T';
    const m = transA ? a.cols : a.rows;
    const inner = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    if ((transB ? b.cols : b.rows) !== inner) {
      throw new RangeError(`product ${variant}: inner sizes differ (${a.rows}×${a.cols} and ${b.rows}×${b.cols})`);
    }
    const key = `mm${variant}:${GpuKernels.sig(a)}:${GpuKernels.sig(b)}`;
    const k = this.kernel(key, PRODUCT_SOURCES[variant], this.settings([n, m], { inner }, inner, false, false, true));
    return flatten(await this.call(k, [this.arg(a), this.arg(b)]), m, n);
  }

  /**
   * One tile's V ∘ (WH)^(β−2) ('ratio') or (WH)^(β−1) ('power'), w being the tile's rows of W and h its columns of H.
   * The result stays on the device and is overwritten by the next call: release it before asking for the other.
   */
  async betaTerm(v: DeviceMatrix, w: HostMatrix, h: HostMatrix, beta: number, which: 'ratio' | 'power'): Promise<DeviceMatrix> {
    const rank = w.cols;
    const kind = lossKind(beta);
    const key = `term:${kind}:${beta}:${GpuKernels.sig(v)}:${rank}`;
    const k = this.kernel(key, betaTerm, this.settings([v.cols, v.rows], { rank, kind, beta, eps: EPSILON }, rank, true, false));
    const handle = await this.call(k, [v.handle, this.arg(w), this.arg(h), which === 'ratio' ? 0 : 1]);
    return { rows: v.rows, cols: v.cols, handle, temporary: true };
  }

  /**
   * Partial sums of the β-divergence terms of one tile (see lossChunk), as float32 values to add up on the host;
   * with `withFrobenius` a second half of the same length holds the Frobenius terms.
   */
  async lossPartials(v: DeviceMatrix, w: HostMatrix, h: HostMatrix, beta: number, withFrobenius = false): Promise<Float32Array> {
    const rank = w.cols;
    const kind = lossKind(beta);
    const chunks = Math.ceil(v.rows / LOSS_CHUNK);
    const outRows = withFrobenius ? 2 * chunks : chunks;
    const key = `loss:${kind}:${beta}:${outRows}:${GpuKernels.sig(v)}:${rank}`;
    const constants = { rank, kind, beta, eps: EPSILON, chunk: LOSS_CHUNK, chunks, rows: v.rows };
    const k = this.kernel(key, lossChunk, this.settings([v.cols, outRows], constants, Math.max(rank, LOSS_CHUNK), false, false));
    return flatten(await this.call(k, [v.handle, this.arg(w), this.arg(h)]), outRows, v.cols);
  }

  /** Uploads a flat array once (CSR indices, V's values); it stays on the device until free(). See upload(). */
  async uploadFlat(data: Float32Array, uploaders: Map<string, GpuJsKernel>): Promise<DeviceMatrix> {
    const n = data.length;
    const k = this.kernel(`copyFlat:${n}`, copyFlat, this.settings1(n, {}, 0, true, true), uploaders);
    const handle = await this.call(k, [new this.rt.gpujs.Input(data, [n])]);
    return { rows: 1, cols: n, handle, temporary: false };
  }

  private settings1(n: number, constants: Record<string, number>, loop: number, pipeline: boolean, immutable: boolean): Record<string, unknown> {
    return { ...this.settings([n, 1], constants, loop, pipeline, immutable, true), output: [n] };
  }

  private flatArg(x: DeviceMatrix | Float32Array): unknown {
    return x instanceof Float32Array ? new this.rt.gpujs.Input(x, [x.length]) : x.handle;
  }

  private static flatSig(x: DeviceMatrix | Float32Array): string {
    return x instanceof Float32Array ? `h${x.length}` : `d${x.cols}`;
  }

  /**
   * One CSR block times a dense factor b (flat, S.cols × rank): rows×rank, read back row-major. `longestRow` bounds
   * the loop over a row's entries (compiled in, so callers round it up to share kernels between calls).
   */
  async csrTimesDense(
    block: { rows: number; indptr: DeviceMatrix; indices: DeviceMatrix; longestRow: number },
    values: DeviceMatrix | Float32Array,
    b: Float32Array,
    rank: number,
  ): Promise<Float32Array> {
    const key = `csrTimesDense:${block.rows}:${block.longestRow}:${GpuKernels.flatSig(block.indices)}:${GpuKernels.flatSig(values)}:${b.length}:${rank}`;
    const k = this.kernel(key, csrTimesDense, this.settings([rank, block.rows], { rank }, block.longestRow, false, false, true));
    return flatten(await this.call(k, [block.indptr.handle, block.indices.handle, this.flatArg(values), this.flatArg(b)]), block.rows, rank);
  }

  /** W·H at one CSR block's entries: a (flat, block rows × rank) and b (flat, S.cols × rank); one value per entry. */
  async csrAtEntries(block: { rowOf: DeviceMatrix; indices: DeviceMatrix }, a: Float32Array, b: Float32Array, rank: number): Promise<Float32Array> {
    const n = block.indices.cols;
    const key = `csrAtEntries:${n}:${a.length}:${b.length}:${rank}`;
    const k = this.kernel(key, csrAtEntries, this.settings1(n, { rank }, rank, false, false));
    return flatten(await this.call(k, [block.rowOf.handle, block.indices.handle, this.flatArg(a), this.flatArg(b)]), 1, n);
  }

  /**
   * Runs one of the resident kernels with its output kept on the device. Each (name, slot, operand shapes) has its
   * own compiled kernel in `into` whose output the next call of it overwrites, so the handle it returned last time is
   * released then; a kernel must not be given its own output (use two slots and alternate).
   */
  async resident(
    name: ResidentKernel,
    slot: string,
    rows: number,
    cols: number,
    constants: Record<string, number>,
    loop: number,
    args: readonly Operand[],
    into: Map<string, GpuJsKernel>,
  ): Promise<DeviceMatrix> {
    const key = `${name}:${slot}:${rows}x${cols}:${args.map(GpuKernels.sig).join(':')}`;
    const k = this.kernel(key, RESIDENT_SOURCES[name], this.settings([cols, rows], constants, loop, true, false, true), into);
    const handle = await this.call(k, args.map((a) => this.arg(a)));
    const previous = this.lastOutput.get(k);
    if (previous !== undefined && previous !== handle) this.releaseHandle(previous);
    this.lastOutput.set(k, handle);
    return { rows, cols, handle, temporary: true };
  }

  /**
   * Runs a kernel over a flat output of n entries kept on the device, as resident() does for 2-D ones: one compiled
   * kernel per (key, slot, operand lengths) in `into`, whose previous output its next call releases. Arguments are
   * device matrices, host arrays (uploaded as flat inputs) or numbers (passed as such, so changing them recompiles
   * nothing). `loop` bounds the kernel's longest loop.
   */
  async flat(
    key: string,
    source: (...args: never[]) => number,
    slot: string,
    n: number,
    constants: Record<string, number>,
    loop: number,
    args: readonly (DeviceMatrix | Float32Array | number)[],
    into: Map<string, GpuJsKernel>,
  ): Promise<DeviceMatrix> {
    const sig = args.map((a) => (typeof a === 'number' ? 'n' : GpuKernels.flatSig(a))).join(':');
    const k = this.kernel(`${key}:${slot}:${n}:${loop}:${sig}`, source, this.settings1(n, constants, loop, true, false), into);
    const handle = await this.call(k, args.map((a) => (typeof a === 'number' ? a : this.flatArg(a))));
    const previous = this.lastOutput.get(k);
    if (previous !== undefined && previous !== handle) this.releaseHandle(previous);
    this.lastOutput.set(k, handle);
    return { rows: 1, cols: n, handle, temporary: true };
  }

  /** Destroys kernels made by resident() or flat() and what they hold. */
  dropResident(into: Map<string, GpuJsKernel>): void {
    for (const k of into.values()) {
      const last = this.lastOutput.get(k);
      if (last !== undefined) this.releaseHandle(last);
      this.lastOutput.delete(k);
      k.destroy();
    }
    into.clear();
  }

  private releaseHandle(handle: unknown): void {
    if (this.rt.mode === 'webgpu') (handle as Releasable).delete?.();
  }

  /**
   * Reads row ranges of device matrices back in one go and hands them to `consume`, which must copy what it keeps:
   * the arrays are views of mapped memory on WebGPU, valid only during the call. On WebGPU that is one copy into one
   * staging buffer and one map, so the host waits for the device once and the data is copied once more, into place.
   */
  async readBack(parts: readonly { matrix: DeviceMatrix; fromRow: number; rows: number }[], consume: (data: Float32Array[]) => void): Promise<void> {
    if (this.rt.mode !== 'webgpu') {
      const out: Float32Array[] = [];
      for (const { matrix, fromRow, rows } of parts) {
        const all = flatten(await (matrix.handle as { toArray(): unknown }).toArray(), matrix.rows, matrix.cols);
        out.push(all.subarray(fromRow * matrix.cols, (fromRow + rows) * matrix.cols));
      }
      consume(out);
      return;
    }
    const handles = parts.map((p) => p.matrix.handle as WebGpuHandle);
    const device = handles[0]?.context.device;
    if (!device) return consume([]);
    const sizes = parts.map((p) => p.rows * p.matrix.cols * 4);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (!this.staging || this.staging.size < total) {
      this.staging?.destroy();
      this.staging = device.createBuffer({ size: total, usage: BUFFER_MAP_READ | BUFFER_COPY_DST });
    }
    const staging = this.staging;
    const encoder = device.createCommandEncoder();
    let offset = 0;
    parts.forEach((p, n) => {
      encoder.copyBufferToBuffer(handles[n]!.buffer, p.fromRow * p.matrix.cols * 4, staging, offset, sizes[n]!);
      offset += sizes[n]!;
    });
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ, 0, total);
    try {
      const mapped = staging.getMappedRange(0, total);
      offset = 0;
      consume(
        sizes.map((size) => {
          const part = new Float32Array(mapped, offset, size / 4);
          offset += size;
          return part;
        }),
      );
    } finally {
      staging.unmap();
    }
  }

  /** Done with a temporary: WebGPU counts references to its buffer; GL kernels simply reuse theirs. */
  release(x: DeviceMatrix): void {
    if (this.rt.mode === 'webgpu') (x.handle as Releasable).delete?.();
  }

  /** Frees a resident matrix. */
  free(x: DeviceMatrix): void {
    (x.handle as Releasable).delete?.();
  }

  destroy(): void {
    for (const k of this.cache.values()) k.destroy();
    this.cache.clear();
    this.staging?.destroy();
    this.staging = null;
  }
}

/** gpu.js returns a 2-D output as an array of row arrays (or one typed array for a single row); make it flat. */
export function flatten(result: unknown, m: number, n: number): Float32Array {
  if (result instanceof Float32Array && result.length === m * n) return result;
  const out = new Float32Array(m * n);
  if (Array.isArray(result) && result.length === m) {
    for (let i = 0; i < m; i++) {
      const row = result[i] as ArrayLike<number>;
      if (row.length < n) throw new Error(`gpu.js returned a row of ${row.length} values, expected ${n}`);
      out.set(row.length === n ? row : Array.prototype.slice.call(row, 0, n), i * n);
    }
    return out;
  }
  if (result instanceof Float32Array && m === 1 && result.length >= n) {
    out.set(result.subarray(0, n));
    return out;
  }
  throw new Error(`gpu.js returned an unexpected result for a ${m}×${n} output`);
}
