// The engine's block-fit.ts (a tile's spectrum and HALS fit) run by the WebAssembly SIMD kernels of kernel/block.c, in
// float32: the same steps, the same random test matrix and the same NNDSVD start, four lanes at a time. One instance
// per thread, on its own memory, reused from tile to tile.

import { BLOCK_FIT_DEFAULTS, innerSweepsFor, nndsvdStart, OVERSAMPLES, singularValues } from '../../engine/block-fit.js';
import type { BlockFit, BlockFitOptions, BlockSpectrum } from '../../engine/block-fit.js';
import { BLOCK_RELAXED_WASM_BASE64, BLOCK_WASM_BASE64 } from './kernel/block-wasm.js';
import { RandomState } from '../../engine/rng.js';

interface BlockExports {
  dots(X: number, m: number, Y: number, n: number, len: number, out: number, si: number, sj: number): void;
  combine(A: number, rsa: number, csa: number, k: number, V: number, rows: number, cols: number, out: number): void;
  orthonormalize_rows(Y: number, p: number, n: number): void;
  hals(V: number, rows: number, cols: number, k: number, Wt: number, H: number, maxIter: number, gapShare: number, sweeps: number, energy: number, bound: number, scratch: number, errorOut: number): number;
  range_encode(shapes: number, tiles: number, codes: number, bits: number, fast: number, slow: number, out: number, cap: number): number;
  sq_diff(a: number, b: number, n: number): number;
  gram_eigen(G: number, p: number, A: number, d: number, e: number, Z: number): number;
}

/** The module's linker reserves its first two pages for a stack the kernels never use; arrays go after them. */
const BASE = 2 * 65536;
const PAGE = 65536;

/** The kernels' two builds: plain SIMD, and relaxed SIMD (fused multiply-add) where the runtime validates it. */
export type BlockFlavour = 'relaxed' | 'simd';

const compiled = new Map<BlockFlavour, WebAssembly.Module | null>();

