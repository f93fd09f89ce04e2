// The tiled encoder's per-tile work (spectra and fits), on every core: worker threads that each take a share of the
// tiles, or the calling thread alone when there are too few tiles to be worth a thread's start.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BLOCK_FIT_DEFAULTS, blockSpectrum, fitBlock } from '../engine/block-fit.js';
import { blockKernel } from '../backends/cpu/block-kernel.js';
import type { BlockFitOptions } from '../engine/block-fit.js';
import { quantizePlane } from './quantize.js';
import type { QuantizedPlane } from './quantize.js';
import type { QuantBits } from './types.js';

/** One tile's samples (rows×cols, row-major) and what to do with them. */
export interface SpectrumJob {
  kind: 'spectrum';
  V: Float64Array;
  rows: number;
  cols: number;
  r: number;
  seed: number;
}

export interface FitJob {
  kind: 'fit';
  V: Float64Array;
  rows: number;
  cols: number;
  k: number;
  seed: number;
  bits: QuantBits;
  fit: Partial<BlockFitOptions>;
}

export type TileJob = SpectrumJob | FitJob;
/** A spectrum job gives the tile's error against rank; a fit job its quantised factors and iterations. */
export type TileOutcome = { residual: Float64Array } | { q: QuantizedPlane; iterations: number };

/** Does one job; the same code on the calling thread and in the workers. */
export function runTileJob(job: TileJob): TileOutcome {
  const kernel = blockKernel();
  const spectrum = kernel ? kernel.spectrum.bind(kernel) : blockSpectrum;
  if (job.kind === 'spectrum') return { residual: spectrum(job.V, job.rows, job.cols, job.r, job.seed).residual };
  const sp = spectrum(job.V, job.rows, job.cols, job.k, job.seed);
  const options = { ...BLOCK_FIT_DEFAULTS, ...job.fit };
  const f = kernel ? kernel.fit(job.V, sp, job.k, options) : fitBlock(job.V, sp, job.k, options);
  const q = quantizePlane({ rows: job.rows, cols: job.k, data: f.W }, { rows: job.k, cols: job.cols, data: f.H }, job.bits);
  return { q, iterations: f.iterations };
}

/** Below this many tile samples in one call, threads cost more to start and feed than they save. */
const THREADED_SAMPLES = 1 << 20;

/**
 * Worker threads for tile jobs, started on first use of a large call and kept for the encoder's life (close()
 * ends them). Jobs are handed out in chunks, each worker taking the next when it finishes, so uneven tiles even out.
 */
export class TileWorkers {
  private workers: Worker[] = [];
  readonly threads: number;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, Math.min(16, Math.floor(threads)));
  }

  /**
   * Runs `count` jobs, made one chunk at a time by `make` (a job holds a copy of its tile's samples: made all at
   * once they would double the memory the planes take), and gives back their outcomes in order. `samples` is their
   * total size, which decides whether threads are worth starting.
   */
  async run(count: number, make: (i: number) => TileJob, samples: number, onDone?: (done: number) => void): Promise<TileOutcome[]> {
    if (this.threads < 2 || samples < THREADED_SAMPLES) {
      return Array.from({ length: count }, (_, i) => {
        const out = runTileJob(make(i));
        if (i % 32 === 31) onDone?.(i + 1);
        return out;
      });
    }
    if (this.workers.length === 0) {
      this.workers = Array.from({ length: this.threads }, () => {
        const w = new Worker(new URL('./tile-worker.js', import.meta.url), { execArgv: [] });
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
              const part = Array.from({ length: Math.min(count, from + chunk) - from }, (_, i) => make(from + i));
              next += part.length;
              w.postMessage(part, part.map((j) => j.V.buffer as ArrayBuffer));
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
