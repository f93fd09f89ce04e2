// The leading k singular triplets of V for the NNDSVD initialisations, in float64.
//
// Small and medium matrices: exact, from the eigen-decomposition of the smaller Gram matrix (tred2/tql2).
// Large ones: block subspace iteration with V's products going through the bound backend, run until the
// singular values settle; that gives the same leading triplets where they are separated from the rest.

import type { BoundV } from './backends/backend.js';
import { throwIfCancelled, type CancelSignal } from './errors.js';
import { orthonormalizeColumns, symmetricEigen } from './linalg.js';
import { allocate, dtypeOf, type Matrix } from './matrix.js';
import { Rng } from './rng.js';

export interface Triplets {
  k: number;
  /** rows×k, row-major */
  U: Float64Array;
  S: Float64Array;
  /** k×cols, row-major */
  Vt: Float64Array;
}

/** Largest smaller side for which the exact dense path is always taken. */
const DENSE_SIDE = 320;
const MAX_SUBSPACE_ITERATIONS = 12;

export interface SvdOptions {
  bound?: BoundV;
  seed?: number;
  signal?: CancelSignal;
}

export async function leadingSingularTriplets(V: Matrix, k: number, options: SvdOptions = {}): Promise<Triplets> {
  const small = Math.min(V.rows, V.cols);
  const block = Math.min(small, k + Math.max(10, Math.ceil(k / 2)));
  const triplets =
    !options.bound || small <= DENSE_SIDE || 4 * block >= small
      ? denseTriplets(V, k)
      : await subspaceTriplets(options.bound, k, block, options.seed ?? 0, options.signal);
  flipSigns(triplets, V.rows, V.cols);
  return triplets;
}

/** Exact: eigenvectors of the smaller Gram matrix, the other side by V·v/σ (or Vᵀ·u/σ). */
export function denseTriplets(V: Matrix, k: number): Triplets {
  const { rows, cols } = V;
  const d = V.data;
  const tall = rows >= cols;
  const n = tall ? cols : rows;
  const G = new Float64Array(n * n);
  if (tall) {
    // VᵀV, one row of V at a time.
    for (let i = 0; i < rows; i++) {
      const vi = i * cols;
      for (let a = 0; a < cols; a++) {
        const x = d[vi + a]!;
        if (x === 0) continue;
        const ga = a * n;
        for (let b = a; b < cols; b++) G[ga + b]! += x * d[vi + b]!;
      }
    }
  } else {
    for (let a = 0; a < rows; a++) {
      for (let b = a; b < rows; b++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += d[a * cols + j]! * d[b * cols + j]!;
        G[a * n + b] = s;
      }
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) G[a * n + b] = G[b * n + a]!;
  const { values, vectors } = symmetricEigen(G, n);
  const U = new Float64Array(rows * k);
  const S = new Float64Array(k);
  const Vt = new Float64Array(k * cols);
  for (let c = 0; c < k; c++) {
    const sigma = Math.sqrt(Math.max(0, values[c]!));
    S[c] = sigma;
    if (tall) {
      for (let j = 0; j < cols; j++) Vt[c * cols + j] = vectors[j * n + c]!;
      if (sigma > 0) {
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += d[i * cols + j]! * Vt[c * cols + j]!;
          U[i * k + c] = s / sigma;
        }
      }
    } else {
      for (let i = 0; i < rows; i++) U[i * k + c] = vectors[i * n + c]!;
      if (sigma > 0) {
        for (let i = 0; i < rows; i++) {
          const u = U[i * k + c]!;
          if (u === 0) continue;
          for (let j = 0; j < cols; j++) Vt[c * cols + j]! += u * d[i * cols + j]!;
        }
        for (let j = 0; j < cols; j++) Vt[c * cols + j] = Vt[c * cols + j]! / sigma;
      }
    }
  }
  return { k, U, S, Vt };
}

