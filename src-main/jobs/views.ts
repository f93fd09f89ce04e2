// Matrices reduced for display: heat maps need at most a screenful of cells, not millions.

import type { MatrixView } from '../api/contract.js';
import type { Matrix } from '../engine/matrix.js';

export const MAX_VIEW_SIDE = 1024;

/**
 * Block-averages a matrix so that neither side exceeds maxSide. Missing cells (NaN) are left out of
 * their block's mean; a block with no observed cell stays NaN so the heat map can mark it.
 */
export function matrixView(m: Matrix, maxSide = MAX_VIEW_SIDE): MatrixView {
  const fr = Math.max(1, Math.ceil(m.rows / maxSide));
  const fc = Math.max(1, Math.ceil(m.cols / maxSide));
  const rows = Math.ceil(m.rows / fr);
  const cols = Math.ceil(m.cols / fc);
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
