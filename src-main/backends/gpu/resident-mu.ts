// Frobenius multiplicative updates with V, Vᵀ, W and Hᵀ resident on the device: five dispatches an iteration, and,
// only when the engine will look, one more to lay H out for the host and a single readback of W, H and the loss
// terms. Iterations nobody looks at are only queued, so the host never waits for the device between them.

import type { FrobeniusTerms } from '../../engine/backends/backend.js';
import type { Matrix } from '../../engine/matrix.js';
import { EPSILON } from './kernels.js';
import type { DeviceMatrix, GpuKernels } from './kernels.js';
import type { GpuJsKernel } from './runtime.js';

/**
 * Columns of Hᵀ per run of the H·Hᵀ sums: for 4096 columns and rank 64, 32 runs give 133 120 threads of 128 steps,
 * where one sum down all the columns would give 4 160 threads of 4 096 steps.
 */
const GRAM_RUN = 128;

function float32(data: Matrix['data']): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export class ResidentMu {
  private readonly made = new Map<string, GpuJsKernel>();
  private vt: DeviceMatrix | null = null;
  private w: DeviceMatrix | null = null;
  /** Hᵀ, cols×rank. */
  private ht: DeviceMatrix | null = null;
  /** VᵀW over WᵀW, (cols+rank)×rank, of the current W. */
  private ng: DeviceMatrix | null = null;
  /** H·Hᵀ over the cross-term row, (rank+1)×rank, of the current H. */
  private hht: DeviceMatrix | null = null;
  /** Which of the two output slots of each half-step writes next (a kernel never reads its own output). */
  private wSlot = 0;
  private hSlot = 0;
  private rank = 0;
  /** Dispatches and bytes read back by the last run(), for measurements. */
  lastRun = { dispatches: 0, readbackBytes: 0 };

  /** V whole on the device: its single resident tile, or a copy made here when V is bound in several tiles. */
  private v: DeviceMatrix | null;

  constructor(
    private readonly kernels: GpuKernels,
    source: { tile: DeviceMatrix } | { host: Matrix },
  ) {
    this.v = 'tile' in source ? source.tile : null;
    this.host = 'host' in source ? source.host : null;
  }

  private readonly host: Matrix | null;

  private run1(name: Parameters<GpuKernels['resident']>[0], slot: string, rows: number, cols: number, constants: Record<string, number>, loop: number, args: Parameters<GpuKernels['resident']>[6]): Promise<DeviceMatrix> {
    this.lastRun.dispatches++;
    return this.kernels.resident(name, slot, rows, cols, constants, loop, args, this.made);
  }

  /** H·Hᵀ over the cross-term row, (rank+1)×rank, of the current Hᵀ and VᵀW: in runs of columns, then added up. */
  private async gramAndCross(cols: number, rank: number): Promise<DeviceMatrix> {
    const runs = Math.ceil(cols / GRAM_RUN);
    const parts = await this.run1('gramAndCrossRuns', 'hhtRuns', runs * (rank + 1), rank, { inner: cols, rank, chunk: GRAM_RUN }, GRAM_RUN, [this.ht!, this.ng!]);
    return this.run1('sumRuns', 'hht', rank + 1, rank, { runs, rows: rank + 1 }, runs, [parts]);
  }

  /**
   * `iterations` whole iterations from W and H (uploaded first unless `resume`, which promises they are what the
   * previous call left). With `read`, W and H are overwritten with the result and ⟨WᵀV, H⟩ and ⟨WᵀW, HHᵀ⟩ of the
   * result are returned; without it the work is only queued on the device and null is returned.
   */
  async run(W: Matrix, H: Matrix, iterations: number, resume: boolean, read: boolean): Promise<FrobeniusTerms | null> {
    const rows = W.rows;
    const cols = H.cols;
    const rank = W.cols;
    this.lastRun = { dispatches: 0, readbackBytes: 0 };
    this.v ??= await this.run1('copyTile', 'v', rows, cols, {}, 0, [{ rows, cols, data: float32(this.host!.data) }]);
    this.vt ??= await this.run1('transpose', 'vt', cols, rows, {}, 0, [this.v]);
    if (!resume || !this.w || !this.ht || !this.ng || !this.hht || rank !== this.rank) {
      this.rank = rank;
      this.w = await this.run1('copyTile', 'w', rows, rank, {}, 0, [{ rows, cols: rank, data: float32(W.data) }]);
      this.ht = await this.run1('transpose', 'h', cols, rank, {}, 0, [{ rows: rank, cols, data: float32(H.data) }]);
      // VᵀW and WᵀW of the starting W only give gramAndCrossRuns an operand of its usual shape; its Gram rows are needed
      this.ng = await this.run1('vtwAndGram', 'ng', cols + rank, rank, { inner: rows, cols }, rows, [this.v, this.w]);
      this.hht = await this.gramAndCross(cols, rank);
      this.wSlot = 0;
      this.hSlot = 0;
    }
    for (let it = 0; it < iterations; it++) {
      this.w = await this.run1('muStepW', `w${this.wSlot}`, rows, rank, { inner: cols, rank, eps: EPSILON }, cols, [this.vt, this.ht, this.w, this.hht!]);
      this.wSlot ^= 1;
      this.ng = await this.run1('vtwAndGram', 'ng', cols + rank, rank, { inner: rows, cols }, rows, [this.v, this.w]);
      this.ht = await this.run1('muStepH', `h${this.hSlot}`, cols, rank, { rank, cols, eps: EPSILON }, rank, [this.ht!, this.ng]);
      this.hSlot ^= 1;
      this.hht = await this.gramAndCross(cols, rank);
    }
    if (!read) return null;
    const h = await this.run1('transpose', 'hout', rank, cols, {}, 0, [this.ht!]);
    let cross = 0;
    let quad = 0;
    await this.kernels.readBack(
      [
        { matrix: this.w, fromRow: 0, rows },
        { matrix: h, fromRow: 0, rows: rank },
        { matrix: this.hht!, fromRow: 0, rows: rank + 1 },
        { matrix: this.ng!, fromRow: cols, rows: rank },
      ],
      ([w, hh, hht, wtw]) => {
        this.lastRun.readbackBytes = 4 * (w!.length + hh!.length + hht!.length + wtw!.length);
        W.data.set(w!);
        H.data.set(hh!);
        for (let k = 0; k < rank; k++) cross += hht![rank * rank + k]!;
        for (let c = 0; c < rank * rank; c++) quad += wtw![c]! * hht![c]!;
      },
    );
    return { cross, quad };
  }

  dispose(): void {
    this.kernels.dropResident(this.made);
    this.vt = this.w = this.ht = this.ng = this.hht = null;
  }
}
