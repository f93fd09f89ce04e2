// The seam between the solvers and the heavy arithmetic: every product that touches V goes through here.
//
// Design: V is bound once (a GPU backend uploads it once and keeps it resident); the factors W and H live
// on the host and are passed in at every call, because they are small next to V and the solvers update
// them entry by entry. All operations are async so that backends whose readback is asynchronous (WebGPU,
// worker threads) fit the same shape; the reference backend simply resolves at once.

import type { DataMatrix, DType, Matrix, SparseMatrix } from '../matrix.js';

export type BackendName = 'reference' | 'cpu' | 'gpu';

export interface Backend {
  /** Stable identifier used in options, JSON and the UI. */
  readonly name: BackendName;
  /** What actually runs, for people: e.g. 'reference (TypeScript)', 'CPU (WASM SIMD, 2 threads)'. */
  readonly label: string;
  /** The precisions this backend computes in; V of another dtype is converted by the caller. */
  readonly dtypes: readonly DType[];
  /**
   * Optional planning hint, a constant of the backend (never measured, so that results stay deterministic):
   * roughly how many times faster than the reference backend it multiplies by V. Accelerated HALS spends
   * fewer host-side inner sweeps per product where products are cheap. Default 1.
   */
  readonly productSpeedup?: number;
  /**
   * Optional: the CPU threads it computes on, where it was given a share of the cores (a batch's files side by side):
   * other work for the same run, such as the tiled encoder's tile threads, keeps to the same share.
   */
  readonly threads?: number;
  /**
   * Make V resident for a run. The returned handle is only valid until it is disposed. A sparse V is bound in
   * its sparse form: products visit its non-zeros only.
   */
  bind(V: DataMatrix): Promise<BoundV>;
  /**
   * Optional: where the products with a sparse V of this shape run at this rank, in words, when that differs from
   * what `label` says (e.g. a GPU backend that leaves small sparse products to the host). By the rule bind() follows.
   */
  sparseNote?(V: SparseMatrix, rank: number): string;
  /** a·b with optional transposes, for factor-sized operands (W·H rows, Gram matrices of W and H, …). */
  matmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): Promise<void>;
  /** Free everything the backend holds (GPU contexts, worker threads). */
  dispose(): Promise<void>;
}

/**
 * V (rows×cols) bound to a backend. W is rows×rank and H is rank×cols, row-major, same dtype as V.
 * V may have been changed at missing cells through setCells; no operation ever forms W·H whole: β≠2
 * work is done tile by tile so that memory stays near the size of V.
 */
