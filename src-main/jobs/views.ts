// Matrices reduced for display: heat maps need at most a screenful of cells, not millions.

import type { MatrixView } from '../api/contract.js';
import type { Matrix, SparseMatrix } from '../engine/matrix.js';

export const MAX_VIEW_SIDE = 1024;

/**
 * Block-averages a matrix so that neither side exceeds maxSide. Missing cells (NaN) are left out of
 * their block's mean; a block with no observed cell stays NaN so the heat map can mark it.
 */
/** The blocks a rows×cols matrix is cut into: fr × fc cells each (the last ones smaller). */
function blocks(sourceRows: number, sourceCols: number, maxSide: number) {
  const fr = Math.max(1, Math.ceil(sourceRows / maxSide));
  const fc = Math.max(1, Math.ceil(sourceCols / maxSide));
  return { fr, fc, rows: Math.ceil(sourceRows / fr), cols: Math.ceil(sourceCols / fc) };
}

/** Cells of block (a, b). */
function blockCells(sourceRows: number, sourceCols: number, fr: number, fc: number, a: number, b: number): number {
  return (Math.min(sourceRows, (a + 1) * fr) - a * fr) * (Math.min(sourceCols, (b + 1) * fc) - b * fc);
}

export function matrixView(m: Matrix, maxSide = MAX_VIEW_SIDE): MatrixView {
  const { fr, fc, rows, cols } = blocks(m.rows, m.cols, maxSide);
  const data = new Float32Array(rows * cols);
  if (fr === 1 && fc === 1) {
    data.set(m.data);
  } else {
    const sums = new Float64Array(rows * cols);
    const counts = new Uint32Array(rows * cols);
    for (let i = 0; i < m.rows; i++) {
      const vi = Math.floor(i / fr) * cols;
      for (let j = 0; j < m.cols; j++) {
        const v = m.data[i * m.cols + j]!;
        if (Number.isNaN(v)) continue;
        const k = vi + Math.floor(j / fc);
        sums[k]! += v;
        counts[k]!++;
      }
    }
    for (let k = 0; k < data.length; k++) data[k] = counts[k] ? sums[k]! / counts[k]! : NaN;
  }
  return { rows, cols, data, sourceRows: m.rows, sourceCols: m.cols };
}

/**
 * A sparse matrix's two views, made from its non-zeros alone: the block means of its values (zeros counted) and
 * the fraction of each block's cells that are non-zero (the density or "spy" map).
 */
export function sparseViews(m: SparseMatrix, maxSide = MAX_VIEW_SIDE): { view: MatrixView; density: MatrixView } {
  const { fr, fc, rows, cols } = blocks(m.rows, m.cols, maxSide);
  const sums = new Float64Array(rows * cols);
  const counts = new Float64Array(rows * cols);
  for (let i = 0; i < m.rows; i++) {
    const vi = Math.floor(i / fr) * cols;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) {
      const k = vi + Math.floor(m.indices[p]! / fc);
      sums[k]! += m.values[p]!;
      counts[k]!++;
    }
  }
  const values = new Float32Array(rows * cols);
  const density = new Float32Array(rows * cols);
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      const cells = blockCells(m.rows, m.cols, fr, fc, a, b);
      values[a * cols + b] = sums[a * cols + b]! / cells;
      density[a * cols + b] = counts[a * cols + b]! / cells;
    }
  }
  const shape = { rows, cols, sourceRows: m.rows, sourceCols: m.cols };
  return { view: { ...shape, data: values }, density: { ...shape, data: density } };
}

/**
 * The view of W·H without forming it: a block's mean is Σ_t (W's rows of the block summed)[t] ·
 * (H's columns of the block summed)[t] / cells, so the cost is that of reading W and H once.
 */
export function productView(W: Matrix, H: Matrix, maxSide = MAX_VIEW_SIDE): MatrixView {
  const k = W.cols;
  const { fr, fc, rows, cols } = blocks(W.rows, H.cols, maxSide);
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
