// A sparse V bound for a run: every product with V visits its non-zeros only, W·H is evaluated at the
// non-zeros only (scikit-learn's _special_sparse_dot), and the losses come without forming W·H:
// ½‖V−WH‖² = ½(Σ_nz (x − wh)² − Σ_nz wh² + ⟨WᵀW, HHᵀ⟩). Plain TypeScript, sums in float64; a backend may
// place the arrays where its threads see them and run the sparse products there, and give its own Gram products.

import { gramOfColumns, gramOfRows } from '../dense.js';
import { cellDivergence, EPSILON, muPower, muRatio } from '../divergence.js';
import type { FloatArray, Matrix, SparseMatrix } from '../matrix.js';
import { csr64, productAtEntries, sparseTimesDense, sparseTransposeTimesDense, transposedFloat64, transposeSparse, type Csr64 } from '../sparse.js';
import { checkBetaTermsShapes, checkShape, type BoundV } from './backend.js';


export interface SparseBoundOptions {
  /** Wᵀ·W and H·Hᵀ: the backend's own (a fast GEMM) instead of the float64 loops. */
  WtW?: (W: Matrix, out: Matrix) => void | Promise<void>;
  HHt?: (H: Matrix, out: Matrix) => void | Promise<void>;
  /** Where the float64 arrays live (e.g. memory shared with worker threads); ordinary arrays by default. */
  arrays?: { float64(n: number): Float64Array; uint32(n: number): Uint32Array; free(a: Float64Array | Uint32Array): void };
  /**
   * The sparse products run elsewhere (compiled kernels, several threads, a GPU); each answers false to decline,
   * and then runs here: out = S·B, out = A·Bᵀ at S's entries, and out = Sᵀ·A. S is V's CSR, its CSC (columns()),
   * or one of them with other values on the same pattern (see holdsValues). transposeTimesDense gets the CSR and
   * the CSC on demand, for a kernel that would rather gather along S's columns than scatter along its rows; without
   * it, Sᵀ·A is asked of timesDense on the CSC.
   */
  kernels?: {
    timesDense(S: Csr64, B: Float64Array, k: number, out: Float64Array): boolean | Promise<boolean>;
    atEntries(S: Csr64, A: Float64Array, B: Float64Array, k: number, out: Float64Array): boolean | Promise<boolean>;
    transposeTimesDense?(S: Csr64, columns: () => Csr64, A: Float64Array, k: number, out: Float64Array): boolean | Promise<boolean>;
  };
}

export class SparseBoundV implements BoundV {
  readonly V: SparseMatrix;
  /** V with float64 values, as the kernels read it. */
  private readonly rowsForm: Csr64;
  /** V's columns as rows (its CSC), made on the first product that walks V by columns. */
  private byColumns: Csr64 | null = null;
  /** Float64 working copies of the factors and results, kept between calls. */
  private readonly buffers = new Map<string, Float64Array>();
  /** Σ x² over the non-zeros. */
  readonly normV2: number;
  private disposed = false;
  /** Every array taken from options.arrays, to give back on dispose. */
  private readonly owned: (Float64Array | Uint32Array)[] = [];

  constructor(
    V: SparseMatrix,
    private readonly options: SparseBoundOptions = {},
  ) {
    this.V = V;
    this.rowsForm = this.copyCsr(V);
    let s = 0;
    for (let p = 0; p < V.values.length; p++) s += V.values[p]! * V.values[p]!;
    this.normV2 = s;
  }

  private float64(n: number): Float64Array {
    if (!this.options.arrays) return new Float64Array(n);
    const a = this.options.arrays.float64(n);
    this.owned.push(a);
    return a;
  }

  /** S with float64 values, in options.arrays when given. */
  private copyCsr(S: SparseMatrix): Csr64 {
    const arrays = this.options.arrays;
    if (!arrays) return csr64(S);
    const indptr = arrays.uint32(S.indptr.length);
    const indices = arrays.uint32(S.indices.length);
    this.owned.push(indptr, indices);
    indptr.set(S.indptr);
    indices.set(S.indices);
    const values = this.float64(S.values.length);
    values.set(S.values);
    return { rows: S.rows, indptr, indices, values };
  }

