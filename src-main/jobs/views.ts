// Matrices reduced for display: heat maps need at most a screenful of cells, not millions.

import type { MatrixView } from '../api/contract.js';
import type { Matrix, SparseMatrix } from '../engine/matrix.js';

export const MAX_VIEW_SIDE = 1024;

/**
 * V counts as sparse, and is drawn as a density ("spy") map, when at most this fraction of its entries is
 * non-zero: where non-zeros are rare, where they are says more than their block means; a matrix with only
 * some zeros reads better by its values.
 */
export const SPARSE_MAX_DENSITY = 0.1;

/** How a view cell stands for its block: V and W·H by their mean, the factors by their largest entry. */
export type Aggregate = 'mean' | 'max';

/** The view's grid: `fr`×`fc` source cells per shown cell, so that neither side exceeds maxSide. */
export function viewGrid(sourceRows: number, sourceCols: number, maxSide = MAX_VIEW_SIDE): { fr: number; fc: number; rows: number; cols: number } {
  const fr = Math.max(1, Math.ceil(sourceRows / maxSide));
  const fc = Math.max(1, Math.ceil(sourceCols / maxSide));
  return { fr, fc, rows: Math.ceil(sourceRows / fr), cols: Math.ceil(sourceCols / fc) };
}

/**
 * Reduces a matrix so that neither side exceeds maxSide, each shown cell the mean (or the largest) of its
 * block. Missing cells (NaN) are left out of their block; a block with no observed cell stays NaN so the
 * heat map can mark it.
 */
export function matrixView(m: Matrix, maxSide = MAX_VIEW_SIDE, aggregate: Aggregate = 'mean'): MatrixView {
  const { fr, fc, rows, cols } = viewGrid(m.rows, m.cols, maxSide);
  const data = new Float32Array(rows * cols);
  if (fr === 1 && fc === 1) {
    data.set(m.data);
  } else {
    const acc = new Float64Array(rows * cols).fill(aggregate === 'max' ? -Infinity : 0);
    const counts = new Uint32Array(rows * cols);
    for (let i = 0; i < m.rows; i++) {
      const vi = Math.floor(i / fr) * cols;
      for (let j = 0; j < m.cols; j++) {
        const v = m.data[i * m.cols + j]!;
        if (Number.isNaN(v)) continue;
        const k = vi + Math.floor(j / fc);
        if (aggregate === 'max') {
          if (v > acc[k]!) acc[k] = v;
        } else acc[k]! += v;
        counts[k]!++;
      }
    }
    for (let k = 0; k < data.length; k++) data[k] = !counts[k] ? NaN : aggregate === 'max' ? acc[k]! : acc[k]! / counts[k]!;
  }
  return { rows, cols, data, sourceRows: m.rows, sourceCols: m.cols };
}

/** Calls `visit(row, col)` for each non-zero entry; a dense matrix walks its cells, a compressed one its entries. */
export type NonZeroWalk = (visit: (row: number, col: number) => void) => void;

export function denseNonZeros(m: Matrix): NonZeroWalk {
  return (visit) => {
    const { rows, cols, data } = m;
    for (let i = 0; i < rows; i++) {
      const at = i * cols;
      for (let j = 0; j < cols; j++) {
        const v = data[at + j]!;
        // NaN (missing) is not a non-zero: it is no entry at all
        if (v !== 0 && v === v) visit(i, j);
      }
    }
  };
}

/**
 * The non-zero count of a rows×cols matrix and, when at most SPARSE_MAX_DENSITY of it is non-zero, the
 * fraction of non-zero entries in each block of its view (the same grid as matrixView's).
 */
