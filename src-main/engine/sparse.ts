// Compressed sparse rows: building them from coordinates, converting, transposing (CSR of Vᵀ is V's CSC), and
// the products with dense factors that a sparse V needs — each costing the non-zeros times the rank, never rows × cols.

import { allocate, isSparse, type DataMatrix, type DType, type FloatArray, type Matrix, type SparseMatrix } from './matrix.js';

function floats(n: number, dtype: DType): FloatArray {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/** Bytes the sparse form of a rows×cols matrix with nnz stored entries takes (index arrays included). */
export function sparseBytes(rows: number, nnz: number, dtype: DType): number {
  return 4 * (rows + 1) + nnz * (4 + (dtype === 'float32' ? 4 : 8));
}

/** Bytes the dense form takes. */
export function denseBytes(rows: number, cols: number, dtype: DType): number {
  return rows * cols * (dtype === 'float32' ? 4 : 8);
}

/**
 * CSR from n coordinate entries (0-based rows r, columns c, values v), as scipy's coo → csr does: repeated
 * entries are summed; then entries that are zero are dropped, so that every stored entry is a non-zero.
 */
export function sparseFromCoordinates(
  rows: number,
  cols: number,
  r: ArrayLike<number>,
  c: ArrayLike<number>,
  v: ArrayLike<number>,
  n: number,
  dtype: DType = 'float64',
): SparseMatrix {
  // Counting sort by row, then each row's entries sorted by column.
  const counts = new Uint32Array(rows + 1);
  for (let e = 0; e < n; e++) counts[r[e]! + 1]!++;
  for (let i = 0; i < rows; i++) counts[i + 1]! += counts[i]!;
  const next = counts.slice(0, rows);
  const colOf = new Uint32Array(n);
  const valOf = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    const at = next[r[e]!]!++;
    colOf[at] = c[e]!;
    valOf[at] = v[e]!;
  }
  const indptr = new Uint32Array(rows + 1);
  let out = 0;
  for (let i = 0; i < rows; i++) {
    const start = counts[i]!;
    const end = counts[i + 1]!;
    sortRow(colOf, valOf, start, end);
    const rowStart = out;
    for (let p = start; p < end; p++) {
      if (out > rowStart && colOf[out - 1] === colOf[p]) valOf[out - 1]! += valOf[p]!;
      else {
        colOf[out] = colOf[p]!;
        valOf[out] = valOf[p]!;
        out++;
      }
    }
    // drop the zeros (an entry that summed to zero included)
    let keep = rowStart;
    for (let p = rowStart; p < out; p++) {
      if (valOf[p] === 0) continue;
      colOf[keep] = colOf[p]!;
      valOf[keep] = valOf[p]!;
      keep++;
    }
    out = keep;
    indptr[i + 1] = out;
  }
  const values = floats(out, dtype);
  values.set(valOf.subarray(0, out));
  return { format: 'csr', rows, cols, indptr, indices: colOf.slice(0, out), values };
}

/** Sorts entries [start, end) by column (insertion sort for short rows, else an index sort). */
function sortRow(cols: Uint32Array, vals: Float64Array, start: number, end: number): void {
  const n = end - start;
  if (n < 2) return;
  let sorted = true;
  for (let p = start + 1; p < end && sorted; p++) sorted = cols[p - 1]! <= cols[p]!;
  if (sorted) return;
  if (n <= 32) {
    for (let p = start + 1; p < end; p++) {
      const cp = cols[p]!;
      const vp = vals[p]!;
      let q = p - 1;
      while (q >= start && cols[q]! > cp) {
        cols[q + 1] = cols[q]!;
        vals[q + 1] = vals[q]!;
        q--;
      }
      cols[q + 1] = cp;
      vals[q + 1] = vp;
    }
    return;
  }
  const order = Array.from({ length: n }, (_, k) => start + k).sort((a, b) => cols[a]! - cols[b]! || a - b);
  const c2 = order.map((p) => cols[p]!);
  const v2 = order.map((p) => vals[p]!);
  cols.set(c2, start);
  vals.set(v2, start);
}

/** The sparse form of a dense matrix (NaN is not allowed: sparse V has no missing entries). */
export function sparseOf(m: Matrix): SparseMatrix {
  const { rows, cols, data } = m;
  let nnz = 0;
  for (let k = 0; k < data.length; k++) if (data[k] !== 0) nnz++;
  const indptr = new Uint32Array(rows + 1);
  const indices = new Uint32Array(nnz);
  const values = floats(nnz, data instanceof Float32Array ? 'float32' : 'float64');
  let at = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = data[i * cols + j]!;
      if (x === 0) continue;
      indices[at] = j;
      values[at++] = x;
    }
    indptr[i + 1] = at;
  }
  return { format: 'csr', rows, cols, indptr, indices, values };
}

/** The dense form (rows × cols values: only for matrices known to be small enough). */
export function denseOf(m: DataMatrix): Matrix {
  if (!isSparse(m)) return m;
  const out = allocate(m.rows, m.cols, m.values instanceof Float32Array ? 'float32' : 'float64');
  for (let i = 0; i < m.rows; i++) {
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) out.data[i * m.cols + m.indices[p]!] = m.values[p]!;
  }
  return out;
}

