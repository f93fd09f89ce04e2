// Starting factors, as scikit-learn 1.2's _initialize_nmf makes them: random, and the NNDSVD family from the
// leading singular triplets (Boutsidis & Gallopoulos 2008): exact for small matrices, randomized for large.

import type { Backend, BoundV } from './backends/backend.js';
import type { CancelSignal } from './errors.js';
import { allocate, dtypeOf, isSparse, type DataMatrix, type DType, type FloatArray, type Matrix } from './matrix.js';
import type { Init } from './options.js';
import { RandomState } from './rng.js';
import { leadingSingularTriplets } from './svd.js';

/** Entries of an NNDSVD factor below this become exact zeros (scikit-learn's eps). */
const NNDSVD_EPS = 1e-6;

/** NumPy sums this many entries at a time (its buffer size) and adds the partial sums in turn. */
const NUMPY_BLOCK = 8192;
/** Below this, NumPy's pairwise sum adds with 8 accumulators instead of splitting again. */
const PAIRWISE_BLOCK = 128;

type Rounding = (x: number) => number;
const exact: Rounding = (x) => x;

/** NumPy's pairwise_sum over a[start … start + n), every addition rounded to the array's dtype. */
function pairwiseSum(a: FloatArray, start: number, n: number, round: Rounding): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = round(res + a[start + i]!);
    return res;
  }
  if (n <= PAIRWISE_BLOCK) {
    const r = Array.from(a.subarray(start, start + 8));
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = round(r[j]! + a[start + i + j]!);
    let res = round(round(round(r[0]! + r[1]!) + round(r[2]! + r[3]!)) + round(round(r[4]! + r[5]!) + round(r[6]! + r[7]!)));
    for (; i < n; i++) res = round(res + a[start + i]!);
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return round(pairwiseSum(a, start, half, round) + pairwiseSum(a, start + half, n - half, round));
}

/**
 * `V.mean()` exactly as NumPy computes it for a C-contiguous array: pairwise sums of blocks of 8192 in V's
 * dtype, added up in that dtype, then divided in float64 (and rounded back to float32 for float32 V).
 */
export function numpyMean(V: DataMatrix): number {
  const round: Rounding = dtypeOf(V) === 'float32' ? Math.fround : exact;
  // A sparse V: the sum of its stored values (absent entries are zeros) over every cell, as scipy's mean.
  const values = isSparse(V) ? V.values : V.data;
  const n = values.length;
  let sum = 0;
  for (let start = 0; start < n; start += NUMPY_BLOCK) sum = round(sum + pairwiseSum(values, start, Math.min(NUMPY_BLOCK, n - start), round));
  return round(sum / (V.rows * V.cols));
}

/** |avg · N(0, 1)| for every entry in turn, as scikit-learn multiplies in the factor's dtype. */
function fillAbsNormals(m: Matrix, avg: number, rng: RandomState): void {
  const data = m.data;
  if (dtypeOf(m) === 'float32') {
    // NumPy casts the normals to float32 first, then avg (a float64 scalar) to float32 for the product.
    const avg32 = Math.fround(avg);
    for (let c = 0; c < data.length; c++) data[c] = Math.abs(avg32 * Math.fround(rng.standardNormal()));
  } else {
    for (let c = 0; c < data.length; c++) data[c] = Math.abs(avg * rng.standardNormal());
  }
}

export interface InitContext {
  bound?: BoundV;
  /** Runs the large-matrix SVD's products of a basis with a small matrix (see svd.ts). */
  backend?: Backend;
  signal?: CancelSignal;
}

/**
 * W (rows×rank) and H (rank×cols) in V's dtype. V must be complete (no NaN) and non-negative;
 * `init` must not be 'custom'.
 */