export interface BoundV {
  readonly V: DataMatrix;
  /** out (rank×cols) = Wᵀ·V */
  WtV(W: Matrix, out: Matrix): Promise<void>;
  /** out (rows×rank) = V·Hᵀ */
  VHt(H: Matrix, out: Matrix): Promise<void>;
  /** out (rank×rank) = Wᵀ·W */
  WtW(W: Matrix, out: Matrix): Promise<void>;
  /** out (rank×rank) = H·Hᵀ */
  HHt(H: Matrix, out: Matrix): Promise<void>;
  /**
   * The β-divergence multiplicative-update terms for H with β ∉ {2}, exactly as scikit-learn 1.2's
   * _multiplicative_update_h computes them (including its EPSILON clipping of W·H where β < 1):
   *   numerator (rank×cols)   = Wᵀ·(V ∘ (WH)^(β−2))
   *   denominator (rank×cols) = Wᵀ·(WH)^(β−1)     (β = 1: the column sums of W, broadcast)
   * Sums are plain (a zero column sum stays zero); the engine applies scikit-learn's fix-ups afterwards.
   */
  betaTermsH(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void>;
  /** Same for W (as scikit-learn's _multiplicative_update_w): numerator (rows×rank) = (V ∘ (WH)^(β−2))·Hᵀ, denominator = (WH)^(β−1)·Hᵀ. */
  betaTermsW(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void>;
  /** scikit-learn's _beta_divergence(V, W, H, beta, square_root=False), computed tile by tile. */
  betaDivergence(W: Matrix, H: Matrix, beta: number): Promise<number>;
  /**
   * Optional: betaDivergence(W, H, beta) and betaDivergence(W, H, 2) from one tiled pass, so that progress
   * for β ≠ 2 (loss and relErr) costs one pass over V instead of two. Without it the engine makes two calls.
   */
  divergences?(W: Matrix, H: Matrix, beta: number): Promise<{ beta: number; frobenius: number }>;
  /**
   * Optional: one coordinate-descent sweep of cd and HALS, done by the backend with the arithmetic of
   * solvers/sweep.ts (sweepW for side 'W': factor = W, B = HHᵀ (+l2), A = VHᵀ (−l1); sweepH for side 'H').
   * Updates factor in place. Synchronous, because the solvers run it several times per iteration between
   * products; returns null to decline (the engine then sweeps itself).
   */
  sweep?(side: 'W' | 'H', factor: Matrix, B: Matrix, A: Matrix, revive: boolean): { violation: number; change: number } | null;
  /**
   * Optional: accelerated HALS's inner loop in one call, the operands handed over once. Sweeps as `sweep` does,
   * at most maxSweeps of them, and stops after a sweep whose change is below stopBelow × the first one's (or
   * after the first when it changed nothing). Returns the first sweep's violation and how many were done;
   * null to decline (the engine then loops over `sweep` itself).
   */
  sweeps?(
    side: 'W' | 'H',
    factor: Matrix,
    B: Matrix,
    A: Matrix,
    revive: boolean,
    maxSweeps: number,
    stopBelow: number,
  ): { violation: number; sweeps: number } | null;
  /**
   * Optional: `iterations` whole iterations of Frobenius multiplicative updates without regularisation, in
   * scikit-learn's order (W half-step, then H half-step; a zero denominator reads as EPSILON), with W and H kept by
   * the backend between calls. Unless `resume`, W and H are taken from the arguments first; `resume` promises they
   * are unchanged since the previous call returned. With `read`, W and H are overwritten with the result and the
   * loss terms of the result come back; without it nothing comes back (the host's W and H are left stale), so that
   * iterations nobody looks at need not wait for the device. Resolves to null to decline (the engine then updates W
   * and H itself).
   */
  muFrobenius?(W: Matrix, H: Matrix, iterations: number, resume: boolean, read: boolean): Promise<{ terms: FrobeniusTerms | null } | null>;
  /** Overwrite V at flat indices (i·cols + j): how imputed values of missing cells reach the backend. */
  setCells(indices: Uint32Array, values: ArrayLike<number>): Promise<void>;
  dispose(): Promise<void>;
}

/** ⟨WᵀV, H⟩ and ⟨WᵀW, HHᵀ⟩, from which ½‖V−WH‖² = ½(‖V‖² − 2·cross + quad) without another pass over V. */
export interface FrobeniusTerms {
  cross: number;
  quad: number;
}

/** Requested by users: a backend name, or 'auto' to take the best one that works here. */
export type BackendRequest = 'auto' | BackendName;

/**
 * How a backend joins the registry: a cheap probe that says whether it can run here (and if not, why, in
 * words a person understands), and a constructor. Higher priority is tried first under 'auto'.
 */
export interface BackendProvider {
  readonly name: BackendName;
  readonly priority: number;
  probe(): Promise<{ ok: true } | { ok: false; reason: string }>;
  create(): Promise<Backend>;
}

/** The backend chosen for a run, and why the better ones were passed over (empty when the first choice worked). */
export interface BackendChoice {
  backend: Backend;
  /** e.g. 'WebGPU: no adapter; headless-gl: not built for this platform → CPU (WASM SIMD, 2 threads)' */
  reason: string;
}

/** A RangeError unless m is rows×cols: how backends refuse operands of the wrong shape. */
export function checkShape(m: Matrix, rows: number, cols: number, what: string): void {
  if (m.rows !== rows || m.cols !== cols) throw new RangeError(`${what}: expected ${rows}×${cols}, got ${m.rows}×${m.cols}`);
}

/** The shapes betaTermsW / betaTermsH take for V rows×cols: W rows×k, H k×cols, the terms shaped as the factor updated. */
export function checkBetaTermsShapes(side: 'W' | 'H', rows: number, cols: number, W: Matrix, H: Matrix, numerator: Matrix, denominator: Matrix): void {
  const k = W.cols;
  const what = `betaTerms${side}`;
  checkShape(W, rows, k, `${what}: W`);
  checkShape(H, k, cols, `${what}: H`);
  const [r, c] = side === 'W' ? [rows, k] : [k, cols];
  checkShape(numerator, r, c, `${what}: numerator`);
  checkShape(denominator, r, c, `${what}: denominator`);
}
