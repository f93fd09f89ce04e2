// SSIM of large images split into bands of rows across worker threads; the same sums as ssim(), added in order.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkSameShape, ssim, ssimInteriorCount, ssimSums } from './metrics.js';
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

/** A band of rows of two images in shared memory, whose SSIM-map sums a thread computes. */
export interface SsimBand {
  a: SharedArrayBuffer;
  b: SharedArrayBuffer;
  bitDepth: 8 | 16;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  rowStart: number;
  rowEnd: number;
}

/** The SSIM-map sums of a band, for every colour channel (on whichever thread is given it). */
export function bandSums(band: SsimBand): number[] {
  const view = (buf: SharedArrayBuffer): Uint8Array | Uint16Array => (band.bitDepth === 16 ? new Uint16Array(buf) : new Uint8Array(buf));
  const image = (buf: SharedArrayBuffer): ImagePixels => ({ width: band.width, height: band.height, channels: band.channels, bitDepth: band.bitDepth, data: view(buf) });
  return ssimSums(image(band.a), image(band.b), band.rowStart, band.rowEnd);
}

/**
 * ssim(a, b) cut into `bands` bands of rows for threads to sum, and how their sums make the SSIM; null where the image
 * is too small to be worth it (then ssim() it is).
 */
export function ssimBands(a: ImagePixels, b: ImagePixels, bands: number): { bands: SsimBand[]; total: (sums: readonly number[][]) => number } | null {
  checkSameShape(a, b);
  const interior = ssimInteriorCount(a.width, a.height);
  const count = Math.min(bands, Math.floor(a.height / MIN_ROWS_PER_BAND));
  if (a.width * a.height < PARALLEL_MIN_PIXELS || count < 2 || interior === 0) return null;
  const sa = shared(a.data);
  const sb = shared(b.data);
  const step = Math.ceil(a.height / count);
  const out: SsimBand[] = [];
  for (let k = 0; k < count; k++) {
    out.push({ a: sa, b: sb, bitDepth: a.bitDepth, width: a.width, height: a.height, channels: a.channels, rowStart: k * step, rowEnd: Math.min(a.height, (k + 1) * step) });
  }
  const total = (sums: readonly number[][]): number => {
    const colours = colourChannels(a);
    let t = 0;
    for (let c = 0; c < colours; c++) {
      let sum = 0;
      for (const r of sums) sum += r[c]!;
      t += sum / interior;
    }
    return t / colours;
  };
  return { bands: out, total };
}

/**
 * ssim(a, b), computed by up to `threads` worker threads started for it (default: one fewer than the cores, at most
 * 8, so that the rest of the program keeps a core). The result equals ssim()'s to rounding of the final sum; small
 * images, and machines with two cores or fewer, compute it on this thread.
 */
export async function ssimParallel(a: ImagePixels, b: ImagePixels, threads = Math.min(8, availableParallelism() - 1)): Promise<number> {
  const split = ssimBands(a, b, threads);
  if (!split) return ssim(a, b);
  const results = await Promise.all(
    split.bands.map(
      (band) =>
        new Promise<number[]>((resolve, reject) => {
          const worker = new Worker(new URL('./ssim-worker.js', import.meta.url), { workerData: band });
          worker.once('message', (sums: number[]) => resolve(sums));
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`SSIM worker exited with code ${code}`));
          });
        }),
    ),
  );
  return split.total(results);
}
