// One cyclic coordinate-descent sweep over a factor: scikit-learn's _update_cdnmf_fast, for W (rows×rank)
// and, without transposing, for H (rank×cols). Also the inner sweep of accelerated HALS.

import type { BoundV } from '../backends/backend.js';
import type { Matrix } from '../matrix.js';

export interface SweepResult {
  /** Σ |projected gradient| before each coordinate's update (scikit-learn's violation). */
  violation: number;
  /** ‖factor after − factor before‖², for HALS's inner stopping rule. */
  change: number;
}

/**
 * A backend that offers BoundV.sweep does the work when `bound` is given.
 *
 * Sweep W given B = HHᵀ (+ l2 on the diagonal) and A = VHᵀ (− l1), components in order 0…rank−1.
 * With `revive`, a column that ends up all zero is set to 1e-16·max(W) so that it can come back later
 * (Gillis & Glineur's safeguard; not done by scikit-learn's cd).
 */
export function sweepW(W: Matrix, B: Matrix, A: Matrix, revive = false, bound?: BoundV): SweepResult {
  const done = bound?.sweep?.('W', W, B, A, revive);
  if (done) return done;
  const k = W.cols;
  const rows = W.rows;
  const w = W.data;
  const b = B.data;
  const a = A.data;
  let violation = 0;
  let change = 0;
  for (let t = 0; t < k; t++) {
    const hess = b[t * k + t]!;
    const bt = t * k;
    let alive = false;
    for (let i = 0; i < rows; i++) {
      const wi = i * k;
      let grad = -a[wi + t]!;
      for (let r = 0; r < k; r++) grad += b[bt + r]! * w[wi + r]!;
      const old = w[wi + t]!;
      violation += Math.abs(old === 0 ? Math.min(0, grad) : grad);
      if (hess !== 0) {
        w[wi + t] = Math.max(old - grad / hess, 0);
        const d = w[wi + t]! - old;
        change += d * d;
      }
      if (w[wi + t] !== 0) alive = true;
    }
    if (revive && !alive) {
      const floor = 1e-16 * maxOf(w);
      for (let i = 0; i < rows; i++) w[i * k + t] = floor;
    }
  }
  return { violation, change };
}

/** Sweep H given B = WᵀW (+ l2) and A = WᵀV (− l1): the same arithmetic as scikit-learn's sweep over Hᵀ. */
export function sweepH(H: Matrix, B: Matrix, A: Matrix, revive = false, bound?: BoundV): SweepResult {
  const done = bound?.sweep?.('H', H, B, A, revive);
  if (done) return done;
  const k = H.rows;
  const cols = H.cols;
  const h = H.data;
  const b = B.data;
  const a = A.data;
  const grad = new Float64Array(cols);
  let violation = 0;
  let change = 0;
  for (let t = 0; t < k; t++) {
    const hess = b[t * k + t]!;
    const ht = t * cols;
    // Updates within one component are independent, so its gradient row can be formed first;
    // each entry still sums r = 0…rank−1 in order, as the scalar loop does.
    for (let j = 0; j < cols; j++) grad[j] = -a[ht + j]!;
    for (let r = 0; r < k; r++) {
      const btr = b[t * k + r]!;
      const hr = r * cols;
      for (let j = 0; j < cols; j++) grad[j]! += btr * h[hr + j]!;
    }
    let alive = false;
    for (let j = 0; j < cols; j++) {
      const g = grad[j]!;
      const old = h[ht + j]!;
      violation += Math.abs(old === 0 ? Math.min(0, g) : g);
      if (hess !== 0) {
        h[ht + j] = Math.max(old - g / hess, 0);
        const d = h[ht + j]! - old;
        change += d * d;
      }
      if (h[ht + j] !== 0) alive = true;
    }
    if (revive && !alive) {
      const floor = 1e-16 * maxOf(h);
      for (let j = 0; j < cols; j++) h[ht + j] = floor;
    }
  }
  return { violation, change };
}

function maxOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let c = 0; c < a.length; c++) if (a[c]! > m) m = a[c]!;
  return m;
}
