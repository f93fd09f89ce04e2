// The leading k singular triplets of V for the NNDSVD initialisations, in float64.
//
// Small matrices: exact, from the eigen-decomposition of the smaller Gram matrix (tred2/tql2).
// Larger ones: scikit-learn's randomized SVD (Halko, Martinsson & Tropp 2011, as randomized_svd with its
// defaults: k + 10 columns, 7 power iterations, or 4 when k ≥ min(rows, cols)/10). Every product with V
// and every product of a basis with a small matrix goes through the backend; the bases are kept
// well-conditioned by Cholesky–QR on their small Gram matrices, so the host only ever factorises p×p.

import type { Backend, BoundV } from './backends/backend.js';
import { referenceMatmul } from './backends/reference.js';
import { throwIfCancelled, type CancelSignal } from './errors.js';
import { symmetricEigen } from './linalg.js';
import { allocate, dtypeOf, isSparse, type DataMatrix, type DType, type FloatArray, type Matrix } from './matrix.js';
import { denseOf } from './sparse.js';
import { RandomState } from './rng.js';

export interface Triplets {
  k: number;
  /** rows×k, row-major */
  U: Float64Array;
  S: Float64Array;
  /** k×cols, row-major */
  Vt: Float64Array;
}

/** Largest smaller side for which the exact dense path is always taken. */
const DENSE_SIDE = 64;
/** A sparse V with at most this many cells is made dense for the exact path (32 MiB of float64). */
const DENSE_CELLS = 1 << 22;
/** scikit-learn's n_oversamples. */
const OVERSAMPLES = 10;

export interface SvdOptions {
  bound?: BoundV;
  /** Runs the products of a basis with a small matrix; the reference arithmetic when omitted. */
  backend?: Backend;
  seed?: number;
  signal?: CancelSignal;
}

type Matmul = (a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix) => Promise<void>;