/** Block subspace iteration: Y = V·Zᵀ, Q = orth(Y), Z = orth(Qᵀ·V), until the singular values settle. */
async function subspaceTriplets(bound: BoundV, k: number, p: number, seed: number, signal?: CancelSignal): Promise<Triplets> {
  const { rows, cols } = bound.V;
  const dtype = dtypeOf(bound.V);
  const rng = new Rng(seed ^ 0x5eed);
  const Z = allocate(p, cols, dtype);
  for (let c = 0; c < Z.data.length; c++) Z.data[c] = rng.normal();
  const Y = allocate(rows, p, dtype);
  const Qm = allocate(rows, p, dtype);
  const B = allocate(p, cols, dtype);
  const tolerance = dtype === 'float32' ? 1e-6 : 1e-10;
  let previous: Float64Array | null = null;
  let eig: { values: Float64Array; vectors: Float64Array } | null = null;
  let Q = new Float64Array(rows * p);
  for (let iter = 0; iter < MAX_SUBSPACE_ITERATIONS; iter++) {
    throwIfCancelled(signal);
    await bound.VHt(Z, Y);
    Q = Float64Array.from(Y.data);
    orthonormalizeColumns(Q, rows, p);
    Qm.data.set(Q);
    await bound.WtV(Qm, B);
    // Rayleigh–Ritz: the singular values of B = QᵀV estimate those of V.
    const BBt = gram(B.data, p, cols);
    eig = symmetricEigen(BBt, p);
    const sigmas = eig.values.map((x) => Math.sqrt(Math.max(0, x)));
    if (previous && settled(previous, sigmas, k, tolerance)) break;
    previous = sigmas;
    // Next block: the row space of B, orthonormalised.
    const Bt = new Float64Array(cols * p);
    for (let r = 0; r < p; r++) for (let j = 0; j < cols; j++) Bt[j * p + r] = B.data[r * cols + j]!;
    orthonormalizeColumns(Bt, cols, p);
    for (let r = 0; r < p; r++) for (let j = 0; j < cols; j++) Z.data[r * cols + j] = Bt[j * p + r]!;
  }
  const { values, vectors } = eig!;
  const U = new Float64Array(rows * k);
  const S = new Float64Array(k);
  const Vt = new Float64Array(k * cols);
  for (let c = 0; c < k; c++) {
    const sigma = Math.sqrt(Math.max(0, values[c]!));
    S[c] = sigma;
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let r = 0; r < p; r++) s += Q[i * p + r]! * vectors[r * p + c]!;
      U[i * k + c] = s;
    }
    if (sigma > 0) {
      for (let r = 0; r < p; r++) {
        const w = vectors[r * p + c]! / sigma;
        if (w === 0) continue;
        for (let j = 0; j < cols; j++) Vt[c * cols + j]! += w * B.data[r * cols + j]!;
      }
    }
  }
  return { k, U, S, Vt };
}

function gram(A: ArrayLike<number>, r: number, len: number): Float64Array {
  const G = new Float64Array(r * r);
  for (let a = 0; a < r; a++) {
    for (let b = a; b < r; b++) {
      let s = 0;
      for (let j = 0; j < len; j++) s += A[a * len + j]! * A[b * len + j]!;
      G[a * r + b] = s;
      G[b * r + a] = s;
    }
  }
  return G;
}

function settled(previous: Float64Array, current: Float64Array, k: number, tolerance: number): boolean {
  const top = current[0]!;
  if (top === 0) return true;
  for (let c = 0; c < k; c++) if (Math.abs(current[c]! - previous[c]!) > tolerance * top) return false;
  return true;
}

/** scikit-learn's svd_flip as randomized_svd applies it: the largest |entry| of each column of U is positive. */
function flipSigns(t: Triplets, rows: number, cols: number): void {
  const { k, U, Vt } = t;
  for (let c = 0; c < k; c++) {
    let best = 0;
    let at = 0;
    for (let i = 0; i < rows; i++) {
      const a = Math.abs(U[i * k + c]!);
      if (a > best) {
        best = a;
        at = i;
      }
    }
    if (U[at * k + c]! < 0) {
      for (let i = 0; i < rows; i++) U[i * k + c] = -U[i * k + c]!;
      for (let j = 0; j < cols; j++) Vt[c * cols + j] = -Vt[c * cols + j]!;
    }
  }
}
