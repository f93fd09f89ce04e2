// The fast CPU backend: WebAssembly SIMD kernels on every core (worker_threads on one shared memory): dense V
// copied into that memory once per bind and multiplied in float32, like BLAS sgemm; a sparse V copied there too
// and multiplied in float64, as the engine does.

import type { Backend, BackendProvider, BoundV } from '../../engine/backends/backend.js';
import { isSparse, type DataMatrix, type DType, type Matrix } from '../../engine/matrix.js';
import { SparseBoundV } from '../../engine/backends/sparse.js';
import type { Csr64 } from '../../engine/sparse.js';
import { SPARSE_JOB_WORDS, SparseMode, writeSparseJob } from './sparse-kernels.js';
import { Arena } from './arena.js';
import { cellDivergence, EPSILON } from '../../engine/divergence.js';
import {
  f32,
  GEMM_JOB_BYTES,
  getRows,
  getTransposed,
  MR,
  NR,
  padTo,
  putRows,
  putTransposed,
  putTransposedPanels,
  runGemm,
  SQDIFF_JOB_BYTES,
  SWEEP_JOB_BYTES,
} from './gemm.js';
import { HEAP_BYTE, JobKind, KernelPool, kernelBytes, type PoolOptions } from './pool.js';

/** Floats per thread of W·H tile for the β-divergence work (1 MiB). */
const TILE_FLOATS = 1 << 18;
/** Columns per block of a coordinate sweep (SW in kernel/gemm.c). */
const SW = 16;
/**
 * Row stride of the k×n view a sweep works on: whole blocks, and an odd number of cache lines, so that the k
 * rows a block reads land in different cache sets (a stride of a power-of-two number of lines, e.g. n = 1024,
 * makes them evict each other and halves the speed).
 */
function sweepStride(n: number): number {
  const ld = padTo(n, SW);
  return (ld / SW) % 2 === 0 ? ld + SW : ld;
}

/** Sparse products this big (non-zeros × rank) are shared out to the threads. */
const PARALLEL_SPARSE_MADDS = 1 << 17;

/** Sweeps this big (columns × rank²) are shared out to the threads. */
const PARALLEL_SWEEP_MADDS = 1 << 20;

/**
 * A component (row t of the k×n view) left all zero after a sweep is given a floor of 1e-16 × the largest
 * entry, so that it can come back (as solvers/sweep.ts does, here after the whole sweep).
 */
function reviveRows(f: Float32Array, alive: Int32Array, k: number, n: number, ld: number, nchunks: number): void {
  let max = -1;
  for (let t = 0; t < k; t++) {
    let any = false;
    for (let c = 0; c < nchunks && !any; c++) any = alive[c * k + t] !== 0;
    if (any) continue;
    if (max < 0) {
      max = 0;
      for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) if (f[r * ld + j]! > max) max = f[r * ld + j]!;
    }
    f.fill(1e-16 * max, t * ld, t * ld + n);
  }
}

export type CpuBackendOptions = PoolOptions;

/** Reusable named blocks of the arena, grown on demand and released together. */
class Scratch {
  private readonly blocks = new Map<string, { ptr: number; bytes: number }>();
  constructor(private readonly arena: Arena) {}
  get(name: string, bytes: number): number {
    const have = this.blocks.get(name);
    if (have && have.bytes >= bytes) return have.ptr;
    if (have) this.arena.release(have.ptr);
    const ptr = this.arena.alloc(bytes);
    this.blocks.set(name, { ptr, bytes });
    return ptr;
  }
  releaseAll(): void {
    for (const { ptr } of this.blocks.values()) this.arena.release(ptr);
    this.blocks.clear();
  }
}