export async function leadingSingularTriplets(V: DataMatrix, k: number, options: SvdOptions = {}): Promise<Triplets> {
  const small = Math.min(V.rows, V.cols);
  const backend = options.backend;
  const matmul: Matmul = backend
    ? (a, b, transA, transB, out) => backend.matmul(a, b, transA, transB, out)
    : async (a, b, transA, transB, out) => referenceMatmul(a, b, transA, transB, out);
  // A sparse V is made dense for the exact path only when that is small: the randomized one needs products alone.
  const exact = !options.bound || (small <= DENSE_SIDE && (!isSparse(V) || V.rows * V.cols <= DENSE_CELLS));
  const triplets = exact
    ? denseTriplets(denseOf(V), k)
    : await randomizedTriplets(options.bound!, matmul, k, options.seed ?? 0, options.signal);
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

/**
 * Randomized SVD: Z (p×cols) starts random; each power iteration forms Y = V·Zᵀ and B = QᵀV with Q and the
 * rows of Z orthonormalised in between; then Rayleigh–Ritz on the final B = QᵀV (its SVD through the
 * eigen-decomposition of B·Bᵀ in float64) gives the triplets.
 */
async function randomizedTriplets(bound: BoundV, matmul: Matmul, k: number, seed: number, signal?: CancelSignal): Promise<Triplets> {
  const { rows, cols } = bound.V;
  const dtype = dtypeOf(bound.V);
  const small = Math.min(rows, cols);
  const p = Math.min(small, k + OVERSAMPLES);
  const powerIterations = k < 0.1 * small ? 7 : 4;
  // scikit-learn's randomized_range_finder draws its cols×p block from RandomState(seed) row by row: Z is
  // that block transposed (the same start when V is at least as tall as wide, where it does not transpose V).
  const rng = new RandomState(seed);
  const Z = allocate(p, cols, dtype);
  for (let j = 0; j < cols; j++) for (let c = 0; c < p; c++) Z.data[c * cols + j] = rng.standardNormal();
  const Y = allocate(rows, p, dtype);
  const Q = allocate(rows, p, dtype);
  const B = allocate(p, cols, dtype);
  const G = allocate(p, p, dtype);
  const T = allocate(p, p, dtype);
  for (let iteration = 0; iteration < powerIterations; iteration++) {
    throwIfCancelled(signal);
    await bound.VHt(Z, Y);
    await bound.WtW(Y, G);
    inverseCholeskyT(G.data, p, dtype, T.data);
    await matmul(Y, T, false, false, Q);
    await bound.WtV(Q, B);
    await bound.HHt(B, G);
    inverseCholeskyT(G.data, p, dtype, T.data);
    await matmul(T, B, true, false, Z);
  }
  throwIfCancelled(signal);
  // The final basis twice through Cholesky–QR (CholeskyQR2): orthonormal to the working precision.
  await bound.VHt(Z, Y);
  await bound.WtW(Y, G);
  inverseCholeskyT(G.data, p, dtype, T.data);
  await matmul(Y, T, false, false, Q);
  await bound.WtW(Q, G);
  inverseCholeskyT(G.data, p, dtype, T.data);
  await matmul(Q, T, false, false, Y);
  const basis = Y;
  await bound.WtV(basis, B);
  const { values, vectors } = symmetricEigen(gram(B.data, p, cols), p);
  const S = new Float64Array(k);
  const Uk = allocate(p, k, dtype);
  for (let c = 0; c < k; c++) {
    S[c] = Math.sqrt(Math.max(0, values[c]!));
    for (let r = 0; r < p; r++) Uk.data[r * k + c] = vectors[r * p + c]!;
  }
  const Um = allocate(rows, k, dtype);
  await matmul(basis, Uk, false, false, Um);
  const Vm = allocate(k, cols, dtype);
  await matmul(Uk, B, true, false, Vm);
  const Vt = new Float64Array(k * cols);
  for (let c = 0; c < k; c++) {
    const sigma = S[c]!;
    if (sigma > 0) for (let j = 0; j < cols; j++) Vt[c * cols + j] = Vm.data[c * cols + j]! / sigma;
  }
  return { k, U: Float64Array.from(Um.data), S, Vt };
}

/**
 * out (p×p, upper triangular) = L⁻ᵀ where L·Lᵀ = G + s·I, so that X·out has orthonormal columns when G = XᵀX.
 * s starts just above the rounding of G in the working precision and grows until the factorisation exists
 * (G computed in float32 can be slightly indefinite). A zero G gives a zero out.
 */
export function inverseCholeskyT(G: ArrayLike<number>, p: number, dtype: DType, out: FloatArray): void {
  let maxDiag = 0;
  for (let i = 0; i < p; i++) maxDiag = Math.max(maxDiag, G[i * p + i]!);
  out.fill(0);
  if (!(maxDiag > 0) || !Number.isFinite(maxDiag)) return;
  const L = new Float64Array(p * p);
  let shift = (dtype === 'float32' ? 1e-6 : 1e-14) * maxDiag;
  let tries = 0;
  while (!cholesky(G, p, shift, L)) {
    shift *= 100;
    if (++tries > 10) {
      // Not a Gram matrix any more (non-finite entries): scale the columns only.
      for (let i = 0; i < p; i++) out[i * p + i] = 1 / Math.sqrt(maxDiag);
      return;
    }
  }
  // Columns of L⁻¹ by forward substitution, written transposed.
  const x = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    x.fill(0);
    for (let i = j; i < p; i++) {
      let s = i === j ? 1 : 0;
      for (let m = j; m < i; m++) s -= L[i * p + m]! * x[m]!;
      x[i] = s / L[i * p + i]!;
      out[j * p + i] = x[i]!;
    }
  }
}

/** L (lower, row-major) with L·Lᵀ = G + shift·I; false when a pivot is not positive. */
function cholesky(G: ArrayLike<number>, p: number, shift: number, L: Float64Array): boolean {
  L.fill(0);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i * p + j]! + (i === j ? shift : 0);
      for (let m = 0; m < j; m++) s -= L[i * p + m]! * L[j * p + m]!;
      if (i === j) {
        if (!(s > 0)) return false;
        L[i * p + i] = Math.sqrt(s);
      } else L[i * p + j] = s / L[j * p + j]!;
    }
  }
  return true;
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
