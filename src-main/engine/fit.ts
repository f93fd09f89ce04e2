// What every solver shares: the bound V and the factors, the loss and relErr over observed entries, and the
// iteration loop with progress, cancellation, targetRelErr and the solver's own stopping rule.

import type { Backend, BoundV } from './backends/backend.js';
import { dot } from './dense.js';
import { throwIfCancelled, type CancelSignal } from './errors.js';
import { allocate, dtypeOf, type Matrix } from './matrix.js';
import type { MissingCells } from './missing.js';
import type { CurrentFactors, Progress, StopReason } from './options.js';

export interface Regularization {
  l1W: number;
  l2W: number;
  l1H: number;
  l2H: number;
}

/** scikit-learn 1.2's _compute_regularization: W's terms scale with the columns, H's with the rows. */
export function regularization(rows: number, cols: number, alphaW: number, alphaH: number, l1Ratio: number): Regularization {
  return {
    l1W: cols * alphaW * l1Ratio,
    l1H: rows * alphaH * l1Ratio,
    l2W: cols * alphaW * (1 - l1Ratio),
    l2H: rows * alphaH * (1 - l1Ratio),
  };
}

/**
 * Products a half-step already holds, from which ½‖V−WH‖² follows without another pass over V:
 * after an H update, WᵀV and WᵀW of the current W; after a W update (H fixed), V·Hᵀ and H·Hᵀ of the current H.
 */
export type Products =
  | { side: 'H'; WtV: Matrix; WtW: Matrix }
  | { side: 'W'; VHt: Matrix; HHt: Matrix }
  /** The two terms themselves, from a backend that ran the iteration (BoundV.muFrobenius). */
  | { side: 'terms'; cross: number; quad: number };

export interface StepResult {
  /** cd and hals: scikit-learn's projected-gradient violation of this iteration. */
  violation?: number;
  products?: Products;
}

export interface Evaluation {
  /** scikit-learn's _beta_divergence over observed entries (½‖V−WH‖² for Frobenius). */
  loss: number;
  /** ‖V−WH‖/‖V‖ over observed entries; undefined when it was not asked for. */
  relErr?: number;
}

export interface SolverSteps {
  /** Called once before iteration 1, with the evaluation of the starting point when there is one. */
  start?(initial: Evaluation | null): Promise<void>;
  /**
   * One iteration. `observed` says whether the loop looks at W, H or the loss after it; when it does not, a backend
   * that keeps the factors on a device may leave the host's copies stale and skip the wait for the device.
   */
  step(iteration: number, observed: boolean): Promise<StepResult>;
  /** Whether the stopping rule needs the loss after this iteration. */
  needsLoss(iteration: number): boolean;
  /** Whether the stopping rule says this iteration is the last ('tol'). */
  converged(iteration: number, step: StepResult, evaluation: Evaluation | null): boolean;
}

/**
 * Below this fraction of ‖V‖², ‖V‖² − 2⟨WᵀV, H⟩ + ⟨WᵀW, HHᵀ⟩ has lost too many digits to cancellation
 * (products rounded to the dtype), and the loss is computed directly, tile by tile, instead.
 */
const CANCELLATION_LIMIT = { float32: 4e-4, float64: 1e-10 } as const;

type Timer = (callback: () => void, ms: number) => unknown;
const scope = globalThis as { setTimeout?: Timer; setImmediate?: (callback: () => void) => unknown };
/**
 * One turn of the event loop: setImmediate where there is one (due timers and I/O run before it, and it
 * waits no longer), else a zero timeout (which waits at least a millisecond, more on a busy machine).
 */
const yieldTurn: ((resolve: () => void) => void) | null = scope.setImmediate
  ? (resolve) => scope.setImmediate!.call(globalThis, resolve)
  : scope.setTimeout
    ? (resolve) => scope.setTimeout!.call(globalThis, resolve, 0)
    : null;

export class Fit {
  /** H·Hᵀ of the current H, kept between the loss and the next W update (one buffer for the whole run). */
  private hhtBuffer: Matrix | null = null;
  private hhtFresh = false;
  private wtwBuffer: Matrix | null = null;
  private lastBreath = Date.now();

  constructor(
    /** For the factor-sized products (W·HHᵀ, WᵀW·H), which the backend runs as fast as those with V. */
    readonly backend: Backend,
    readonly bound: BoundV,
    public W: Matrix,
    public H: Matrix,
    readonly beta: number,
    readonly reg: Regularization,
    readonly missing: MissingCells | null,
    /** Σ x² over observed entries. */
    readonly normV2: number,
    readonly updateH: boolean,
  ) {}

  get rows(): number {
    return this.W.rows;
  }
  get cols(): number {
    return this.H.cols;
  }
  get rank(): number {
    return this.W.cols;
  }

  async currentHHt(): Promise<Matrix> {
    this.hhtBuffer ??= allocate(this.rank, this.rank, dtypeOf(this.H));
    if (!this.hhtFresh) {
      await this.bound.HHt(this.H, this.hhtBuffer);
      this.hhtFresh = true;
    }
    return this.hhtBuffer;
  }

  /** Call whenever H changes. */
  invalidateHHt(): void {
    this.hhtFresh = false;
  }

  relErrOf(frobenius: number): number {
    const residual = Math.sqrt(2 * Math.max(0, frobenius));
    if (this.normV2 > 0) return residual / Math.sqrt(this.normV2);
    return residual === 0 ? 0 : Infinity;
  }

