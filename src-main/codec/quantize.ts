// Quantisation of NMF factors (balanced per component, one scale each) and the delta/zig-zag byte packing of codes.

import type { Matrix } from '../engine/matrix.js';
import type { QuantBits } from './types.js';

/**
 * One plane's factors as stored: component j is column j of W (rows entries) and row j of H (cols entries), both
 * as integer codes in [0, 2^bits − 1] of the same scale: value = code · scale_j / (2^bits − 1).
 */
export interface QuantizedPlane {
  rows: number;
  cols: number;
  rank: number;
  /** One float32 scale per component (0 for a component that contributes nothing). */
  scales: Float32Array;
  /** rank × rows, component-major: W's columns one after another. */
  wCodes: Uint16Array;
  /** rank × cols, row-major: H's rows. */
  hCodes: Uint16Array;
}

export function levels(bits: QuantBits): number {
  return 2 ** bits - 1;
}

/**
 * A component's scale rounded up to bits + 3 significant bits (a float32: m > 0, finite), as the tiled layout stores
 * it (quantizePlane's `compactScales`). The codes are made against the rounded scale, so the rounding costs no
 * precision, only up to a quarter of a code of the range at the top (m / scale ≥ 1 − 2^−(bits+2)); the float32's lower
 * mantissa bits would be noise that no compressor packs. A tiled photograph has thousands of components: on the photo
 * set (6-bit codes, 9-bit scales) its files came 3.0 % smaller at the same PSNR (Dune's Brotli'd tile table and scales
 * took 39 KB of its 621 KB before, 15.5 KB after; 8-bit scales made 2.6 %). The global layout's few hundred scales
 * stay whole.
 */
export function storedScale(m: number, bits: QuantBits): number {
  const step = 2 ** (Math.floor(Math.log2(m)) - bits - 2);
  return Math.fround(Math.ceil(m / step) * step);
}

/**
 * Quantises W (rows×k) and H (k×cols). The scaling freedom W·D, D⁻¹·H is used first so that column j of W and row
 * j of H have the same maximum m_j = √(max W_j · max H_j); both are then coded against that one scale (with `compactScales`, storedScale's rounding of it). A component whose column or row is all zero contributes nothing and is
 * stored as zeros with scale 0.
 */
export function quantizePlane(W: Matrix, H: Matrix, bits: QuantBits, compactScales = false): QuantizedPlane {
  const rows = W.rows;
  const k = W.cols;
  const cols = H.cols;
  if (H.rows !== k) throw new RangeError(`W is ${rows}×${k} but H is ${H.rows}×${cols}`);
  const L = levels(bits);
  const scales = new Float32Array(k);
  const wCodes = new Uint16Array(k * rows);
  const hCodes = new Uint16Array(k * cols);
  const w = W.data;
  const h = H.data;
  for (let j = 0; j < k; j++) {
    let a = 0;
    for (let i = 0; i < rows; i++) a = Math.max(a, w[i * k + j]!);
    let b = 0;
    for (let l = 0; l < cols; l++) b = Math.max(b, h[j * cols + l]!);
    if (!(a > 0 && b > 0) || !Number.isFinite(a * b)) continue;
    const m = Math.sqrt(a) * Math.sqrt(b);
    const scale = compactScales ? storedScale(m, bits) : Math.fround(m);
    // Balanced entries are W·(m/a) and H·(m/b); divided by the stored scale and mapped to [0, L].
    const fw = ((m / a) * L) / scale;
    const fh = ((m / b) * L) / scale;
    let least = L;
    for (let i = 0; i < rows; i++) least = Math.min(least, (wCodes[j * rows + i] = Math.min(L, Math.max(0, Math.round(w[i * k + j]! * fw)))));
    for (let l = 0; l < cols; l++) least = Math.min(least, (hCodes[j * cols + l] = Math.min(L, Math.max(0, Math.round(h[j * cols + l]! * fh)))));
    // A flat component (every code at the top: a flat tile's) is its scale alone, which then keeps all its bits, so
    // that it decodes exactly.
    scales[j] = least === L ? Math.fround(m) : scale;
  }
  return { rows, cols, rank: k, scales, wCodes, hCodes };
}