function blockModule(flavour: BlockFlavour): WebAssembly.Module | null {
  if (!compiled.has(flavour)) {
    let module: WebAssembly.Module | null = null;
    try {
      const bin = atob(flavour === 'relaxed' ? BLOCK_RELAXED_WASM_BASE64 : BLOCK_WASM_BASE64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      module = new WebAssembly.Module(bytes);
    } catch {
      // no such SIMD here: the other build, or block-fit.ts's own loops, run instead
    }
    compiled.set(flavour, module);
  }
  return compiled.get(flavour)!;
}

/** Float offsets of a layout, in order, from BASE; the total in bytes. */
function layout(sizes: number[]): { at: number[]; bytes: number } {
  const at: number[] = [];
  let p = BASE;
  for (const n of sizes) {
    at.push(p);
    p += Math.ceil(n / 4) * 16; // 16-byte aligned
  }
  return { at, bytes: p };
}

/**
 * A tile where it lies in its plane (rows×cols from `at`, `stride` samples a row): the kernel copies it into its own
 * memory from there, so that a tile job makes no copy of its own first.
 */
export interface PlaneTile {
  plane: Float32Array;
  stride: number;
  at: number;
}

/** A tile's samples: an array of its own (row-major) or a place in its plane. */
export type TileSamples = ArrayLike<number> | PlaneTile;

export class BlockKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly k: BlockExports;
  private f32: Float32Array;
  private f64: Float64Array;
  private loaded: { V: TileSamples; rows: number; cols: number; energy: number; sum: number } | null = null;

  private constructor(
    module: WebAssembly.Module,
    readonly flavour: BlockFlavour,
  ) {
    this.memory = new WebAssembly.Memory({ initial: 4 });
    this.k = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as BlockExports;
    this.f32 = new Float32Array(this.memory.buffer);
    this.f64 = new Float64Array(this.memory.buffer);
  }

  /**
   * A kernel of the given build, by default the relaxed one where the runtime has relaxed SIMD and else the plain one;
   * null where that build (or, by default, any) cannot run here.
   */
  static create(flavour?: BlockFlavour): BlockKernel | null {
    for (const f of flavour ? [flavour] : (['relaxed', 'simd'] as const)) {
      const m = blockModule(f);
      if (m) return new BlockKernel(m, f);
    }
    return null;
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      this.memory.grow(Math.ceil((bytes - have) / PAGE));
      this.f32 = new Float32Array(this.memory.buffer);
      this.f64 = new Float64Array(this.memory.buffer);
      this.loaded = null;
    }
  }

  /** V copied to the front of the work area (once for a spectrum and the fit that follows it), with ‖V‖² and its sum. */
  private load(V: TileSamples, rows: number, cols: number, extra: number): { energy: number; sum: number } {
    this.reserve(BASE + Math.ceil((rows * cols) / 4) * 16 + extra * 4 + 64);
    const l = this.loaded;
    if (l && l.V === V && l.rows === rows && l.cols === cols) return l;
    const { energy, sum } = 'plane' in V ? copyTileIn(V, rows, cols, this.f32, BASE / 4) : copyIn(V, this.f32, BASE / 4, rows * cols);
    this.loaded = { V, rows, cols, energy, sum };
    return this.loaded;
  }

  /**
   * As blockSpectrum (block-fit.ts). With `valuesOnly` the singular vectors are left out (U and Vt empty): the
   * error curve is all a rank allocation reads.
   */
  spectrum(V: TileSamples, rows: number, cols: number, r: number, seed = 0, valuesOnly = false): BlockSpectrum {
    const n = rows * cols;
    const small = Math.min(rows, cols);
    r = Math.max(0, Math.min(r, small));
    const p = Math.min(small, r + OVERSAMPLES);
    const vBytes = Math.ceil(n / 4) * 16;
    // Ωᵀ, Yᵀ, Zᵀ, B, G, E, Uᵀ, Vt, and in double G symmetrised, the eigenvalues, the off-diagonal, the eigenvectors — after V.
    const sizes = [cols * p, rows * p, cols * p, cols * p, p * p, p * r, r * rows, r * cols, 2 * p * p, 2 * p, 2 * p, valuesOnly ? 0 : 2 * p * p];
    const lay = layout(sizes);
    const at = lay.at.map((a) => a + vBytes);
    const { energy, sum } = this.load(V, rows, cols, lay.bytes - BASE);
    // Without the vectors, U and Vt stay empty: a photograph measures thousands of spectra for their values alone.
    const U = new Float64Array(valuesOnly ? 0 : rows * r);
    const S = new Float64Array(r);
    const Vt = new Float64Array(valuesOnly ? 0 : r * cols);
    const residual = new Float64Array(r + 1);
    residual[0] = energy;
    const mean = n ? sum / n : 0;
    if (energy === 0 || r === 0) return { rows, cols, r, U, S, Vt, energy, residual, mean };
    const [om, yt, zt, bm, g, e, ut, vt, ga, dv, ev, zv] = at as [number, number, number, number, number, number, number, number, number, number, number, number];
    const f = this.f32;
    f.set(testMatrix(seed, cols, p), om / 4);
    const k = this.k;
    k.dots(om, p, BASE, rows, cols, yt, rows, 1);
    k.orthonormalize_rows(yt, p, rows);
    k.combine(yt, 1, rows, p, BASE, rows, cols, zt);
    k.orthonormalize_rows(zt, p, cols);
    k.dots(zt, p, BASE, rows, cols, yt, rows, 1);
    k.orthonormalize_rows(yt, p, rows); // Q: an orthonormal basis of V's leading column space, as rows
    k.combine(yt, 1, rows, p, BASE, rows, cols, bm); // B = Qᵀ·V
    k.dots(bm, p, bm, p, cols, g, p, 1);
    // G's eigenvalues σ² (and eigenvectors, as rows), as linalg.ts's symmetricEigen makes them, unsorted.
    if (k.gram_eigen(g, p, ga, dv, ev, valuesOnly ? 0 : zv) < 0) throw new Error('symmetric eigendecomposition did not converge');
    const d = this.f64.subarray(dv / 8, dv / 8 + p);
    if (valuesOnly) {
      singularValues(Float64Array.from(d).sort().reverse(), energy, S, residual);
      return { rows, cols, r, U, S, Vt, energy, residual, mean };
    }
    // Largest first (a stable order, as symmetricEigen's).
    const order = Array.from({ length: p }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
    const z = zv / 8;
    const f64 = this.f64;
    for (let a = 0; a < p; a++) for (let j = 0; j < r; j++) f[e / 4 + a * r + j] = f64[z + order[j]! * p + a]!;
    k.combine(e, r, 1, r, yt, p, rows, ut); // Uᵀ = Eᵀ·Q
    k.combine(e, r, 1, r, bm, p, cols, vt); // σ·Vt = Eᵀ·B
    singularValues(Array.from(order, (i) => d[i]!), energy, S, residual);
    for (let j = 0; j < r; j++) {
      const sigma = S[j]!;
      for (let i = 0; i < rows; i++) U[i * r + j] = f[ut / 4 + j * rows + i]!;
      if (sigma > 0) for (let l = 0; l < cols; l++) Vt[j * cols + l] = f[vt / 4 + j * cols + l]! / sigma;
    }
    return { rows, cols, r, U, S, Vt, energy, residual, mean };
  }

  /**
   * range-coder.ts's encodeTileCodes, the same bytes, its models (`models` probabilities, each starting at `half`)
   * given by it: null where the output would need more room than the codes' plain bits twice over (noise pushed
   * against its models; the caller codes it then).
   */
  rangeEncode(
    tiles: readonly { rows: number; cols: number; rank: number; wCodes: Uint16Array; hCodes: Uint16Array }[],
    bits: 6 | 8,
    models: number,
    half: number,
  ): Uint8Array | null {
    let symbols = 0;
    for (const t of tiles) symbols += t.rank * (t.rows + t.cols);
    const cap = Math.ceil((2 * symbols * bits) / 8) + 64;
    const lay = layout([3 * tiles.length, Math.ceil(symbols / 2), Math.ceil(models / 2), Math.ceil(models / 2), Math.ceil(cap / 4)]);
    this.reserve(lay.bytes);
    const [shapes, codes, fast, slow, out] = lay.at as [number, number, number, number, number];
    const i32 = new Int32Array(this.memory.buffer, shapes, 3 * tiles.length);
    const u16 = new Uint16Array(this.memory.buffer);
    let at = codes / 2;
    tiles.forEach((t, i) => {
      i32[3 * i] = t.rows;
      i32[3 * i + 1] = t.cols;
      i32[3 * i + 2] = t.rank;
      u16.set(t.wCodes, at);
      u16.set(t.hCodes, at + t.wCodes.length);
      at += t.wCodes.length + t.hCodes.length;
    });
    u16.fill(half, fast / 2, fast / 2 + models);
    u16.fill(half, slow / 2, slow / 2 + models);
    const n = this.k.range_encode(shapes, tiles.length, codes, bits, fast, slow, out, cap);
    this.loaded = null; // the codes went where a tile's samples may have been
    return n < 0 ? null : new Uint8Array(this.memory.buffer, out, n).slice();
  }

  /**
   * ‖V − W·H‖²_F for a tile's quantised factors as the decoder reads them (codes × scale / levels), W·H in float32:
   * what the decoder makes of the tile, before deblocking and rounding (reconstructTiles' figure, to float32 rounding);
   * with that decoded tile ([0, 1] units, row-major).
   */
  decodedError(V: TileSamples, rows: number, cols: number, q: { rank: number; scales: Float32Array; wCodes: Uint16Array; hCodes: Uint16Array }, levels: number): { error: number; decoded: Float32Array } {
    const k = q.rank;
    const vBytes = Math.ceil((rows * cols) / 4) * 16;
    const lay = layout([k * rows, k * cols, rows * cols]);
    const [wt, h, d] = lay.at.map((a) => a + vBytes) as [number, number, number];
    this.load(V, rows, cols, lay.bytes - BASE);
    const f = this.f32;
    for (let j = 0; j < k; j++) {
      const step = q.scales[j]! / levels;
      for (let i = 0; i < rows; i++) f[wt / 4 + j * rows + i] = q.wCodes[j * rows + i]! * step;
      for (let l = 0; l < cols; l++) f[h / 4 + j * cols + l] = q.hCodes[j * cols + l]! * step;
    }
    // D (rows×cols) = Σ_t W_t ⊗ H_t: combine's Aᵀ·V with A = Wᵀ read across (A(t, i) = Wt[t·rows + i]) and V = H.
    this.k.combine(wt, rows, 1, rows, h, k, cols, d);
    // The decoded tile is lent: a view of the kernel's memory, good until its next call.
    return { error: this.k.sq_diff(d, BASE, rows * cols), decoded: this.f32.subarray(d / 4, d / 4 + rows * cols) };
  }

  /** As fitBlock (block-fit.ts), V being the matrix `sp` was measured on. */
  fit(V: TileSamples, sp: BlockSpectrum, k: number, options: BlockFitOptions = BLOCK_FIT_DEFAULTS): BlockFit {
    const { rows, cols, energy } = sp;
    const { W, H } = nndsvdStart(sp, k);
    if (energy === 0) {
      return { W, H, k, iterations: 0, error: 0 };
    }
    const vBytes = Math.ceil((rows * cols) / 4) * 16;
    const lay = layout([k * rows, k * cols, k * (rows + cols) + 2 * k * k + Math.max(rows, cols), 2]);
    const [wt, h, scratch, out] = lay.at.map((a) => a + vBytes) as [number, number, number, number];
    this.load(V, rows, cols, lay.bytes - BASE);
    const f = this.f32;
    for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) f[wt / 4 + j * rows + i] = W[i * k + j]!;
    f.set(H, h / 4);
    const bound = sp.residual[Math.min(k, sp.r)]!;
    const sweeps = innerSweepsFor(rows, cols, k, options.innerSweeps);
    const iterations = this.k.hals(BASE, rows, cols, k, wt, h, options.maxIter, options.gapShare, sweeps, energy, bound, scratch, out);
    const error = this.f64[out / 8]!;
    const g = this.f32;
    for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) W[i * k + j] = g[wt / 4 + j * rows + i]!;
    for (let c = 0; c < k * cols; c++) H[c] = g[h / 4 + c]!;
    return { W, H, k, iterations, error };
  }
}

