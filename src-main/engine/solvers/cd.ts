// Coordinate descent (fast HALS) as scikit-learn 1.2's _fit_coordinate_descent with shuffle=False: one
// sweep over W, then one over H, per iteration; stops when the violation falls to tol × the first one.

import { minusScalar, withDiagonal } from '../dense.js';
import type { Evaluation, Fit, SolverSteps, StepResult } from '../fit.js';
import { SideProducts } from './products.js';
import { sweepH, sweepW } from './sweep.js';

/** scikit-learn's rule: stop when violation / violation of iteration 1 ≤ tol (or that first one is 0). */
export class ViolationRule {
  private violationInit = 0;

  constructor(private readonly tol: number) {}

  converged(iteration: number, violation: number): boolean {
    if (iteration === 1) this.violationInit = violation;
    if (this.violationInit === 0) return true;
    return violation / this.violationInit <= this.tol;
  }
}

export class CdSolver implements SolverSteps {
  private readonly products: SideProducts;
  private readonly rule: ViolationRule;

  constructor(
    private readonly fit: Fit,
    tol: number,
  ) {
    this.products = new SideProducts(fit);
    this.rule = new ViolationRule(tol);
  }

  needsLoss(): boolean {
    return false;
  }

  converged(iteration: number, step: StepResult, _evaluation: Evaluation | null): boolean {
    return this.rule.converged(iteration, step.violation!);
  }

  async step(): Promise<StepResult> {
    const fit = this.fit;
    const { reg } = fit;
    const HHt = await fit.currentHHt();
    const VHt = await this.products.VHt();
    let violation = sweepW(fit.W, withDiagonal(HHt, reg.l2W), minusScalar(VHt, reg.l1W), false, fit.bound).violation;
    if (!fit.updateH) return { violation, products: { side: 'W', VHt, HHt } };

    const { WtV, WtW } = await this.products.forH();
    violation += sweepH(fit.H, withDiagonal(WtW, reg.l2H), minusScalar(WtV, reg.l1H), false, fit.bound).violation;
    fit.invalidateHHt();
    return { violation, products: { side: 'H', WtV, WtW } };
  }
}
