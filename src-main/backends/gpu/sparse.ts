// A sparse V on the gpu backend: its CSR (and CSC) pattern resident on the device in row blocks, the products with it
// (S·B for V·Hᵀ and Vᵀ·W, W·H at the non-zeros) run there when they are large enough to pay, on the host below that.

import type { Matrix, SparseMatrix } from '../../engine/matrix.js';
import { SparseBoundV, type SparseBoundOptions } from '../../engine/backends/sparse.js';
import type { Csr64 } from '../../engine/sparse.js';
import { EXACT_FLOAT_INDEX, type DeviceMatrix, type GpuKernels } from './kernels.js';
import type { GpuJsKernel } from './runtime.js';

/**
 * Where a sparse V's products run, and why. Per product the device does nnz·k multiply-adds and the bus carries the
 * factor operand and the result, (rows + cols)·k floats, plus one dispatch and one readback. The host does about a
 * multiply-add per nanosecond on scattered non-zeros; a bus moves a float in well under a nanosecond; a dispatch
 * with its readback costs some 50–100 µs. So the device gains only where the non-zeros outnumber the rows and columns
 * together (more arithmetic than floats moved: rank cancels out of that), and where a product is big enough to bury
 * the fixed cost: nnz·k ≥ 2^20 multiply-adds, about a millisecond on the host. Counts, not timings: a rule measured on
 * one machine (least of all on a software renderer) says nothing about another GPU.
 */
export const SPARSE_MIN_WORK = 1 << 20;

export interface SparsePlacement {
  onDevice: boolean;
  /** One line for backendReason. */
  why: string;
}

function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e4 ? `${Math.round(n / 1e3)} k` : String(n);
}

/**
 * Whether products with a rows×cols sparse V with nnz non-zeros at rank k run on the device (see SPARSE_MIN_WORK);
 * minWork 0 sends every product that fits the device there (what the tests use to run the kernels).
 */
export function sparsePlacement(rows: number, cols: number, nnz: number, k: number, minWork: number, maxElements: number): SparsePlacement {
  const host = 'sparse V: its products run on the CPU (TypeScript), not on the GPU';
  const sizes = `${count(nnz)} non-zeros in ${rows}×${cols}, rank ${k}`;
  if (nnz === 0 || k === 0) return { onDevice: false, why: `${host}: nothing to multiply` };
  const largest = Math.max(rows, cols) * k;
  if (largest >= EXACT_FLOAT_INDEX || largest > maxElements) return { onDevice: false, why: `${host}: a factor of ${count(largest)} entries is beyond the GPU's exact float32 indices` };
  if (minWork > 0) {
    if (nnz < rows + cols) return { onDevice: false, why: `${host}: fewer non-zeros than rows and columns (${sizes}), so moving the factors costs more than the arithmetic` };
    if (nnz * k < minWork) return { onDevice: false, why: `${host}: too small to repay a dispatch (${sizes})` };
  }
  return { onDevice: true, why: `sparse V: its products run on the GPU (${sizes})` };
}

/**
 * A run of rows of one pattern (CSR of V or of Vᵀ), resident on the device. Every block of a pattern is padded to the
 * same number of rows and entries (empty rows, entries never read), so that all of them share compiled kernels.
 */
interface DeviceBlock {
  rowStart: number;
  rowEnd: number;
  entryStart: number;
  entryEnd: number;
  /** Row starts relative to entryStart, padded rows repeating the last (empty rows). */
  indptr: DeviceMatrix;
  indices: DeviceMatrix;
  /** Each entry's row within the block, made on the first W·H at the entries. */
  rowOf: DeviceMatrix | null;
  /** V's values for these entries, made on the first product with V itself. */
  values: DeviceMatrix | null;
}

interface DevicePattern {
  blocks: DeviceBlock[];
  /** Rows and entries every block is padded to. */
  rows: number;
  entries: number;
  /** The longest row's entry count, rounded up to a power of two: the shader's loop bound. */
  longestRow: number;
}

