// The β-divergence exactly as scikit-learn 1.2 computes it (_beta_divergence), cell by cell, and the
// relative error people read: ‖V−WH‖/‖V‖. Both skip missing (NaN) entries of V.

import type { BetaLossName } from './options.js';
import type { Matrix } from './matrix.js';

/** scikit-learn's EPSILON: float32 machine epsilon, whatever the dtype of the data. */
export const EPSILON = 1.1920928955078125e-7;

/** β of a loss name (frobenius 2, kullback-leibler 1, itakura-saito 0); a number is its own β. */
export function betaOf(loss: BetaLossName | number): number {
  if (typeof loss === 'number') return loss;
  return loss === 'frobenius' ? 2 : loss === 'kullback-leibler' ? 1 : 0;
}

/**
 * One cell's share of scikit-learn's β-divergence of x = V and y = W·H: summed over all cells of a dense
 * matrix it gives exactly _beta_divergence(V, W, H, β) (cells with x ≤ EPSILON only add their W·H term;
 * y = 0 is read as EPSILON where it is divided by or raised to a negative power).
 */
export function cellDivergence(x: number, y: number, beta: number): number {
  if (beta === 2) {
    const d = x - y;
    return 0.5 * d * d;
  }
  const observed = x > EPSILON;
  const ys = y === 0 ? EPSILON : y;
  if (beta === 1) return observed ? x * Math.log(x / ys) - x + y : y;
  if (beta === 0) return observed ? x / ys - Math.log(x / ys) - 1 : -1;
  let r = Math.pow(y, beta) * (beta - 1);
  if (observed) r += Math.pow(x, beta) - beta * x * Math.pow(ys, beta - 1);
  return r / (beta * (beta - 1));
}

/**
 * The two elementwise factors of scikit-learn's β multiplicative updates at one cell, x = V, y = W·H:
 * ratio = x·y^(β−2) with y = 0 read as EPSILON when β < 2, and power = y^(β−1) with y = 0 read as
 * EPSILON when β < 1.
 */
export function muRatio(x: number, y: number, beta: number): number {
  const ys = beta < 2 && y === 0 ? EPSILON : y;
  if (beta === 1) return x / ys;
  if (beta === 0) {
    const r = 1 / ys;
    return r * r * x;
  }
  return Math.pow(ys, beta - 2) * x;
}

export function muPower(y: number, beta: number): number {
  return Math.pow(beta < 1 && y === 0 ? EPSILON : y, beta - 1);
}

function checkFactors(V: Matrix, W: Matrix, H: Matrix): void {
  if (W.rows !== V.rows || H.cols !== V.cols || W.cols !== H.rows) {
    throw new RangeError(`W ${W.rows}×${W.cols} · H ${H.rows}×${H.cols} does not match V ${V.rows}×${V.cols}`);
  }
}

/** Visit (x, (W·H)[i, j]) for every observed cell, one row of W·H at a time. */
function forEachObserved(V: Matrix, W: Matrix, H: Matrix, visit: (x: number, y: number) => void): void {
  checkFactors(V, W, H);
  const { rows, cols } = V;
  const k = W.cols;
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    for (let t = 0; t < k; t++) {
      const wit = W.data[i * k + t]!;
      if (wit === 0) continue;
      for (let j = 0; j < cols; j++) row[j]! += wit * H.data[t * cols + j]!;
    }
    for (let j = 0; j < cols; j++) {
      const x = V.data[i * cols + j]!;
      if (x === x) visit(x, row[j]!);
    }
  }
}

/** scikit-learn's _beta_divergence(V, W, H, β) without square root, over the observed entries of V. */
export function betaDivergence(V: Matrix, W: Matrix, H: Matrix, beta: BetaLossName | number): number {
  const b = betaOf(beta);
  let sum = 0;
  forEachObserved(V, W, H, (x, y) => {
    sum += cellDivergence(x, y, b);
  });
  return sum;
}

/** ‖V−WH‖_F / ‖V‖_F over the observed entries of V (0 when both are zero). */
export function relErr(V: Matrix, W: Matrix, H: Matrix): number {
  let residual = 0;
  let norm = 0;
  forEachObserved(V, W, H, (x, y) => {
    residual += (x - y) * (x - y);
    norm += x * x;
  });
  if (norm > 0) return Math.sqrt(residual / norm);
  return residual === 0 ? 0 : Infinity;
}