function expectShape(what: string, m: Matrix, rows: number, cols: number): void {
  if (m.rows !== rows || m.cols !== cols) {
    throw new RangeError(`${what}: expected ${rows}×${cols}, got ${m.rows}×${m.cols}`);
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly label: string;
  readonly dtypes: readonly DType[] = ['float32'];
  /**
   * For accelerated HALS's planning: its products run a few times faster relative to its own (WebAssembly)
   * sweeps than the reference's do to its sweeps; 2 reached scikit-learn's loss soonest on the bench images.
   */
  readonly productSpeedup = 2;
  readonly pool: KernelPool;
  readonly arena: Arena;
  private readonly scratch: Scratch;
  private readonly job: number;
  private readonly bound = new Set<CpuBoundV>();
  private disposed = false;

  private constructor(pool: KernelPool) {
    this.pool = pool;
    this.arena = new Arena(pool.memory, HEAP_BYTE);
    this.scratch = new Scratch(this.arena);
    this.job = this.arena.alloc(GEMM_JOB_BYTES, true);
    const threads = `${pool.threads} thread${pool.threads === 1 ? '' : 's'}`;
    this.label = `CPU (WASM ${pool.flavour === 'relaxed' ? 'relaxed SIMD' : 'SIMD'}, ${threads})`;
  }

  get threads(): number {
    return this.pool.threads;
  }

  static async create(options: CpuBackendOptions = {}): Promise<CpuBackend> {
    return new CpuBackend(await KernelPool.create(options));
  }

  async bind(V: DataMatrix): Promise<BoundV> {
    this.checkOpen();
    const bound = new CpuBoundV(this, V);
    this.bound.add(bound);
    return bound;
  }

  /** @internal */
  forget(bound: CpuBoundV): void {
    this.bound.delete(bound);
  }

  async matmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): Promise<void> {
    this.checkOpen();
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    const kb = transB ? b.cols : b.rows;
    if (kb !== k) throw new RangeError(`matmul: inner dimensions differ (${k} and ${kb})`);
    expectShape('matmul out', out, m, n);
    const mPad = padTo(m, MR), nPad = padTo(n, NR);
    if (k === 0) {
      out.data.fill(0);
      return;
    }
    const s = this.scratch;
    // A: row-major with rows padded to MR (rsa = k), or for Aᵀ the k×m matrix with its rows padded to mPad.
    const aByte = s.get('a', 4 * (transA ? k * mPad : mPad * k));
    if (transA) putRows(this.pool, aByte, a, mPad);
    else putRows(this.pool, aByte, a, k, mPad - m);
    // B: row-major k×nPad, or panels of the transposed b.
    const bByte = s.get('b', 4 * k * nPad);
    if (transB) putTransposedPanels(this.pool, bByte, b);
    else putRows(this.pool, bByte, b, nPad);
    const cByte = s.get('c', 4 * mPad * nPad);
    runGemm(this.pool, this.job, {
      m: mPad, n: nPad, k,
      a: aByte, rsa: transA ? 1 : k, csa: transA ? mPad : 1,
      b: bByte, ldb: transB ? NR : nPad, bsp: transB ? k * NR : NR,
      c: cByte, ldc: nPad,
      split: mPad >= nPad ? 'm' : 'n',
    });
    getRows(this.pool, cByte, nPad, out);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.bound]) await b.dispose();
    this.scratch.releaseAll();
    await this.pool.dispose();
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error('the CPU backend has been disposed');
  }
}

class CpuBoundV implements BoundV {
  readonly V: DataMatrix;
  private readonly rows: number;
  private readonly cols: number;
  /** Dense V's place in the shared memory (0 for a sparse V, which stays in JavaScript arrays). */
  private readonly vByte: number;
  /**
   * A sparse V bound with the engine's SparseBoundV, its products with V (sums in float64) and its Gram matrices
   * run in the kernels; the element-wise β work between them stays in TypeScript.
   */
  private readonly sparse: SparseBoundV | null;
  private readonly sparseJob: number;
  private readonly pool: KernelPool;
  private readonly scratch: Scratch;
  private readonly job: number;
  private readonly sqJob: number;
  private readonly sweepJob: number;
  private disposed = false;

