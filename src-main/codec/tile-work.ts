// The tiled encoder's per-tile work (spectra and fits), on every core: worker threads that each take a share of the
// tiles, or the calling thread alone when there are too few tiles to be worth a thread's start.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BLOCK_FIT_DEFAULTS, blockSpectrum, fitBlock, nndsvdStart } from '../engine/block-fit.js';
import { blockKernel } from '../backends/cpu/block-kernel.js';
import type { TileSamples } from '../backends/cpu/block-kernel.js';
import type { BlockFitOptions } from '../engine/block-fit.js';
import { levels, quantizePlane } from './quantize.js';
import { encodeTileCodes } from './range-coder.js';
import type { RangeBits, TileCodes } from './range-coder.js';
import { bandSums } from './ssim-parallel.js';
import type { SsimBand } from './ssim-parallel.js';
import { BorderStrips, reconstructTiles, tileEdges, tileGrid } from './tiles.js';
import type { QuantizedPlane } from './quantize.js';
import type { QuantBits } from './types.js';

/**
 * The image's planes, in memory shared with the worker threads (so a job names its tile instead of carrying its
 * samples): row-major, cols[p] wide, values in [0, 1].
 */
export interface SharedPlanes {
  data: Float32Array[];
  cols: number[];
}

/** Where a job's tile is: a plane and a rectangle of it. */
export interface TileSource {
  plane: number;
  x: number;
  y: number;
  rows: number;
  cols: number;
}

export interface SpectrumJob extends TileSource {
  kind: 'spectrum';
  r: number;
  seed: number;
}

export interface FitJob extends TileSource {
  kind: 'fit';
  k: number;
  seed: number;
  bits: QuantBits;
  /** The fit quantised at these bits too (its outcome's `alt`): what the encoder weighs the bits it uses by. */
  alsoBits?: QuantBits;
  fit: Partial<BlockFitOptions>;
}

/** A fit's start on the host, for a fitter elsewhere (the GPU backend's batches): the NNDSVD factors of rank k. */
export interface StartJob extends TileSource {
  kind: 'start';
  k: number;
  seed: number;
}

/** A fit made elsewhere, quantised and measured on the host. */
export interface FinishJob extends TileSource {
  kind: 'finish';
  k: number;
  bits: QuantBits;
  alsoBits?: QuantBits;
  W: Float32Array;
  H: Float32Array;
  iterations: number;
}

/** SSIM-map sums of a band of the original and a decoded image (the threads are idle once the tiles are fitted). */
export interface SsimJob {
  kind: 'ssim';
  band: SsimBand;
  rows: number;
  cols: number;
}

/** A file's factor codes range-coded (on a tile thread, while the encoder's thread decodes the image). */
export interface CodesJob {
  kind: 'codes';
  tiles: TileCodes[];
  bits: RangeBits;
  rows: 0;
  cols: 0;
}

/**
 * What the encoder measures its builds against and is the same for each: the original planes' border strips (at this
 * tile size). Made on a tile thread while the encoder's thread weighs its sample.
 */
export interface OriginalJob {
  kind: 'original';
  tileSize: number;
  rows: 0;
  cols: 0;
}

export type TileJob = SpectrumJob | FitJob | StartJob | FinishJob | SsimJob | CodesJob | OriginalJob;
/**
 * A spectrum job gives the tile's error against rank; a fit job its quantised factors, iterations, and the squared
 * error of what the decoder makes of them (in [0, 1] units, before deblocking and rounding).
 */
export type TileOutcome =
  | { residual: Float64Array }
  | TileFitOutcome
  | { W0: Float32Array; H0: Float32Array }
  | { sums: number[] }
  | { coded: Uint8Array }
  | { strips: { vertical: Float32Array; horizontal: Float32Array }[] };

/** A fit quantised: its codes, iterations, the squared error of what the decoder makes of them, that tile's edges. */
export interface TileFitOutcome {
  q: QuantizedPlane;
  iterations: number;
  error: number;
  edges: Float32Array;
  /** The same fit quantised at the job's alsoBits. */
  alt?: TileFitOutcome;
}

/** The job's tile, cut from its plane (rows×cols, row-major). */
export function tileSamples(job: TileSource, planes: SharedPlanes): Float32Array {
  const src = planes.data[job.plane]!;
  const stride = planes.cols[job.plane]!;
  const out = new Float32Array(job.rows * job.cols);
  for (let i = 0; i < job.rows; i++) {
    const at = (job.y + i) * stride + job.x;
    out.set(src.subarray(at, at + job.cols), i * job.cols);
  }
  return out;
}

