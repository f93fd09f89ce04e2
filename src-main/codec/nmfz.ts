// The .nmfz file: its header, its payload (quantised factors and the lossless alpha plane) and the one decoder.

import { UserError } from '../engine/errors.js';
import { allocate } from '../engine/matrix.js';
import type { Matrix } from '../engine/matrix.js';
import { chromaOffset, planeLayouts, ycbcrToRgb, ycbcrToSamples } from './colour.js';
import type { PlaneName } from './colour.js';
import { compressPayload, compressPayloadAsync, envelopeOf, inflatePayload, inflateUpTo, NMFZ_VERSION, readEnvelope, rewrapEnvelope } from './container.js';
import type { FormatVersion } from './container.js';
import type { WriteEnvelopeOptions } from './container.js';
import { DEFAULT_MAX_PIXELS } from './image-io.js';
import { dequantizePlane, packCodes, packedLength, reconstructRow, unpackCodes } from './quantize.js';
import { decodeTileCodes, encodeTileCodes } from './range-coder.js';
import type { QuantizedPlane } from './quantize.js';
import type { BitDepth, ColorMode, ImagePixels, QuantBits } from './types.js';
import { COLOR_MODES, hasAlpha, maxValue, QUANT_BITS, toSample } from './types.js';
import { BandDeblocker, MAX_TILE_SIZE, MIN_TILE_SIZE, reconstructTileInto, tileGrid, tileRect } from './tiles.js';
import type { TileGrid } from './tiles.js';

/** The NMF settings a file was made with, for people and for reproducing it. */
export interface NmfzSettings {
  solver: string;
  init: string;
  betaLoss: string | number;
  maxIter: number;
  tol: number;
  seed: number;
  alphaW: number;
  alphaH: number | 'same';
  l1Ratio: number;
  iterations: number;
  backend: string;
}

/** A plane as the header lists it; `deblock` is the tiled layout's seam threshold in sample units (version 3). */
export interface NmfzPlane {
  name: PlaneName;
  rows: number;
  cols: number;
  /** The plane's components: in the tiled layout, the sum over its tiles. */
  rank: number;
  deblock?: number;
}

/**
 * How the factor codes are stored: `delta-zigzag` bytes Brotli'd with the rest of the payload (every layout), or
 * `adaptive-range` (version 4: the tiled layout with 6- or 8-bit codes), range-coded in a section of their own.
 */
export type FactorCoding = 'delta-zigzag' | 'adaptive-range';

/** Everything in a .nmfz header (format versions 1 to 4), as readInfo returns it. */
export interface NmfzHeader {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  bitDepth: BitDepth;
  colorMode: ColorMode;
  /** Total rank over all planes. */
  rank: number;
  planes: NmfzPlane[];
  /** Version 3: 'tiled' when every plane is cut into tiles of tileSize pixels; absent for one matrix per plane. */
  layout?: 'tiled';
  tileSize?: number;
  quantization: { bits: QuantBits; scale: 'per-component'; coding: FactorCoding };
  /** How alpha is stored: 'none' (no alpha channel) or 'lossless' (delta-coded plane in the payload). */
  alpha: 'none' | 'lossless';
  nmf: NmfzSettings;
  original: { name: string; format: string; bytes: number };
  /** The program that wrote the file. */
  software: string;
  /** Optional: how close the file's pixels came to the original's, measured when it was written. */
  quality?: NmfzQuality;
}

/**
 * The file's decoded pixels against the original, as the writer measured them: PSNR in dB (null when the pixels
 * are identical, an infinite PSNR that JSON cannot hold), SSIM as scikit-image computes it (null when not stored),
 * and ‖V−V̂‖/‖V‖. Not needed to decode; it lets a later run report a file it skips without the original at hand.
 */
export interface NmfzQuality {
  psnr: number | null;
  ssim: number | null;
  relErr: number;
}

/**
 * A quality record as it is stored: PSNR to 4 decimals, SSIM to `ssimDecimals` (6 unless the file must stay
 * smaller), relErr to 6 significant digits.
 */
