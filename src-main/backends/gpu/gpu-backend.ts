// The gpu backend: V resident on the device in tiles, products with V and the β-divergence work done there, the
// factors uploaded per call and the small results read back and summed in float64.

import type { Backend, BoundV, FrobeniusTerms } from '../../engine/backends/backend.js';
import { isSparse, type DataMatrix, type DType, type FloatArray, type Matrix, type SparseMatrix } from '../../engine/matrix.js';
import { GpuKernels } from './kernels.js';
import type { DeviceMatrix, HostMatrix, ProductVariant } from './kernels.js';
import { ResidentMu } from './resident-mu.js';
import { GpuSparseBoundV, SPARSE_MIN_WORK, sparsePlacement } from './sparse.js';
import { labelFor, openRuntime } from './runtime.js';
import type { GpuJsKernel, GpuMode, GpuRuntime } from './runtime.js';
import { planTiles, rowBlock, spanLength, subBlock } from './tiling.js';
import type { Span, TileGrid } from './tiling.js';

export interface GpuBackendOptions {
  /** gpu.js modes to try, in order. Default: WebGPU (Dawn), then headless-gl. */
  modes?: readonly GpuMode[];
  /** Accept a software renderer such as Mesa llvmpipe. Default false. */
  allowSoftware?: boolean;
  /** Largest tile of V in rows and in columns (the device's limits may lower it). Default 4096. */
  tileRows?: number;
  tileCols?: number;
  /** Products of factor-sized matrices with at most this many multiply-adds run on the host. Default 65536. */
  hostMaxWork?: number;
  /**
   * A sparse V's products run on the device from this many multiply-adds (non-zeros × rank) on, and only when the
   * non-zeros outnumber rows plus columns (see SPARSE_MIN_WORK); 0 sends every one that fits there. Default 2^20.
   */
  sparseMinWork?: number;
}

/** Why no GPU could be opened; `reasons` has one short line per mode tried. */
export class GpuUnavailableError extends Error {
  override readonly name = 'GpuUnavailableError';
  constructor(readonly reasons: string[]) {
    super(reasons.join('; ') || 'no GPU mode to try');
  }
}

const DEFAULT_TILE = 4096;
// no single tile beyond 2^24 entries (64 MiB of float32): the β≠2 temporaries are one tile each
const MAX_TILE_ELEMENTS = 1 << 24;
const DEFAULT_HOST_MAX_WORK = 65536;

function checkShape(what: string, m: Matrix, rows: number, cols: number): void {
  if (m.rows !== rows || m.cols !== cols) {
    throw new RangeError(`${what} must be ${rows}×${cols}, got ${m.rows}×${m.cols}`);
  }
}

function host(data: Float32Array, rows: number, cols: number): HostMatrix {
  return { rows, cols, data };
}

function float32Copy(data: FloatArray): Float32Array {
  return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
}

/** op(a)·op(b) on the host in float64, for products too small to be worth a dispatch. */
function hostProduct(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): void {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) {
        s += (transA ? A[t * a.cols + i]! : A[i * a.cols + t]!) * (transB ? B[j * b.cols + t]! : B[t * b.cols + j]!);
      }
      out.data[i * n + j] = s;
    }
  }
}

/** Adds an m×n block into rows r0.. and columns c0.. of a row-major float64 accumulator with `cols` columns. */
function addBlock(acc: Float64Array, cols: number, r0: number, c0: number, block: Float32Array, m: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const src = i * n;
    const dst = (r0 + i) * cols + c0;
    for (let j = 0; j < n; j++) acc[dst + j] += block[src + j]!;
  }
}

