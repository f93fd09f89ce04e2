// Matrices reduced for display: heat maps need at most a screenful of cells, not millions.

import type { MatrixView } from '../api/contract.js';
import type { Matrix } from '../engine/matrix.js';

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
