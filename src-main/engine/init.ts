// Starting factors, as scikit-learn 1.2's _initialize_nmf makes them: random, and the NNDSVD family from the
// leading singular triplets (Boutsidis & Gallopoulos 2008): exact for small matrices, randomized for large.

import type { Backend, BoundV } from './backends/backend.js';
import type { CancelSignal } from './errors.js';
import { allocate, dtypeOf, isSparse, type DataMatrix, type DType, type Matrix } from './matrix.js';
import { sparseSum } from './sparse.js';
import type { Init } from './options.js';
import { Rng } from './rng.js';
import { leadingSingularTriplets } from './svd.js';

/** Entries of an NNDSVD factor below this become exact zeros (scikit-learn's eps). */
const NNDSVD_EPS = 1e-6;

/** The mean over all rows × cols cells (absent entries of a sparse V count as zeros). */
export function meanOf(V: DataMatrix): number {
  if (isSparse(V)) return sparseSum(V) / (V.rows * V.cols);
  let s = 0;
  for (let c = 0; c < V.data.length; c++) s += V.data[c]!;
  return s / V.data.length;
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
    const avg = Math.sqrt(meanOf(V) / rank);
    const rng = new Rng(seed);
    // H first, then W: the order scikit-learn draws them in.
    const H = allocate(rank, cols, dtype);
    for (let c = 0; c < H.data.length; c++) H.data[c] = Math.abs(avg * rng.normal());
    const W = allocate(rows, rank, dtype);
    for (let c = 0; c < W.data.length; c++) W.data[c] = Math.abs(avg * rng.normal());
    return { W, H };
  }

  const { U, S, Vt } = await leadingSingularTriplets(V, rank, { bound: context.bound, backend: context.backend, seed, signal: context.signal });
  const W = new Float64Array(rows * rank);
  const H = new Float64Array(rank * cols);
  // The leading singular pair of a non-negative matrix is non-negative up to sign.
  const root0 = Math.sqrt(S[0]!);
  for (let i = 0; i < rows; i++) W[i * rank] = root0 * Math.abs(U[i * rank]!);
  for (let j = 0; j < cols; j++) H[j] = root0 * Math.abs(Vt[j]!);
  for (let c = 1; c < rank; c++) {
    let xp = 0;
    let xn = 0;
    let yp = 0;
    let yn = 0;
    for (let i = 0; i < rows; i++) {
      const x = U[i * rank + c]!;
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
      const x = U[i * rank + c]!;
      W[i * rank + c] = lbd * ((positive ? Math.max(x, 0) : Math.abs(Math.min(x, 0))) / xNorm);
    }
    for (let j = 0; j < cols; j++) {
      const y = Vt[c * cols + j]!;
      H[c * cols + j] = lbd * ((positive ? Math.max(y, 0) : Math.abs(Math.min(y, 0))) / yNorm);
    }
  }
  for (let c = 0; c < W.length; c++) if (W[c]! < NNDSVD_EPS) W[c] = 0;
  for (let c = 0; c < H.length; c++) if (H[c]! < NNDSVD_EPS) H[c] = 0;

  if (init === 'nndsvda') {
    const avg = meanOf(V);
    for (let c = 0; c < W.length; c++) if (W[c] === 0) W[c] = avg;
    for (let c = 0; c < H.length; c++) if (H[c] === 0) H[c] = avg;
  } else if (init === 'nndsvdar') {
    const avg = meanOf(V);
    const rng = new Rng(seed);
    for (let c = 0; c < W.length; c++) if (W[c] === 0) W[c] = Math.abs((avg * rng.normal()) / 100);
    for (let c = 0; c < H.length; c++) if (H[c] === 0) H[c] = Math.abs((avg * rng.normal()) / 100);
  }
  return { W: toMatrix(rows, rank, W, dtype), H: toMatrix(rank, cols, H, dtype) };
}

function toMatrix(rows: number, cols: number, values: Float64Array, dtype: DType): Matrix {
  const m = allocate(rows, cols, dtype);
  m.data.set(values);
  return m;
}