export function sparseView(
  sourceRows: number,
  sourceCols: number,
  walk: NonZeroWalk,
  maxSide = MAX_VIEW_SIDE,
): { nnz: number; density: MatrixView } | undefined {
  const { fr, fc, rows, cols } = viewGrid(sourceRows, sourceCols, maxSide);
  const counts = new Float64Array(rows * cols);
  let nnz = 0;
  walk((i, j) => {
    counts[Math.floor(i / fr) * cols + Math.floor(j / fc)]!++;
    nnz++;
  });
  if (nnz > SPARSE_MAX_DENSITY * sourceRows * sourceCols) return undefined;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    // Blocks on the last row or column may be cut short by the matrix's edge.
    const h = Math.min(fr, sourceRows - r * fr);
    for (let c = 0; c < cols; c++) {
      const w = Math.min(fc, sourceCols - c * fc);
      data[r * cols + c] = counts[r * cols + c]! / (h * w);
    }
  }
  return { nnz, density: { rows, cols, data, sourceRows, sourceCols } };
}

/** The smallest and largest observed (non-NaN) value; {0, 0} when there is none. */
export function valueRange(m: Matrix): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < m.data.length; k++) {
    const v = m.data[k]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min === Infinity ? { min: 0, max: 0 } : { min, max };
}

/** A sparse matrix's non-zeros, walked entry by entry (never rows × cols). */
export function sparseNonZeros(m: SparseMatrix): NonZeroWalk {
  return (visit) => {
    for (let i = 0; i < m.rows; i++) for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) if (m.values[p] !== 0) visit(i, m.indices[p]!);
  };
}

/** Cells of block (a, b) of the grid: the last row and column of blocks may be cut short by the edge. */
function blockCells(sourceRows: number, sourceCols: number, fr: number, fc: number, a: number, b: number): number {
  return (Math.min(sourceRows, (a + 1) * fr) - a * fr) * (Math.min(sourceCols, (b + 1) * fc) - b * fc);
}

/** matrixView of a sparse matrix ('mean' blocks, absent entries counted as zeros), from its non-zeros alone. */
export function sparseMatrixView(m: SparseMatrix, maxSide = MAX_VIEW_SIDE): MatrixView {
  const { fr, fc, rows, cols } = viewGrid(m.rows, m.cols, maxSide);
  const sums = new Float64Array(rows * cols);
  for (let i = 0; i < m.rows; i++) {
    const vi = Math.floor(i / fr) * cols;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) sums[vi + Math.floor(m.indices[p]! / fc)]! += m.values[p]!;
  }
  const data = new Float32Array(rows * cols);
  for (let a = 0; a < rows; a++) for (let b = 0; b < cols; b++) data[a * cols + b] = sums[a * cols + b]! / blockCells(m.rows, m.cols, fr, fc, a, b);
  return { rows, cols, data, sourceRows: m.rows, sourceCols: m.cols };
}

/** valueRange of a sparse matrix: its stored values, and 0 when any entry is absent. */
export function sparseValueRange(m: SparseMatrix): { min: number; max: number } {
  const full = m.indptr[m.rows] === m.rows * m.cols;
  let min = full ? Infinity : 0;
  let max = full ? -Infinity : 0;
  for (let p = 0; p < m.values.length; p++) {
    const x = m.values[p]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 0 };
}

/**
 * matrixView of W·H without forming it: a block's mean is Σ_t (W's rows of the block summed)[t] ·
 * (H's columns of the block summed)[t] / cells, so the cost is that of reading W and H once.
 */
export function productView(W: Matrix, H: Matrix, maxSide = MAX_VIEW_SIDE): MatrixView {
  const k = W.cols;
  const { fr, fc, rows, cols } = viewGrid(W.rows, H.cols, maxSide);
  const wSums = new Float64Array(rows * k);
  for (let i = 0; i < W.rows; i++) {
    const a = Math.floor(i / fr) * k;
    for (let t = 0; t < k; t++) wSums[a + t]! += W.data[i * k + t]!;
  }
  const hSums = new Float64Array(k * cols);
  for (let t = 0; t < k; t++) for (let j = 0; j < H.cols; j++) hSums[t * cols + Math.floor(j / fc)]! += H.data[t * H.cols + j]!;
  const data = new Float32Array(rows * cols);
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += wSums[a * k + t]! * hSums[t * cols + b]!;
      data[a * cols + b] = s / blockCells(W.rows, H.cols, fr, fc, a, b);
    }
  }
  return { rows, cols, data, sourceRows: W.rows, sourceCols: H.cols };
}