/** Cuts rows 0..S.rows into runs of at most maxRows rows and maxEntries entries (a row longer than that alone). */
export function planRowBlocks(indptr: ArrayLike<number>, rows: number, maxRows: number, maxEntries: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  while (start < rows) {
    let end = start + 1;
    while (end < rows && end - start < maxRows && indptr[end + 1]! - indptr[start]! <= maxEntries) end++;
    out.push({ start, end });
    start = end;
  }
  return out;
}

/** a[from..to) as float32, zero-padded to `length` entries. */
function float32(a: ArrayLike<number>, from = 0, to = a.length, length = to - from): Float32Array {
  const out = new Float32Array(length);
  for (let c = from; c < to; c++) out[c - from] = a[c]!;
  return out;
}

/** The sparse kernels of SparseBoundV (see SparseBoundOptions.kernels) run on the device for one bound sparse V. */
export class GpuSparseProducts {
  /** Device copies of each pattern seen (V's CSR, its CSC), keyed by their indptr array. */
  private readonly patterns = new Map<Uint32Array, DevicePattern>();
  private readonly uploaders = new Map<string, GpuJsKernel>();
  /** Products run on the device and on the host, for tests and measurements. */
  readonly ran = { device: 0, host: 0 };

  constructor(
    private readonly kernels: GpuKernels,
    private readonly serial: <T>(op: () => Promise<T>) => Promise<T>,
    private readonly shape: { rows: number; cols: number; nnz: number },
    private readonly limits: { minWork: number; maxElements: number; maxSide: number },
    /** Whether these are V's own values (fixed, so kept on the device), not ratios on its pattern. */
    private readonly holdsValues: (values: Float64Array) => boolean,
  ) {}

  placement(k: number): SparsePlacement {
    const { rows, cols, nnz } = this.shape;
    return sparsePlacement(rows, cols, nnz, k, this.limits.minWork, this.limits.maxElements);
  }

  /** What SparseBoundV takes as its kernels. */
  get hooks(): NonNullable<SparseBoundOptions['kernels']> {
    return {
      timesDense: (S, B, k, out) => this.timesDense(S, B, k, out),
      atEntries: (S, A, B, k, out) => this.atEntries(S, A, B, k, out),
    };
  }

  private async patternOf(S: Csr64): Promise<DevicePattern> {
    const known = this.patterns.get(S.indptr);
    if (known) return known;
    const maxEntries = Math.min(this.limits.maxElements, EXACT_FLOAT_INDEX - 1);
    // the result of a block is rows×k in a 2-D texture: at most a texture side of rows
    const spans = planRowBlocks(S.indptr, S.rows, this.limits.maxSide, maxEntries);
    let rows = 1;
    let entries = 1;
    let longest = 1;
    for (const { start, end } of spans) {
      rows = Math.max(rows, end - start);
      entries = Math.max(entries, S.indptr[end]! - S.indptr[start]!);
      for (let i = start; i < end; i++) longest = Math.max(longest, S.indptr[i + 1]! - S.indptr[i]!);
    }
    const pattern: DevicePattern = { blocks: [], rows, entries, longestRow: 2 ** Math.ceil(Math.log2(longest)) };
    this.patterns.set(S.indptr, pattern);
    for (const { start, end } of spans) {
      const e0 = S.indptr[start]!;
      const e1 = S.indptr[end]!;
      const rel = new Float32Array(rows + 1).fill(e1 - e0);
      for (let i = start; i <= end; i++) rel[i - start] = S.indptr[i]! - e0;
      pattern.blocks.push({
        rowStart: start,
        rowEnd: end,
        entryStart: e0,
        entryEnd: e1,
        indptr: await this.kernels.uploadFlat(rel, this.uploaders),
        indices: await this.kernels.uploadFlat(float32(S.indices, e0, e1, entries), this.uploaders),
        rowOf: null,
        values: null,
      });
    }
    return pattern;
  }