  private async timesDense(S: Csr64, B: Float64Array, k: number, out: Float64Array): Promise<void> {
    if (!(await this.options.kernels?.timesDense(S, B, k, out))) sparseTimesDense(S, B, k, out);
  }

  private async atEntries(S: Csr64, A: Float64Array, B: Float64Array, k: number, out: Float64Array): Promise<void> {
    if (!(await this.options.kernels?.atEntries(S, A, B, k, out))) productAtEntries(S, A, B, k, out);
  }

  /**
   * Whether `values` are V's own, in CSR or CSC order: fixed for the life of the binding, so a backend may keep a copy
   * where its kernels read it. Other values on V's pattern (the β ratios) change from call to call.
   */
  holdsValues(values: Float64Array): boolean {
    return values === this.rowsForm.values || (this.byColumns !== null && values === this.byColumns.values);
  }

  private live(): void {
    if (this.disposed) throw new Error('sparse V was disposed');
  }

  private columns(): Csr64 {
    return (this.byColumns ??= this.copyCsr(transposeSparse(this.V)));
  }

  private buffer(name: string, n: number): Float64Array {
    let b = this.buffers.get(name);
    if (!b || b.length < n) this.buffers.set(name, (b = this.float64(n)));
    return b.length === n ? b : b.subarray(0, n);
  }

  /** F's values as float64: F's own array when it is one, else a copy in a kept buffer. */
  private f64(name: string, F: Matrix): Float64Array {
    if (F.data instanceof Float64Array) return F.data;
    const b = this.buffer(name, F.data.length);
    b.set(F.data);
    return b;
  }

  /** Where a result for `out` is formed: out's own array when it is float64, else a kept buffer to copy from. */
  private target(out: Matrix): Float64Array {
    return out.data instanceof Float64Array ? out.data : this.buffer('out', out.data.length);
  }

  private static deliver(formed: Float64Array, out: Matrix): void {
    if (formed !== out.data) out.data.set(formed);
  }

  private get nnz(): number {
    return this.V.indptr[this.V.rows]!;
  }

  async WtV(W: Matrix, out: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.V;
    const k = W.cols;
    checkShape(W, rows, k, 'WtV: W');
    checkShape(out, k, cols, 'WtV: out');
    const w = this.f64('W', W);
    // (Vᵀ·W) is cols×k; written transposed into out. Here W's rows are scattered row by row of V (W read once,
    // in order), which is faster on one thread than gathering them by V's columns.
    const tmp = this.buffer('colsByRank', cols * k);
    const kernels = this.options.kernels;
    const done = kernels?.transposeTimesDense
      ? await kernels.transposeTimesDense(this.rowsForm, () => this.columns(), w, k, tmp)
      : await kernels?.timesDense(this.columns(), w, k, tmp);
    if (!done) sparseTransposeTimesDense(this.rowsForm, w, k, tmp);
    transposeInto(tmp, cols, k, out.data);
  }

  async VHt(H: Matrix, out: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.V;
    const k = H.rows;
    checkShape(H, k, cols, 'VHt: H');
    checkShape(out, rows, k, 'VHt: out');
    const ht = transposedFloat64(H, this.buffer('Ht', cols * k));
    const formed = this.target(out);
    await this.timesDense(this.rowsForm, ht, k, formed);
    SparseBoundV.deliver(formed, out);
  }

  async WtW(W: Matrix, out: Matrix): Promise<void> {
    this.live();
    checkShape(W, this.V.rows, W.cols, 'WtW: W');
    if (this.options.WtW) await this.options.WtW(W, out);
    else gramOfColumns(W, out);
  }

  async HHt(H: Matrix, out: Matrix): Promise<void> {
    this.live();
    checkShape(H, H.rows, this.V.cols, 'HHt: H');
    if (this.options.HHt) await this.options.HHt(H, out);
    else gramOfRows(H, out);
  }