export class GpuBackend implements Backend {
  readonly name = 'gpu' as const;
  readonly label: string;
  readonly dtypes: readonly DType[] = ['float32'];
  readonly kernels: GpuKernels;
  private readonly tileRows: number;
  private readonly tileCols: number;
  private readonly maxTileElements: number;
  private readonly hostMaxWork: number;
  private readonly sparseMinWork: number;
  private readonly bound = new Set<GpuBoundV>();
  // gpu.js kernels own their outputs between calls, so operations run one at a time
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly runtime: GpuRuntime,
    options: GpuBackendOptions,
    /** Why earlier modes were passed over (empty when the first one worked). */
    readonly reasons: readonly string[],
  ) {
    this.label = labelFor(runtime);
    this.kernels = new GpuKernels(runtime);
    const side = Math.max(1, Math.min(runtime.maxSide, 1 << 20));
    this.tileRows = Math.max(1, Math.min(options.tileRows ?? DEFAULT_TILE, side));
    this.tileCols = Math.max(1, Math.min(options.tileCols ?? DEFAULT_TILE, side));
    this.maxTileElements = Math.max(1, Math.min(MAX_TILE_ELEMENTS, runtime.maxElements));
    this.hostMaxWork = options.hostMaxWork ?? DEFAULT_HOST_MAX_WORK;
    this.sparseMinWork = options.sparseMinWork ?? SPARSE_MIN_WORK;
  }

  /** Opens the first GPU mode that works and checks it with a small product; throws GpuUnavailableError otherwise. */
  static async open(options: GpuBackendOptions = {}): Promise<GpuBackend> {
    const opened = await openRuntime(options);
    if (!opened.ok) throw new GpuUnavailableError(opened.reasons);
    const backend = new GpuBackend(opened.runtime, options, opened.reasons);
    try {
      await backend.selfTest();
    } catch (e) {
      await backend.dispose();
      const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      throw new GpuUnavailableError([...opened.reasons, `${opened.runtime.mode === 'webgpu' ? 'WebGPU' : 'headless-gl'}: self-test failed (${line})`]);
    }
    return backend;
  }

  /** A 3×5·5×4 product against the host: catches drivers that compile but compute nonsense. */
  private async selfTest(): Promise<void> {
    const a = { rows: 3, cols: 5, data: Float32Array.from({ length: 15 }, (_, i) => ((i * 7) % 11) / 4) };
    const b = { rows: 5, cols: 4, data: Float32Array.from({ length: 20 }, (_, i) => ((i * 5) % 13) / 8) };
    const got = await this.kernels.product('NN', a, b);
    const want = { rows: 3, cols: 4, data: new Float64Array(12) };
    hostProduct(a, b, false, false, want);
    for (let i = 0; i < 12; i++) {
      if (!(Math.abs(got[i]! - want.data[i]!) <= 1e-4 * (1 + Math.abs(want.data[i]!)))) {
        throw new Error(`entry ${i} is ${got[i]}, expected ${want.data[i]}`);
      }
    }
  }

  /** Runs one operation after the previous ones have finished. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error('the gpu backend has been disposed'));
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  planFor(rows: number, cols: number): TileGrid {
    return planTiles(rows, cols, this.tileRows, this.tileCols, this.maxTileElements);
  }

  /**
   * A sparse V keeps its pattern on the device, uploaded on the first product that runs there; products too small
   * to repay a dispatch run in TypeScript on the host (see sparsePlacement).
   */
  async bind(V: DataMatrix): Promise<BoundV> {
    if (isSparse(V)) {
      const limits = { minWork: this.sparseMinWork, maxElements: this.maxTileElements, maxSide: this.tileRows };
      return new GpuSparseBoundV(V, this.kernels, (op) => this.serial(op), limits, {
        WtW: (W, out) => this.matmul(W, W, true, false, out),
        HHt: (H, out) => this.matmul(H, H, false, true, out),
      });
    }
    const bound = await this.serial(() => GpuBoundV.create(this, V));
    this.bound.add(bound);
    return bound;
  }

  /** Where the products with a sparse V run at this rank, in words for backendReason (the rule bind() follows). */
  sparseNote(V: SparseMatrix, rank: number): string {
    return sparsePlacement(V.rows, V.cols, V.indptr[V.rows]!, rank, this.sparseMinWork, this.maxTileElements).why;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal */
  forget(bound: GpuBoundV): void {
    this.bound.delete(bound);
  }

  /** @internal whether a factor-only product is small enough to do on the host */
  onHost(work: number): boolean {
    return work <= this.hostMaxWork;
  }

  matmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean, out: Matrix): Promise<void> {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    if ((transB ? b.cols : b.rows) !== k) {
      return Promise.reject(new RangeError(`matmul: inner sizes differ (${a.rows}×${a.cols}${transA ? 'ᵀ' : ''} · ${b.rows}×${b.cols}${transB ? 'ᵀ' : ''})`));
    }
    if (out.rows !== m || out.cols !== n) {
      return Promise.reject(new RangeError(`matmul: out must be ${m}×${n}, got ${out.rows}×${out.cols}`));
    }
    if (this.onHost(m * n * k) || k === 0) {
      hostProduct(a, b, transA, transB, out);
      return Promise.resolve();
    }
    return this.serial(async () => {
      // output blocks within the tile limits; the inner dimension in runs of at most a tile side, summed in float64
      const rowSpans = this.planFor(m, n).rowSpans;
      const colSpans = this.planFor(m, n).colSpans;
      const innerSpans = planTiles(k, 1, Math.min(this.tileRows, this.tileCols), 1, this.maxTileElements).rowSpans;
      const variant = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}` as ProductVariant;
      for (const rs of rowSpans) {
        for (const cs of colSpans) {
          const mb = spanLength(rs);
          const nb = spanLength(cs);
          const acc = new Float64Array(mb * nb);
          for (const ks of innerSpans) {
            const kb = spanLength(ks);
            // A block: op(a) rows rs × inner ks, kept in a's own orientation
            const aBlock = transA ? host(subBlock(a.data, a.cols, ks, rs), kb, mb) : host(subBlock(a.data, a.cols, rs, ks), mb, kb);
            const bBlock = transB ? host(subBlock(b.data, b.cols, cs, ks), nb, kb) : host(subBlock(b.data, b.cols, ks, cs), kb, nb);
            addBlock(acc, nb, 0, 0, await this.kernels.product(variant, aBlock, bBlock), mb, nb);
          }
          for (let i = 0; i < mb; i++) {
            for (let j = 0; j < nb; j++) out.data[(rs.start + i) * n + cs.start + j] = acc[i * nb + j]!;
          }
        }
      }
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.queue;
    for (const b of [...this.bound]) await b.dispose();
    this.disposed = true;
    this.kernels.destroy();
    await this.runtime.close();
  }
}

/** V bound to the gpu backend: its tiles stay on the device until dispose(). */
export class GpuBoundV implements BoundV {
  private tiles: DeviceMatrix[][] = [];
  private readonly uploaders = new Map<string, GpuJsKernel>();
  private ownsV = false;
  private disposed = false;
  /** The device-resident Frobenius updates, made on first use; false where V cannot be held whole. */
  private resident: ResidentMu | null | false = null;
  /**
   * muFrobenius calls that ran and how many of them read back (waited for the device), and the dispatches and bytes
   * read back by the last one (for measurements and tests).
   */
  residentCost = { calls: 0, readbacks: 0, dispatches: 0, readbackBytes: 0 };

  private constructor(
    private readonly backend: GpuBackend,
    private matrix: Matrix,
    readonly grid: TileGrid,
  ) {}

  get V(): Matrix {
    return this.matrix;
  }

  /** @internal */
  static async create(backend: GpuBackend, V: Matrix): Promise<GpuBoundV> {
    if (V.rows < 1 || V.cols < 1) throw new RangeError(`cannot bind an empty ${V.rows}×${V.cols} matrix`);
    const bound = new GpuBoundV(backend, V, backend.planFor(V.rows, V.cols));
    try {
      for (const rs of bound.grid.rowSpans) {
        const row: DeviceMatrix[] = [];
        bound.tiles.push(row);
        for (const cs of bound.grid.colSpans) row.push(await bound.uploadTile(rs, cs));
      }
    } catch (e) {
      bound.freeTiles();
      throw e;
    } finally {
      bound.settleUploaders();
    }
    return bound;
  }

  private uploadTile(rs: Span, cs: Span): Promise<DeviceMatrix> {
    return this.backend.kernels.upload(subBlock(this.matrix.data, this.matrix.cols, rs, cs), spanLength(rs), spanLength(cs), this.uploaders);
  }

  private settleUploaders(): void {
    if (this.backend.kernels.uploadersAreDisposable) this.backend.kernels.dropUploaders(this.uploaders);
  }

  private freeTiles(): void {
    for (const row of this.tiles) for (const t of row) this.backend.kernels.free(t);
    this.tiles = [];
    this.backend.kernels.dropUploaders(this.uploaders);
  }

  private check(): void {
    if (this.disposed) throw new Error('this bound V has been disposed');
  }

  private wBlock(W: Matrix, rs: Span): HostMatrix {
    return host(rowBlock(W.data, W.cols, rs), spanLength(rs), W.cols);
  }

  private hBlock(H: Matrix, cs: Span): HostMatrix {
    return host(subBlock(H.data, H.cols, { start: 0, end: H.rows }, cs), H.rows, spanLength(cs));
  }

  private checkFactors(W: Matrix, H: Matrix | null): number {
    const rank = W.cols;
    checkShape('W', W, this.matrix.rows, rank);
    if (H) checkShape('H', H, rank, this.matrix.cols);
    return rank;
  }

  WtV(W: Matrix, out: Matrix): Promise<void> {
    return this.backend.serial(async () => {
      this.check();
      const rank = this.checkFactors(W, null);
      checkShape('WtV out', out, rank, this.matrix.cols);
      const acc = new Float64Array(rank * this.matrix.cols);
      for (const [bi, rs] of this.grid.rowSpans.entries()) {
        const w = this.wBlock(W, rs);
        for (const [bj, cs] of this.grid.colSpans.entries()) {
          const part = await this.backend.kernels.product('TN', w, this.tiles[bi]![bj]!);
          addBlock(acc, this.matrix.cols, 0, cs.start, part, rank, spanLength(cs));
        }
      }
      out.data.set(acc);
    });
  }

  VHt(H: Matrix, out: Matrix): Promise<void> {
    return this.backend.serial(async () => {
      this.check();
      const rank = H.rows;
      checkShape('H', H, rank, this.matrix.cols);
      checkShape('VHt out', out, this.matrix.rows, rank);
      const acc = new Float64Array(this.matrix.rows * rank);
      for (const [bj, cs] of this.grid.colSpans.entries()) {
        const h = this.hBlock(H, cs);
        for (const [bi, rs] of this.grid.rowSpans.entries()) {
          const part = await this.backend.kernels.product('NT', this.tiles[bi]![bj]!, h);
          addBlock(acc, rank, rs.start, 0, part, spanLength(rs), rank);
        }
      }
      out.data.set(acc);
    });
  }

  WtW(W: Matrix, out: Matrix): Promise<void> {
    const rank = W.cols;
    checkShape('W', W, this.matrix.rows, rank);
    checkShape('WtW out', out, rank, rank);
    if (this.backend.onHost(W.rows * rank * rank)) {
      hostProduct(W, W, true, false, out);
      return Promise.resolve();
    }
    return this.backend.serial(async () => {
      this.check();
      const acc = new Float64Array(rank * rank);
      for (const rs of this.grid.rowSpans) {
        const w = this.wBlock(W, rs);
        addBlock(acc, rank, 0, 0, await this.backend.kernels.product('TN', w, w), rank, rank);
      }
      out.data.set(acc);
    });
  }

  HHt(H: Matrix, out: Matrix): Promise<void> {
    const rank = H.rows;
    checkShape('H', H, rank, this.matrix.cols);
    checkShape('HHt out', out, rank, rank);
    if (this.backend.onHost(H.cols * rank * rank)) {
      hostProduct(H, H, false, true, out);
      return Promise.resolve();
    }
    return this.backend.serial(async () => {
      this.check();
      const acc = new Float64Array(rank * rank);
      for (const cs of this.grid.colSpans) {
        const h = this.hBlock(H, cs);
        addBlock(acc, rank, 0, 0, await this.backend.kernels.product('NT', h, h), rank, rank);
      }
      out.data.set(acc);
    });
  }

  betaTermsH(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    return this.backend.serial(async () => {
      this.check();
      const rank = this.checkFactors(W, H);
      const cols = this.matrix.cols;
      checkShape('numerator', numerator, rank, cols);
      checkShape('denominator', denominator, rank, cols);
      const { kernels } = this.backend;
      const num = new Float64Array(rank * cols);
      const den = beta === 1 ? null : new Float64Array(rank * cols);
      for (const [bi, rs] of this.grid.rowSpans.entries()) {
        const w = this.wBlock(W, rs);
        for (const [bj, cs] of this.grid.colSpans.entries()) {
          const h = this.hBlock(H, cs);
          const cw = spanLength(cs);
          const ratio = await kernels.betaTerm(this.tiles[bi]![bj]!, w, h, beta, 'ratio');
          try {
            addBlock(num, cols, 0, cs.start, await kernels.product('TN', w, ratio), rank, cw);
          } finally {
            kernels.release(ratio);
          }
          if (den) {
            const power = await kernels.betaTerm(this.tiles[bi]![bj]!, w, h, beta, 'power');
            try {
              addBlock(den, cols, 0, cs.start, await kernels.product('TN', w, power), rank, cw);
            } finally {
              kernels.release(power);
            }
          }
        }
      }
      numerator.data.set(num);
      if (den) {
        denominator.data.set(den);
      } else {
        // β = 1: Wᵀ·1 = the column sums of W, broadcast (plain sums: the engine applies scikit-learn's fix-ups)
        for (let k = 0; k < rank; k++) {
          let s = 0;
          for (let i = 0; i < W.rows; i++) s += W.data[i * rank + k]!;
          denominator.data.fill(s, k * cols, (k + 1) * cols);
        }
      }
    });
  }

  betaTermsW(W: Matrix, H: Matrix, beta: number, numerator: Matrix, denominator: Matrix): Promise<void> {
    return this.backend.serial(async () => {
      this.check();
      const rank = this.checkFactors(W, H);
      const rows = this.matrix.rows;
      checkShape('numerator', numerator, rows, rank);
      checkShape('denominator', denominator, rows, rank);
      const { kernels } = this.backend;
      const num = new Float64Array(rows * rank);
      const den = beta === 1 ? null : new Float64Array(rows * rank);
      for (const [bj, cs] of this.grid.colSpans.entries()) {
        const h = this.hBlock(H, cs);
        for (const [bi, rs] of this.grid.rowSpans.entries()) {
          const w = this.wBlock(W, rs);
          const rh = spanLength(rs);
          const ratio = await kernels.betaTerm(this.tiles[bi]![bj]!, w, h, beta, 'ratio');
          try {
            addBlock(num, rank, rs.start, 0, await kernels.product('NT', ratio, h), rh, rank);
          } finally {
            kernels.release(ratio);
          }
          if (den) {
            const power = await kernels.betaTerm(this.tiles[bi]![bj]!, w, h, beta, 'power');
            try {
              addBlock(den, rank, rs.start, 0, await kernels.product('NT', power, h), rh, rank);
            } finally {
              kernels.release(power);
            }
          }
        }
      }
      numerator.data.set(num);
      if (den) {
        denominator.data.set(den);
      } else {
        // β = 1: 1·Hᵀ = the row sums of H, broadcast (scikit-learn's H_sum)
        const cols = H.cols;
        for (let k = 0; k < rank; k++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += H.data[k * cols + j]!;
          for (let i = 0; i < rows; i++) denominator.data[i * rank + k] = s;
        }
      }
    });
  }

  betaDivergence(W: Matrix, H: Matrix, beta: number): Promise<number> {
    return this.divergencePass(W, H, beta, false).then((d) => d.beta);
  }

  /** betaDivergence for β and for 2 from one dispatch per tile: V and W·H are read on the device once per call. */
  divergences(W: Matrix, H: Matrix, beta: number): Promise<{ beta: number; frobenius: number }> {
    return this.divergencePass(W, H, beta, beta !== 2);
  }

  private divergencePass(W: Matrix, H: Matrix, beta: number, withFrobenius: boolean): Promise<{ beta: number; frobenius: number }> {
    return this.backend.serial(async () => {
      this.check();
      this.checkFactors(W, H);
      let sumBeta = 0;
      let sumFro = 0;
      for (const [bi, rs] of this.grid.rowSpans.entries()) {
        const w = this.wBlock(W, rs);
        for (const [bj, cs] of this.grid.colSpans.entries()) {
          const parts = await this.backend.kernels.lossPartials(this.tiles[bi]![bj]!, w, this.hBlock(H, cs), beta, withFrobenius);
          // the first half holds the β terms, the second (when asked for) the Frobenius terms
          const half = withFrobenius ? parts.length / 2 : parts.length;
          for (let i = 0; i < half; i++) sumBeta += parts[i]!;
          for (let i = half; i < parts.length; i++) sumFro += parts[i]!;
        }
      }
      const scaled = beta === 2 ? sumBeta / 2 : beta === 1 || beta === 0 ? sumBeta : sumBeta / (beta * (beta - 1));
      return { beta: scaled, frobenius: beta === 2 ? scaled : sumFro / 2 };
    });
  }

  /**
   * Whole Frobenius MU iterations on the device (see BoundV.muFrobenius). Takes V whole: its tile when V is one tile,
   * else a copy of V in one buffer when the device allows one that large; declines otherwise.
   */
  muFrobenius(W: Matrix, H: Matrix, iterations: number, resume: boolean, read: boolean): Promise<{ terms: FrobeniusTerms | null } | null> {
    return this.backend.serial(async () => {
      this.check();
      const rank = this.checkFactors(W, H);
      const { rows, cols } = this.matrix;
      if (this.resident === null) {
        const { maxElements, maxSide } = this.backend.runtime;
        const fits = rows * cols <= maxElements && Math.max(rows, cols) + rank + 1 <= maxSide && (cols + rank) * rank <= maxElements;
        const single = this.grid.rowSpans.length === 1 && this.grid.colSpans.length === 1;
        this.resident = fits ? new ResidentMu(this.backend.kernels, single ? { tile: this.tiles[0]![0]! } : { host: this.matrix }) : false;
      }
      if (this.resident === false || iterations < 1) return null;
      const terms = await this.resident.run(W, H, iterations, resume, read);
      const { calls, readbacks } = this.residentCost;
      this.residentCost = { calls: calls + 1, readbacks: readbacks + (read ? 1 : 0), ...this.resident.lastRun };
      return { terms };
    });
  }

  private dropResident(): void {
    if (this.resident) this.resident.dispose();
    this.resident = null;
  }

  setCells(indices: Uint32Array, values: ArrayLike<number>): Promise<void> {
    return this.backend.serial(async () => {
      this.check();
      // the resident updates hold V (or Vᵀ) as it was
      this.dropResident();
      if (values.length !== indices.length) {
        throw new RangeError(`setCells: ${indices.length} indices but ${values.length} values`);
      }
      const { rows, cols } = this.matrix;
      const size = rows * cols;
      // copy on first write: the caller's matrix is never changed
      if (!this.ownsV) {
        this.matrix = { rows, cols, data: float32Copy(this.matrix.data) };
        this.ownsV = true;
      }
      const touched = new Set<number>();
      const { rowSpans, colSpans } = this.grid;
      for (let n = 0; n < indices.length; n++) {
        const idx = indices[n]!;
        if (idx >= size) throw new RangeError(`setCells: index ${idx} is outside the ${rows}×${cols} matrix`);
        this.matrix.data[idx] = values[n]!;
        const i = Math.floor(idx / cols);
        const j = idx - i * cols;
        touched.add(spanIndex(rowSpans, i) * colSpans.length + spanIndex(colSpans, j));
      }
      try {
        for (const t of touched) {
          const bi = Math.floor(t / colSpans.length);
          const bj = t % colSpans.length;
          const fresh = await this.uploadTile(rowSpans[bi]!, colSpans[bj]!);
          this.backend.kernels.free(this.tiles[bi]![bj]!);
          this.tiles[bi]![bj] = fresh;
        }
      } finally {
        this.settleUploaders();
      }
    });
  }

  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.backend.isDisposed) {
      this.disposed = true;
      return Promise.resolve();
    }
    return this.backend.serial(async () => {
      if (this.disposed) return;
      this.disposed = true;
      this.dropResident();
      this.freeTiles();
      this.backend.forget(this);
    });
  }
}

/** Which of the even spans holds index i. */
function spanIndex(spans: readonly Span[], i: number): number {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.end <= i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

