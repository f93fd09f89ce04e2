// Missing entries (NaN in V) handled by EM imputation: the fit sees V with its missing cells set to the
// current W·H, so that they add nothing to the gradient and only observed entries shape W and H.

import type { BoundV } from './backends/backend.js';
import { cellDivergence } from './divergence.js';
import { cellOfProduct } from './dense.js';
import { clone, dtypeOf, type Matrix } from './matrix.js';

export class MissingCells {
  /** Flat indices i·cols + j of the missing cells, ascending. */
  readonly indices: Uint32Array;
  /** The values those cells hold in the bound V right now (rounded to V's dtype). */
  readonly fill: Float64Array;
  private readonly values: Float64Array;
  private readonly round: (x: number) => number;

  constructor(
    indices: Uint32Array,
    fill: Float64Array,
    private readonly cols: number,
    dtype: 'float32' | 'float64',
  ) {
    this.indices = indices;
    this.fill = fill;
    this.values = new Float64Array(indices.length);
    this.round = dtype === 'float32' ? Math.fround : (x) => x;
  }

  get count(): number {
    return this.indices.length;
  }

  /** (W·H) at every missing cell, in float64. */
  product(W: Matrix, H: Matrix, out: Float64Array = this.values): Float64Array {
    const cols = this.cols;
    for (let c = 0; c < this.indices.length; c++) {
      const at = this.indices[c]!;
      const i = Math.floor(at / cols);
      out[c] = cellOfProduct(W, H, i, at - i * cols);
    }
    return out;
  }

  /** Set V at the missing cells to the current W·H (the E step). */
  async impute(bound: BoundV, W: Matrix, H: Matrix): Promise<void> {
    const wh = this.product(W, H);
    for (let c = 0; c < wh.length; c++) this.fill[c] = this.round(wh[c]!);
    await bound.setCells(this.indices, this.fill);
  }

  /** Σ over missing cells of fill² : what they add to ‖V‖² of the bound V. */
  fillSquares(): number {
    let s = 0;
    for (let c = 0; c < this.fill.length; c++) s += this.fill[c]! * this.fill[c]!;
    return s;
  }

  /** What the missing cells add to a β-divergence summed over all cells (to subtract it again). */
  divergence(W: Matrix, H: Matrix, beta: number): number {
    const wh = this.product(W, H);
    let s = 0;
    for (let c = 0; c < wh.length; c++) s += cellDivergence(this.fill[c]!, wh[c]!, beta);
    return s;
  }
}

/** The missing cells of V (null when there are none). */
export function findMissing(V: Matrix): Uint32Array | null {
  const d = V.data;
  let n = 0;
  for (let c = 0; c < d.length; c++) if (d[c] !== d[c]) n++;
  if (n === 0) return null;
  const out = new Uint32Array(n);
  let at = 0;
  for (let c = 0; c < d.length; c++) if (d[c] !== d[c]) out[at++] = c;
  return out;
}

/**
 * A copy of V with each missing cell set to the mean of the observed entries of its column (the mean of
 * all observed entries for a column with none), and the state that tracks those cells from then on.
 */
export function fillMissing(V: Matrix, indices: Uint32Array): { filled: Matrix; missing: MissingCells } {
  const { rows, cols } = V;
  const sums = new Float64Array(cols);
  const counts = new Float64Array(cols);
  let total = 0;
  let totalCount = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = V.data[i * cols + j]!;
      if (x !== x) continue;
      sums[j]! += x;
      counts[j]!++;
      total += x;
      totalCount++;
    }
  }
  const overall = totalCount > 0 ? total / totalCount : 0;
  const filled = clone(V);
  const dtype = dtypeOf(V);
  const fill = new Float64Array(indices.length);
  for (let c = 0; c < indices.length; c++) {
    const j = indices[c]! % cols;
    filled.data[indices[c]!] = counts[j]! > 0 ? sums[j]! / counts[j]! : overall;
    fill[c] = filled.data[indices[c]!]!;
  }
  return { filled, missing: new MissingCells(indices, fill, cols, dtype) };
}