  /** W·H at the non-zeros, in CSR order (or in CSC order with `byColumns`). */
  private async productAtEntries(W: Matrix, H: Matrix, byColumns: boolean): Promise<Float64Array> {
    const k = W.cols;
    const w = this.f64('W', W);
    const ht = transposedFloat64(H, this.buffer('Ht', H.data.length));
    const out = this.buffer('entries', this.nnz);
    if (byColumns) {
      const T = this.columns();
      await this.atEntries(T, ht, w, k, out);
    } else {
      await this.atEntries(this.rowsForm, w, ht, k, out);
    }
    return out;
  }

  async betaTermsW(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.V;
    const k = W.cols;
    checkBetaTermsShapes('W', rows, cols, W, H, numerator, denominator);
    const wh = await this.productAtEntries(W, H, false);
    const { indptr, indices, values } = this.rowsForm;
    for (let p = 0; p < wh.length; p++) wh[p] = muRatio(values[p]!, wh[p]!, beta);
    // numerator = (V ∘ (WH)^(β−2))·Hᵀ: the same sparse pattern with the ratios as values
    const ratios: Csr64 = { rows, indptr, indices, values: wh };
    const ht = transposedFloat64(H, this.buffer('Ht', cols * k));
    const formed = this.target(numerator);
    await this.timesDense(ratios, ht, k, formed);
    SparseBoundV.deliver(formed, numerator);
    const den = denominator.data;
    if (beta === 1) {
      // Σ_j H[t, j], the same for every row (scikit-learn's H_sum).
      const sums = rowSums(H);
      for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) den[i * k + t] = sums[t]!;
      return;
    }
    // (WH)^(β−1)·Hᵀ over every cell, one row of W·H at a time (scikit-learn's memory-efficient loop).
    const w = W.data;
    const h = H.data;
    {
      const row = new Float64Array(cols);
      for (let i = 0; i < rows; i++) {
        denseRowOfProduct(w, h, i, k, cols, row);
        for (let j = 0; j < cols; j++) row[j] = muPower(row[j]!, beta);
        for (let t = 0; t < k; t++) {
          let s = 0;
          const ht0 = t * cols;
          for (let j = 0; j < cols; j++) s += row[j]! * h[ht0 + j]!;
          den[i * k + t] = s;
        }
      }
    }
  }

  async betaTermsH(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    this.live();
    const { rows, cols } = this.V;
    const k = W.cols;
    checkBetaTermsShapes('H', rows, cols, W, H, numerator, denominator);
    const T = this.columns();
    const wh = await this.productAtEntries(W, H, true);
    for (let p = 0; p < wh.length; p++) wh[p] = muRatio(T.values[p]!, wh[p]!, beta);
    // numerator = Wᵀ·(V ∘ (WH)^(β−2)), column by column of V, written transposed
    const ratios: Csr64 = { ...T, values: wh };
    const w = this.f64('W', W);
    const tmp = this.buffer('colsByRank', cols * k);
    await this.timesDense(ratios, w, k, tmp);
    transposeInto(tmp, cols, k, numerator.data);
    const den = denominator.data;
    if (beta === 1) {
      // Σ_i W[i, t], the same for every column (the engine turns a zero sum into 1, as scikit-learn does).
      const sums = columnSums(W);
      for (let t = 0; t < k; t++) den.fill(sums[t]!, t * cols, (t + 1) * cols);
      return;
    }
    // Wᵀ·(WH)^(β−1) over every cell, one column of W·H at a time.
    const h = H.data;
    const tmpDen = new Float64Array(cols * k);
    {
      const col = new Float64Array(rows);
      for (let j = 0; j < cols; j++) {
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += w[i * k + t]! * h[t * cols + j]!;
          col[i] = muPower(s, beta);
        }
        for (let t = 0; t < k; t++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += w[i * k + t]! * col[i]!;
          tmpDen[j * k + t] = s;
        }
      }
    }
    transposeInto(tmpDen, cols, k, den);
  }

  async betaDivergence(W: Matrix, H: Matrix, beta: number): Promise<number> {
    return (await this.divergences(W, H, beta)).beta;
  }

  /**
   * scikit-learn's _beta_divergence of sparse X: Frobenius from the non-zeros and the Gram matrices; KL and IS
   * from the non-zeros and Σ W·H = (column sums of W)·(row sums of H); other β also need Σ (W·H)^β over every
   * cell, formed one row at a time.
   */
  async divergences(W: Matrix, H: Matrix, beta: number): Promise<{ beta: number; frobenius: number }> {
    this.live();
    const { rows, cols } = this.V;
    const k = W.cols;
    checkShape(W, rows, k, 'betaDivergence: W');
    checkShape(H, k, cols, 'betaDivergence: H');
    const wh = await this.productAtEntries(W, H, false);
    const values = this.rowsForm.values;
    let residual = 0;
    let fitted = 0;
    for (let p = 0; p < wh.length; p++) {
      const d = values[p]! - wh[p]!;
      residual += d * d;
      fitted += wh[p]! * wh[p]!;
    }
    const quad = quadTerm(W, H);
    const frobenius = 0.5 * Math.max(0, residual - fitted + quad);
    if (beta === 2) return { beta: frobenius, frobenius };

    let sum = 0;
    let counted = 0;
    for (let p = 0; p < wh.length; p++) {
      const x = values[p]!;
      if (!(x > EPSILON)) continue;
      counted++;
      const y = wh[p]!;
      if (beta === 1) sum += x * Math.log(x / (y === 0 ? EPSILON : y)) - x;
      else sum += cellDivergence(x, y, beta) - (beta === 0 ? 0 : Math.pow(y, beta) / beta);
    }
    if (beta === 1) {
      const cw = columnSums(W);
      const rh = rowSums(H);
      for (let t = 0; t < k; t++) sum += cw[t]! * rh[t]!;
    } else if (beta === 0) {
      // every cell with x ≤ EPSILON adds −1, as in the dense sum
      sum -= rows * cols - counted;
    } else {
      // Σ over every cell of (WH)^β / β: the y-only part of each cell's divergence
      const w = W.data;
      const h = H.data;
      const row = new Float64Array(cols);
      let all = 0;
      for (let i = 0; i < rows; i++) {
        denseRowOfProduct(w, h, i, k, cols, row);
        for (let j = 0; j < cols; j++) all += Math.pow(row[j]!, beta);
      }
      sum += all / beta;
    }
    return { beta: sum, frobenius };
  }

  async setCells(): Promise<void> {
    throw new RangeError('setCells: a sparse V has no missing cells');
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.byColumns = null;
    this.buffers.clear();
    for (const a of this.owned.splice(0)) this.options.arrays!.free(a);
  }
}

