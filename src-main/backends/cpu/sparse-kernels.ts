// The sparse products of the CPU backend, in TypeScript on every thread of its pool: the operands live in the
// pool's shared memory and each thread takes chunks of rows from one atomic counter, as the WebAssembly kernels
// do. (The WebAssembly module holds the dense kernels only; these need no compiler to rebuild.)

import { productAtEntries, sparseTimesDense, type Csr64 } from '../../engine/sparse.js';

/** Int32 words of a sparse job record. */
const NEXT = 0; // the next chunk to take
const CHUNKS = 1;
const CHUNK_ROWS = 2;
const ROWS = 3;
const K = 4;
const MODE = 5; // 0: out = S·B, 1: out[p] = (A·Bᵀ) at S's entries
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

/** Runs this thread's share of a sparse job whose record is at byte `job` of the shared memory. */
export function sparseShare(buffer: ArrayBufferLike, job: number): void {
  const w = new Int32Array(buffer, job, SPARSE_JOB_WORDS);
  const rows = w[ROWS]!;
  const nnz = w[NNZ]!;
  const S: Csr64 = {
    rows,
    indptr: new Uint32Array(buffer, w[INDPTR]!, rows + 1),
    indices: new Uint32Array(buffer, w[INDICES]!, nnz),
    values: new Float64Array(buffer, w[VALUES]!, nnz),
  };
  const k = w[K]!;
  const A = new Float64Array(buffer, w[A_BYTE]!, w[A_LENGTH]!);
  const B = new Float64Array(buffer, w[B_BYTE]!, w[B_LENGTH]!);
  const out = new Float64Array(buffer, w[OUT_BYTE]!, w[OUT_LENGTH]!);
  const chunks = w[CHUNKS]!;
  const chunkRows = w[CHUNK_ROWS]!;
  const entries = w[MODE] === 1;
  for (;;) {
    const c = Atomics.add(w, NEXT, 1);
    if (c >= chunks) return;
    const i0 = c * chunkRows;
    const i1 = Math.min(rows, i0 + chunkRows);
    if (entries) productAtEntries(S, A, B, k, out, i0, i1);
    else sparseTimesDense(S, B, k, out, i0, i1);
  }
}

/** The byte offset of a view on the shared memory (null for an ordinary array, which the threads cannot see). */
function sharedByte(a: Float64Array | Uint32Array): number | null {
  return typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer ? a.byteOffset : null;
}

/**
 * Fills a job record for `S·B` (mode 0) or `A·Bᵀ at S's entries` (mode 1); false when an operand is not in
 * shared memory, so that the caller runs the product on its own thread.
 */
export function writeSparseJob(record: Int32Array, mode: 0 | 1, S: Csr64, A: Float64Array | null, B: Float64Array, k: number, out: Float64Array, threads: number): boolean {
  const bytes = [sharedByte(S.indptr), sharedByte(S.indices), sharedByte(S.values), A ? sharedByte(A) : 0, sharedByte(B), sharedByte(out)];
  if (bytes.some((b) => b === null)) return false;
  const [indptr, indices, values, aByte, bByte, outByte] = bytes as number[];
  const chunkRows = Math.max(16, Math.ceil(S.rows / (8 * threads)));
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
  record[A_BYTE] = A ? aByte! : bByte!;
  record[A_LENGTH] = A ? A.length : 0;
  record[B_BYTE] = bByte!;
  record[B_LENGTH] = B.length;
  record[OUT_BYTE] = outByte!;
  record[OUT_LENGTH] = out.length;
  return true;
}