  constructor(
    private readonly backend: CpuBackend,
    V: DataMatrix,
  ) {
    const { rows, cols } = V;
    this.rows = rows;
    this.cols = cols;
    this.pool = backend.pool;
    const arena = backend.arena;
    this.scratch = new Scratch(arena);
    if (isSparse(V)) {
      this.vByte = 0;
      this.V = V;
      // V (float64 values) and the working arrays in the shared memory, so that every thread takes rows of each product.
      const sparseJob = arena.alloc(4 * SPARSE_JOB_WORDS, true);
      this.sparseJob = sparseJob;
      const memory = this.pool.memory;
      // Every product runs in the kernels; it is shared out to the workers when it is big enough to be worth waking them.
      const parallel = (S: Csr64, k: number): boolean => this.pool.threads > 1 && S.values.length * k >= PARALLEL_SPARSE_MADDS;
      const run = (mode: SparseMode, S: Csr64, A: Float64Array | null, B: Float64Array | null, k: number, out: Float64Array): boolean => {
        const record = new Int32Array(memory.buffer, sparseJob, SPARSE_JOB_WORDS);
        if (!writeSparseJob(record, mode, S, A, B, k, out, this.pool.threads)) return false;
        this.pool.run(JobKind.Sparse, sparseJob, mode !== SparseMode.TransposeTimesDense && parallel(S, k));
        return true;
      };
      this.sparse = new SparseBoundV(V, {
        WtW: (W, out) => this.gramOfW(W, out),
        HHt: (H, out) => this.gramOfH(H, out),
        arrays: {
          // alloc first: it may grow the memory, and only the buffer read after that covers the new block
          float64: (n) => {
            const ptr = arena.alloc(8 * Math.max(1, n));
            return new Float64Array(memory.buffer, ptr, n);
          },
          uint32: (n) => {
            const ptr = arena.alloc(4 * Math.max(1, n));
            return new Uint32Array(memory.buffer, ptr, n);
          },
          free: (a) => arena.release(a.byteOffset),
        },
        kernels: {
          timesDense: (S, B, k, out) => run(SparseMode.TimesDense, S, null, B, k, out),
          atEntries: (S, A, B, k, out) => run(SparseMode.AtEntries, S, A, B, k, out),
          // Threads gather A's rows column by column of S (its CSC); one thread scatters them row by row, A read
          // once and in order, which is faster alone and needs no CSC.
          transposeTimesDense: (S, columns, A, k, out) =>
            parallel(S, k) ? run(SparseMode.TimesDense, columns(), null, A, k, out) : run(SparseMode.TransposeTimesDense, S, A, null, k, out),
        },
      });
    } else {
      // MR spare rows (and NR floats) after V: the kernel reads whole register blocks past the last row and
      // column, into results that are thrown away.
      this.vByte = arena.alloc(4 * ((rows + MR) * cols + NR));
      const view = f32(this.pool, this.vByte, rows * cols);
      view.set(V.data.length === rows * cols ? V.data : V.data.subarray(0, rows * cols));
      f32(this.pool, this.vByte + 4 * rows * cols, MR * cols + NR).fill(0);
      this.V = { rows, cols, data: view };
      this.sparse = null;
      this.sparseJob = 0;
    }
    this.job = arena.alloc(GEMM_JOB_BYTES, true);
    this.sqJob = arena.alloc(SQDIFF_JOB_BYTES, true);
    this.sweepJob = arena.alloc(SWEEP_JOB_BYTES, true);
  }

  /** Dense V in the shared memory. */
  private get dense(): Matrix {
    return this.V as Matrix;
  }

  async WtV(W: Matrix, out: Matrix): Promise<void> {
    this.checkOpen();
    if (this.sparse) return this.sparse.WtV(W, out);
    const rank = W.cols;
    expectShape('WtV W', W, this.rows, rank);
    expectShape('WtV out', out, rank, this.cols);
    const rankPad = padTo(rank, MR), colsPad = padTo(this.cols, NR);
    const wByte = this.scratch.get('w', 4 * this.rows * rankPad);
    putRows(this.pool, wByte, W, rankPad);
    const cByte = this.scratch.get('c', 4 * rankPad * colsPad);
    runGemm(this.pool, this.job, {
      m: rankPad, n: colsPad, k: this.rows,
      a: wByte, rsa: 1, csa: rankPad,
      b: this.vByte, ldb: this.cols, bsp: NR,
      c: cByte, ldc: colsPad,
      split: 'n',
    });
    getRows(this.pool, cByte, colsPad, out);
  }