/** The stored factors as numbers: W component-major (k × rows) and H (k × cols), float64. The one dequantiser. */
export function dequantizePlane(q: QuantizedPlane, bits: QuantBits): { Wt: Float64Array; H: Float64Array } {
  const L = levels(bits);
  const Wt = new Float64Array(q.rank * q.rows);
  const H = new Float64Array(q.rank * q.cols);
  for (let j = 0; j < q.rank; j++) {
    const step = q.scales[j]! / L;
    for (let i = 0; i < q.rows; i++) Wt[j * q.rows + i] = q.wCodes[j * q.rows + i]! * step;
    for (let l = 0; l < q.cols; l++) H[j * q.cols + l] = q.hCodes[j * q.cols + l]! * step;
  }
  return { Wt, H };
}

/** out = max · (row y of W·H), with W given component-major; components are added four at a time, in order. */
export function reconstructRow(Wt: Float64Array, H: Float64Array, rows: number, k: number, cols: number, y: number, max: number, out: Float64Array): void {
  out.fill(0);
  let j = 0;
  for (; j + 4 <= k; j += 4) {
    const a0 = Wt[j * rows + y]!;
    const a1 = Wt[(j + 1) * rows + y]!;
    const a2 = Wt[(j + 2) * rows + y]!;
    const a3 = Wt[(j + 3) * rows + y]!;
    const h0 = j * cols;
    const h1 = h0 + cols;
    const h2 = h1 + cols;
    const h3 = h2 + cols;
    for (let l = 0; l < cols; l++) out[l] = out[l]! + (a0 * H[h0 + l]! + a1 * H[h1 + l]! + a2 * H[h2 + l]! + a3 * H[h3 + l]!);
  }
  for (; j < k; j++) {
    const a = Wt[j * rows + y]!;
    const h0 = j * cols;
    for (let l = 0; l < cols; l++) out[l] = out[l]! + a * H[h0 + l]!;
  }
  for (let l = 0; l < cols; l++) out[l] = out[l]! * max;
}

/**
 * Packs codes for Brotli: each sequence (a W column, an H row, an image row of alpha) is delta-coded from 0 modulo
 * 2^bits and zig-zag mapped, so the smooth profiles of image factors become runs of small numbers. 8-bit codes take
 * a byte each; wider codes are split into a plane of low bytes followed by a plane of high bytes, which Brotli
 * compresses far better than interleaved pairs.
 */
export function packCodes(codes: Uint16Array, sequenceLength: number, bits: QuantBits): Uint8Array {
  const n = codes.length;
  const mask = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const wide = bits > 8;
  const out = new Uint8Array(wide ? 2 * n : n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    if (i % sequenceLength === 0) prev = 0;
    const q = codes[i]!;
    let d = (q - prev) & mask;
    prev = q;
    if (d >= half) d -= mask + 1;
    const z = d >= 0 ? 2 * d : -2 * d - 1;
    if (wide) {
      out[i] = z & 0xff;
      out[n + i] = z >>> 8;
    } else {
      out[i] = z;
    }
  }
  return out;
}

/** Inverse of packCodes; `bytes` must hold exactly count codes. */
export function unpackCodes(bytes: Uint8Array, count: number, sequenceLength: number, bits: QuantBits): Uint16Array {
  const wide = bits > 8;
  if (bytes.length !== (wide ? 2 * count : count)) throw new RangeError(`expected ${wide ? 2 * count : count} bytes of codes, got ${bytes.length}`);
  const mask = 2 ** bits - 1;
  const codes = new Uint16Array(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    if (i % sequenceLength === 0) prev = 0;
    const z = wide ? bytes[i]! | (bytes[count + i]! << 8) : bytes[i]!;
    const d = z & 1 ? -((z + 1) >>> 1) : z >>> 1;
    const q = (prev + d) & mask;
    codes[i] = q;
    prev = q;
  }
  return codes;
}

/** Bytes packCodes produces for `count` codes. */
export function packedLength(count: number, bits: QuantBits): number {
  return bits > 8 ? 2 * count : count;
}