/** V into f at `o`, returning ‖V‖² and ΣV (a function of its own, so that it is compiled for the arrays it meets). */
function copyIn(V: ArrayLike<number>, f: Float32Array, o: number, n: number): { energy: number; sum: number } {
  let energy = 0;
  let sum = 0;
  for (let c = 0; c < n; c++) {
    const v = V[c]!;
    f[o + c] = v;
    energy += v * v;
    sum += v;
  }
  return { energy, sum };
}

/** A tile from its plane into f at `o` (row-major), returning ‖V‖² and ΣV, as copyIn. */
function copyTileIn(V: PlaneTile, rows: number, cols: number, f: Float32Array, o: number): { energy: number; sum: number } {
  const { plane, stride, at } = V;
  let energy = 0;
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    const from = at + i * stride;
    const to = o + i * cols;
    for (let j = 0; j < cols; j++) {
      const v = plane[from + j]!;
      f[to + j] = v;
      energy += v * v;
      sum += v;
    }
  }
  return { energy, sum };
}

/**
 * The range finder's test matrix Ωᵀ (p×cols): the same draws, in the same order, as block-fit.ts's Ω (cols×p). Every tile
 * of an image draws the same one (the same seed and shape), so the last few are kept: drawing took a tenth of a spectrum.
 */
const testMatrices = new Map<string, Float32Array>();
const KEPT_TEST_MATRICES = 16;

function testMatrix(seed: number, cols: number, p: number): Float32Array {
  const key = `${seed}:${cols}:${p}`;
  let omega = testMatrices.get(key);
  if (!omega) {
    omega = new Float32Array(p * cols);
    const rng = new RandomState(seed);
    for (let l = 0; l < cols; l++) for (let j = 0; j < p; j++) omega[j * cols + l] = 2 * rng.randomSample() - 1;
    if (testMatrices.size >= KEPT_TEST_MATRICES) testMatrices.delete(testMatrices.keys().next().value!);
    testMatrices.set(key, omega);
  }
  return omega;
}

let shared: BlockKernel | null | undefined;

/** This thread's kernel (made on first use), or null where WebAssembly SIMD is unavailable. */
export function blockKernel(): BlockKernel | null {
  if (shared === undefined) shared = BlockKernel.create();
  return shared;
}