  async VHt(H: Matrix, out: Matrix): Promise<void> {
    this.checkOpen();
    if (this.sparse) return this.sparse.VHt(H, out);
    const rank = H.rows;
    expectShape('VHt H', H, rank, this.cols);
    expectShape('VHt out', out, this.rows, rank);
    const rankPad = padTo(rank, NR), rowsPad = padTo(this.rows, MR);
    const hByte = this.scratch.get('ht', 4 * this.cols * rankPad);
    putTransposedPanels(this.pool, hByte, H);
    const cByte = this.scratch.get('c', 4 * rowsPad * rankPad);
    runGemm(this.pool, this.job, {
      m: rowsPad, n: rankPad, k: this.cols,
      a: this.vByte, rsa: this.cols, csa: 1,
      b: hByte, ldb: NR, bsp: this.cols * NR,
      c: cByte, ldc: rankPad,
      split: 'm',
    });
    getRows(this.pool, cByte, rankPad, out);
  }

  async WtW(W: Matrix, out: Matrix): Promise<void> {
    this.checkOpen();
    this.gramOfW(W, out);
  }

  private gramOfW(W: Matrix, out: Matrix): void {
    const rank = W.cols;
    expectShape('WtW W', W, this.rows, rank);
    expectShape('WtW out', out, rank, rank);
    const mPad = padTo(rank, MR), nPad = padTo(rank, NR), stride = Math.max(mPad, nPad);
    // One copy of W serves as both operands; NR spare floats after it for the last row's right edge.
    const wByte = this.scratch.get('w', 4 * (this.rows * stride + NR));
    putRows(this.pool, wByte, W, stride);
    const cByte = this.scratch.get('c', 4 * mPad * nPad);
    runGemm(this.pool, this.job, {
      m: mPad, n: nPad, k: this.rows,
      a: wByte, rsa: 1, csa: stride,
      b: wByte, ldb: stride, bsp: NR,
      c: cByte, ldc: nPad,
      split: 'm',
    });
    getRows(this.pool, cByte, nPad, out);
  }

  async HHt(H: Matrix, out: Matrix): Promise<void> {
    this.checkOpen();
    this.gramOfH(H, out);
  }

  private gramOfH(H: Matrix, out: Matrix): void {
    const rank = H.rows;
    expectShape('HHt H', H, rank, this.cols);
    expectShape('HHt out', out, rank, rank);
    const mPad = padTo(rank, MR), nPad = padTo(rank, NR);
    const aByte = this.scratch.get('h', 4 * mPad * this.cols);
    putRows(this.pool, aByte, H, this.cols, mPad - rank);
    const bByte = this.scratch.get('ht', 4 * this.cols * nPad);
    putTransposedPanels(this.pool, bByte, H);
    const cByte = this.scratch.get('c', 4 * mPad * nPad);
    runGemm(this.pool, this.job, {
      m: mPad, n: nPad, k: this.cols,
      a: aByte, rsa: this.cols, csa: 1,
      b: bByte, ldb: NR, bsp: this.cols * NR,
      c: cByte, ldc: nPad,
      split: 'm',
    });
    getRows(this.pool, cByte, nPad, out);
  }

  async betaTermsH(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.checkOpen();
    const rank = W.cols;
    expectShape('betaTermsH numerator', numerator, rank, this.cols);
    expectShape('betaTermsH denominator', denominator, rank, this.cols);
    if (this.sparse) return this.sparse.betaTermsH(W, H, beta, numerator, denominator);
    this.betaTerms(W, H, beta, 'H', numerator, denominator);
  }

  async betaTermsW(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.checkOpen();
    const rank = W.cols;
    expectShape('betaTermsW numerator', numerator, this.rows, rank);
    expectShape('betaTermsW denominator', denominator, this.rows, rank);
    if (this.sparse) return this.sparse.betaTermsW(W, H, beta, numerator, denominator);
    this.betaTerms(W, H, beta, 'W', numerator, denominator);
  }

  async betaDivergence(W: Matrix, H: Matrix, beta: number): Promise<number> {
    this.checkOpen();
    if (this.sparse) return this.sparse.betaDivergence(W, H, beta);
    const f = this.loadFactors(W, H);
    if (beta === 2) return this.squaredError(f) / 2;
    return this.tiledDivergences(f, beta).beta;
  }

  async divergences(W: Matrix, H: Matrix, beta: number): Promise<{ beta: number; frobenius: number }> {
    this.checkOpen();
    if (this.sparse) return this.sparse.divergences(W, H, beta);
    const f = this.loadFactors(W, H);
    if (beta === 2) {
      const frobenius = this.squaredError(f) / 2;
      return { beta: frobenius, frobenius };
    }
    return this.tiledDivergences(f, beta);
  }