export function convertSparse(m: SparseMatrix, dtype: DType): SparseMatrix {
  const values = floats(m.values.length, dtype);
  values.set(m.values);
  return { ...m, values };
}

/** CSR of Vᵀ, which is V in compressed sparse columns: the entries of column j, rows ascending. */
export function transposeSparse(m: SparseMatrix): SparseMatrix {
  const { rows, cols, indptr, indices, values } = m;
  const nnz = indptr[rows]!;
  const tptr = new Uint32Array(cols + 1);
  for (let p = 0; p < nnz; p++) tptr[indices[p]! + 1]!++;
  for (let j = 0; j < cols; j++) tptr[j + 1]! += tptr[j]!;
  const next = tptr.slice(0, cols);
  const tind = new Uint32Array(nnz);
  const tval = floats(nnz, values instanceof Float32Array ? 'float32' : 'float64');
  for (let i = 0; i < rows; i++) {
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const at = next[indices[p]!]!++;
      tind[at] = i;
      tval[at] = values[p]!;
    }
  }
  return { format: 'csr', rows: cols, cols: rows, indptr: tptr, indices: tind, values: tval };
}

export function nnzOf(m: SparseMatrix): number {
  return m.indptr[m.rows]!;
}

/** Σ x over the stored entries. */
export function sparseSum(m: SparseMatrix): number {
  let s = 0;
  const v = m.values;
  for (let p = 0; p < v.length; p++) s += v[p]!;
  return s;
}

/** F (r×k, row-major) transposed into a float64 k×r array (into `out` when it is big enough). */
export function transposedFloat64(F: Matrix, out: Float64Array = new Float64Array(F.rows * F.cols)): Float64Array {
  const { rows, cols, data } = F;
  for (let i = 0; i < rows; i++) for (let t = 0; t < cols; t++) out[t * rows + i] = data[i * cols + t]!;
  return out;
}

/** A CSR with float64 values: what the sparse kernels read (one element type each, so that they stay fast). */
export interface Csr64 {
  readonly rows: number;
  readonly indptr: Uint32Array;
  readonly indices: Uint32Array;
  readonly values: Float64Array;
}

export function csr64(S: SparseMatrix): Csr64 {
  return { rows: S.rows, indptr: S.indptr, indices: S.indices, values: S.values instanceof Float64Array ? S.values : Float64Array.from(S.values) };
}

/**
 * out[i·k + t] = Σ_p S[i, p]·B[p·k + t] for rows i0 … i1−1 of S (B is S.cols × k, row-major): S·B, with
 * every sum in float64.
 */
export function sparseTimesDense(S: Csr64, B: Float64Array, k: number, out: Float64Array, i0 = 0, i1 = S.rows): void {
  const { indptr, indices, values } = S;
  // Four output columns at a time in registers, each summed over the row's entries in order (the same sums
  // as one column at a time, fewer loads and stores).
  for (let i = i0; i < i1; i++) {
    const o = i * k;
    const start = indptr[i]!;
    const end = indptr[i + 1]!;
    let t = 0;
    for (; t + 4 <= k; t += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let p = start; p < end; p++) {
        const x = values[p]!;
        const b = indices[p]! * k + t;
        a0 += x * B[b]!;
        a1 += x * B[b + 1]!;
        a2 += x * B[b + 2]!;
        a3 += x * B[b + 3]!;
      }
      out[o + t] = a0;
      out[o + t + 1] = a1;
      out[o + t + 2] = a2;
      out[o + t + 3] = a3;
    }
    for (; t < k; t++) {
      let a = 0;
      for (let p = start; p < end; p++) a += values[p]! * B[indices[p]! * k + t]!;
      out[o + t] = a;
    }
  }
}

/**
 * out (S.cols × k, row-major) = Sᵀ·A for A (S.rows × k): each row of A read once, in order, and scattered into
 * the rows of out its entries name. Faster than gathering A's rows by S's columns when A is the larger operand.
 */
export function sparseTransposeTimesDense(S: Csr64, A: Float64Array, k: number, out: Float64Array): void {
  const { indptr, indices, values } = S;
  out.fill(0);
  for (let i = 0; i < S.rows; i++) {
    const a = i * k;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const x = values[p]!;
      const b = indices[p]! * k;
      for (let t = 0; t < k; t++) out[b + t] += x * A[a + t]!;
    }
  }
}

/**
 * (W·H) at the stored entries of S, in their order (scikit-learn's _special_sparse_dot), for rows i0 … i1−1:
 * A is S.rows × k (row-major), B is S.cols × k (i.e. Hᵀ); out has one value per entry (in S's order).
 */
export function productAtEntries(S: Csr64, A: Float64Array, B: Float64Array, k: number, out: Float64Array, i0 = 0, i1 = S.rows): void {
  const { indptr, indices } = S;
  for (let i = i0; i < i1; i++) {
    const a = i * k;
    const end = indptr[i + 1]!;
    for (let p = indptr[i]!; p < end; p++) {
      const b = indices[p]! * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[a + t]! * B[b + t]!;
      out[p] = s;
    }
  }
}
