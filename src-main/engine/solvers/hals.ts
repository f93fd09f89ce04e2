// Accelerated HALS (Gillis & Glineur 2012): per outer iteration one product with V per side, then several
// coordinate sweeps on the small matrices while they still pay off. Frobenius loss only; l1/l2 as in cd.
//
// Stopping: every 10 iterations, stop once ‖V−WH‖ fell by less than tol (relative) over those 10. The loss
// comes from products already at hand, so the check is nearly free. (cd's violation ratio is a poor fit:
// the scaled start makes its first violation small, and the ratio then rarely reaches tol.)

import { dot, minusScalar, withDiagonal } from '../dense.js';
import type { Evaluation, Fit, SolverSteps, StepResult } from '../fit.js';
import { allocate, dtypeOf, type Matrix } from '../matrix.js';
import { SideProducts } from './products.js';
import { sweepH, sweepW, type SweepResult } from './sweep.js';

/** α of the paper: inner sweeps may cost up to 1 + α·ρ times the first one (ρ: product cost / sweep cost). */
const ALPHA = 0.5;
/** δ of the paper: stop the inner sweeps once one changes the factor by less than δ × the first one did. */
const DELTA = 0.1;

/**
 * At most ⌊1 + α·ρ⌋ sweeps, ρ = (cost of the products with V + the Gram matrix) / (cost of one sweep), in
 * flops; a backend that multiplies `speedup` times faster than plain TypeScript makes ρ that much smaller.
 */
export function innerSweeps(rows: number, cols: number, rank: number, side: 'W' | 'H', speedup = 1): number {
  const rho = side === 'W' ? (rows * cols + cols * rank) / (rows * rank + rows) : (rows * cols + rows * rank) / (cols * rank + cols);
  return Math.max(1, Math.floor(1 + (ALPHA * rho) / Math.max(1, speedup)));
}

/** Up to maxSweeps sweeps while they still pay off; returns the first one's violation. */
function innerLoop(fit: Fit, side: 'W' | 'H', B: Matrix, A: Matrix, maxSweeps: number): number {
  const factor = side === 'W' ? fit.W : fit.H;
  const together = fit.bound.sweeps?.(side, factor, B, A, true, maxSweeps, DELTA * DELTA);
  if (together) return together.violation;
  const sweep = (): SweepResult => (side === 'W' ? sweepW : sweepH)(factor, B, A, true, fit.bound);
  const first = sweep();
  let last = first;
  for (let n = 1; n < maxSweeps && first.change > 0 && last.change >= DELTA * DELTA * first.change; n++) last = sweep();
  return first.violation;
}

export class HalsSolver implements SolverSteps {
  private readonly products: SideProducts;
  private previousError = NaN;
  private readonly sweepsW: number;
  private readonly sweepsH: number;

  constructor(
    private readonly fit: Fit,
    private readonly tol: number,
    speedup = 1,
  ) {
    this.products = new SideProducts(fit);
    this.sweepsW = innerSweeps(fit.rows, fit.cols, fit.rank, 'W', speedup);
    this.sweepsH = innerSweeps(fit.rows, fit.cols, fit.rank, 'H', speedup);
  }

  needsLoss(iteration: number): boolean {
    return this.tol > 0 && iteration % 10 === 0;
  }

  converged(iteration: number, _step: StepResult, evaluation: Evaluation | null): boolean {
    if (!this.needsLoss(iteration)) return false;
    const error = Math.sqrt(2 * Math.max(0, evaluation!.loss));
    const previous = this.previousError;
    this.previousError = error;
    if (error === 0) return true;
    return (previous - error) / error < this.tol;
  }

  async step(iteration: number): Promise<StepResult> {
    const fit = this.fit;
    const { reg } = fit;
    const HHt = await fit.currentHHt();
    const VHt = await this.products.VHt();
    if (iteration === 1 && fit.updateH) await this.scaleW(VHt.data, HHt.data);
    const BW = withDiagonal(HHt, reg.l2W);
    const AW = minusScalar(VHt, reg.l1W);
    let violation = innerLoop(fit, 'W', BW, AW, this.sweepsW);
    if (!fit.updateH) return { violation, products: { side: 'W', VHt, HHt } };

    const { WtV, WtW } = await this.products.forH();
    const BH = withDiagonal(WtW, reg.l2H);
    const AH = minusScalar(WtV, reg.l1H);
    violation += innerLoop(fit, 'H', BH, AH, this.sweepsH);
    fit.invalidateHHt();
    return { violation, products: { side: 'H', WtV, WtW } };
  }

  /** The paper's first step: scale W by the best factor for the starting H, from products already at hand. */
  private async scaleW(VHt: ArrayLike<number>, HHt: ArrayLike<number>): Promise<void> {
    const fit = this.fit;
    const WtW = allocate(fit.rank, fit.rank, dtypeOf(fit.W));
    await fit.bound.WtW(fit.W, WtW);
    const scale = dot(VHt, fit.W.data) / dot(WtW.data, HHt);
    if (!(scale > 0) || !Number.isFinite(scale)) return;
    const w = fit.W.data;
    for (let c = 0; c < w.length; c++) w[c] = w[c]! * scale;
  }
}