  /** Both divergences from one pass of W·H tiles, cell by cell as the engine defines them. */
  private tiledDivergences(f: ReturnType<CpuBoundV['loadFactors']>, beta: number): { beta: number; frobenius: number } {
    const { rows, cols } = this;
    const v = this.dense.data;
    let sumBeta = 0;
    let sumFro = 0;
    for (let i0 = 0; i0 < rows; i0 += f.tileRows) {
      const i1 = Math.min(rows, i0 + f.tileRows);
      const t = this.productTile(f, i0, i1);
      for (let i = i0; i < i1; i++) {
        const tr = (i - i0) * f.colsPad, vr = i * cols;
        for (let j = 0; j < cols; j++) {
          const x = v[vr + j]!;
          const y = t[tr + j]!;
          sumFro += (x - y) * (x - y);
          sumBeta += cellDivergence(x, y, beta);
        }
      }
    }
    return { beta: sumBeta, frobenius: sumFro / 2 };
  }

  sweep(side: 'W' | 'H', factor: Matrix, B: Matrix, A: Matrix, revive: boolean): { violation: number; change: number } | null {
    this.checkOpen();
    // Float64 factors come from a run that asked for float64: keep its precision, let the engine sweep.
    if (!(factor.data instanceof Float32Array)) return null;
    const k = B.rows;
    const n = side === 'W' ? factor.rows : factor.cols;
    expectShape('sweep B', B, k, k);
    expectShape('sweep factor', factor, side === 'W' ? this.rows : k, side === 'W' ? k : this.cols);
    expectShape('sweep A', A, factor.rows, factor.cols);
    const pool = this.pool;
    const threads = pool.threads;
    const parallel = threads > 1 && n * k * k >= 1 << 20;
    // W's chunks are transposed through per-thread scratch: keep them L1-sized (k×64 floats).
    let chunk = parallel ? Math.max(SW, padTo(Math.ceil(n / (4 * threads)), SW)) : padTo(n, SW);
    if (side === 'W') chunk = Math.min(chunk, 64);
    const nchunks = Math.ceil(n / chunk);
    // H is swept where it lies (k×n, columns padded with inert zeros to whole blocks); W row-major, a chunk
    // of rows transposed at a time inside the kernel.
    const ldf = side === 'W' ? k : sweepStride(n);
    const floats = side === 'W' ? n * k : k * ldf;
    const fByte = this.scratch.get('sweepF', 4 * floats);
    const aByte = this.scratch.get('sweepA', 4 * floats);
    const bByte = this.scratch.get('sweepB', 4 * k * k);
    putRows(pool, fByte, factor, ldf);
    putRows(pool, aByte, A, ldf);
    putRows(pool, bByte, B, k);
    const scratchStride = side === 'W' ? 2 * k * chunk : 0;
    const scratchByte = side === 'W' ? this.scratch.get('sweepT', 4 * scratchStride * threads) : 0;
    const partialByte = this.scratch.get('sweepPartial', 8 * 2 * nchunks);
    const aliveByte = this.scratch.get('sweepAlive', 4 * k * nchunks);
    const w = new Int32Array(pool.memory.buffer, this.sweepJob, 14);
    w.set([0, nchunks, chunk, side === 'W' ? 1 : 0, k, n, ldf, fByte, aByte, bByte, scratchByte, scratchStride, partialByte, aliveByte]);
    pool.run(JobKind.Sweep, this.sweepJob, parallel);
    getRows(pool, fByte, ldf, factor);
    const partial = new Float64Array(pool.memory.buffer, partialByte, 2 * nchunks);
    const alive = new Int32Array(pool.memory.buffer, aliveByte, k * nchunks);
    let violation = 0, change = 0;
    for (let c = 0; c < nchunks; c++) {
      violation += partial[2 * c]!;
      change += partial[2 * c + 1]!;
    }
    if (revive) {
      // A component that died is given a tiny floor so that it can come back (as solvers/sweep.ts does,
      // here after the whole sweep rather than right after the component).
      for (let t = 0; t < k; t++) {
        let any = false;
        for (let c = 0; c < nchunks && !any; c++) any = alive[c * k + t] !== 0;
        if (any) continue;
        const d = factor.data;
        let max = 0;
        for (let q = 0; q < d.length; q++) if (d[q]! > max) max = d[q]!;
        const floor = 1e-16 * max;
        if (side === 'W') for (let i = 0; i < n; i++) d[i * k + t] = floor;
        else d.fill(floor, t * n, (t + 1) * n);
      }
    }
    return { violation, change };
  }