/** ⟨WᵀW, HHᵀ⟩ = ‖W·H‖² over every cell, in float64. */
export function quadTerm(W: Matrix, H: Matrix): number {
  const k = W.cols;
  const G = { rows: k, cols: k, data: new Float64Array(k * k) };
  const K = { rows: k, cols: k, data: new Float64Array(k * k) };
  gramOfColumns(W, G);
  gramOfRows(H, K);
  let s = 0;
  for (let c = 0; c < k * k; c++) s += G.data[c]! * K.data[c]!;
  return s;
}

function denseRowOfProduct(w: FloatArray, h: FloatArray, i: number, k: number, cols: number, row: Float64Array): void {
  row.fill(0);
  for (let t = 0; t < k; t++) {
    const wit = w[i * k + t]!;
    if (wit === 0) continue;
    const ht = t * cols;
    for (let j = 0; j < cols; j++) row[j]! += wit * h[ht + j]!;
  }
}

function rowSums(H: Matrix): Float64Array {
  const out = new Float64Array(H.rows);
  for (let t = 0; t < H.rows; t++) {
    let s = 0;
    for (let j = 0; j < H.cols; j++) s += H.data[t * H.cols + j]!;
    out[t] = s;
  }
  return out;
}

function columnSums(W: Matrix): Float64Array {
  const k = W.cols;
  const out = new Float64Array(k);
  for (let i = 0; i < W.rows; i++) for (let t = 0; t < k; t++) out[t]! += W.data[i * k + t]!;
  return out;
}

/** dst (k×n) = src (n×k) transposed. */
function transposeInto(src: Float64Array, n: number, k: number, dst: FloatArray): void {
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dst[t * n + j] = src[j * k + t]!;
}
