// SSIM of large images split into bands of rows across worker threads; the same sums as ssim(), added in order.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkSameShape, ssim, SSIM_RADIUS, ssimInteriorCount, ssimSums } from './metrics.js';
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

/** The rows [from, to) of an image's samples (whole pixels), copied into shared memory. */
function sharedRows(img: ImagePixels, from: number, to: number): SharedArrayBuffer {
  const row = img.width * img.channels;
  const src = img.data.subarray(from * row, to * row);
  const buf = new SharedArrayBuffer(src.byteLength);
  new Uint8Array(buf).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  return buf;
}

/** Bands of rows [start, end) of the image, at least MIN_ROWS_PER_BAND rows each; null when the image is too small. */
function bandRows(a: ImagePixels, bands: number): [number, number][] | null {
  const count = Math.min(bands, Math.floor(a.height / MIN_ROWS_PER_BAND));
  if (a.width * a.height < PARALLEL_MIN_PIXELS || count < 2 || ssimInteriorCount(a.width, a.height) === 0) return null;
  const step = Math.ceil(a.height / count);
  return Array.from({ length: count }, (_, k): [number, number] => [k * step, Math.min(a.height, (k + 1) * step)]);
}

/** SSIM from its bands' sums (in band order), as ssim() makes it from the whole image's. */
function totalOf(a: ImagePixels, sums: readonly number[][]): number {
  const interior = ssimInteriorCount(a.width, a.height);
  const colours = colourChannels(a);
  let t = 0;
  for (let c = 0; c < colours; c++) {
    let sum = 0;
    for (const r of sums) sum += r[c]!;
    t += sum / interior;
  }
  return t / colours;
}

/**
 * ssim(a, b) cut into `bands` bands of rows: the first summed on this thread from the images themselves, each other by
 * `elsewhere` (another thread) from a copy of its own rows and the window's reach around them, so that neither image
 * is copied whole. Small images are ssim()'d here.
 */
export async function ssimInBands(a: ImagePixels, b: ImagePixels, bands: number, elsewhere: (bands: SsimBand[]) => Promise<number[][]>): Promise<number> {
  checkSameShape(a, b);
  const rows = bandRows(a, bands);
  if (!rows) return ssim(a, b);
  const copies = rows.slice(1).map(([start, end]): SsimBand => {
    const from = Math.max(0, start - SSIM_RADIUS);
    const to = Math.min(a.height, end + SSIM_RADIUS);
    return { a: sharedRows(a, from, to), b: sharedRows(b, from, to), bitDepth: a.bitDepth, width: a.width, height: to - from, channels: a.channels, rowStart: start - from, rowEnd: end - from };
  });
  const others = elsewhere(copies);
  const first = ssimSums(a, b, rows[0]![0], rows[0]![1]);
  return totalOf(a, [first, ...(await others)]);
}

/** Rows of SSIM output a chunk of SsimAsDecoded takes at least (each chunk also filters the window's reach around it). */
const MIN_ROWS_PER_CHUNK = 96;
/** Chunks of SsimAsDecoded at most. */
const MAX_CHUNKS = 16;

/**
 * ssim(a, b) for a decoded image b whose rows become final in order (a decoder's bands): each chunk of rows goes to
 * `elsewhere` (another thread) once it and the window's reach below it are decoded, so that most sums are made while
 * the decoder still runs; finish() adds the rest. At most `threads` chunks are out at once, each with a copy of its
 * rows, so that a decoder faster than the threads does not pile up copies (16 MP: 73 MB of them). The chunks' sums
 * are added in order, as ssimInBands adds its bands'. Small images are ssim()'d by finish().
 */
export class SsimAsDecoded {
  private readonly rows: [number, number][] | null;
  /** b's samples as the decoder writes them. */
  private data: Uint8Array | Uint16Array | null = null;
  /** Chunks whose rows are final, chunks handed out, chunks out now. */
  private ready = 0;
  private handed = 0;
  private out = 0;
  private readonly sums: number[][] = [];
  private failure: { error: unknown } | null = null;
  private whenDone: (() => void) | null = null;

  constructor(
    private readonly a: ImagePixels,
    private readonly threads: number,
    private readonly elsewhere: (bands: SsimBand[]) => Promise<number[][]>,
  ) {
    const chunks = Math.max(2, Math.min(MAX_CHUNKS, Math.floor(a.height / MIN_ROWS_PER_CHUNK)));
    this.rows = bandRows(a, chunks);
  }

  /** Rows [0, y) of b's samples (`data`, b's shape) are final: the chunks they complete can be handed out. */
  decoded(data: Uint8Array | Uint16Array, y: number): void {
    const rows = this.rows;
    if (!rows) return;
    this.data = data;
    while (this.ready < rows.length && Math.min(this.a.height, rows[this.ready]![1] + SSIM_RADIUS) <= y) this.ready++;
    this.handOut();
  }

  private handOut(): void {
    const rows = this.rows!;
    const a = this.a;
    const b: ImagePixels = { ...a, data: this.data! };
    while (this.out < this.threads && this.handed < this.ready && !this.failure) {
      const i = this.handed++;
      const [start, end] = rows[i]!;
      const from = Math.max(0, start - SSIM_RADIUS);
      const to = Math.min(a.height, end + SSIM_RADIUS);
      const band: SsimBand = { a: sharedRows(a, from, to), b: sharedRows(b, from, to), bitDepth: a.bitDepth, width: a.width, height: to - from, channels: a.channels, rowStart: start - from, rowEnd: end - from };
      this.out++;
      this.elsewhere([band]).then(
        (sums) => {
          this.sums[i] = sums[0]!;
          this.out--;
          this.handOut();
          if (this.handed === rows.length && this.out === 0) this.whenDone?.();
        },
        (error: unknown) => {
          this.failure = { error };
          this.whenDone?.();
        },
      );
    }
  }

  /** The SSIM of a and b, b now decoded whole. */
  async finish(b: ImagePixels): Promise<number> {
    checkSameShape(this.a, b);
    const rows = this.rows;
    if (!rows) return ssim(this.a, b);
    this.decoded(b.data, b.height);
    if (!(this.handed === rows.length && this.out === 0) && !this.failure) await new Promise<void>((done) => (this.whenDone = done));
    if (this.failure) throw this.failure.error;
    return totalOf(this.a, this.sums);
  }
}

/**
 * ssim(a, b), computed by up to `threads` worker threads started for it (default: one fewer than the cores, at most
 * 8, so that the rest of the program keeps a core). The result equals ssim()'s to rounding of the final sum; small
 * images, and machines with two cores or fewer, compute it on this thread.
 */
export async function ssimParallel(a: ImagePixels, b: ImagePixels, threads = Math.min(8, availableParallelism() - 1)): Promise<number> {
  checkSameShape(a, b);
  const rows = bandRows(a, threads);
  if (!rows) return ssim(a, b);
  const sa = shared(a.data);
  const sb = shared(b.data);
  const bands = rows.map(([rowStart, rowEnd]): SsimBand => ({ a: sa, b: sb, bitDepth: a.bitDepth, width: a.width, height: a.height, channels: a.channels, rowStart, rowEnd }));
  const results = await Promise.all(
    bands.map(
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
  return totalOf(a, results);
}
