// The plain TypeScript backend: the oracle every other backend is tested against (float32 and float64).
//
// Every sum is accumulated in float64 (JavaScript numbers) and rounded once when stored, so a float32 V gets
// results as exact as float32 storage allows. Loops run along rows of the row-major operands; anything that
// needs W·H forms it one block of rows at a time, never whole.

import { cellDivergence, muPower, muRatio } from '../divergence.js';
import { gramOfColumns, gramOfRows } from '../dense.js';
import { isSparse, type DataMatrix, type DType, type FloatArray, type Matrix } from '../matrix.js';
import { SparseBoundV } from './sparse.js';
import { checkBetaTermsShapes, checkShape, type Backend, type BoundV } from './backend.js';

/** About this many float64 values of W·H exist at once (512 KiB). */
const TILE_VALUES = 1 << 16;

function tileRows(cols: number): number {
  return Math.max(1, Math.floor(TILE_VALUES / Math.max(1, cols)));
}


/** out (a.rows×b.cols, or with transposes) = op(a)·op(b), for factor-sized operands. */
export function referenceMatmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): void {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows;
  const n = transB ? b.rows : b.cols;
  if (k !== kb) throw new RangeError(`matmul: inner dimensions differ (${k} and ${kb})`);
  checkShape(out, m, n, 'matmul output');
  const A = a.data;
  const B = b.data;
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = transA ? A[p * a.cols + i]! : A[i * a.cols + p]!;
      if (aip === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) acc[j]! += aip * B[j * b.cols + p]!;
      } else {
        const off = p * b.cols;
        for (let j = 0; j < n; j++) acc[j]! += aip * B[off + j]!;
      }
    }
    out.data.set(acc, i * n);
  }
}

/** Rows [i0, i1) of W·H into tile (row-major, (i1−i0)×cols). */
function productRows(W: Matrix, H: Matrix, i0: number, i1: number, tile: Float64Array): void {
  const k = W.cols;
  const cols = H.cols;
  const w = W.data;
  const h = H.data;
  tile.fill(0, 0, (i1 - i0) * cols);
  for (let i = i0; i < i1; i++) {
    const off = (i - i0) * cols;
    for (let t = 0; t < k; t++) {
      const wit = w[i * k + t]!;
      if (wit === 0) continue;
      const ht = t * cols;
      for (let j = 0; j < cols; j++) tile[off + j]! += wit * h[ht + j]!;
    }
  }
}

class ReferenceBound implements BoundV {
  private data: FloatArray;
  private owned = false;
  private disposed = false;

  constructor(private matrix: Matrix) {
    this.data = matrix.data;
  }

  get V(): Matrix {
    return this.matrix;
  }

  private live(): void {
    if (this.disposed) throw new Error('reference backend: V was disposed');
  }

