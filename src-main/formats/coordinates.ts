// Entries read as (row, column, value) triples, and the matrix they make: sparse when that is smaller than
// dense (scipy's CSR: repeated entries summed, zeros dropped), dense otherwise or when values are missing.

import type { DataMatrix } from '../engine/matrix.js';
import { denseBytes, denseOf, sparseBytes, sparseFromCoordinates } from '../engine/sparse.js';
import { fileError, formatBytes, formatShape, MAX_ENTRIES } from './messages.js';

/** Growable coordinate arrays (0-based rows and columns). */
export class Coordinates {
  rows: Uint32Array;
  cols: Uint32Array;
  values: Float64Array;
  length = 0;

  constructor(
    private readonly fileName: string,
    expected: number,
  ) {
    const capacity = Math.max(16, Math.min(expected, 1 << 20));
    this.rows = new Uint32Array(capacity);
    this.cols = new Uint32Array(capacity);
    this.values = new Float64Array(capacity);
  }

  push(row: number, col: number, value: number): void {
    if (this.length === this.rows.length) this.grow();
    const n = this.length++;
    this.rows[n] = row;
    this.cols[n] = col;
    this.values[n] = value;
  }

  private grow(): void {
    const capacity = this.rows.length * 2;
    try {
      const rows = new Uint32Array(capacity);
      const cols = new Uint32Array(capacity);
      const values = new Float64Array(capacity);
      rows.set(this.rows);
      cols.set(this.cols);
      values.set(this.values);
      this.rows = rows;
      this.cols = cols;
      this.values = values;
    } catch {
      throw fileError(this.fileName, `not enough memory for ${this.length.toLocaleString('en-US')} entries (${formatBytes(16 * capacity)})`);
    }
  }
}

/**
 * The matrix of the entries: sparse when its compressed rows take fewer bytes than rows × cols values, else
 * dense. Missing (NaN) values are a dense notion (a sparse matrix's absent entries are zeros): with any, the
 * matrix is dense, and refused when that cannot be held.
 */
export function coordinateMatrix(fileName: string, rows: number, cols: number, entries: Coordinates, missing: number): { matrix: DataMatrix; missing: number } {
  const n = entries.length;
  if (missing > 0) {
    if (rows * cols > MAX_ENTRIES) {
      throw fileError(
        fileName,
        `${missing.toLocaleString('en-US')} missing (NaN) value${missing === 1 ? '' : 's'} in a ${formatShape([rows, cols])} matrix: missing values need the dense form, which is too large (more than ${MAX_ENTRIES.toLocaleString('en-US')} cells); absent entries already mean zero`,
      );
    }
    const data = new Float64Array(rows * cols);
    for (let e = 0; e < n; e++) data[entries.rows[e]! * cols + entries.cols[e]!]! += entries.values[e]!;
    let counted = 0;
    for (let k = 0; k < data.length; k++) if (data[k] !== data[k]) counted++;
    return { matrix: { rows, cols, data }, missing: counted };
  }
  const sparse = sparseFromCoordinates(rows, cols, entries.rows, entries.cols, entries.values, n, 'float64');
  const nnz = sparse.indptr[rows]!;
  if (sparseBytes(rows, nnz, 'float64') < denseBytes(rows, cols, 'float64')) return { matrix: sparse, missing: 0 };
  return { matrix: denseOf(sparse), missing: 0 };
}
