// The tiled encoder's per-tile work (spectra and fits), on every core: worker threads that each take a share of the
// tiles, or the calling thread alone when there are too few tiles to be worth a thread's start.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BLOCK_FIT_DEFAULTS, blockSpectrum, fitBlock } from '../engine/block-fit.js';
import { blockKernel } from '../backends/cpu/block-kernel.js';
import type { BlockFitOptions } from '../engine/block-fit.js';
import { quantizePlane } from './quantize.js';
import { reconstructTiles, tileGrid } from './tiles.js';
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
  fit: Partial<BlockFitOptions>;
}

export type TileJob = SpectrumJob | FitJob;
/**
 * A spectrum job gives the tile's error against rank; a fit job its quantised factors, iterations, and the squared
 * error of what the decoder makes of them (in [0, 1] units, before deblocking and rounding).
 */
export type TileOutcome = { residual: Float64Array } | { q: QuantizedPlane; iterations: number; error: number };

/** The job's tile, cut from its plane (rows×cols, row-major). */
function tileSamples(job: TileSource, planes: SharedPlanes): Float32Array {
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
  const V = tileSamples(job, planes);
  const kernel = blockKernel();
  const spectrum = kernel ? kernel.spectrum.bind(kernel) : blockSpectrum;
  if (job.kind === 'spectrum') return { residual: spectrum(V, job.rows, job.cols, job.r, job.seed).residual };
  const sp = spectrum(V, job.rows, job.cols, job.k, job.seed);
  const options = { ...BLOCK_FIT_DEFAULTS, ...job.fit };
  const f = kernel ? kernel.fit(V, sp, job.k, options) : fitBlock(V, sp, job.k, options);
  const q = quantizePlane({ rows: job.rows, cols: job.k, data: f.W }, { rows: job.k, cols: job.cols, data: f.H }, job.bits);
  const D = reconstructTiles([q], tileGrid(job.rows, job.cols, Math.max(job.rows, job.cols)), job.bits, 1);
  let error = 0;
  for (let c = 0; c < V.length; c++) error += (D[c]! - V[c]!) ** 2;
  return { q, iterations: f.iterations, error };
}

/** Below this many tile samples in one call, threads cost more to start and feed than they save. */
const THREADED_SAMPLES = 1 << 20;

/**
 * Worker threads for tile jobs, started on first use of a large call and kept for the encoder's life (close()
 * ends them). They read the tiles from the shared planes; jobs are handed out in chunks, each worker taking the next
 * when it finishes, so uneven tiles even out.
 */
export class TileWorkers {
  private workers: Worker[] = [];
  readonly threads: number;

  constructor(
    private readonly planes: SharedPlanes,
    threads = availableParallelism(),
  ) {
    this.threads = Math.max(1, Math.min(16, Math.floor(threads)));
  }

  /** Runs the jobs and gives back their outcomes in order. */
  async run(jobs: readonly TileJob[], onDone?: (done: number) => void): Promise<TileOutcome[]> {
    const count = jobs.length;
    const samples = jobs.reduce((s, j) => s + j.rows * j.cols, 0);
    if (this.threads < 2 || samples < THREADED_SAMPLES) {
      return jobs.map((job, i) => {
        const out = runTileJob(job, this.planes);
        if (i % 32 === 31) onDone?.(i + 1);
        return out;
      });
    }
    if (this.workers.length === 0) {
      this.workers = Array.from({ length: this.threads }, () => {
        const w = new Worker(new URL('./tile-worker.js', import.meta.url), { execArgv: [], workerData: this.planes });
        w.unref();
        return w;
      });
    }
    const results: TileOutcome[] = new Array(count);
    const chunk = Math.max(1, Math.min(64, Math.ceil(count / (this.threads * 8))));
    let next = 0;
    let done = 0;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let from = 0;
            const give = (): void => {
              if (next >= count) {
                w.off('message', onMessage);
                w.off('error', onError);
                resolve();
                return;
              }
              from = next;
              const part = jobs.slice(from, Math.min(count, from + chunk));
              next += part.length;
              w.postMessage(part);
            };
            const onMessage = (outcomes: TileOutcome[]): void => {
              outcomes.forEach((o, i) => (results[from + i] = o));
              done += outcomes.length;
              onDone?.(done);
              give();
            };
            const onError = (err: unknown): void => reject(err);
            w.on('message', onMessage);
            w.once('error', onError);
            give();
          }),
      ),
    );
    return results;
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
