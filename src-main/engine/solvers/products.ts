// The products with V a half-step needs, with V·Hᵀ computed once when neither H nor V can change
// (transform without missing entries).

import type { Fit } from '../fit.js';
import { allocate, dtypeOf, type Matrix } from '../matrix.js';

export class SideProducts {
  private VHtBuffer: Matrix | null = null;
  private VHtFresh = false;

  constructor(private readonly fit: Fit) {}

  async VHt(): Promise<Matrix> {
    const fit = this.fit;
    if (!this.VHtBuffer) this.VHtBuffer = allocate(fit.rows, fit.rank, dtypeOf(fit.W));
    if (!this.VHtFresh || fit.updateH || fit.missing) {
      await fit.bound.VHt(fit.H, this.VHtBuffer);
      this.VHtFresh = true;
    }
    return this.VHtBuffer;
  }

  /** WᵀV and WᵀW of the current W. */
  async forH(): Promise<{ WtV: Matrix; WtW: Matrix }> {
    const fit = this.fit;
    const dtype = dtypeOf(fit.W);
    const WtV = allocate(fit.rank, fit.cols, dtype);
    const WtW = allocate(fit.rank, fit.rank, dtype);
    await fit.bound.WtW(fit.W, WtW);
    await fit.bound.WtV(fit.W, WtV);
    return { WtV, WtW };
  }
}
