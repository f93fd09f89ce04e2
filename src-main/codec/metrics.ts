// Image quality (PSNR, SSIM as scikit-image computes it, relative error) and the compression ratios users see.

import { SSIM_WASM_BASE64 } from './kernel/ssim-wasm.js';
import type { ImagePixels } from './types.js';
import { colourChannels, maxValue } from './types.js';

export function checkSameShape(a: ImagePixels, b: ImagePixels): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels || a.bitDepth !== b.bitDepth) {
    throw new RangeError(
      `images differ in shape: ${a.width}×${a.height}×${a.channels} (${a.bitDepth}-bit) vs ${b.width}×${b.height}×${b.channels} (${b.bitDepth}-bit)`,
    );
  }
}

/** Mean squared error over the colour channels (alpha is stored losslessly and left out). */
export function mse(a: ImagePixels, b: ImagePixels): number {
  checkSameShape(a, b);
  return squaredSum(a, b) / (a.width * a.height * colourChannels(a));
}

/**
 * Σ (a − b)² over the colour samples, or with no b Σ a²: pixel by pixel, channel by channel. Without alpha the samples
 * are all colours and one flat loop takes them in the same order (a photograph's, cold, in half the time).
 */
function squaredSum(a: ImagePixels, b: ImagePixels | null): number {
  const C = a.channels;
  const colours = colourChannels(a);
  const x = a.data;
  const y = b?.data;
  let sum = 0;
  if (colours === C) {
    if (y) {
      for (let i = 0; i < x.length; i++) {
        const d = x[i]! - y[i]!;
        sum += d * d;
      }
    } else {
      for (let i = 0; i < x.length; i++) sum += x[i]! * x[i]!;
    }
    return sum;
  }
  const n = a.width * a.height;
  for (let p = 0; p < n; p++) {
    const base = p * C;
    for (let c = 0; c < colours; c++) {
      const d = x[base + c]! - (y ? y[base + c]! : 0);
      sum += d * d;
    }
  }
  return sum;
}

/** Peak signal-to-noise ratio in dB, peak 255 (8-bit) or 65535 (16-bit), over all colour channels; Infinity when identical. */
export function psnr(a: ImagePixels, b: ImagePixels): number {
  const peak = maxValue(a.bitDepth);
  const m = mse(a, b);
  return m === 0 ? Infinity : 10 * Math.log10((peak * peak) / m);
}

/** Σ x² over an image's colour samples (alpha left out). */
export function energyOf(img: ImagePixels): number {
  return squaredSum(img, null);
}

/** ‖a − b‖_F / ‖a‖_F over the colour channels: the engine's relErr, measured on pixels. */
export function relErr(original: ImagePixels, decoded: ImagePixels): number {
  checkSameShape(original, decoded);
  const num = squaredSum(original, decoded);
  const den = squaredSum(original, null);
  return den === 0 ? (num === 0 ? 0 : Infinity) : Math.sqrt(num / den);
}

// scikit-image: gaussian_weights=True → sigma 1.5, truncate 3.5, radius int(3.5·1.5 + 0.5) = 5, an 11×11 window.
const SSIM_SIGMA = 1.5;
/** The Gaussian window's reach on either side of its centre. */
export const SSIM_RADIUS = 5;
const SSIM_WIN = 2 * SSIM_RADIUS + 1;
const SSIM_K1 = 0.01;
const SSIM_K2 = 0.03;

/** scipy.ndimage's 1-D Gaussian kernel (_gaussian_kernel1d), normalised to sum 1; symmetric, so g[k] for k = 0..radius. */
function gaussianHalfKernel(): Float64Array {
  const full = new Float64Array(SSIM_WIN);
  let sum = 0;
  for (let i = -SSIM_RADIUS; i <= SSIM_RADIUS; i++) {
    const v = Math.exp((-0.5 / (SSIM_SIGMA * SSIM_SIGMA)) * i * i);
    full[i + SSIM_RADIUS] = v;
    sum += v;
  }
  const half = new Float64Array(SSIM_RADIUS + 1);
  for (let k = 0; k <= SSIM_RADIUS; k++) half[k] = full[SSIM_RADIUS + k]! / sum;
  return half;
}
const G = gaussianHalfKernel();

