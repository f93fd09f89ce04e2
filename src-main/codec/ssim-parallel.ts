// SSIM of large images split into bands of rows across worker threads; the same sums as ssim(), added in order.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkSameShape, ssim, ssimInteriorCount } from './metrics.js';
import type { SsimBand } from './ssim-worker.js';
import type { ImagePixels } from './types.js';
import { colourChannels } from './types.js';

/** Below this many pixels starting workers costs more than it saves. */
const PARALLEL_MIN_PIXELS = 1_000_000;
const MIN_ROWS_PER_BAND = 64;

function shared(data: Uint8Array | Uint16Array): SharedArrayBuffer {
  if (data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
    return data.buffer;
  }
  const buf = new SharedArrayBuffer(data.byteLength);
  new Uint8Array(buf).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return buf;
}

/**
 * ssim(a, b), computed by up to `threads` worker threads (default: one fewer than the cores, at most 8, so that the
 * rest of the program keeps a core). The result equals ssim()'s to rounding of the final sum; small images, and
 * machines with two cores or fewer, compute it on this thread.
 */
export async function ssimParallel(a: ImagePixels, b: ImagePixels, threads = Math.min(8, availableParallelism() - 1)): Promise<number> {
  checkSameShape(a, b);
  const interior = ssimInteriorCount(a.width, a.height);
  const bands = Math.min(threads, Math.floor(a.height / MIN_ROWS_PER_BAND));
  if (a.width * a.height < PARALLEL_MIN_PIXELS || bands < 2 || interior === 0) return ssim(a, b);
  const sa = shared(a.data);
  const sb = shared(b.data);
  const colours = colourChannels(a);
  const step = Math.ceil(a.height / bands);
  const jobs: Promise<number[]>[] = [];
  for (let k = 0; k < bands; k++) {
    const band: SsimBand = {
      a: sa,
      b: sb,
      bitDepth: a.bitDepth,
      width: a.width,
      height: a.height,
      channels: a.channels,
      rowStart: k * step,
      rowEnd: Math.min(a.height, (k + 1) * step),
    };
    jobs.push(
      new Promise<number[]>((resolve, reject) => {
        const worker = new Worker(new URL('./ssim-worker.js', import.meta.url), { workerData: band });
        worker.once('message', (sums: number[]) => resolve(sums));
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`SSIM worker exited with code ${code}`));
        });
      }),
    );
  }
  const results = await Promise.all(jobs);
  let total = 0;
  for (let c = 0; c < colours; c++) {
    let sum = 0;
    for (const r of results) sum += r[c]!;
    total += sum / interior;
  }
  return total / colours;
}
