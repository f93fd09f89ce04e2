// One cyclic coordinate-descent sweep over a factor: scikit-learn's _update_cdnmf_fast, for W (rows×rank)
// and, without transposing, for H (rank×cols). Also the inner sweep of accelerated HALS.
//
// Within one component the coordinates do not interact (row i of W only meets row i of itself), so the
// gradients of several of them are formed together; each still sums r = 0…rank−1 in order, as the scalar
// loop does, so the arithmetic is the same.

import type { BoundV } from '../backends/backend.js';
import type { FloatArray, Matrix } from '../matrix.js';

export interface SweepResult {
  /** Σ |projected gradient| before each coordinate's update (scikit-learn's violation). */
  violation: number;
  /** ‖factor after − factor before‖², for HALS's inner stopping rule. */
  change: number;
}

/** The update of one coordinate: projected Newton step, clipped at zero. */
function update(f: FloatArray, at: number, grad: number, hess: number, result: SweepResult): void {
  const old = f[at]!;
  result.violation += Math.abs(old === 0 ? Math.min(0, grad) : grad);
  if (hess !== 0) {
    f[at] = Math.max(old - grad / hess, 0);
    const d = f[at]! - old;
    result.change += d * d;
  }
}

/**
 * A backend that offers BoundV.sweep does the work when `bound` is given.
 *
 * Sweep W given B = HHᵀ (+ l2 on the diagonal) and A = VHᵀ (− l1), components in order 0…rank−1.
 * With `revive`, a column that ends up all zero is set to 1e-16·max(W) so that it can come back later
 * (Gillis & Glineur's safeguard; scikit-learn's cd does not do it).
 */
export function sweepW(W: Matrix, B: Matrix, A: Matrix, revive = false, bound?: BoundV): SweepResult {
  const done = bound?.sweep?.('W', W, B, A, revive);
  if (done) return done;
  const k = W.cols;
  const rows = W.rows;
  const w = W.data;
  const b = B.data;
  const a = A.data;
  const result: SweepResult = { violation: 0, change: 0 };
  for (let t = 0; t < k; t++) {
    const hess = b[t * k + t]!;
    const bt = t * k;
    let i = 0;
    for (; i + 4 <= rows; i += 4) {
      const w0 = i * k;
      const w1 = w0 + k;
      const w2 = w1 + k;
      const w3 = w2 + k;
      let g0 = -a[w0 + t]!;
      let g1 = -a[w1 + t]!;
      let g2 = -a[w2 + t]!;
      let g3 = -a[w3 + t]!;
      for (let r = 0; r < k; r++) {
        const br = b[bt + r]!;
        g0 += br * w[w0 + r]!;
        g1 += br * w[w1 + r]!;
        g2 += br * w[w2 + r]!;
        g3 += br * w[w3 + r]!;
      }
      update(w, w0 + t, g0, hess, result);
      update(w, w1 + t, g1, hess, result);
      update(w, w2 + t, g2, hess, result);
      update(w, w3 + t, g3, hess, result);
    }
    for (; i < rows; i++) {
      const wi = i * k;
      let g = -a[wi + t]!;
      for (let r = 0; r < k; r++) g += b[bt + r]! * w[wi + r]!;
      update(w, wi + t, g, hess, result);
    }
    if (revive) reviveIfZero(w, t, k, rows);
  }
  return result;
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
  const result: SweepResult = { violation: 0, change: 0 };
  for (let t = 0; t < k; t++) {
    const hess = b[t * k + t]!;
    const ht = t * cols;
    const bt = t * k;
    for (let j = 0; j < cols; j++) grad[j] = -a[ht + j]!;
    let r = 0;
    for (; r + 4 <= k; r += 4) {
      const b0 = b[bt + r]!;
      const b1 = b[bt + r + 1]!;
      const b2 = b[bt + r + 2]!;
      const b3 = b[bt + r + 3]!;
      const h0 = r * cols;
      const h1 = h0 + cols;
      const h2 = h1 + cols;
      const h3 = h2 + cols;
      for (let j = 0; j < cols; j++) {
        let g = grad[j]!;
        g += b0 * h[h0 + j]!;
        g += b1 * h[h1 + j]!;
        g += b2 * h[h2 + j]!;
        g += b3 * h[h3 + j]!;
        grad[j] = g;
      }
    }
    for (; r < k; r++) {
      const br = b[bt + r]!;
      const hr = r * cols;
      for (let j = 0; j < cols; j++) grad[j]! += br * h[hr + j]!;
    }
    for (let j = 0; j < cols; j++) update(h, ht + j, grad[j]!, hess, result);
    if (revive) reviveIfZero(h, ht, 1, cols);
  }
  return result;
}

/** If the n entries start, start+stride, … are all zero, set them to 1e-16·max(f). */
function reviveIfZero(f: FloatArray, start: number, stride: number, n: number): void {
  for (let i = 0; i < n; i++) if (f[start + i * stride] !== 0) return;
  let max = 0;
  for (let c = 0; c < f.length; c++) if (f[c]! > max) max = f[c]!;
  for (let i = 0; i < n; i++) f[start + i * stride] = 1e-16 * max;
}
