// Laying out operands in the shared memory and running GEMM jobs on the pool: the TypeScript half of
// kernel/gemm.c. Every operand is padded to the kernel's register block (MR rows, NR columns) here, so the
// kernel has no edge code at all.

import type { Matrix } from '../../engine/matrix.js';
import { JobKind, PACK_BYTE, type KernelPool } from './pool.js';

/** Rows and columns of one register block of C (must match kernel/gemm.c). */
export const MR = 4;
export const NR = 8;

export const padTo = (n: number, block: number): number => Math.ceil(n / block) * block;

/** Bytes of a GEMM job record (18 int32 words in kernel/gemm.c), rounded up. */
export const GEMM_JOB_BYTES = 128;
/** Bytes of a squared-difference job record (13 words). */
export const SQDIFF_JOB_BYTES = 64;
/** Bytes of a coordinate-sweep job record (14 words). */
export const SWEEP_JOB_BYTES = 64;

/** Below this many multiply-adds a product is not worth waking the workers for (~50 µs of work). */
const PARALLEL_MIN_MADDS = 1 << 20;

export interface GemmSpec {
  /** C is m×n; m a multiple of MR, n a multiple of NR; C has row stride ldc ≥ n. */
  m: number;
  n: number;
  k: number;
  /** A(i, p) at byte a + 4·(i·rsa + p·csa). */
  a: number;
  rsa: number;
  csa: number;
  /** B(p, j) at byte b + 4·((j/NR)·bsp + p·ldb + j%NR): a row-major B has bsp = NR and ldb = its row length. */
  b: number;
  ldb: number;
  bsp: number;
  c: number;
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate?: boolean;
  /**
   * Which dimension of C the threads share out: 'n' when B is the big streamed operand, 'm' when A is.
   * With 'n', B's panels are copied to a contiguous block first unless B is already contiguous (ldb = NR).
   */
  split: 'm' | 'n';
}

/** C (+)= A·B on the pool, synchronously. `job` is a GEMM_JOB_BYTES record owned by the caller. */
export function runGemm(pool: KernelPool, job: number, s: GemmSpec): void {
  if (s.m % MR !== 0 || s.n % NR !== 0) throw new RangeError(`gemm: ${s.m}×${s.n} is not padded to ${MR}×${NR}`);
  if (s.m === 0 || s.n === 0) return;
  const splitN = s.split === 'n';
  const along = splitN ? s.n : s.m;
  const madds = s.m * s.n * s.k;
  const parallel = pool.threads > 1 && madds >= PARALLEL_MIN_MADDS;
  // Chunks small enough that both threads get several (load balance on a busy machine), large enough that
  // the packed block of the other operand is reused well.
  let chunk = splitN ? 64 : 48;
  if (parallel) {
    const block = splitN ? NR : MR;
    while (chunk > block && Math.ceil(along / chunk) < 4 * pool.threads) chunk -= block;
  } else chunk = padTo(along, splitN ? NR : MR);
  const w = new Int32Array(pool.memory.buffer, job, 18);
  w[0] = 0;
  w[1] = Math.ceil(along / chunk);
  w[2] = chunk;
  w[3] = splitN ? 0 : 1;
  w[4] = s.m;
  w[5] = s.n;
  w[6] = s.k;
  w[7] = splitN ? 128 : 256;
  w[8] = s.a;
  w[9] = s.rsa;
  w[10] = s.csa;
  w[11] = s.b;
  w[12] = s.ldb;
  w[13] = s.bsp;
  w[14] = s.c;
  w[15] = s.ldc;
  w[16] = s.accumulate ? 1 : 0;
  w[17] = splitN && s.ldb !== NR ? PACK_BYTE : 0;
  pool.run(JobKind.Gemm, job, parallel);
}

export function f32(pool: KernelPool, byte: number, length: number): Float32Array {
  return new Float32Array(pool.memory.buffer, byte, length);
}