/** Does one job; the same code on the calling thread and in the workers. */
export function runTileJob(job: TileJob, planes: SharedPlanes): TileOutcome {
  if (job.kind === 'ssim') return { sums: bandSums(job.band) };
  if (job.kind === 'codes') return { coded: encodeTileCodes(job.tiles, job.bits) };
  if (job.kind === 'original') return { strips: originalStrips(planes, job.tileSize) };
  const kernel = blockKernel();
  // The kernel copies the tile from its plane itself; the TypeScript loops take a copy of their own.
  const samples = kernel ? undefined : tileSamples(job, planes);
  const V: TileSamples = samples ?? { plane: planes.data[job.plane]!, stride: planes.cols[job.plane]!, at: job.y * planes.cols[job.plane]! + job.x };
  if (job.kind === 'finish') return quantizedAt(V, job, job.W, job.H, job.iterations);
  if (job.kind === 'spectrum') return { residual: kernel ? kernel.spectrum(V, job.rows, job.cols, job.r, job.seed, true).residual : blockSpectrum(samples!, job.rows, job.cols, job.r, job.seed).residual };
  const sp = kernel ? kernel.spectrum(V, job.rows, job.cols, job.k, job.seed) : blockSpectrum(samples!, job.rows, job.cols, job.k, job.seed);
  if (job.kind === 'start') {
    const { W, H } = nndsvdStart(sp, job.k);
    return { W0: Float32Array.from(W), H0: Float32Array.from(H) };
  }
  const options = { ...BLOCK_FIT_DEFAULTS, ...job.fit };
  const f = kernel ? kernel.fit(V, sp, job.k, options) : fitBlock(samples!, sp, job.k, options);
  return quantizedAt(V, job, f.W, f.H, f.iterations);
}

/** quantized at the job's bits, and at its alsoBits where it names them. */
function quantizedAt(V: TileSamples, job: FitJob | FinishJob, W: ArrayLike<number>, H: ArrayLike<number>, iterations: number): TileFitOutcome {
  const out = quantized(V, job, W, H, iterations, job.bits);
  if (job.alsoBits !== undefined) out.alt = quantized(V, job, W, H, iterations, job.alsoBits);
  return out;
}

/** The original's border strips, plane by plane (OriginalJob). */
export function originalStrips(planes: SharedPlanes, tileSize: number): { vertical: Float32Array; horizontal: Float32Array }[] {
  return planes.data.map((V, p) => {
    const cols = planes.cols[p]!;
    const s = BorderStrips.of(V, tileGrid(V.length / cols, cols, tileSize));
    return { vertical: s.vertical, horizontal: s.horizontal };
  });
}

/** A tile's factors quantised, with the squared error of what the decoder makes of them and that tile's tileEdges. */
function quantized(V: TileSamples, at: TileSource, W: ArrayLike<number>, H: ArrayLike<number>, iterations: number, bits: QuantBits): TileFitOutcome {
  const k = W.length / at.rows;
  const q = quantizePlane({ rows: at.rows, cols: k, data: Float64Array.from(W) }, { rows: k, cols: at.cols, data: Float64Array.from(H) }, bits, true);
  // In the kernel where it runs (V is still in its memory from the fit); reconstructTiles and a loop here cost a
  // tenth of a small tile's whole job.
  const kernel = blockKernel();
  if (kernel) {
    const { error, decoded } = kernel.decodedError(V, at.rows, at.cols, q, levels(bits));
    return { q, iterations, error, edges: tileEdges(decoded, at.rows, at.cols) };
  }
  const D = reconstructTiles([q], tileGrid(at.rows, at.cols, Math.max(at.rows, at.cols)), bits, 1);
  const samples = V as ArrayLike<number>; // without the kernel, runTileJob gave the tile's own copy
  let error = 0;
  for (let c = 0; c < samples.length; c++) error += (D[c]! - samples[c]!) ** 2;
  return { q, iterations, error, edges: tileEdges(D, at.rows, at.cols) };
}

/**
 * Below this many tile samples in one call, threads cost more to start than they save; once started they are worth
 * feeding any two jobs (a job names its tile in the shared planes, and its answer is a tile's codes).
 */
const THREADED_SAMPLES = 1 << 20;

/** What the encoder's thread sends a tile worker, and what it answers. */
export type TileWorkerMessage =
  | { kind: 'planes'; id: number; planes: SharedPlanes }
  | { kind: 'drop'; id: number }
  | { kind: 'jobs'; id: number; planes: number; jobs: TileJob[] };
export interface TileWorkerReply {
  id: number;
  outcomes: TileOutcome[];
}

interface PooledWorker {
  worker: Worker;
  /** Replies awaited, by message id. */
  waiting: Map<number, { resolve: (o: TileOutcome[]) => void; reject: (e: unknown) => void }>;
}

/**
 * The process's tile threads, shared by every encoder it runs (a batch's images one after another or side by side):
 * a thread costs a module load, a WebAssembly compile and a JIT warm-up, which a 1-MP photograph would otherwise pay
 * again and again. Threads are started on first need and do not keep the process alive while idle.
 */
class TilePool {
  private readonly workers: PooledWorker[] = [];
  private readonly registered = new Map<number, SharedPlanes>();
  private nextId = 1;

  /** Whether `n` threads are running already. */
  started(n: number): boolean {
    return this.workers.length >= n;
  }