  sweeps(
    side: 'W' | 'H',
    factor: Matrix,
    B: Matrix,
    A: Matrix,
    revive: boolean,
    maxSweeps: number,
    stopBelow: number,
  ): { violation: number; sweeps: number } | null {
    this.checkOpen();
    if (!(factor.data instanceof Float32Array)) return null;
    const k = B.rows;
    const n = side === 'W' ? factor.rows : factor.cols;
    expectShape('sweeps B', B, k, k);
    expectShape('sweeps factor', factor, side === 'W' ? this.rows : k, side === 'W' ? k : this.cols);
    expectShape('sweeps A', A, factor.rows, factor.cols);
    const pool = this.pool;
    const threads = pool.threads;
    // Every sweep works on the k×n view, as sweep() does for H: W and VHᵀ are transposed in once, W back once.
    const ldf = sweepStride(n);
    const fByte = this.scratch.get('sweepF', 4 * k * ldf);
    const aByte = this.scratch.get('sweepA', 4 * k * ldf);
    const bByte = this.scratch.get('sweepB', 4 * k * k);
    if (side === 'W') {
      putTransposed(pool, fByte, factor, ldf);
      putTransposed(pool, aByte, A, ldf);
    } else {
      putRows(pool, fByte, factor, ldf);
      putRows(pool, aByte, A, ldf);
    }
    putRows(pool, bByte, B, k);
    const parallel = threads > 1 && n * k * k >= PARALLEL_SWEEP_MADDS;
    const chunk = parallel ? Math.max(SW, padTo(Math.ceil(n / (4 * threads)), SW)) : ldf;
    const nchunks = Math.ceil(n / chunk);
    const partialByte = this.scratch.get('sweepPartial', 8 * 2 * nchunks);
    const aliveByte = this.scratch.get('sweepAlive', 4 * k * nchunks);
    const job = new Int32Array(pool.memory.buffer, this.sweepJob, 14);
    const f = f32(pool, fByte, k * ldf);
    let violation = 0, firstChange = 0, done = 0;
    for (;;) {
      job.set([0, nchunks, chunk, 0, k, n, ldf, fByte, aByte, bByte, 0, 0, partialByte, aliveByte]);
      pool.run(JobKind.Sweep, this.sweepJob, parallel);
      const partial = new Float64Array(pool.memory.buffer, partialByte, 2 * nchunks);
      let v = 0, change = 0;
      for (let c = 0; c < nchunks; c++) {
        v += partial[2 * c]!;
        change += partial[2 * c + 1]!;
      }
      if (revive) reviveRows(f, new Int32Array(pool.memory.buffer, aliveByte, k * nchunks), k, n, ldf, nchunks);
      if (done++ === 0) {
        violation = v;
        firstChange = change;
      }
      if (done >= maxSweeps || !(firstChange > 0) || (done > 1 && change < stopBelow * firstChange)) break;
    }
    if (side === 'W') getTransposed(pool, fByte, ldf, factor);
    else getRows(pool, fByte, ldf, factor);
    return { violation, sweeps: done };
  }