  /** Loss (and relErr when asked) of the current W and H, over observed entries. */
  async evaluate(products: Products | undefined, wantRelErr: boolean): Promise<Evaluation> {
    if (this.beta === 2 && products) {
      const fro = await this.frobeniusFromProducts(products);
      if (fro !== null) return { loss: fro, relErr: wantRelErr ? this.relErrOf(fro) : undefined };
    }
    return this.evaluateDirectly(wantRelErr);
  }

  /** ½‖V−WH‖² (observed) from products, or null when cancellation makes it untrustworthy. */
  private async frobeniusFromProducts(products: Products): Promise<number | null> {
    let cross: number;
    let quad: number;
    if (products.side === 'terms') {
      ({ cross, quad } = products);
    } else if (products.side === 'H') {
      cross = dot(products.WtV.data, this.H.data);
      quad = dot(products.WtW.data, (await this.currentHHt()).data);
    } else {
      const WtW = (this.wtwBuffer ??= allocate(this.rank, this.rank, dtypeOf(this.W)));
      await this.bound.WtW(this.W, WtW);
      cross = dot(products.VHt.data, this.W.data);
      quad = dot(WtW.data, products.HHt.data);
    }
    const normFilled = this.normV2 + (this.missing ? this.missing.fillSquares() : 0);
    let fro = 0.5 * (normFilled - 2 * cross + quad);
    if (this.missing) fro -= this.missing.divergence(this.W, this.H, 2);
    if (2 * fro < CANCELLATION_LIMIT[dtypeOf(this.W)] * normFilled) return null;
    return fro;
  }

  private async evaluateDirectly(wantRelErr: boolean): Promise<Evaluation> {
    const { bound, W, H, beta, missing } = this;
    let loss: number;
    let fro: number | undefined;
    if (beta === 2) {
      loss = fro = await bound.betaDivergence(W, H, 2);
    } else if (wantRelErr && bound.divergences) {
      ({ beta: loss, frobenius: fro } = await bound.divergences(W, H, beta));
    } else {
      loss = await bound.betaDivergence(W, H, beta);
      if (wantRelErr) fro = await bound.betaDivergence(W, H, 2);
    }
    if (missing) {
      loss -= missing.divergence(W, H, beta);
      if (fro !== undefined) fro = beta === 2 ? loss : fro - missing.divergence(W, H, 2);
    }
    return { loss, relErr: wantRelErr && fro !== undefined ? this.relErrOf(fro) : undefined };
  }

  /** Let timers and I/O run now and then, so that an abort requested from elsewhere is seen. */
  async breathe(): Promise<void> {
    if (!yieldTurn) return;
    const now = Date.now();
    if (now - this.lastBreath < 40) return;
    await new Promise<void>(yieldTurn);
    this.lastBreath = Date.now();
  }
}

export interface LoopOptions {
  maxIter: number;
  targetRelErr?: number;
  onProgress?: (progress: Progress, current: CurrentFactors) => void;
  signal?: CancelSignal;
}

export interface LoopResult {
  iterations: number;
  stopReason: StopReason;
  loss: number;
  relErr: number;
}

export async function runLoop(fit: Fit, solver: SolverSteps, options: LoopOptions): Promise<LoopResult> {
  const { maxIter, targetRelErr, onProgress, signal } = options;
  const watching = onProgress !== undefined || targetRelErr !== undefined;
  const report = (iteration: number, e: Evaluation): void => {
    onProgress?.({ iteration, maxIter, loss: e.loss, relErr: e.relErr! }, { W: fit.W, H: fit.H });
  };
  throwIfCancelled(signal);

  let last: Evaluation | null = null;
  if (watching) {
    last = await fit.evaluate(undefined, true);
    report(0, last);
    if (targetRelErr !== undefined && last.relErr! <= targetRelErr) return finish(0, 'targetRelErr', last);
  }
  if (maxIter === 0) return finish(0, 'maxIter', last);

  await solver.start?.(last);
  let stopReason: StopReason = 'maxIter';
  let iterations = 0;
  let products: Products | undefined;
  for (let iteration = 1; iteration <= maxIter; iteration++) {
    throwIfCancelled(signal);
    await fit.breathe();
    throwIfCancelled(signal);
    if (fit.missing) await fit.missing.impute(fit.bound, fit.W, fit.H);
    // the loop only ever stops after an iteration it evaluates, or after the last one
    const evaluated = watching || solver.needsLoss(iteration);
    const step = await solver.step(iteration, evaluated || iteration === maxIter);
    iterations = iteration;
    products = step.products;
    last = evaluated ? await fit.evaluate(products, watching) : null;
    if (watching) report(iteration, last!);
    if (targetRelErr !== undefined && last!.relErr! <= targetRelErr) {
      stopReason = 'targetRelErr';
      break;
    }
    if (solver.converged(iteration, step, last)) {
      stopReason = 'tol';
      break;
    }
  }
  return finish(iterations, stopReason, last, products);

  async function finish(iterations: number, stopReason: StopReason, e: Evaluation | null, p?: Products): Promise<LoopResult> {
    const final = e && e.relErr !== undefined ? e : await fit.evaluate(p, true);
    return { iterations, stopReason, loss: final.loss, relErr: final.relErr! };
  }
}
