// Multiplicative updates for the β-divergence, step for step as scikit-learn 1.2's _fit_multiplicative_update
// (Lee & Seung 2001; Févotte & Idier 2011 for the MM exponent γ), with its EPSILON handling.

import { EPSILON } from '../divergence.js';
import type { Evaluation, Fit, SolverSteps, StepResult } from '../fit.js';
import { allocate, dtypeOf, type Matrix } from '../matrix.js';
import { SideProducts } from './products.js';

const FLOAT64_EPS = 2.220446049250313e-16;

/** F ∘= ((numerator / (denominator + l1 + l2·F), zeros read as EPSILON))^γ */
function multiply(F: Matrix, numerator: Matrix, denominator: Matrix, l1: number, l2: number, gamma: number): void {
  const f = F.data;
  const num = numerator.data;
  const den = denominator.data;
  if (l1 <= 0 && l2 <= 0 && gamma === 1) {
    // The usual case, without the branches: the same arithmetic.
    for (let c = 0; c < f.length; c++) {
      const d = den[c]!;
      f[c] = f[c]! * (num[c]! / (d === 0 ? EPSILON : d));
    }
    return;
  }
  for (let c = 0; c < f.length; c++) {
    let d = den[c]!;
    if (l1 > 0) d += l1;
    if (l2 > 0) d += l2 * f[c]!;
    if (d === 0) d = EPSILON;
    let delta = num[c]! / d;
    if (gamma !== 1) delta = Math.pow(delta, gamma);
    f[c] = f[c]! * delta;
  }
}

function zeroBelow(F: Matrix, limit: number): void {
  const f = F.data;
  for (let c = 0; c < f.length; c++) if (f[c]! < limit) f[c] = 0;
}

export class MuSolver implements SolverSteps {
  private readonly gamma: number;
  private errorAtInit = 0;
  private previousError = 0;
  /** β ≠ 2 only: the numerators (for β = 2 they are V·Hᵀ and WᵀV, used where they lie). */
  private readonly numW: Matrix | null;
  private readonly denW: Matrix;
  private readonly numH: Matrix | null;
  private readonly denH: Matrix;
  private readonly products: SideProducts;
  /** Whether the backend runs whole iterations itself (BoundV.muFrobenius): undecided, yes (W and H held there), or no. */
  private resident: boolean | null;

  constructor(
    private readonly fit: Fit,
    private readonly tol: number,
  ) {
    const beta = fit.beta;
    // The exponent that makes each update a majorisation–minimisation step.
    this.gamma = beta < 1 ? 1 / (2 - beta) : beta > 2 ? 1 / (beta - 1) : 1;
    this.products = new SideProducts(fit);
    const { reg } = fit;
    const plain = beta === 2 && fit.updateH && !fit.missing && reg.l1W <= 0 && reg.l2W <= 0 && reg.l1H <= 0 && reg.l2H <= 0;
    this.resident = plain && fit.bound.muFrobenius ? null : false;
    const dtype = dtypeOf(fit.W);
    this.numW = beta === 2 ? null : allocate(fit.rows, fit.rank, dtype);
    this.denW = allocate(fit.rows, fit.rank, dtype);
    this.numH = beta === 2 ? null : allocate(fit.rank, fit.cols, dtype);
    this.denH = allocate(fit.rank, fit.cols, dtype);
  }

  async start(initial: Evaluation | null): Promise<void> {
    if (this.tol <= 0) return;
    const e = initial ?? (await this.fit.evaluate(undefined, false));
    this.errorAtInit = Math.sqrt(2 * Math.max(0, e.loss));
    this.previousError = this.errorAtInit;
  }

  needsLoss(iteration: number): boolean {
    return this.tol > 0 && iteration % 10 === 0;
  }

  converged(iteration: number, _step: StepResult, evaluation: Evaluation | null): boolean {
    if (!this.needsLoss(iteration)) return false;
    const error = Math.sqrt(2 * Math.max(0, evaluation!.loss));
    if (this.errorAtInit === 0) return true;
    const stop = (this.previousError - error) / this.errorAtInit < this.tol;
    this.previousError = error;
    return stop;
  }

  async step(_iteration: number, observed: boolean): Promise<StepResult> {
    const fit = this.fit;
    const { bound, W, H, beta, reg } = fit;

    if (this.resident !== false) {
      // W and H change only here between calls, so after the first call the backend's copies stay current
      const ran = await bound.muFrobenius!(W, H, 1, this.resident === true, observed);
      if (ran) {
        this.resident = true;
        fit.invalidateHHt();
        return ran.terms ? { products: { side: 'terms', ...ran.terms } } : {};
      }
      this.resident = false;
    }

    let VHt: Matrix | undefined;
    let HHt: Matrix | undefined;
    if (beta === 2) {
      HHt = await fit.currentHHt();
      VHt = await this.products.VHt();
      await fit.backend.matmul(W, HHt, false, false, this.denW);
      multiply(W, VHt, this.denW, reg.l1W, reg.l2W, this.gamma);
    } else {
      await bound.betaTermsW(W, H, beta, this.numW!, this.denW);
      multiply(W, this.numW!, this.denW, reg.l1W, reg.l2W, this.gamma);
    }
    // Necessary for stability with β < 1 (as scikit-learn does).
    if (beta < 1) zeroBelow(W, FLOAT64_EPS);

    if (!fit.updateH) return beta === 2 ? { products: { side: 'W', VHt: VHt!, HHt: HHt! } } : {};

    let WtV: Matrix | undefined;
    let WtW: Matrix | undefined;
    if (beta === 2) {
      ({ WtV, WtW } = await this.products.forH());
      await fit.backend.matmul(WtW, H, false, false, this.denH);
      multiply(H, WtV, this.denH, reg.l1H, reg.l2H, this.gamma);
    } else {
      await bound.betaTermsH(W, H, beta, this.numH!, this.denH);
      if (beta === 1) {
        // A column of W that sums to zero divides by one instead (scikit-learn's W_sum[W_sum == 0] = 1).
        const den = this.denH.data;
        for (let c = 0; c < den.length; c++) if (den[c] === 0) den[c] = 1;
      }
      multiply(H, this.numH!, this.denH, reg.l1H, reg.l2H, this.gamma);
    }
    if (beta <= 1) zeroBelow(H, FLOAT64_EPS);
    fit.invalidateHHt();
    return beta === 2 ? { products: { side: 'H', WtV: WtV!, WtW: WtW! } } : {};
  }
}