export function storedQuality(psnr: number, ssim: number | null, relErr: number, ssimDecimals = 6): NmfzQuality {
  return {
    psnr: Number.isFinite(psnr) ? Number(psnr.toFixed(4)) : null,
    ssim: ssim === null ? null : Number(ssim.toFixed(ssimDecimals)),
    relErr: Number(relErr.toPrecision(6)),
  };
}

/** The bytes of a .nmfz file with `quality` in its header; the payload is kept as it is. */
export function withQuality(bytes: Uint8Array, quality: NmfzQuality, label: string): Buffer {
  const envelope = readEnvelope(bytes, label);
  const header = validateHeader(envelope.header, label, Number.POSITIVE_INFINITY, envelope.version);
  return rewrapEnvelope(envelope, { ...header, quality });
}

function isQuality(q: unknown): q is NmfzQuality {
  if (typeof q !== 'object' || q === null) return false;
  const { psnr, ssim, relErr } = q as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return (psnr === null || finite(psnr)) && (ssim === null || (finite(ssim) && ssim >= -1 && ssim <= 1)) && finite(relErr) && relErr >= 0;
}

export interface NmfzContent {
  header: NmfzHeader;
  /** One matrix per plane (the global layout); empty in the tiled layout. */
  planes: QuantizedPlane[];
  /** The tiled layout: per plane, its tiles row-major over the grid. */
  tiles?: QuantizedPlane[][];
  /** width·height alpha samples, or null. */
  alpha: Uint8Array | Uint16Array | null;
}

function alphaSamples(img: ImagePixels): Uint16Array | null {
  if (!hasAlpha(img)) return null;
  const n = img.width * img.height;
  const out = new Uint16Array(n);
  const C = img.channels;
  for (let p = 0; p < n; p++) out[p] = img.data[p * C + C - 1]!;
  return out;
}

/** The alpha channel of an image, as stored. */
export function extractAlpha(img: ImagePixels): Uint16Array | null {
  return alphaSamples(img);
}

/** The tile grid of a tiled header's planes (every plane of a tiled file is height × width). */
export function gridOf(h: NmfzHeader): TileGrid {
  return tileGrid(h.height, h.width, h.tileSize!);
}

function alphaBytes(h: NmfzHeader): number {
  return h.alpha === 'lossless' ? packedLength(h.width * h.height, h.bitDepth) : 0;
}

/** Whether a header's factor codes are range-coded apart from the rest of the payload (version 4). */
function rangeCoded(h: NmfzHeader): boolean {
  return h.quantization.coding === 'adaptive-range';
}

/**
 * The tiled payload's length for given tile ranks (per plane, per tile): with the factor codes, or (`codes` false)
 * without them, as version 4's side section holds it.
 */
function tiledPayloadBytes(h: NmfzHeader, ranks: readonly (readonly number[])[], codes = true): number {
  const g = gridOf(h);
  const bits = h.quantization.bits;
  let total = 2 * g.count * h.planes.length;
  for (const plane of ranks) {
    plane.forEach((k, t) => {
      const r = tileRect(g, t);
      total += 4 * k + (codes ? packedLength(k * r.h, bits) + packedLength(k * r.w, bits) : 0);
    });
  }
  return total + alphaBytes(h);
}

function payloadLayout(h: NmfzHeader): { scales: number; codes: number; alpha: number; total: number } {
  let k = 0;
  let codes = 0;
  for (const p of h.planes) {
    k += p.rank;
    codes += packedLength(p.rank * (p.rows + p.cols), h.quantization.bits);
  }
  const alpha = h.alpha === 'lossless' ? packedLength(h.width * h.height, h.bitDepth) : 0;
  return { scales: 4 * k, codes, alpha, total: 4 * k + codes + alpha };
}

/** Serialises quantised planes and alpha under a header: the bytes of a .nmfz file. */
export function encodeNmfz(content: NmfzContent, opts: WriteEnvelopeOptions = {}): Buffer {
  return envelopeOf(formatVersionOf(content.header), { ...content.header }, storedPayload(content, opts));
}