  async setCells(indices: Uint32Array, values: ArrayLike<number>): Promise<void> {
    this.checkOpen();
    if (this.sparse) return this.sparse.setCells();
    if (indices.length !== values.length) throw new RangeError('setCells: indices and values differ in length');
    const v = this.dense.data, n = v.length;
    for (let i = 0; i < indices.length; i++) {
      const at = indices[i]!;
      if (at >= n) throw new RangeError(`setCells: index ${at} is outside V (${this.rows}×${this.cols})`);
      v[at] = values[i]!;
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scratch.releaseAll();
    if (this.vByte) this.backend.arena.release(this.vByte);
    await this.sparse?.dispose();
    if (this.sparseJob) this.backend.arena.release(this.sparseJob);
    this.backend.arena.release(this.job);
    this.backend.arena.release(this.sqJob);
    this.backend.arena.release(this.sweepJob);
    this.backend.forget(this);
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error('this bound V has been disposed');
  }

  /** W (rows padded to MR, rank to MR) and H (rank padded to MR, columns to NR) as GEMM operands for W·H tiles. */
  private loadFactors(W: Matrix, H: Matrix) {
    const rank = W.cols;
    expectShape('W', W, this.rows, rank);
    expectShape('H', H, rank, this.cols);
    const rankPad = padTo(rank, MR), colsPad = padTo(this.cols, NR), rowsPad = padTo(this.rows, MR);
    const wByte = this.scratch.get('w', 4 * rowsPad * rankPad);
    putRows(this.pool, wByte, W, rankPad, rowsPad - this.rows);
    const hByte = this.scratch.get('h', 4 * rankPad * colsPad);
    putRows(this.pool, hByte, H, colsPad, rankPad - rank);
    const tileRows = Math.max(MR, Math.floor(TILE_FLOATS / colsPad / MR) * MR);
    return { rank, rankPad, colsPad, rowsPad, wByte, hByte, tileRows };
  }

  /** W[i0:i1]·H into the 'tile' scratch block (row stride colsPad); returns a view of it. */
  private productTile(f: ReturnType<CpuBoundV['loadFactors']>, i0: number, i1: number): Float32Array {
    const mPad = padTo(i1 - i0, MR);
    const tByte = this.scratch.get('tile', 4 * f.tileRows * f.colsPad);
    runGemm(this.pool, this.job, {
      m: mPad, n: f.colsPad, k: f.rankPad,
      a: f.wByte + 4 * i0 * f.rankPad, rsa: f.rankPad, csa: 1,
      b: f.hByte, ldb: f.colsPad, bsp: NR,
      c: tByte, ldc: f.colsPad,
      split: 'n',
    });
    return f32(this.pool, tByte, mPad * f.colsPad);
  }

  /** ‖V − W·H‖² over the observed entries, all threads forming and reducing W·H tiles. */
  private squaredError(f: ReturnType<CpuBoundV['loadFactors']>): number {
    const { rows, cols } = this;
    const threads = this.pool.threads;
    const chunkRows = Math.max(MR, Math.min(f.tileRows, padTo(Math.ceil(rows / (4 * threads)), MR)));
    const nchunks = Math.ceil(rows / chunkRows);
    const stride = chunkRows * f.colsPad;
    const scratchByte = this.scratch.get('sqtiles', 4 * stride * threads);
    const partialByte = this.scratch.get('partial', 8 * nchunks);
    const w = new Int32Array(this.pool.memory.buffer, this.sqJob, 13);
    w.set([0, nchunks, chunkRows, rows, cols, f.colsPad, f.rankPad, this.vByte, f.wByte, f.hByte, scratchByte, stride, partialByte]);
    this.pool.run(JobKind.Sqdiff, this.sqJob, threads > 1 && rows * cols * f.rankPad >= 1 << 20);
    const partial = new Float64Array(this.pool.memory.buffer, partialByte, nchunks);
    let sum = 0;
    for (let c = 0; c < nchunks; c++) sum += partial[c]!;
    return sum;
  }

  /**
   * scikit-learn's multiplicative-update terms for β ≠ 2, a block of rows of W·H at a time: the element-wise
   * part in plain loops, the products with the block through the GEMM kernel.
   */
  private betaTerms(W: Matrix, H: Matrix, beta: number, side: 'H' | 'W', numerator: Matrix, denominator: Matrix): void {
    const f = this.loadFactors(W, H);
    const { rows, cols } = this;
    const pool = this.pool;
    const tile = f.tileRows * f.colsPad;
    const xByte = this.scratch.get('x', 4 * tile);
    const yByte = this.scratch.get('tile', 4 * tile);
    const rankPad8 = padTo(f.rank, NR);
    // For W: the products with Hᵀ (panels); accumulated per block into rowsPad×rankPad8 results.
    let htByte = 0, numByte = 0, denByte = 0;
    if (side === 'W') {
      htByte = this.scratch.get('ht', 4 * cols * rankPad8);
      putTransposedPanels(pool, htByte, H);
      numByte = this.scratch.get('num', 4 * f.rowsPad * rankPad8);
      denByte = this.scratch.get('den', 4 * f.rowsPad * rankPad8);
    } else {
      numByte = this.scratch.get('num', 4 * f.rankPad * f.colsPad);
      denByte = this.scratch.get('den', 4 * f.rankPad * f.colsPad);
    }
    for (let i0 = 0; i0 < rows; i0 += f.tileRows) {
      const i1 = Math.min(rows, i0 + f.tileRows);
      const mPad = padTo(i1 - i0, MR);
      const y = this.productTile(f, i0, i1); // W·H, turned into the denominator's element-wise factor in place
      const x = f32(pool, xByte, mPad * f.colsPad);
      const v = this.dense.data;
      for (let i = i0; i < i1; i++) {
        const tr = (i - i0) * f.colsPad, vr = i * cols;
        for (let j = 0; j < cols; j++) {
          const wh = y[tr + j]!;
          const xv = v[vr + j]!;
          const whSafe = beta < 2 && wh === 0 ? EPSILON : wh;
          if (beta === 1) x[tr + j] = xv / whSafe;
          else if (beta === 0) {
            const r = 1 / whSafe;
            x[tr + j] = r * r * xv;
          }
          else x[tr + j] = xv * whSafe ** (beta - 2);
          if (beta !== 1) {
            const whDen = beta < 1 && wh === 0 ? EPSILON : wh;
            y[tr + j] = beta === 0 ? 1 / whDen : whDen ** (beta - 1);
          }
        }
        // Rows past i1 in the padded block stay as they are: their results are never read.
      }
      if (side === 'W') {
        const dst = (byte: number) => byte + 4 * i0 * rankPad8;
        const spec = { m: mPad, n: rankPad8, k: cols, rsa: f.colsPad, csa: 1, b: htByte, ldb: NR, bsp: cols * NR, ldc: rankPad8, split: 'n' as const };
        runGemm(pool, this.job, { ...spec, a: xByte, c: dst(numByte) });
        if (beta !== 1) runGemm(pool, this.job, { ...spec, a: yByte, c: dst(denByte) });
      } else {
        const spec = { m: f.rankPad, n: f.colsPad, k: i1 - i0, a: f.wByte + 4 * i0 * f.rankPad, rsa: 1, csa: f.rankPad, ldb: f.colsPad, bsp: NR, ldc: f.colsPad, accumulate: i0 > 0, split: 'n' as const };
        runGemm(pool, this.job, { ...spec, b: xByte, c: numByte });
        if (beta !== 1) runGemm(pool, this.job, { ...spec, b: yByte, c: denByte });
      }
    }
    const rank = f.rank;
    if (side === 'W') {
      getRows(pool, numByte, rankPad8, numerator);
      if (beta !== 1) getRows(pool, denByte, rankPad8, denominator);
      else {
        // β = 1: the denominator is the row sums of H, the same for every row of W.
        const d = denominator.data;
        for (let k = 0; k < rank; k++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += H.data[k * cols + j]!;
          for (let i = 0; i < rows; i++) d[i * rank + k] = s;
        }
      }
    } else {
      getRows(pool, numByte, f.colsPad, numerator);
      if (beta !== 1) getRows(pool, denByte, f.colsPad, denominator);
      else {
        // β = 1: the denominator is the column sums of W, the same for every column of H.
        const d = denominator.data;
        for (let k = 0; k < rank; k++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += W.data[i * rank + k]!;
          d.fill(s, k * cols, (k + 1) * cols);
        }
      }
    }
  }
}

export const cpuProvider: BackendProvider = {
  name: 'cpu',
  // Below a hardware GPU (whose probe turns software renderers down), above the plain TypeScript reference.
  priority: 10,
  async probe() {
    if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer !== 'function') {
      return { ok: false, reason: 'CPU (WASM SIMD): no WebAssembly threads in this runtime' };
    }
    if (!WebAssembly.validate(kernelBytes('simd'))) return { ok: false, reason: 'CPU (WASM SIMD): no WebAssembly SIMD in this runtime' };
    return { ok: true };
  },
  create: () => CpuBackend.create(),
};
