// Host-side arithmetic on factor-sized matrices (rows×rank, rank×rank, rank×cols) that is cheap next to any
// product with V. Products of factor-sized matrices inside a solver's loop go through Backend.matmul instead.

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

/** B with `add` on its diagonal: a copy, or B itself when `add` is 0 (read only, then). */
export function withDiagonal(B: Matrix, add: number): Matrix {
  if (add === 0) return B;
  const out: Matrix = { rows: B.rows, cols: B.cols, data: B.data.slice() };
  for (let t = 0; t < B.rows; t++) out.data[t * B.cols + t] = out.data[t * B.cols + t]! + add;
  return out;
}

/** A with `sub` subtracted from every entry: a copy, or A itself when `sub` is 0 (read only, then). */
export function minusScalar(A: Matrix, sub: number): Matrix {
  if (sub === 0) return A;
  const out: Matrix = { rows: A.rows, cols: A.cols, data: A.data.slice() };
  for (let c = 0; c < out.data.length; c++) out.data[c] = out.data[c]! - sub;
  return out;
}

/** out (k×k) = Wᵀ·W for W (n×k), summed in float64. */
export function gramOfColumns(W: Matrix, out: Matrix): void {
  const k = W.cols;
  if (out.rows !== k || out.cols !== k) throw new RangeError(`WtW: out must be ${k}×${k}`);
  const w = W.data;
  const acc = new Float64Array(k * k);
  for (let i = 0; i < W.rows; i++) {
    const wi = i * k;
    for (let a = 0; a < k; a++) {
      const wa = w[wi + a]!;
      if (wa === 0) continue;
      for (let b = a; b < k; b++) acc[a * k + b]! += wa * w[wi + b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) acc[a * k + b] = acc[b * k + a]!;
  out.data.set(acc);
}

/** out (k×k) = H·Hᵀ for H (k×n), summed in float64. */
export function gramOfRows(H: Matrix, out: Matrix): void {
  const k = H.rows;
  const cols = H.cols;
  if (out.rows !== k || out.cols !== k) throw new RangeError(`HHt: out must be ${k}×${k}`);
  const h = H.data;
  const o = out.data;
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      const ha = a * cols;
      const hb = b * cols;
      for (let j = 0; j < cols; j++) s += h[ha + j]! * h[hb + j]!;
      o[a * k + b] = s;
      o[b * k + a] = s;
    }
  }
}