/**
 * Sum of the SSIM map of one channel over output rows [rowStart, rowEnd) (clamped to the cropped interior), exactly
 * as skimage.metrics.structural_similarity computes the map with gaussian_weights=True, use_sample_covariance=False:
 * Gaussian-filtered means, variances and covariance. The mean SSIM is the sum over the interior ÷ its pixel count.
 *
 * Because skimage's crop equals the filter radius, no cropped-in pixel's window reaches the border, so scipy's
 * 'reflect' padding never enters the result and only interior windows are computed. The filter is separable: each
 * input row is filtered along the row once, the results kept in a ring of 11 rows, and each output row is the
 * weighted sum down that ring. The map needs vx + vy but never vx or vy alone, so x² + y² is filtered as one image:
 * four filtered images instead of five.
 */
export function ssimChannelSum(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  width: number,
  height: number,
  stride: number,
  offset: number,
  dataRange: number,
  rowStart = 0,
  rowEnd = height,
): number {
  const w = width;
  const r0 = Math.max(rowStart, SSIM_RADIUS);
  const r1 = Math.min(rowEnd, height - SSIM_RADIUS);
  if (r1 <= r0 || w < SSIM_WIN) return 0;
  const C1 = (SSIM_K1 * dataRange) ** 2;
  const C2 = (SSIM_K2 * dataRange) ** 2;
  const g0 = G[0]!, g1 = G[1]!, g2 = G[2]!, g3 = G[3]!, g4 = G[4]!, g5 = G[5]!;
  const iw = w - 2 * SSIM_RADIUS; // interior columns
  // Per ring row: four planes (x, y, x² + y², xy) of iw row-filtered values.
  const Q = 4;
  const ring = new Float64Array(SSIM_WIN * Q * iw);
  const sx = new Float64Array(w);
  const sy = new Float64Array(w);
  const ssq = new Float64Array(w);
  const sxy = new Float64Array(w);
  const filterRow = (row: number): void => {
    const src = row * w * stride + offset;
    for (let c = 0; c < w; c++) {
      const a = x[src + c * stride]!;
      const b = y[src + c * stride]!;
      sx[c] = a;
      sy[c] = b;
      ssq[c] = a * a + b * b;
      sxy[c] = a * b;
    }
    const base = (row % SSIM_WIN) * Q * iw;
    rowFilterInto(sx, ring, base, iw, g0, g1, g2, g3, g4, g5);
    rowFilterInto(sy, ring, base + iw, iw, g0, g1, g2, g3, g4, g5);
    rowFilterInto(ssq, ring, base + 2 * iw, iw, g0, g1, g2, g3, g4, g5);
    rowFilterInto(sxy, ring, base + 3 * iw, iw, g0, g1, g2, g3, g4, g5);
  };
  const off = new Int32Array(SSIM_WIN);
  let sum = 0;
  for (let r = r0 - SSIM_RADIUS; r < r0 + SSIM_RADIUS; r++) filterRow(r);
  for (let r = r0; r < r1; r++) {
    filterRow(r + SSIM_RADIUS);
    for (let k = 0; k < SSIM_WIN; k++) off[k] = ((r - SSIM_RADIUS + k) % SSIM_WIN) * Q * iw;
    const o0 = off[0]!, o1 = off[1]!, o2 = off[2]!, o3 = off[3]!, o4 = off[4]!, o5 = off[5]!;
    const o6 = off[6]!, o7 = off[7]!, o8 = off[8]!, o9 = off[9]!, o10 = off[10]!;
    for (let c = 0; c < iw; c++) {
      let i = c;
      const ux = g0 * ring[o5 + i]! + g1 * (ring[o4 + i]! + ring[o6 + i]!) + g2 * (ring[o3 + i]! + ring[o7 + i]!) +
        g3 * (ring[o2 + i]! + ring[o8 + i]!) + g4 * (ring[o1 + i]! + ring[o9 + i]!) + g5 * (ring[o0 + i]! + ring[o10 + i]!);
      i += iw;
      const uy = g0 * ring[o5 + i]! + g1 * (ring[o4 + i]! + ring[o6 + i]!) + g2 * (ring[o3 + i]! + ring[o7 + i]!) +
        g3 * (ring[o2 + i]! + ring[o8 + i]!) + g4 * (ring[o1 + i]! + ring[o9 + i]!) + g5 * (ring[o0 + i]! + ring[o10 + i]!);
      i += iw;
      const usq = g0 * ring[o5 + i]! + g1 * (ring[o4 + i]! + ring[o6 + i]!) + g2 * (ring[o3 + i]! + ring[o7 + i]!) +
        g3 * (ring[o2 + i]! + ring[o8 + i]!) + g4 * (ring[o1 + i]! + ring[o9 + i]!) + g5 * (ring[o0 + i]! + ring[o10 + i]!);
      i += iw;
      const uxy = g0 * ring[o5 + i]! + g1 * (ring[o4 + i]! + ring[o6 + i]!) + g2 * (ring[o3 + i]! + ring[o7 + i]!) +
        g3 * (ring[o2 + i]! + ring[o8 + i]!) + g4 * (ring[o1 + i]! + ring[o9 + i]!) + g5 * (ring[o0 + i]! + ring[o10 + i]!);
      const uxuy = ux * uy;
      const uu = ux * ux + uy * uy;
      const A1 = 2 * uxuy + C1;
      const A2 = 2 * (uxy - uxuy) + C2;
      const B1 = uu + C1;
      const B2 = usq - uu + C2;
      sum += (A1 * A2) / (B1 * B2);
    }
  }
  return sum;
}