  /** The first `n` threads, started where they are not yet. */
  threads(n: number): PooledWorker[] {
    while (this.workers.length < n) {
      const worker = new Worker(new URL('./tile-worker.js', import.meta.url), { execArgv: [] });
      const pw: PooledWorker = { worker, waiting: new Map() };
      worker.on('message', (reply: TileWorkerReply) => {
        const w = pw.waiting.get(reply.id);
        pw.waiting.delete(reply.id);
        if (pw.waiting.size === 0) worker.unref();
        w?.resolve(reply.outcomes);
      });
      worker.on('error', (err) => {
        this.workers.splice(this.workers.indexOf(pw), 1);
        for (const w of pw.waiting.values()) w.reject(err);
        pw.waiting.clear();
      });
      for (const [id, planes] of this.registered) worker.postMessage({ kind: 'planes', id, planes } satisfies TileWorkerMessage);
      // After the listeners: a 'message' listener refs the thread again, and a thread waits for no reply yet.
      worker.unref();
      this.workers.push(pw);
    }
    return this.workers.slice(0, n);
  }

  register(planes: SharedPlanes): number {
    const id = this.nextId++;
    this.registered.set(id, planes);
    for (const { worker } of this.workers) worker.postMessage({ kind: 'planes', id, planes } satisfies TileWorkerMessage);
    return id;
  }

  drop(id: number): void {
    if (!this.registered.delete(id)) return;
    for (const { worker } of this.workers) worker.postMessage({ kind: 'drop', id } satisfies TileWorkerMessage);
  }

  /** The jobs done by one thread, on the registered planes `planes`. */
  send(pw: PooledWorker, planes: number, jobs: TileJob[]): Promise<TileOutcome[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      pw.waiting.set(id, { resolve, reject });
      pw.worker.ref(); // a reply is awaited: the process must wait for it
      pw.worker.postMessage({ kind: 'jobs', id, planes, jobs } satisfies TileWorkerMessage);
    });
  }
}

let pool: TilePool | null = null;

/**
 * Starts `threads` tile threads where the tiles of an image of this many pixels (in `planes` planes) will want them,
 * so that they load while its pixels are decoded (a thread takes about 80 ms to be of use); with no size, where a
 * caller expects a photograph.
 */
export function prestartTileThreads(pixels = Infinity, planes = 3, threads = availableParallelism()): void {
  const n = Math.max(1, Math.min(16, Math.floor(threads)));
  if (n >= 2 && pixels * planes >= THREADED_SAMPLES) (pool ??= new TilePool()).threads(n);
}

/**
 * An encoder's tile jobs on the process's tile threads (or on the calling thread when there are too few to be worth
 * handing out). Jobs are handed out in chunks, each thread taking the next when it finishes, so uneven tiles even out.
 */
export class TileWorkers {
  readonly threads: number;
  private planesId = 0;

  constructor(
    private readonly planes: SharedPlanes,
    threads = availableParallelism(),
  ) {
    this.threads = Math.max(1, Math.min(16, Math.floor(threads)));
  }

  /** Whether this encoder's threads are running (started by jobs before). */
  get running(): boolean {
    return this.threads >= 2 && !!pool?.started(this.threads);
  }

  /** Runs the jobs and gives back their outcomes in order (on the threads, however few, when `threaded`). */
  async run(jobs: readonly TileJob[], onDone?: (done: number) => void, threaded = false): Promise<TileOutcome[]> {
    const count = jobs.length;
    const samples = jobs.reduce((s, j) => s + j.rows * j.cols, 0);
    if (!threaded && (this.threads < 2 || count < 2 || (samples < THREADED_SAMPLES && !pool?.started(this.threads)))) {
      return jobs.map((job, i) => {
        const out = runTileJob(job, this.planes);
        if (i % 32 === 31) onDone?.(i + 1);
        return out;
      });
    }
    pool ??= new TilePool();
    const p = pool;
    // The least busy threads first: a job or two (a file's codes, a chunk of SSIM) go where nothing waits.
    const threads = p.threads(this.threads).sort((x, y) => x.waiting.size - y.waiting.size);
    if (!this.planesId) this.planesId = p.register(this.planes);
    const results: TileOutcome[] = new Array(count);
    const chunk = Math.max(1, Math.min(64, Math.ceil(count / (this.threads * 8))));
    let next = 0;
    let done = 0;
    await Promise.all(
      threads.map(async (pw) => {
        while (next < count) {
          const from = next;
          const part = jobs.slice(from, Math.min(count, from + chunk));
          next += part.length;
          const outcomes = await p.send(pw, this.planesId, part);
          outcomes.forEach((o, i) => (results[from + i] = o));
          done += outcomes.length;
          onDone?.(done);
        }
      }),
    );
    return results;
  }

  /** Lets the threads forget this encoder's planes (the threads stay for the next encoder). */
  async close(): Promise<void> {
    if (this.planesId) pool?.drop(this.planesId);
    this.planesId = 0;
  }
}