/** The payload of a content as the file stores it: Brotli'd, or (adaptive-range) in its two sections. */
export function storedPayload(content: NmfzContent, opts: WriteEnvelopeOptions = {}): Buffer {
  if (!rangeCoded(content.header)) return compressPayload(plainPayload(content), opts);
  return joinSections(compressPayload(tiledPayload(content, false), opts), encodeTileCodes(content.tiles!.flat(), rangeBitsOf(content.header)));
}

/**
 * storedPayload with its Brotli on libuv's thread pool; the range coding runs on this thread meanwhile, or where
 * `rangeCode` runs it.
 */
export async function storedPayloadAsync(
  content: NmfzContent,
  opts: WriteEnvelopeOptions = {},
  rangeCode?: (tiles: QuantizedPlane[], bits: 6 | 8) => Promise<Uint8Array>,
): Promise<Buffer> {
  if (!rangeCoded(content.header)) return compressPayloadAsync(plainPayload(content), opts);
  const side = compressPayloadAsync(tiledPayload(content, false), opts);
  const tiles = content.tiles!.flat();
  const bits = rangeBitsOf(content.header);
  const codes = rangeCode ? await rangeCode(tiles, bits) : encodeTileCodes(tiles, bits);
  return joinSections(await side, codes);
}

function rangeBitsOf(h: NmfzHeader): 6 | 8 {
  const bits = h.quantization.bits;
  if (bits !== 6 && bits !== 8) throw new Error(`adaptive-range coding holds 6- or 8-bit codes, not ${bits}`);
  return bits;
}

/** Version 4's stored payload: the side section's length (u32), the Brotli'd side section, then the range-coded codes. */
function joinSections(side: Uint8Array, codes: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + side.length + codes.length);
  out.writeUInt32LE(side.length, 0);
  out.set(side, 4);
  out.set(codes, 4 + side.length);
  return out;
}

/** The payload bytes of a content whose codes are Brotli'd with the rest (delta-zigzag), before Brotli. */
function plainPayload(content: NmfzContent): Uint8Array {
  const h = content.header;
  if (h.layout === 'tiled') return tiledPayload(content, true);
  const bits = h.quantization.bits;
  const layout = payloadLayout(h);
  const payload = new Uint8Array(layout.total);
  const at = writeMatrices(payload, 0, content.planes, bits, content);
  if (at !== layout.total) throw new Error(`payload layout mismatch: wrote ${at} of ${layout.total} bytes`);
  return payload;
}

/**
 * Writes at `at` the scales of every matrix, then (unless `codes` is false) each one's W and H codes, then the alpha
 * codes; returns where it ended. The order both layouts share: one matrix per plane, or one per tile of every plane.
 */
function writeMatrices(payload: Uint8Array, at: number, matrices: readonly QuantizedPlane[], bits: QuantBits, content: NmfzContent, codes = true): number {
  const h = content.header;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (const q of matrices) {
    for (let j = 0; j < q.rank; j++, at += 4) view.setFloat32(at, q.scales[j]!, true);
  }
  for (const q of codes ? matrices : []) {
    const w = packCodes(q.wCodes, q.rows, bits);
    payload.set(w, at);
    at += w.length;
    const hc = packCodes(q.hCodes, q.cols, bits);
    payload.set(hc, at);
    at += hc.length;
  }
  if (h.alpha === 'lossless') {
    if (!content.alpha) throw new Error('header says alpha but none given');
    const a = packCodes(Uint16Array.from(content.alpha), h.width, h.bitDepth);
    payload.set(a, at);
    at += a.length;
  }
  return at;
}

/**
 * The tiled payload: the tile table (u16 rank per tile), the scales, the codes of every tile (version 3; version 4's
 * side section leaves them out), then alpha.
 */