/** out[base + c] = the 11-tap Gaussian of a around column c + radius, for the iw interior columns. */
function rowFilterInto(
  a: Float64Array,
  out: Float64Array,
  base: number,
  iw: number,
  g0: number,
  g1: number,
  g2: number,
  g3: number,
  g4: number,
  g5: number,
): void {
  for (let c = 0; c < iw; c++) {
    const i = c + SSIM_RADIUS;
    out[base + c] =
      g0 * a[i]! +
      g1 * (a[i - 1]! + a[i + 1]!) +
      g2 * (a[i - 2]! + a[i + 2]!) +
      g3 * (a[i - 3]! + a[i + 3]!) +
      g4 * (a[i - 4]! + a[i + 4]!) +
      g5 * (a[i - 5]! + a[i + 5]!);
  }
}

/** Number of SSIM-map pixels skimage averages over (the image cropped by the filter radius). */
export function ssimInteriorCount(width: number, height: number): number {
  return Math.max(0, width - 2 * SSIM_RADIUS) * Math.max(0, height - 2 * SSIM_RADIUS);
}

type SsimKernel = (x: number, y: number, is16: number, w: number, h: number, stride: number, offset: number, r0: number, r1: number, params: number, scratch: number) => number;

let wasmModule: WebAssembly.Module | null | undefined;
/** The compiled kernel of kernel/ssim.c, or null where WebAssembly SIMD is unavailable (the TypeScript path runs then). */
function ssimModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      wasmModule = new WebAssembly.Module(Buffer.from(SSIM_WASM_BASE64, 'base64'));
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

/**
 * Memory the thread keeps for its SSIM kernel between calls, at most: a thread that sums SSIM chunk after chunk (a
 * tile thread, while a build is decoded) reuses one instance, where a fresh memory per call left tens of megabytes for
 * the collector at once (16 MP: 70 MB at the peak). Calls that need more get an instance of their own.
 */
const KEPT_SSIM_MEMORY = 16 << 20;
let kept: { memory: WebAssembly.Memory; kernel: SsimKernel } | null = null;

/** An instance of the SSIM kernel with at least `bytes` of memory: the thread's kept one where it is small enough. */
function ssimInstance(module: WebAssembly.Module, bytes: number): { memory: WebAssembly.Memory; kernel: SsimKernel } {
  const pages = Math.ceil(bytes / 65536);
  const make = (): { memory: WebAssembly.Memory; kernel: SsimKernel } => {
    const memory = new WebAssembly.Memory({ initial: pages });
    return { memory, kernel: new WebAssembly.Instance(module, { env: { memory } }).exports.ssim_sum as SsimKernel };
  };
  if (bytes > KEPT_SSIM_MEMORY) return make();
  if (!kept) kept = make();
  else if (kept.memory.buffer.byteLength < bytes) kept.memory.grow(pages - kept.memory.buffer.byteLength / 65536);
  return kept;
}

/** The WebAssembly kernel over output rows [r0, r1): each channel copied out as a plane of the rows it needs. */
function ssimSumsWasm(module: WebAssembly.Module, a: ImagePixels, b: ImagePixels, r0: number, r1: number): number[] {
  const { width: w, height: h, channels: C } = a;
  const from = Math.max(0, r0 - SSIM_RADIUS);
  const to = Math.min(h, r1 + SSIM_RADIUS);
  const rows = to - from;
  const bytesPer = a.bitDepth === 16 ? 2 : 1;
  // The rows as the images hold them (pixels interleaved: the kernel reads one channel of them at a time).
  const plane = Math.ceil((rows * w * C * bytesPer) / 8) * 8;
  const iw = w - 2 * SSIM_RADIUS;
  // The module's linker reserves its first two pages (a stack it never uses); the rows go after them.
  const xp = 2 * 65536;
  const yp = xp + plane;
  const pp = yp + plane;
  const sp = pp + 64;
  const total = sp + (SSIM_WIN * 4 * iw + 4 * w) * 8;
  const { memory, kernel } = ssimInstance(module, total);
  const params = new Float64Array(memory.buffer, pp, 8);
  params.set(G);
  const range = maxValue(a.bitDepth);
  params[6] = (SSIM_K1 * range) ** 2;
  params[7] = (SSIM_K2 * range) ** 2;
  const view = (at: number): Uint8Array | Uint16Array =>
    bytesPer === 2 ? new Uint16Array(memory.buffer, at, rows * w * C) : new Uint8Array(memory.buffer, at, rows * w * C);
  view(xp).set(a.data.subarray(from * w * C, to * w * C));
  view(yp).set(b.data.subarray(from * w * C, to * w * C));
  const sums: number[] = [];
  for (let c = 0; c < colourChannels(a); c++) sums.push(kernel(xp, yp, bytesPer === 2 ? 1 : 0, w, rows, C, c, r0 - from, r1 - from, pp, sp));
  return sums;
}

