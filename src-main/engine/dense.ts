// Host-side arithmetic on factor-sized matrices (rows×rank, rank×rank, rank×cols): cheap next to any
// product with V, so the solvers do it here rather than through a backend.

import { allocate, dtypeOf, type Matrix } from './matrix.js';

/** Σ a[i]·b[i] in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function sumSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

/** out (rows×k) = W (rows×k) · B (k×k), accumulated in float64. */
export function timesSquare(W: Matrix, B: Matrix, out: Matrix): void {
  const k = W.cols;
  const w = W.data;
  const b = B.data;
  const o = out.data;
  const acc = new Float64Array(k);
  for (let i = 0; i < W.rows; i++) {
    acc.fill(0);
    for (let r = 0; r < k; r++) {
      const wir = w[i * k + r]!;
      if (wir === 0) continue;
      for (let t = 0; t < k; t++) acc[t]! += wir * b[r * k + t]!;
    }
    o.set(acc, i * k);
  }
}

/** out (k×cols) = B (k×k) · H (k×cols), accumulated in float64. */
export function squareTimes(B: Matrix, H: Matrix, out: Matrix): void {
  const k = H.rows;
  const cols = H.cols;
  const b = B.data;
  const h = H.data;
  const acc = new Float64Array(cols);
  for (let t = 0; t < k; t++) {
    acc.fill(0);
    for (let r = 0; r < k; r++) {
      const btr = b[t * k + r]!;
      if (btr === 0) continue;
      const hr = r * cols;
      for (let j = 0; j < cols; j++) acc[j]! += btr * h[hr + j]!;
    }
    out.data.set(acc, t * cols);
  }
}

/** W·H in W's dtype: the whole reconstruction, for small and medium outputs. */
export function multiply(W: Matrix, H: Matrix): Matrix {
  if (W.cols !== H.rows) throw new RangeError(`cannot multiply ${W.rows}×${W.cols} by ${H.rows}×${H.cols}`);
  const out = allocate(W.rows, H.cols, dtypeOf(W));
  const k = W.cols;
  const cols = H.cols;
  const acc = new Float64Array(cols);
  for (let i = 0; i < W.rows; i++) {
    acc.fill(0);
    for (let t = 0; t < k; t++) {
      const wit = W.data[i * k + t]!;
      if (wit === 0) continue;
      for (let j = 0; j < cols; j++) acc[j]! += wit * H.data[t * cols + j]!;
    }
    out.data.set(acc, i * cols);
  }
  return out;
}

/** (W·H)[i, j] for one cell, in float64. */
export function cellOfProduct(W: Matrix, H: Matrix, i: number, j: number): number {
  const k = W.cols;
  let s = 0;
  for (let t = 0; t < k; t++) s += W.data[i * k + t]! * H.data[t * H.cols + j]!;
  return s;
}

/** A copy of a square matrix with `add` on its diagonal. */
export function withDiagonal(B: Matrix, add: number): Matrix {
  const out: Matrix = { rows: B.rows, cols: B.cols, data: B.data.slice() };
  if (add !== 0) for (let t = 0; t < B.rows; t++) out.data[t * B.cols + t] = out.data[t * B.cols + t]! + add;
  return out;
}

/** A copy with `sub` subtracted from every entry. */
export function minusScalar(A: Matrix, sub: number): Matrix {
  const out: Matrix = { rows: A.rows, cols: A.cols, data: A.data.slice() };
  if (sub !== 0) for (let c = 0; c < out.data.length; c++) out.data[c] = out.data[c]! - sub;
  return out;
}