function tiledPayload(content: NmfzContent, codes: boolean): Uint8Array {
  const h = content.header;
  const bits = h.quantization.bits;
  const tiles = content.tiles;
  if (!tiles || tiles.length !== h.planes.length) throw new Error('a tiled header needs the tiles of every plane');
  const total = tiledPayloadBytes(h, tiles.map((p) => p.map((q) => q.rank)), codes);
  const payload = new Uint8Array(total);
  const view = new DataView(payload.buffer);
  let at = 0;
  for (const plane of tiles) for (const q of plane) (view.setUint16(at, q.rank, true), (at += 2));
  at = writeMatrices(payload, at, tiles.flat(), bits, content, codes);
  if (at !== total) throw new Error(`payload layout mismatch: wrote ${at} of ${total} bytes`);
  return payload;
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/**
 * Version 2 added 6-bit factors, version 3 the tiled layout, version 4 range-coded factor codes; a file is written as
 * the lowest version that holds it, so that older readers read every file they can.
 */
export function formatVersionOf(header: NmfzHeader): FormatVersion {
  if (rangeCoded(header)) return 4;
  if (header.layout === 'tiled') return 3;
  return header.quantization.bits === 6 ? 2 : 1;
}

/** Checks a header of format `version` field by field; anything off means the file is corrupt or not ours. */
function validateHeader(raw: unknown, label: string, maxPixels: number, version: number): NmfzHeader {
  const bad = (what: string): never => {
    throw new UserError(`${label}: corrupt .nmfz header (${what})`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('not an object');
  const h = raw as Record<string, unknown>;
  if (!isInt(h.width, 1, 1 << 30) || !isInt(h.height, 1, 1 << 30)) bad('width/height');
  const width = h.width as number;
  const height = h.height as number;
  if (width * height > maxPixels) {
    throw new UserError(`${label}: ${width}×${height} is over the limit of ${(maxPixels / 1e6).toFixed(0)} megapixels`);
  }
  if (!isInt(h.channels, 1, 4)) bad('channels');
  if (h.bitDepth !== 8 && h.bitDepth !== 16) bad('bitDepth');
  if (!COLOR_MODES.includes(h.colorMode as ColorMode)) bad('colorMode');
  const q = h.quantization as Record<string, unknown> | undefined;
  const bitsKnown = QUANT_BITS.includes(q?.bits as QuantBits) && (version >= 2 || q?.bits !== 6);
  const rangeCoding = q?.coding === 'adaptive-range' && version >= 4 && h.layout === 'tiled' && (q.bits === 6 || q.bits === 8);
  if (!q || !bitsKnown || q.scale !== 'per-component' || !(q.coding === 'delta-zigzag' || rangeCoding)) bad('quantization');
  if (h.alpha !== 'none' && h.alpha !== 'lossless') bad('alpha');
  if ((h.alpha === 'lossless') !== hasAlpha({ channels: h.channels as number })) bad('alpha does not match channels');
  const expected = planeLayouts({ width, height, channels: h.channels as number }, h.colorMode as ColorMode);
  const tiled = h.layout !== undefined;
  if (tiled) {
    if (version < 3 || h.layout !== 'tiled') bad('layout');
    if (!isInt(h.tileSize, MIN_TILE_SIZE, MAX_TILE_SIZE)) bad('tileSize');
    if (expected.some((e) => e.rows !== height || e.cols !== width)) bad('the tiled layout needs planes of the image size');
  }
  const tiles = tiled ? tileGrid(height, width, h.tileSize as number).count : 1;
  const planes = h.planes;
  if (!Array.isArray(planes) || planes.length !== expected.length) bad('planes');
  let total = 0;
  (planes as unknown[]).forEach((p, i) => {
    const e = expected[i]!;
    const pp = p as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || pp.name !== e.name || pp.rows !== e.rows || pp.cols !== e.cols) bad(`plane ${i}`);
    if (tiled ? !isInt(pp.rank, 0, tiles * (h.tileSize as number)) : !isInt(pp.rank, 1, Math.min(e.rows, e.cols))) bad(`plane ${i} rank`);
    if (tiled && !(typeof pp.deblock === 'number' && Number.isFinite(pp.deblock) && pp.deblock >= 0)) bad(`plane ${i} deblock`);
    total += pp.rank as number;
  });
  if (h.rank !== total) bad('rank');
  const nmf = h.nmf as Record<string, unknown> | undefined;
  if (!nmf || typeof nmf !== 'object') bad('nmf');
  const o = h.original as Record<string, unknown> | undefined;
  if (!o || typeof o.name !== 'string' || typeof o.format !== 'string' || !isInt(o.bytes, 0, Number.MAX_SAFE_INTEGER)) bad('original');
  if (typeof h.software !== 'string') bad('software');
  // decoding does not need it, so a malformed one is dropped rather than refusing the file
  if ('quality' in h && !isQuality(h.quality)) delete h.quality;
  return raw as NmfzHeader;
}

export interface DecodeOptions {
  maxPixels?: number;
}

/** The header alone (and the format version), checked; the factors are not inflated. */
export function readNmfzHeader(bytes: Uint8Array, label: string, opts: DecodeOptions = {}): { formatVersion: number; header: NmfzHeader } {
  const env = readEnvelope(bytes, label);
  return { formatVersion: env.version, header: validateHeader(env.header, label, opts.maxPixels ?? DEFAULT_MAX_PIXELS, env.version) };
}

/** Parses and checks a whole .nmfz file. Every failure is a UserError naming `label`. */
export function decodeNmfz(bytes: Uint8Array, label: string, opts: DecodeOptions = {}): NmfzContent {
  const env = readEnvelope(bytes, label);
  // Versions 1 and 2 share one layout (2 only allows 6-bit codes); a later version that changes it adds its branch here.
  if (env.version < 1 || env.version > NMFZ_VERSION) throw new UserError(`${label}: unknown .nmfz format version ${env.version}`);
  const header = validateHeader(env.header, label, opts.maxPixels ?? DEFAULT_MAX_PIXELS, env.version);
  if (header.layout === 'tiled') return decodeTiled(env, header, label);
  const layout = payloadLayout(header);
  const payload = inflatePayload(env, layout.total, label);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const bits = header.quantization.bits;
  let at = 0;
  const scales = header.planes.map((p) => {
    const s = new Float32Array(p.rank);
    for (let j = 0; j < p.rank; j++, at += 4) {
      const v = view.getFloat32(at, true);
      if (!(v >= 0 && Number.isFinite(v))) throw new UserError(`${label}: corrupt .nmfz payload (scale ${v})`);
      s[j] = v;
    }
    return s;
  });
  const planes: QuantizedPlane[] = header.planes.map((p, i) => {
    const wLen = packedLength(p.rank * p.rows, bits);
    const wCodes = unpackCodes(payload.subarray(at, at + wLen), p.rank * p.rows, p.rows, bits);
    at += wLen;
    const hLen = packedLength(p.rank * p.cols, bits);
    const hCodes = unpackCodes(payload.subarray(at, at + hLen), p.rank * p.cols, p.cols, bits);
    at += hLen;
    return { rows: p.rows, cols: p.cols, rank: p.rank, scales: scales[i]!, wCodes, hCodes };
  });
  let alpha: Uint8Array | Uint16Array | null = null;
  if (header.alpha === 'lossless') {
    const n = header.width * header.height;
    const codes = unpackCodes(payload.subarray(at, at + layout.alpha), n, header.width, header.bitDepth);
    alpha = header.bitDepth === 16 ? codes : Uint8Array.from(codes);
  }
  return { header, planes, alpha };
}

/**
 * The tiled layout's payload. Its length depends on the tile table inside it, so it is inflated with a cap at the most
 * the header's plane ranks allow, then checked against the table exactly. Version 4 inflates its side section so
 * (table, scales, alpha) and range-decodes the codes after it.
 */
function decodeTiled(env: ReturnType<typeof readEnvelope>, header: NmfzHeader, label: string): NmfzContent {
  const corrupt = (what: string): never => {
    throw new UserError(`${label}: corrupt .nmfz payload (${what})`);
  };
  const g = gridOf(header);
  const bits = header.quantization.bits;
  const range = rangeCoded(header);
  const tableBytes = 2 * g.count * header.planes.length;
  const ranksTotal = header.planes.reduce((s, p) => s + p.rank, 0);
  const cap = tableBytes + 4 * ranksTotal + (range ? 0 : packedLength(ranksTotal * 2 * g.tileSize, bits)) + alphaBytes(header);
  const stored = env.compressedPayload;
  let codeBytes = stored.subarray(0, 0);
  let payload: Buffer;
  if (range) {
    const sideBytes = stored.length >= 4 ? stored.readUInt32LE(0) : Infinity;
    if (!(4 + sideBytes <= stored.length)) corrupt(`its side section runs past the end of its ${stored.length} bytes`);
    payload = inflateUpTo(stored.subarray(4, 4 + sideBytes), cap, label);
    codeBytes = stored.subarray(4 + sideBytes);
  } else {
    payload = inflateUpTo(stored, cap, label);
  }
  if (payload.length < tableBytes) corrupt(`the tile table runs past the end: ${tableBytes} bytes needed, ${payload.length} there`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const ranks = header.planes.map((p) => {
    const out: number[] = [];
    let sum = 0;
    for (let t = 0; t < g.count; t++, at += 2) {
      const k = view.getUint16(at, true);
      const r = tileRect(g, t);
      if (k > Math.min(r.w, r.h)) corrupt(`plane ${p.name} tile ${t}: rank ${k} is over its ${r.w}×${r.h} size`);
      out.push(k);
      sum += k;
    }
    if (sum !== p.rank) corrupt(`the tile ranks of plane ${p.name} add up to ${sum}, the header says ${p.rank}`);
    return out;
  });
  const expected = tiledPayloadBytes(header, ranks, !range);
  if (payload.length < expected) corrupt(`the tile table points past the end: ${expected} bytes needed, ${payload.length} there`);
  if (payload.length > expected) corrupt(`${payload.length - expected} unexpected bytes after the tiles`);
  const scales = ranks.map((plane) =>
    plane.map((k) => {
      const s = new Float32Array(k);
      for (let j = 0; j < k; j++, at += 4) {
        const v = view.getFloat32(at, true);
        if (!(v >= 0 && Number.isFinite(v))) corrupt(`scale ${v}`);
        s[j] = v;
      }
      return s;
    }),
  );
  const shapes = ranks.flatMap((plane) => plane.map((k, t) => ({ rows: tileRect(g, t).h, cols: tileRect(g, t).w, rank: k })));
  let codes: { wCodes: Uint16Array; hCodes: Uint16Array }[];
  if (range) {
    try {
      codes = decodeTileCodes(codeBytes, shapes, rangeBitsOf(header));
    } catch (e) {
      return corrupt((e as Error).message);
    }
  } else {
    codes = shapes.map((r) => {
      const wLen = packedLength(r.rank * r.rows, bits);
      const wCodes = unpackCodes(payload.subarray(at, at + wLen), r.rank * r.rows, r.rows, bits);
      at += wLen;
      const hLen = packedLength(r.rank * r.cols, bits);
      const hCodes = unpackCodes(payload.subarray(at, at + hLen), r.rank * r.cols, r.cols, bits);
      at += hLen;
      return { wCodes, hCodes };
    });
  }
  let next = 0;
  const tiles = ranks.map((plane, pi) => plane.map((_, t): QuantizedPlane => ({ ...shapes[next]!, scales: scales[pi]![t]!, ...codes[next++]! })));
  let alpha: Uint8Array | Uint16Array | null = null;
  if (header.alpha === 'lossless') {
    const n = header.width * header.height;
    const alphaCodes = unpackCodes(payload.subarray(at, at + alphaBytes(header)), n, header.width, header.bitDepth);
    alpha = header.bitDepth === 16 ? alphaCodes : Uint8Array.from(alphaCodes);
  }
  return { header, planes: [], tiles, alpha };
}

/**
 * A tiled file's pixels, decoded one band of tile rows at a time: each plane's band reconstructed (W·H of its
 * tiles, in float32), deblocked (BandDeblocker: the same samples as deblockPlane makes of the whole plane) and
 * converted as planesToPixels converts. Only `enabled` components (indices over all tiles and planes in file
 * order) when given. `onRows(y, planes, count)` sees each plane's final samples of image rows y … y + count − 1
 * (row-major, the image's width), in order, before they are converted.
 */
export function decodeTiledPixels(
  content: NmfzContent,
  options: {
    enabled?: readonly number[];
    onRows?: (y: number, planes: readonly Float32Array[], count: number) => void;
    /** Told, band after band, that the samples' rows [0, y) are final (alpha apart, which comes last). */
    onPixels?: (samples: Uint8Array | Uint16Array, y: number) => void;
  } = {},
): ImagePixels {
  const h = content.header;
  const g = gridOf(h);
  const bits = h.quantization.bits;
  const keep = options.enabled ? new Set(options.enabled) : null;
  let first = 0;
  const tiles = content.tiles!.map((plane) =>
    keep
      ? plane.map((q) => {
          const scales = q.scales.slice();
          for (let j = 0; j < q.rank; j++) if (!keep.has(first + j)) scales[j] = 0;
          first += q.rank;
          return { ...q, scales };
        })
      : plane,
  );
  const writer = pixelWriter(h);
  const bands = tiles.map((_, p) => new BandDeblocker(g, h.planes[p]!.deblock ?? 0));
  const ready: Float32Array[] = [];
  for (let ty = 0; ty < g.tilesY; ty++) {
    tiles.forEach((plane, p) => {
      const band = bands[p]!;
      for (let tx = 0; tx < g.tilesX; tx++) {
        const t = ty * g.tilesX + tx;
        const r = tileRect(g, t);
        reconstructTileInto(plane[t]!, bits, writer.max, band.buffer, band.rowAt(0) + r.x, g.cols);
      }
    });
    // Every plane's band deblocked; the rows final in all of them are the same, converted together.
    let at = 0;
    let count = 0;
    bands.forEach((band, p) => {
      const done = band.finish(ty);
      ready[p] = done.rows;
      at = done.y;
      count = done.count;
    });
    options.onRows?.(at, ready, count);
    writePixels(h, writer, ready, at * g.cols, count * g.cols);
    options.onPixels?.(writer.out, at + count);
    for (const band of bands) band.carry(ty);
  }
  if (content.alpha) writeAlpha(h, writer.out, content.alpha);
  return { width: h.width, height: h.height, channels: h.channels, bitDepth: h.bitDepth, data: writer.out };
}

/**
 * The decoder: the pixels a .nmfz file stands for. W·H is summed in float64 in a fixed order (components in
 * groups of four), converted from YCbCr where needed, rounded and clamped — the same every time and everywhere,
 * so `decompress` writes, the app shows and the metrics measure exactly these pixels.
 */
export function decodePixels(content: NmfzContent, enabled?: readonly number[]): ImagePixels {
  if (content.header.layout === 'tiled') return decodeTiledPixels(content, { enabled });
  if (enabled) content = onlyComponents(content, enabled);
  const h = content.header;
  const { width: w, height: ht, channels: C, bitDepth } = h;
  const bits = h.quantization.bits;
  const factors = content.planes.map((q) => dequantizePlane(q, bits));
  const rowBufs = content.planes.map((q) => new Float64Array(q.cols));
  const { max, out, mode, off, rgb, put } = pixelWriter(h);
  for (let y = 0; y < ht; y++) {
    content.planes.forEach((q, pi) => reconstructRow(factors[pi]!.Wt, factors[pi]!.H, q.rows, q.rank, q.cols, y, max, rowBufs[pi]!));
    const base = y * w * C;
    if (mode === 'gray') {
      const r0 = rowBufs[0]!;
      for (let x = 0; x < w; x++) put(base + x * C, r0[x]!);
    } else if (mode === 'rgb') {
      const r0 = rowBufs[0]!;
      for (let x = 0; x < w; x++) {
        put(base + x * C, r0[x]!);
        put(base + x * C + 1, r0[w + x]!);
        put(base + x * C + 2, r0[2 * w + x]!);
      }
    } else if (mode === 'channels') {
      const [r0, r1, r2] = [rowBufs[0]!, rowBufs[1]!, rowBufs[2]!];
      for (let x = 0; x < w; x++) {
        put(base + x * C, r0[x]!);
        put(base + x * C + 1, r1[x]!);
        put(base + x * C + 2, r2[x]!);
      }
    } else {
      const [r0, r1, r2] = [rowBufs[0]!, rowBufs[1]!, rowBufs[2]!];
      for (let x = 0; x < w; x++) {
        ycbcrToRgb(r0[x]!, r1[x]!, r2[x]!, off, rgb);
        put(base + x * C, rgb[0]!);
        put(base + x * C + 1, rgb[1]!);
        put(base + x * C + 2, rgb[2]!);
      }
    }
  }
  if (content.alpha) writeAlpha(h, out, content.alpha);
  return { width: w, height: ht, channels: C, bitDepth, data: out };
}

/** The output samples of a decode and the one way a value becomes a sample (rounded, halves up, clamped). */
function pixelWriter(h: NmfzHeader) {
  const max = maxValue(h.bitDepth);
  const n = h.width * h.height * h.channels;
  const out = h.bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const put = (i: number, v: number): void => {
    out[i] = toSample(v, max);
  };
  const mode = h.planes.length === 1 ? h.planes[0]!.name : h.colorMode;
  return { max, out, mode, off: chromaOffset(max), rgb: new Float64Array(3), put };
}

/** Pixels from decoded planes (sample units): colour conversion, rounding and clamping as in decodePixels, then alpha. */
export function planesToPixels(content: NmfzContent, planes: readonly Float32Array[]): ImagePixels {
  const h = content.header;
  const writer = pixelWriter(h);
  writePixels(h, writer, planes, 0, h.width * h.height);
  if (content.alpha) writeAlpha(h, writer.out, content.alpha);
  return { width: h.width, height: h.height, channels: h.channels, bitDepth: h.bitDepth, data: writer.out };
}

/** Pixels `from` … `from + n − 1` (in image order) from the planes' samples 0 … n − 1. */
function writePixels(h: NmfzHeader, writer: ReturnType<typeof pixelWriter>, planes: readonly Float32Array[], from: number, n: number): void {
  const C = h.channels;
  const { mode, off, put } = writer;
  if (mode === 'gray') {
    const p0 = planes[0]!;
    for (let p = 0; p < n; p++) put((from + p) * C, p0[p]!);
  } else if (mode === 'channels') {
    const [p0, p1, p2] = [planes[0]!, planes[1]!, planes[2]!];
    for (let p = 0; p < n; p++) {
      const o = (from + p) * C;
      put(o, p0[p]!);
      put(o + 1, p1[p]!);
      put(o + 2, p2[p]!);
    }
  } else if (mode === 'ycbcr') {
    ycbcrToSamples(planes[0]!, planes[1]!, planes[2]!, n, off, writer.max, writer.out, from, C);
  } else {
    throw new Error(`planes of mode ${mode} are not decoded from tiles`);
  }
}

function writeAlpha(h: NmfzHeader, out: Uint8Array | Uint16Array, alpha: Uint8Array | Uint16Array): void {
  const C = h.channels;
  const n = h.width * h.height;
  for (let p = 0; p < n; p++) out[p * C + C - 1] = alpha[p]!;
}

/** The content with every component not listed (indices over all planes, in header order) set to zero. */
function onlyComponents(content: NmfzContent, enabled: readonly number[]): NmfzContent {
  const keep = new Set(enabled);
  let first = 0;
  const planes = content.planes.map((q) => {
    const scales = q.scales.slice();
    for (let j = 0; j < q.rank; j++) if (!keep.has(first + j)) scales[j] = 0;
    first += q.rank;
    return { ...q, scales };
  });
  return { ...content, planes };
}

/** Each plane's stored factors as numbers: W (rows×rank) and H (rank×cols), scaled so that W·H·max gives pixel values. */
export function storedFactors(content: NmfzContent): { name: PlaneName; W: Matrix; H: Matrix }[] {
  // A tiled file has no whole-plane factors; its tiles' are in content.tiles.
  if (content.header.layout === 'tiled') return [];
  const bits = content.header.quantization.bits;
  return content.planes.map((q, i) => {
    const { Wt, H } = dequantizePlane(q, bits);
    const W = allocate(q.rows, q.rank, 'float64');
    for (let j = 0; j < q.rank; j++) for (let r = 0; r < q.rows; r++) W.data[r * q.rank + j] = Wt[j * q.rows + r]!;
    return { name: content.header.planes[i]!.name, W, H: { rows: q.rank, cols: q.cols, data: H } };
  });
}

export { NMFZ_VERSION };
