// Matrices over typed arrays: dense row-major (every factor, most data) and compressed sparse rows (data that is
// mostly zeros). V may take either form; W, H and every other matrix are dense.

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** A dense rows×cols matrix stored row-major: entry (i, j) is data[i * cols + j]. NaN marks a missing entry. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: FloatArray;
}

/**
 * A rows×cols matrix in compressed sparse row form (scipy's CSR): the entries of row i are at positions
 * indptr[i] … indptr[i+1]−1 of `indices` (their columns, ascending, each once) and `values` (non-zero).
 * Entries not stored are zeros, never missing.
 */
export interface SparseMatrix {
  readonly format: 'csr';
  readonly rows: number;
  readonly cols: number;
  /** rows + 1 offsets into indices and values; indptr[rows] is the number of stored entries. */
  readonly indptr: Uint32Array;
  readonly indices: Uint32Array;
  readonly values: FloatArray;
}

/** V as the engine takes it: dense, or sparse when that is smaller. */
export type DataMatrix = Matrix | SparseMatrix;

export function isSparse(m: DataMatrix): m is SparseMatrix {
  return (m as SparseMatrix).format === 'csr';
}

export function dtypeOf(m: DataMatrix): DType {
  return (isSparse(m) ? m.values : m.data) instanceof Float32Array ? 'float32' : 'float64';
}

export function allocate(rows: number, cols: number, dtype: DType = 'float64'): Matrix {
  const n = rows * cols;
  return { rows, cols, data: dtype === 'float32' ? new Float32Array(n) : new Float64Array(n) };
}

export function fromArray(rows: number, cols: number, values: ArrayLike<number>, dtype: DType = 'float64'): Matrix {
  if (values.length !== rows * cols) {
    throw new RangeError(`expected ${rows * cols} values for a ${rows}×${cols} matrix, got ${values.length}`);
  }
  const m = allocate(rows, cols, dtype);
  m.data.set(values);
  return m;
}

export function clone(m: Matrix): Matrix {
  return { rows: m.rows, cols: m.cols, data: m.data.slice() };
}

/** The same numbers in another precision (a copy even when the dtype already matches). */
export function convert(m: Matrix, dtype: DType): Matrix {
  const out = allocate(m.rows, m.cols, dtype);
  out.data.set(m.data);
  return out;
}

export function transpose(m: Matrix): Matrix {
  const out = allocate(m.cols, m.rows, dtypeOf(m));
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out.data[j * rows + i] = data[i * cols + j];
  }
  return out;
}