  async WtV(W: Matrix, out: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.matrix;
    const k = W.cols;
    checkShape(W, rows, k, 'WtV: W');
    checkShape(out, k, cols, 'WtV: out');
    const v = this.data;
    const w = W.data;
    const acc = new Float64Array(k * cols);
    const row = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) row[j] = v[i * cols + j]!;
      // Four rows of the output per pass over V's row: each value of V is loaded once for four products.
      let t = 0;
      for (; t + 4 <= k; t += 4) {
        const w0 = w[i * k + t]!;
        const w1 = w[i * k + t + 1]!;
        const w2 = w[i * k + t + 2]!;
        const w3 = w[i * k + t + 3]!;
        const a0 = t * cols;
        const a1 = a0 + cols;
        const a2 = a1 + cols;
        const a3 = a2 + cols;
        for (let j = 0; j < cols; j++) {
          const x = row[j]!;
          acc[a0 + j]! += w0 * x;
          acc[a1 + j]! += w1 * x;
          acc[a2 + j]! += w2 * x;
          acc[a3 + j]! += w3 * x;
        }
      }
      for (; t < k; t++) {
        const wit = w[i * k + t]!;
        const at = t * cols;
        for (let j = 0; j < cols; j++) acc[at + j]! += wit * row[j]!;
      }
    }
    out.data.set(acc);
  }

  async VHt(H: Matrix, out: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.matrix;
    const k = H.rows;
    checkShape(H, k, cols, 'VHt: H');
    checkShape(out, rows, k, 'VHt: out');
    const v = this.data;
    const h = H.data;
    const o = out.data;
    for (let i = 0; i < rows; i++) {
      const vi = i * cols;
      // Four dot products per pass over V's row, with independent sums.
      let t = 0;
      for (; t + 4 <= k; t += 4) {
        const h0 = t * cols;
        const h1 = h0 + cols;
        const h2 = h1 + cols;
        const h3 = h2 + cols;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let j = 0; j < cols; j++) {
          const x = v[vi + j]!;
          s0 += x * h[h0 + j]!;
          s1 += x * h[h1 + j]!;
          s2 += x * h[h2 + j]!;
          s3 += x * h[h3 + j]!;
        }
        o[i * k + t] = s0;
        o[i * k + t + 1] = s1;
        o[i * k + t + 2] = s2;
        o[i * k + t + 3] = s3;
      }
      for (; t < k; t++) {
        const ht = t * cols;
        let s = 0;
        for (let j = 0; j < cols; j++) s += v[vi + j]! * h[ht + j]!;
        o[i * k + t] = s;
      }
    }
  }

  async WtW(W: Matrix, out: Matrix): Promise<void> {
    this.live();
    checkShape(W, this.matrix.rows, W.cols, 'WtW: W');
    gramOfColumns(W, out);
  }

  async HHt(H: Matrix, out: Matrix): Promise<void> {
    this.live();
    checkShape(H, H.rows, this.matrix.cols, 'HHt: H');
    gramOfRows(H, out);
  }

  async betaTermsH(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.matrix;
    const k = W.cols;
    checkBetaTermsShapes('H', rows, cols, W, H, numerator, denominator);
    const v = this.data;
    const w = W.data;
    const num = new Float64Array(k * cols);
    const den = new Float64Array(k * cols);
    const step = tileRows(cols);
    const tile = new Float64Array(step * cols);
    const ratioRow = new Float64Array(cols);
    const powerRow = new Float64Array(cols);
    for (let i0 = 0; i0 < rows; i0 += step) {
      const i1 = Math.min(rows, i0 + step);
      productRows(W, H, i0, i1, tile);
      for (let i = i0; i < i1; i++) {
        const off = (i - i0) * cols;
        for (let j = 0; j < cols; j++) {
          const y = tile[off + j]!;
          ratioRow[j] = muRatio(v[i * cols + j]!, y, beta);
          if (beta !== 1) powerRow[j] = muPower(y, beta);
        }
        for (let t = 0; t < k; t++) {
          const wit = w[i * k + t]!;
          if (wit === 0) continue;
          const at = t * cols;
          for (let j = 0; j < cols; j++) num[at + j]! += wit * ratioRow[j]!;
          if (beta !== 1) for (let j = 0; j < cols; j++) den[at + j]! += wit * powerRow[j]!;
        }
      }
    }
    if (beta === 1) {
      // Σ_i W[i, t], the same for every column.
      for (let t = 0; t < k; t++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += w[i * k + t]!;
        den.fill(s, t * cols, (t + 1) * cols);
      }
    }
    numerator.data.set(num);
    denominator.data.set(den);
  }

  async betaTermsW(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.matrix;
    const k = W.cols;
    checkBetaTermsShapes('W', rows, cols, W, H, numerator, denominator);
    const v = this.data;
    const h = H.data;
    const num = numerator.data;
    const den = denominator.data;
    const step = tileRows(cols);
    const tile = new Float64Array(step * cols);
    const ratioRow = new Float64Array(cols);
    const powerRow = new Float64Array(cols);
    const hSums = new Float64Array(k);
    if (beta === 1) {
      for (let t = 0; t < k; t++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += h[t * cols + j]!;
        hSums[t] = s;
      }
    }
    for (let i0 = 0; i0 < rows; i0 += step) {
      const i1 = Math.min(rows, i0 + step);
      productRows(W, H, i0, i1, tile);
      for (let i = i0; i < i1; i++) {
        const off = (i - i0) * cols;
        for (let j = 0; j < cols; j++) {
          const y = tile[off + j]!;
          ratioRow[j] = muRatio(v[i * cols + j]!, y, beta);
          if (beta !== 1) powerRow[j] = muPower(y, beta);
        }
        for (let t = 0; t < k; t++) {
          const ht = t * cols;
          let sn = 0;
          for (let j = 0; j < cols; j++) sn += ratioRow[j]! * h[ht + j]!;
          num[i * k + t] = sn;
          if (beta === 1) {
            den[i * k + t] = hSums[t]!;
          } else {
            let sd = 0;
            for (let j = 0; j < cols; j++) sd += powerRow[j]! * h[ht + j]!;
            den[i * k + t] = sd;
          }
        }
      }
    }
  }

  async betaDivergence(W: Matrix, H: Matrix, beta: number): Promise<number> {
    return (await this.divergences(W, H, beta)).beta;
  }

  async divergences(W: Matrix, H: Matrix, beta: number): Promise<{ beta: number; frobenius: number }> {
    this.live();
    const { rows, cols } = this.matrix;
    checkShape(W, rows, W.cols, 'betaDivergence: W');
    checkShape(H, W.cols, cols, 'betaDivergence: H');
    const v = this.data;
    const step = tileRows(cols);
    const tile = new Float64Array(step * cols);
    let sumBeta = 0;
    let sumFro = 0;
    for (let i0 = 0; i0 < rows; i0 += step) {
      const i1 = Math.min(rows, i0 + step);
      productRows(W, H, i0, i1, tile);
      const n = (i1 - i0) * cols;
      const base = i0 * cols;
      for (let c = 0; c < n; c++) {
        const x = v[base + c]!;
        const y = tile[c]!;
        const d = x - y;
        sumFro += d * d;
        if (beta !== 2) sumBeta += cellDivergence(x, y, beta);
      }
    }
    sumFro *= 0.5;
    return { beta: beta === 2 ? sumFro : sumBeta, frobenius: sumFro };
  }

  async setCells(indices: Uint32Array, values: ArrayLike<number>): Promise<void> {
    this.live();
    if (indices.length !== values.length) throw new RangeError('setCells: indices and values differ in length');
    if (!this.owned) {
      // Never write into the caller's V: copy on the first change.
      this.data = this.data.slice();
      this.matrix = { rows: this.matrix.rows, cols: this.matrix.cols, data: this.data };
      this.owned = true;
    }
    const n = this.data.length;
    for (let c = 0; c < indices.length; c++) {
      const at = indices[c]!;
      if (at >= n) throw new RangeError(`setCells: index ${at} outside V`);
      this.data[at] = values[c]!;
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;
  readonly label = 'reference (TypeScript)';
  readonly dtypes: readonly DType[] = ['float64', 'float32'];

  async bind(V: DataMatrix): Promise<BoundV> {
    if (isSparse(V)) return new SparseBoundV(V);
    if (V.data.length !== V.rows * V.cols) throw new RangeError(`bind: ${V.rows}×${V.cols} needs ${V.rows * V.cols} values`);
    return new ReferenceBound(V);
  }

  async matmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): Promise<void> {
    referenceMatmul(a, b, transA, transB, out);
  }

  async dispose(): Promise<void> {}
}

export function createReferenceBackend(): Backend {
  return new ReferenceBackend();
}