/** Copies m (rows×cols) to `byte` with row stride `stride` ≥ cols, zero-filling the padding; `padRows` more zero rows. */
export function putRows(pool: KernelPool, byte: number, m: Matrix, stride: number, padRows = 0): void {
  const dst = f32(pool, byte, (m.rows + padRows) * stride);
  const { rows, cols, data } = m;
  if (stride === cols) dst.set(data.length === rows * cols ? data : data.subarray(0, rows * cols));
  else if (cols <= SHORT_ROW) {
    // Short rows (factors): element by element, without a view per row to collect afterwards.
    for (let i = 0; i < rows; i++) {
      const d = i * stride, s = i * cols;
      for (let j = 0; j < cols; j++) dst[d + j] = data[s + j]!;
      for (let j = cols; j < stride; j++) dst[d + j] = 0;
    }
  } else {
    for (let i = 0; i < rows; i++) {
      dst.set(data.subarray(i * cols, (i + 1) * cols), i * stride);
      dst.fill(0, i * stride + cols, (i + 1) * stride);
    }
  }
  dst.fill(0, rows * stride);
}

/** Rows up to this long are copied element by element rather than through a view per row. */
const SHORT_ROW = 128;

/**
 * Copies mᵀ as a GEMM B operand in panels of NR columns: for m (n×k), B(p, j) = m[j][p], at
 * byte + 4·((j/NR)·k·NR + p·NR + j%NR), with zero columns up to padTo(n, NR). bsp = k·NR, ldb = NR.
 */
export function putTransposedPanels(pool: KernelPool, byte: number, m: Matrix): void {
  const n = m.rows, k = m.cols, src = m.data;
  const panels = padTo(n, NR) / NR;
  const dst = f32(pool, byte, panels * k * NR);
  for (let jb = 0; jb < panels; jb++) {
    const base = jb * k * NR;
    for (let jj = 0; jj < NR; jj++) {
      const j = jb * NR + jj;
      if (j >= n) {
        for (let p = 0; p < k; p++) dst[base + p * NR + jj] = 0;
        continue;
      }
      const row = j * k;
      for (let p = 0; p < k; p++) dst[base + p * NR + jj] = src[row + p]!;
    }
  }
}

/** Copies mᵀ (m is n×k) to `byte` as k rows of stride `stride` ≥ n, zero-filling columns n…stride−1. */
export function putTransposed(pool: KernelPool, byte: number, m: Matrix, stride: number): void {
  const n = m.rows, k = m.cols, src = m.data;
  const dst = f32(pool, byte, k * stride);
  for (let t = 0; t < k; t++) {
    const row = t * stride;
    for (let i = 0; i < n; i++) dst[row + i] = src[i * k + t]!;
    dst.fill(0, row + n, row + stride);
  }
}

/** The inverse of putTransposed: out (n×k) from the k rows of stride `stride` at `byte`. */
export function getTransposed(pool: KernelPool, byte: number, stride: number, out: Matrix): void {
  const n = out.rows, k = out.cols, dst = out.data;
  const src = f32(pool, byte, k * stride);
  for (let t = 0; t < k; t++) {
    const row = t * stride;
    for (let i = 0; i < n; i++) dst[i * k + t] = src[row + i]!;
  }
}

/** Copies the top-left out.rows×out.cols corner of the matrix at `byte` (row stride `stride`) into out. */
export function getRows(pool: KernelPool, byte: number, stride: number, out: Matrix): void {
  const { rows, cols, data } = out;
  const src = f32(pool, byte, rows * stride);
  if (stride === cols) data.set(src.subarray(0, rows * cols));
  else if (cols <= SHORT_ROW) {
    for (let i = 0; i < rows; i++) {
      const s = i * stride, d = i * cols;
      for (let j = 0; j < cols; j++) data[d + j] = src[s + j]!;
    }
  } else for (let i = 0; i < rows; i++) data.set(src.subarray(i * stride, i * stride + cols), i * cols);
}