/**
 * The SSIM-map sums of each colour channel over output rows [rowStart, rowEnd), by the WebAssembly kernel where
 * it runs (`useWasm`), else by ssimChannelSum. Divide by ssimInteriorCount for the mean.
 */
export function ssimSums(a: ImagePixels, b: ImagePixels, rowStart = 0, rowEnd = a.height, useWasm = true): number[] {
  const r0 = Math.max(rowStart, SSIM_RADIUS);
  const r1 = Math.min(rowEnd, a.height - SSIM_RADIUS);
  const colours = colourChannels(a);
  if (r1 <= r0 || a.width < SSIM_WIN) return new Array<number>(colours).fill(0);
  const module = useWasm ? ssimModule() : null;
  if (module) {
    // In blocks of rows whose copies fit the thread's kept kernel memory (half of it; the rest is the filters' ring).
    const perRow = 2 * a.width * a.channels * (a.bitDepth === 16 ? 2 : 1);
    const block = Math.max(2 * SSIM_WIN, Math.floor(KEPT_SSIM_MEMORY / 2 / perRow) - 2 * SSIM_RADIUS);
    const sums = new Array<number>(colours).fill(0);
    for (let s = r0; s < r1; s += block) ssimSumsWasm(module, a, b, s, Math.min(r1, s + block)).forEach((v, c) => (sums[c] += v));
    return sums;
  }
  const range = maxValue(a.bitDepth);
  return Array.from({ length: colours }, (_, c) => ssimChannelSum(a.data, b.data, a.width, a.height, a.channels, c, range, r0, r1));
}

/**
 * Structural similarity as scikit-image computes it (Gaussian σ 1.5, 11×11, population covariance, K1 0.01,
 * K2 0.03, data range 255 or 65535), averaged over the colour channels. NaN when a side is under 11 pixels,
 * where scikit-image refuses too.
 */
export function ssim(a: ImagePixels, b: ImagePixels, useWasm = true): number {
  checkSameShape(a, b);
  if (a.width < SSIM_WIN || a.height < SSIM_WIN) return NaN;
  const count = ssimInteriorCount(a.width, a.height);
  const sums = ssimSums(a, b, 0, a.height, useWasm);
  return sums.reduce((s, v) => s + v / count, 0) / sums.length;
}

/** One NMF problem's shape: a rows×cols matrix stored as rank·(rows + cols) numbers. */
export interface PlaneShape {
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
}

export interface CompressionRatios {
  /** Raw pixel bytes (width·height·channels·bytes per sample) ÷ .nmfz bytes. */
  ratio: number;
  /** Original file bytes ÷ .nmfz bytes. */
  fileRatio: number;
  /** Matrix entries ÷ stored factor entries: Σ rows·cols ÷ Σ rank·(rows + cols). */
  factorRatio: number;
}

/** The only place the three ratios are computed; everyone else reads them from here. */
export function compressionRatios(p: {
  rawBytes: number;
  originalFileBytes: number;
  compressedBytes: number;
  planes: readonly PlaneShape[];
}): CompressionRatios {
  let entries = 0;
  let stored = 0;
  for (const q of p.planes) {
    entries += q.rows * q.cols;
    stored += q.rank * (q.rows + q.cols);
  }
  return {
    ratio: p.rawBytes / p.compressedBytes,
    fileRatio: p.originalFileBytes / p.compressedBytes,
    factorRatio: stored === 0 ? Infinity : entries / stored,
  };
}

/** Bytes of the uncompressed pixels, alpha included. */
export function rawBytesOf(img: { width: number; height: number; channels: number; bitDepth: number }): number {
  return img.width * img.height * img.channels * (img.bitDepth / 8);
}
