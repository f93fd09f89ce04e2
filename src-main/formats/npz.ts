// NumPy .npz archives → Matrix: scipy.sparse.save_npz files (CSR, CSC, COO) stay sparse when that is smaller,
// and an archive holding one array (numpy.savez) is read as that array.

import { convert, type DataMatrix } from '../engine/matrix.js';
import { convertSparse } from '../engine/sparse.js';
import { isSparse } from '../engine/matrix.js';
import { Coordinates, coordinateMatrix } from './coordinates.js';
import { cellError, fileError, NEGATIVE_HINT } from './messages.js';
import { npyText, npyValues, parseNpy } from './npy.js';
import { formatNumber } from './numbers.js';
import type { ParseOptions, ParsedMatrix } from './types.js';
import { zipMemberBytes, zipMembers } from './zip.js';

export function parseNpz(bytes: Uint8Array, fileName: string, options: ParseOptions = {}): ParsedMatrix {
  const members = zipMembers(bytes, fileName);
  const byName = new Map(members.map((m) => [m.name.replace(/\.npy$/, ''), m]));
  const read = (name: string): Uint8Array => {
    const member = byName.get(name);
    if (!member) throw fileError(fileName, `the scipy sparse archive lacks its '${name}' array`);
    return zipMemberBytes(bytes, member, fileName);
  };
  if (!byName.has('format')) {
    const arrays = members.filter((m) => m.name.endsWith('.npy'));
    if (arrays.length !== 1) {
      throw fileError(
        fileName,
        arrays.length === 0
          ? 'the .npz archive holds no array'
          : `the .npz archive holds ${arrays.length} arrays (${arrays.map((m) => m.name.replace(/\.npy$/, '')).join(', ')}); save one matrix per file, or a scipy sparse matrix with scipy.sparse.save_npz`,
      );
    }
    return { ...parseNpy(zipMemberBytes(bytes, arrays[0]!, fileName), fileName, options), format: 'npz' };
  }

  const format = npyText(read('format'), fileName).toLowerCase();
  if (format !== 'csr' && format !== 'csc' && format !== 'coo') {
    throw fileError(fileName, `scipy sparse format '${format}' is not supported (only csr, csc and coo); convert it with .tocsr() before save_npz`);
  }
  const shape = npyValues(read('shape'), fileName).values;
  if (shape.length !== 2 || !(shape[0]! >= 1) || !(shape[1]! >= 1)) throw fileError(fileName, `the sparse matrix's shape is not that of a non-empty matrix`);
  const rows = shape[0]!;
  const cols = shape[1]!;
  const data = npyValues(read('data'), fileName);
  const values = data.values;
  const nnz = values.length;
  const entries = new Coordinates(fileName, nnz);
  const clip = options.clipNegative ?? false;
  let clipped = 0;
  let missing = 0;
  const add = (row: number, col: number, p: number) => {
    if (!(row >= 0 && row < rows)) throw fileError(fileName, `entry ${p + 1}: row index ${row} is outside the matrix's ${rows} rows`);
    if (!(col >= 0 && col < cols)) throw fileError(fileName, `entry ${p + 1}: column index ${col} is outside the matrix's ${cols} columns`);
    let v = values[p]!;
    if (!(v >= 0 && v < Infinity)) {
      const shown = formatNumber(v, data.values instanceof Float32Array ? 'float32' : 'float64');
      if (v !== v) missing++;
      else if (v === Infinity || v === -Infinity) throw cellError(fileName, row + 1, col + 1, `infinite value ${shown} (values must be finite numbers)`);
      else if (!clip) throw cellError(fileName, row + 1, col + 1, `negative value ${shown} (${NEGATIVE_HINT})`);
      else {
        v = 0;
        clipped++;
      }
    }
    entries.push(row, col, v);
  };
  if (format === 'coo') {
    const row = npyValues(read('row'), fileName).values;
    const col = npyValues(read('col'), fileName).values;
    if (row.length !== nnz || col.length !== nnz) throw fileError(fileName, `the COO arrays differ in length (${row.length} rows, ${col.length} columns, ${nnz} values)`);
    for (let p = 0; p < nnz; p++) add(row[p]!, col[p]!, p);
  } else {
    // CSR walks rows; CSC is the same walk over columns.
    const major = format === 'csr' ? rows : cols;
    const indptr = npyValues(read('indptr'), fileName).values;
    const indices = npyValues(read('indices'), fileName).values;
    const what = format === 'csr' ? 'row' : 'column';
    if (indptr.length !== major + 1) throw fileError(fileName, `the ${format.toUpperCase()} index pointer has ${indptr.length} offsets, the shape needs ${major + 1}`);
    if (indices.length !== nnz) throw fileError(fileName, `the ${format.toUpperCase()} arrays differ in length (${indices.length} indices, ${nnz} values)`);
    if (indptr[0] !== 0 || indptr[major] !== nnz) throw fileError(fileName, `the ${format.toUpperCase()} index pointer does not run from 0 to the ${nnz} stored values`);
    for (let a = 0; a < major; a++) {
      const start = indptr[a]!;
      const end = indptr[a + 1]!;
      if (!(end >= start)) throw fileError(fileName, `the ${format.toUpperCase()} index pointer decreases at ${what} ${a + 1}`);
      for (let p = start; p < end; p++) {
        if (format === 'csr') add(a, indices[p]!, p);
        else add(indices[p]!, a, p);
      }
    }
  }
  const made = coordinateMatrix(fileName, rows, cols, entries, missing);
  const float32 = data.values instanceof Float32Array;
  let matrix: DataMatrix = made.matrix;
  if (float32) matrix = isSparse(matrix) ? convertSparse(matrix, 'float32') : convert(matrix, 'float32');
  return { matrix, dtype: float32 ? 'float32' : 'float64', format: 'npz', sourceDtype: `${format} ${data.dtype}`, missing: made.missing, clipped };
}
