// The job record of the sparse products (sparse_run in kernel/gemm.c): where a CSR matrix with float64 values
// and the dense operands lie in the pool's shared memory, and how the rows are cut into chunks for the threads.

import type { Csr64 } from '../../engine/sparse.js';

/** Int32 words of a sparse job record (the sparse_job struct in kernel/gemm.c, in its order). */
const NEXT = 0; // the next chunk to take
const CHUNKS = 1;
const CHUNK_ROWS = 2;
const ROWS = 3;
const K = 4;
const MODE = 5;
const INDPTR = 6;
const INDICES = 7;
const VALUES = 8;
const NNZ = 9;
const A_BYTE = 10;
const A_LENGTH = 11;
const B_BYTE = 12;
const B_LENGTH = 13;
const OUT_BYTE = 14;
const OUT_LENGTH = 15;
export const SPARSE_JOB_WORDS = 16;

/** What a sparse job computes; see kernel/gemm.c. */
export const SparseMode = {
  /** out (rows×k) = S·B */
  TimesDense: 0,
  /** out[p] = (A·Bᵀ) at S's entry p */
  AtEntries: 1,
  /** out (cols×k) = Sᵀ·A, scattered by one thread */
  TransposeTimesDense: 2,
} as const;
export type SparseMode = (typeof SparseMode)[keyof typeof SparseMode];

/**
 * The byte offset of a view on the shared memory (null for an ordinary array, which the kernels cannot see).
 * Not a test of buffer identity: each growth of the memory gives it a new SharedArrayBuffer object, while views
 * made before keep the old one, over the same bytes.
 */
function sharedByte(a: Float64Array | Uint32Array): number | null {
  return typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer ? a.byteOffset : null;
}

/**
 * Fills a job record; false when an operand is not in the shared memory, so that the caller runs the
 * engine's own loop instead. A is null for TimesDense, B is null for TransposeTimesDense.
 */
export function writeSparseJob(
  record: Int32Array,
  mode: SparseMode,
  S: Csr64,
  A: Float64Array | null,
  B: Float64Array | null,
  k: number,
  out: Float64Array,
  threads: number,
): boolean {
  const bytes = [S.indptr, S.indices, S.values, A ?? out, B ?? out, out].map(sharedByte);
  if (bytes.some((b) => b === null)) return false;
  const [indptr, indices, values, aByte, bByte, outByte] = bytes as number[];
  // A few chunks per thread, so that a thread slowed by another program leaves its share to the others.
  const chunkRows = mode === SparseMode.TransposeTimesDense ? Math.max(1, S.rows) : Math.max(16, Math.ceil(S.rows / (8 * threads)));
  record[NEXT] = 0;
  record[CHUNKS] = Math.ceil(S.rows / chunkRows);
  record[CHUNK_ROWS] = chunkRows;
  record[ROWS] = S.rows;
  record[K] = k;
  record[MODE] = mode;
  record[INDPTR] = indptr!;
  record[INDICES] = indices!;
  record[VALUES] = values!;
  record[NNZ] = S.values.length;
  record[A_BYTE] = aByte!;
  record[A_LENGTH] = A ? A.length : 0;
  record[B_BYTE] = bByte!;
  record[B_LENGTH] = B ? B.length : 0;
  record[OUT_BYTE] = outByte!;
  record[OUT_LENGTH] = out.length;
  return true;
}