  private async timesDense(S: Csr64, B: Float64Array, k: number, out: Float64Array): Promise<boolean> {
    if (!this.placement(k).onDevice) {
      this.ran.host++;
      return false;
    }
    await this.serial(async () => {
      const b = float32(B);
      const own = this.holdsValues(S.values);
      const pattern = await this.patternOf(S);
      const shape = { rows: pattern.rows, longestRow: pattern.longestRow };
      for (const block of pattern.blocks) {
        const { entryStart: e0, entryEnd: e1 } = block;
        let values: DeviceMatrix | Float32Array;
        if (own) values = block.values ??= await this.kernels.uploadFlat(float32(S.values, e0, e1, pattern.entries), this.uploaders);
        else values = float32(S.values, e0, e1, pattern.entries);
        const part = await this.kernels.csrTimesDense({ ...shape, indptr: block.indptr, indices: block.indices }, values, b, k);
        out.set(part.subarray(0, (block.rowEnd - block.rowStart) * k), block.rowStart * k);
      }
    });
    this.ran.device++;
    return true;
  }

  private async atEntries(S: Csr64, A: Float64Array, B: Float64Array, k: number, out: Float64Array): Promise<boolean> {
    if (!this.placement(k).onDevice) {
      this.ran.host++;
      return false;
    }
    await this.serial(async () => {
      const b = float32(B);
      const pattern = await this.patternOf(S);
      for (const block of pattern.blocks) {
        const { rowStart, rowEnd, entryStart: e0, entryEnd: e1 } = block;
        if (!block.rowOf) {
          // padded entries read row 0 and column 0: their values are never used
          const rowOf = new Float32Array(pattern.entries);
          for (let i = rowStart; i < rowEnd; i++) rowOf.fill(i - rowStart, S.indptr[i]! - e0, S.indptr[i + 1]! - e0);
          block.rowOf = await this.kernels.uploadFlat(rowOf, this.uploaders);
        }
        const a = float32(A, rowStart * k, rowEnd * k, pattern.rows * k);
        const got = await this.kernels.csrAtEntries({ rowOf: block.rowOf, indices: block.indices }, a, b, k);
        out.set(got.subarray(0, e1 - e0), e0);
      }
    });
    this.ran.device++;
    return true;
  }

  /** Frees the device copies (on the backend's queue; nothing left to free once the backend has gone). */
  dispose(): Promise<void> {
    const free = this.serial(async () => {
      for (const { blocks } of this.patterns.values()) {
        for (const b of blocks) {
          for (const m of [b.indptr, b.indices, b.rowOf, b.values]) if (m) this.kernels.free(m);
        }
      }
      this.patterns.clear();
      this.kernels.dropUploaders(this.uploaders);
    });
    return free.catch(() => undefined);
  }
}

/** A sparse V bound to the gpu backend: SparseBoundV with its two sparse kernels on the device where they pay. */
export class GpuSparseBoundV extends SparseBoundV {
  readonly products: GpuSparseProducts;

  constructor(
    V: SparseMatrix,
    kernels: GpuKernels,
    serial: <T>(op: () => Promise<T>) => Promise<T>,
    limits: { minWork: number; maxElements: number; maxSide: number },
    gram: { WtW: (W: Matrix, out: Matrix) => Promise<void>; HHt: (H: Matrix, out: Matrix) => Promise<void> },
  ) {
    // the kernels ask the bound V whose values they see, once it exists
    let self: SparseBoundV | null = null;
    const products = new GpuSparseProducts(kernels, serial, { rows: V.rows, cols: V.cols, nnz: V.indptr[V.rows]! }, limits, (v) => self!.holdsValues(v));
    super(V, { ...gram, kernels: products.hooks });
    self = this;
    this.products = products;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await this.products.dispose();
  }
}
