// The engine's vocabulary: solver settings, progress and results. These names are used unchanged in the
// CLI flags (kebab-case), the JSON output, the service API and the UI.

import type { Backend } from './backends/backend.js';
import type { CancelSignal } from './errors.js';
import type { Matrix } from './matrix.js';

/** mu: multiplicative updates (any β); cd: scikit-learn's coordinate descent; hals: accelerated HALS (Frobenius only). */
export type Solver = 'mu' | 'cd' | 'hals';
export type BetaLossName = 'frobenius' | 'kullback-leibler' | 'itakura-saito';
export type Init = 'random' | 'nndsvd' | 'nndsvda' | 'nndsvdar' | 'custom';

export const SOLVERS: readonly Solver[] = ['mu', 'cd', 'hals'];
export const BETA_LOSSES: readonly BetaLossName[] = ['frobenius', 'kullback-leibler', 'itakura-saito'];
export const INITS: readonly Init[] = ['random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom'];

export interface FactorizeOptions {
  rank: number;
  /** Default 'cd' (scikit-learn's default). */
  solver?: Solver;
  /** Default 'frobenius'. A number is the β of the β-divergence (mu only). */
  betaLoss?: BetaLossName | number;
  /** Default: 'nndsvda' when rank ≤ min(rows, cols), else 'random' (scikit-learn 1.2's default). */
  init?: Init;
  /**
   * Starting factors (rows×rank and rank×cols, non-negative): required with init 'custom'. When both are
   * given and init is not set, init is 'custom' (a warm start, e.g. from an earlier run).
   */
  W0?: Matrix;
  H0?: Matrix;
  /** Default 200. 0 returns the initialisation unchanged. */
  maxIter?: number;
  /**
   * Default 1e-4. mu: scikit-learn's rule, every 10 iterations stop when the error fell by less than
   * tol × the starting error; cd: scikit-learn's, stop when the projected-gradient violation is ≤ tol × the
   * first iteration's; hals: every 10 iterations stop when ‖V−WH‖ fell by less than tol (relative) over
   * those 10. 0 runs to maxIter (or targetRelErr).
   */
  tol?: number;
  /** Stop as soon as ‖V−WH‖_F/‖V‖_F (observed entries) ≤ this. */
  targetRelErr?: number;
  /**
   * Default 0; 0 … 2³² − 1. The `random_state` of scikit-learn: 'random' and 'nndsvdar' draw from NumPy's
   * RandomState(seed) as scikit-learn does, so the same seed gives scikit-learn's starting W and H (as does the
   * large-matrix SVD's starting block).
   */
  seed?: number;
  /** Default 0. */
  alphaW?: number;
  /** Default 'same'. */
  alphaH?: number | 'same';
  /** Default 0. */
  l1Ratio?: number;
  /** Where the products with V run; the engine never picks one itself. */
  backend: Backend;
  /**
   * Called after every iteration (and once for the initialisation, iteration 0). `current` holds the live
   * factors, e.g. for a preview: valid during the call only (copy what you keep), never to be modified.
   */
  onProgress?: (progress: Progress, current: CurrentFactors) => void;
  /** Checked every iteration; an aborted signal rejects with CancelledError. */
  signal?: CancelSignal;
}

export interface Progress {
  iteration: number;
  maxIter: number;
  /** scikit-learn's _beta_divergence(V, W, H, β) without square root or regularisation, observed entries. */
  loss: number;
  /** ‖V−WH‖_F / ‖V‖_F over observed entries. */
  relErr: number;
}

/** The factors of a run in progress (kept apart from Progress so that Progress stays small to send on). */
export interface CurrentFactors {
  readonly W: Matrix;
  readonly H: Matrix;
}

export type StopReason = 'maxIter' | 'tol' | 'targetRelErr';

export interface FactorizeResult {
  W: Matrix;
  H: Matrix;
  iterations: number;
  loss: number;
  relErr: number;
  stopReason: StopReason;
  /** The settings actually used after defaults were applied. */
  solver: Solver;
  betaLoss: BetaLossName | number;
  init: Init;
  /** Number of missing (NaN) entries that were masked out of the fit. */
  missing: number;
}

/** Settings of transform(X, H): W is solved with H fixed, as scikit-learn's NMF.transform does. */
export interface TransformOptions {
  /** Default 'cd'. */
  solver?: Solver;
  /** Default 'frobenius'. */
  betaLoss?: BetaLossName | number;
  /** Default 200. 0 returns the starting W (zeros, or scikit-learn's constant for 'mu'). */
  maxIter?: number;
  /** Default 1e-4. */
  tol?: number;
  targetRelErr?: number;
  /** Default 0; scaled by the number of columns of X as in fit. */
  alphaW?: number;
  /** Default 0. */
  l1Ratio?: number;
  backend: Backend;
  /** As in FactorizeOptions; `current.H` is the fixed H. */
  onProgress?: (progress: Progress, current: CurrentFactors) => void;
  signal?: CancelSignal;
}

export interface TransformResult {
  W: Matrix;
  iterations: number;
  loss: number;
  relErr: number;
  stopReason: StopReason;
  /** Number of missing (NaN) entries of X that were masked out. */
  missing: number;
}
