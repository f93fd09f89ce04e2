// The products with V a half-step needs, in buffers kept for the whole run, with V·Hᵀ computed once when
// neither H nor V can change (transform without missing entries).

import type { Fit } from '../fit.js';
import { allocate, dtypeOf, type Matrix } from '../matrix.js';

export class SideProducts {
  private VHtBuffer: Matrix | null = null;
  private VHtFresh = false;
  private WtVBuffer: Matrix | null = null;
  private WtWBuffer: Matrix | null = null;

  constructor(private readonly fit: Fit) {}

  /** V·Hᵀ of the current H; valid until the next call. */
  async VHt(): Promise<Matrix> {
    const fit = this.fit;
    this.VHtBuffer ??= allocate(fit.rows, fit.rank, dtypeOf(fit.W));
    if (!this.VHtFresh || fit.updateH || fit.missing) {
      await fit.bound.VHt(fit.H, this.VHtBuffer);
      this.VHtFresh = true;
    }
    return this.VHtBuffer;
  }

  /** WᵀV and WᵀW of the current W; valid until the next call. */
  async forH(): Promise<{ WtV: Matrix; WtW: Matrix }> {
    const fit = this.fit;
    const dtype = dtypeOf(fit.W);
    const WtV = (this.WtVBuffer ??= allocate(fit.rank, fit.cols, dtype));
    const WtW = (this.WtWBuffer ??= allocate(fit.rank, fit.rank, dtype));
    await fit.bound.WtW(fit.W, WtW);
    await fit.bound.WtV(fit.W, WtV);
    return { WtV, WtW };
  }
}