export async function initialFactors(
  V: DataMatrix,
  rank: number,
  init: Exclude<Init, 'custom'>,
  seed: number,
  context: InitContext = {},
): Promise<{ W: Matrix; H: Matrix }> {
  const dtype = dtypeOf(V);
  const { rows, cols } = V;
  if (init === 'random') {
    // scikit-learn: avg = np.sqrt(X.mean() / n_components), H drawn before W from RandomState(seed).
    const avg = Math.sqrt(numpyMean(V) / rank);
    const rng = new RandomState(seed);
    const H = allocate(rank, cols, dtype);
    const W = allocate(rows, rank, dtype);
    fillAbsNormals(H, avg, rng);
    fillAbsNormals(W, avg, rng);
    return { W, H };
  }

  const { U, S, Vt } = await leadingSingularTriplets(V, rank, { bound: context.bound, backend: context.backend, seed, signal: context.signal });
  const { W, H } = nndsvdFactors(U, S, Vt, rank, rows, cols, rank);

  if (init === 'nndsvda') {
    const avg = numpyMean(V);
    for (let c = 0; c < W.length; c++) if (W[c] === 0) W[c] = avg;
    for (let c = 0; c < H.length; c++) if (H[c] === 0) H[c] = avg;
  } else if (init === 'nndsvdar') {
    // A fresh RandomState(seed) fills W's zeros (row by row), then H's, as scikit-learn does.
    const avg = numpyMean(V);
    const rng = new RandomState(seed);
    for (let c = 0; c < W.length; c++) if (W[c] === 0) W[c] = Math.abs((avg * rng.standardNormal()) / 100);
    for (let c = 0; c < H.length; c++) if (H[c] === 0) H[c] = Math.abs((avg * rng.standardNormal()) / 100);
  }
  return { W: toMatrix(rows, rank, W, dtype), H: toMatrix(rank, cols, H, dtype) };
}

/**
 * NNDSVD's factors (Boutsidis & Gallopoulos 2008, as scikit-learn makes them) from the leading singular triplets: U
 * rows×stride (row-major, the first `rank` columns used), S, Vt (at least rank×cols); entries below scikit-learn's eps
 * are exact zeros, for the caller to fill as its variant does.
 */
export function nndsvdFactors(U: Float64Array, S: Float64Array, Vt: Float64Array, stride: number, rows: number, cols: number, rank: number): { W: Float64Array; H: Float64Array } {
  const W = new Float64Array(rows * rank);
  const H = new Float64Array(rank * cols);
  if (rank === 0) return { W, H };
  // The leading singular pair of a non-negative matrix is non-negative up to sign.
  const root0 = Math.sqrt(S[0]!);
  for (let i = 0; i < rows; i++) W[i * rank] = root0 * Math.abs(U[i * stride]!);
  for (let j = 0; j < cols; j++) H[j] = root0 * Math.abs(Vt[j]!);
  for (let c = 1; c < rank; c++) {
    let xp = 0;
    let xn = 0;
    let yp = 0;
    let yn = 0;
    for (let i = 0; i < rows; i++) {
      const x = U[i * stride + c]!;
      if (x > 0) xp += x * x;
      else xn += x * x;
    }
    for (let j = 0; j < cols; j++) {
      const y = Vt[c * cols + j]!;
      if (y > 0) yp += y * y;
      else yn += y * y;
    }
    xp = Math.sqrt(xp);
    xn = Math.sqrt(xn);
    yp = Math.sqrt(yp);
    yn = Math.sqrt(yn);
    const mp = xp * yp;
    const mn = xn * yn;
    // The dominant sign pattern of the pair; a tie takes the negative parts, as scikit-learn does.
    const positive = mp > mn;
    const sigma = positive ? mp : mn;
    if (sigma === 0) continue;
    const lbd = Math.sqrt(S[c]! * sigma);
    const xNorm = positive ? xp : xn;
    const yNorm = positive ? yp : yn;
    for (let i = 0; i < rows; i++) {
      const x = U[i * stride + c]!;
      W[i * rank + c] = lbd * ((positive ? Math.max(x, 0) : Math.abs(Math.min(x, 0))) / xNorm);
    }
    for (let j = 0; j < cols; j++) {
      const y = Vt[c * cols + j]!;
      H[c * cols + j] = lbd * ((positive ? Math.max(y, 0) : Math.abs(Math.min(y, 0))) / yNorm);
    }
  }
  for (let c = 0; c < W.length; c++) if (W[c]! < NNDSVD_EPS) W[c] = 0;
  for (let c = 0; c < H.length; c++) if (H[c]! < NNDSVD_EPS) H[c] = 0;

  return { W, H };
}

function toMatrix(rows: number, cols: number, values: Float64Array, dtype: DType): Matrix {
  const m = allocate(rows, cols, dtype);
  m.data.set(values);
  return m;
}
