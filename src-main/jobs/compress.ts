// Compress one image to .nmfz, decompress one .nmfz to an image, read a .nmfz header: what the CLI, batch and app call.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ImageEncoder, withMeasuredSsim } from '../codec/encoder.js';
import { DEFAULT_COLOR_MODE } from '../codec/encoder.js';
import type { Encoded, EncoderProgress, ImageFitSettings, RankProbe } from '../codec/encoder.js';
import { DEFAULT_TILE_SIZE } from '../codec/tiles.js';
import { TILE_MAX_ITER } from '../codec/tiled-encoder.js';
import type { SourceImage } from '../codec/image-io.js';
import { compareJpeg as jpegBaseline } from '../codec/jpeg-compare.js';
import { encodeImage, OUTPUT_FORMATS, readImage } from '../codec/image-io.js';
import type { OutputFormat } from '../codec/image-io.js';
import { compressionRatios, rawBytesOf } from '../codec/metrics.js';
import { decodeNmfz, decodePixels, readNmfzHeader, storedFactors } from '../codec/nmfz.js';
import type { NmfzContent, NmfzHeader } from '../codec/nmfz.js';
import type { PlaneName } from '../codec/colour.js';
import { ssimParallel } from '../codec/ssim-parallel.js';
import { TiledEncoder } from '../codec/tiled-encoder.js';
import { prestartTileThreads } from '../codec/tile-work.js';
import type { TileBatchFitter, TileMapInfo, TiledEncoded, TiledTarget } from '../codec/tiled-encoder.js';
import type { GpuBackend } from '../backends/gpu/gpu-backend.js';
import { BLOCK_FIT_DEFAULTS } from '../engine/block-fit.js';
import { gridOf } from '../codec/nmfz.js';
import { tileRect } from '../codec/tiles.js';
import type { PlaneShape } from '../codec/metrics.js';
import { COLOR_MODES, QUANT_BITS } from '../codec/types.js';
import type { ColorMode, ImagePixels, QuantBits } from '../codec/types.js';
import type { BitsChoice, CompressRecord, Layout, RankChoice } from '../api/contract.js';
import { COMPRESS_DEFAULTS, LAYOUTS } from '../api/contract.js';
import { TargetOutOfReach, throwIfCancelled, UserError } from '../engine/errors.js';
import type { Backend, BetaLossName, CancelSignal, Matrix } from '../engine/index.js';
import { checkWritable, writeFileAtomic } from '../formats/atomic.js';

/**
 * The global layout without rank, psnr, ratio or maxBytes: the largest rank whose file is 1/20 of the raw pixels. A
 * size target keeps the cost bounded on any photo, where a PSNR target can call for ranks near full (and fits that
 * take minutes).
 */
export const DEFAULT_RATIO = COMPRESS_DEFAULTS.globalRatio;
/**
 * The tiled layout without a target: the least bytes that reach this PSNR, and never more bytes than the input
 * file. Chosen on the photo set (README); the tiles' one-pass allocation reaches a PSNR as cheaply as a size.
 */
export const DEFAULT_TILED_PSNR = COMPRESS_DEFAULTS.tiledPsnr;
/** The layout when none is asked for. */
export const DEFAULT_LAYOUT: Layout = COMPRESS_DEFAULTS.layout;

export interface CompressOptions extends ImageFitSettings {
  /**
   * At most one of rank, psnr (dB), ratio and maxBytes; none means DEFAULT_TILED_PSNR in the tiled layout and
   * ratio DEFAULT_RATIO in the global one.
   */
  rank?: number;
  psnr?: number;
  ratio?: number;
  /** The largest file, in bytes. */
  maxBytes?: number;
  /** How planes are cut into matrices (default DEFAULT_LAYOUT). */
  layout?: Layout;
  colorMode?: ColorMode;
  bits?: QuantBits;
  /** Also write <outDir>/<name>.preview.png: the decoded pixels. */
  preview?: boolean;
  /** Also measure a JPEG of the same byte size. */
  compareJpeg?: boolean;
  overwrite?: boolean;
  backend: Backend;
  /** Why this backend was chosen (recorded as is). */
  backendReason?: string;
  signal?: CancelSignal;
  onProgress?: (progress: CompressProgress) => void;
  /** Largest image accepted, in pixels. */
  maxPixels?: number;
}

export interface CompressProgress {
  /** What is happening, for people: 'reading', 'factorizing rank 24 (plane y)', 'encoding', 'JPEG baseline', ... */
  stage: string;
  rank?: number;
  iteration: number;
  maxIter: number;
  loss?: number;
  relErr?: number;
  /** A rank tried while searching for a PSNR or ratio target, once it is measured. */
  probe?: RankProbe;
  /** While factorizing: the plane being fitted and its current factors (live arrays; copy what you keep). */
  plane?: string;
  W?: Matrix;
  H?: Matrix;
}

/** The record `compress --json` prints (and batch collects): defined once, in the contract the app shares. */
export type { CompressRecord };

/** What compressImage returns beside the record, so that the app shows results without decoding twice. */
export interface CompressOutcome {
  record: CompressRecord;
  /** The input's pixels, as measured against. */
  original: ImagePixels;
  /** The decoded reconstruction: exactly what the file decodes to and what the metrics were computed on. */
  decoded: ImagePixels;
  /** The stored (dequantised) factors of each plane; W·H·(255 or 65535) gives the plane's values. */
  factors: { name: PlaneName; W: Matrix; H: Matrix }[];
  /** The file's parsed content (header, codes, alpha), for decodePixels with a subset of components. */
  content: NmfzContent;
  /** The ranks tried by a psnr or ratio search, in order (one entry for a fixed rank). */
  probes: RankProbe[];
  /** The tiles and their ranks and PSNRs, for a file in the tiled layout. */
  tiles?: TileMapInfo;
  /** The JPEG of the same size, when compareJpeg was asked. */
  jpeg?: ImagePixels;
  previewPath?: string;
}

/** The settings a person picks (in the app, a batch or on the command line), by the names they share everywhere. */
export interface ImageJobSettings extends Omit<ImageFitSettings, 'betaLoss' | 'bits'> {
  betaLoss?: BetaLossName;
  choice?: RankChoice;
  layout?: Layout;
  colorMode?: ColorMode;
  /** 'auto' (or none): as compress without --bits. */
  bits?: BitsChoice;
  preview?: boolean;
  compareJpeg?: boolean;
  maxPixels?: number;
}

/** Those settings as compressImage's options (the rank choice spread into rank, psnr or ratio). */
export function compressOptionsOf(s: ImageJobSettings): Omit<CompressOptions, 'backend'> {
  const c = s.choice;
  return {
    ...(c && 'rank' in c
      ? { rank: c.rank }
      : c && 'psnr' in c
        ? { psnr: c.psnr }
        : c && 'ratio' in c
          ? { ratio: c.ratio }
          : c && 'maxBytes' in c
            ? { maxBytes: c.maxBytes }
            : {}),
    layout: s.layout,
    colorMode: s.colorMode,
    bits: s.bits === 'auto' ? undefined : s.bits,
    preview: s.preview,
    compareJpeg: s.compareJpeg,
    solver: s.solver,
    init: s.init,
    betaLoss: s.betaLoss,
    maxIter: s.maxIter,
    tol: s.tol,
    seed: s.seed,
    alphaW: s.alphaW,
    alphaH: s.alphaH,
    l1Ratio: s.l1Ratio,
    maxPixels: s.maxPixels,
  };
}

function baseName(file: string): string {
  const b = path.basename(file);
  const ext = path.extname(b);
  return ext.length > 0 && ext.length < b.length ? b.slice(0, -ext.length) : b;
}

/** Where compressImage writes for an input: <outDir>/<name>.nmfz and <outDir>/<name>.preview.png. */
export function outputPaths(inputPath: string, outDir: string): { nmfz: string; preview: string } {
  const name = baseName(inputPath);
  return { nmfz: path.join(outDir, `${name}.nmfz`), preview: path.join(outDir, `${name}.preview.png`) };
}

function checkPositive(name: string, v: unknown, integer: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new UserError(`${name} must be a positive ${integer ? 'integer' : 'number'} (got ${String(v)})`, 'usage');
  }
}

function checkOptions(o: CompressOptions): void {
  if (!o || typeof o !== 'object' || !o.backend) throw new UserError('compress needs options with a backend', 'usage');
  const targets = (['rank', 'psnr', 'ratio', 'maxBytes'] as const).filter((k) => o[k] !== undefined);
  if (targets.length > 1) throw new UserError(`give one of rank, psnr, ratio and maxBytes (got ${targets.join(' and ')})`, 'usage');
  if (o.rank !== undefined) checkPositive('rank', o.rank, true);
  if (o.psnr !== undefined) checkPositive('psnr', o.psnr, false);
  if (o.ratio !== undefined) checkPositive('ratio', o.ratio, false);
  if (o.maxBytes !== undefined) checkPositive('maxBytes', o.maxBytes, true);
  if (o.layout !== undefined && !LAYOUTS.includes(o.layout)) {
    throw new UserError(`layout must be one of ${LAYOUTS.join(', ')} (got ${String(o.layout)})`, 'usage');
  }
  if (o.colorMode !== undefined && !COLOR_MODES.includes(o.colorMode)) {
    throw new UserError(`colorMode must be one of ${COLOR_MODES.join(', ')} (got ${String(o.colorMode)})`, 'usage');
  }
  if (o.bits !== undefined && !QUANT_BITS.includes(o.bits)) {
    throw new UserError(`bits must be one of ${QUANT_BITS.join(', ')} (got ${String(o.bits)})`, 'usage');
  }
}

/** Whether the options name a target (rank, PSNR, ratio or size), or leave it to the layout's default. */
function targetAsked(o: CompressOptions): boolean {
  return [o.rank, o.psnr, o.ratio, o.maxBytes].some((v) => v !== undefined);
}

/**
 * Compresses one image file into <outDir>/<name>.nmfz (and optionally a preview PNG). The input is only read;
 * outputs are written under temporary names and renamed, and an existing output is refused unless `overwrite`.
 * Bad input or options throw a UserError naming the file; nothing is written then.
 */
export async function compressImage(inputPath: string, outDir: string, options: CompressOptions): Promise<CompressOutcome> {
  const started = performance.now();
  checkOptions(options);
  const report = options.onProgress ?? (() => undefined);
  const paths = outputPaths(inputPath, outDir);
  await checkWritable(paths.nmfz, { overwrite: options.overwrite });
  if (options.preview) await checkWritable(paths.preview, { overwrite: options.overwrite });

  report({ stage: 'reading', iteration: 0, maxIter: 0 });
  const colorMode = options.colorMode ?? DEFAULT_COLOR_MODE;
  // The tile threads start while the pixels are decoded, where the tiled layout will want them.
  const onSize = (width: number, height: number): void => {
    if ((options.layout ?? DEFAULT_LAYOUT) !== 'global' && colorMode !== 'stacked') prestartTileThreads(width * height, 3, options.backend.threads);
  };
  const source = await readImage(inputPath, { maxPixels: options.maxPixels, onSize });
  throwIfCancelled(options.signal);
  let layout = chooseLayout(options.layout ?? DEFAULT_LAYOUT, source.pixels, colorMode, options.rank);
  let made: Made;
  try {
    made = layout === 'tiled' ? await encodeTiled(source, options, report) : await encodeGlobal(source, options, report);
  } catch (err) {
    // A thumbnail left to the defaults: its header alone outweighs a twentieth of its pixels, so the whole-image
    // layout's default ratio is out of reach; the tiled layout's default (a PSNR, never larger than the input) is
    // what a person gets instead, as they would for a photograph.
    const tileable = colorMode !== 'stacked' || source.pixels.channels < 3;
    if (!((options.layout ?? DEFAULT_LAYOUT) === 'auto' && layout === 'global' && !targetAsked(options) && tileable && err instanceof TargetOutOfReach)) throw err;
    layout = 'tiled';
    made = await encodeTiled(source, options, report);
  }
  throwIfCancelled(options.signal);

  report({ stage: 'measuring', rank: made.rank, iteration: 0, maxIter: 0 });
  const original = source.pixels;
  const ssim = await (made.ssim ?? ssimParallel(original, made.decoded));
  const bytes = withMeasuredSsim(made.bytes, made.psnr, made.relErr, ssim, source.name);
  const ratios = compressionRatios({
    rawBytes: rawBytesOf(original),
    originalFileBytes: source.fileBytes,
    compressedBytes: bytes.length,
    planes: storedShapes(made.content),
  });
  const record: CompressRecord = {
    input: inputPath,
    output: paths.nmfz,
    status: 'ok',
    error: null,
    width: original.width,
    height: original.height,
    channels: original.channels,
    bitDepth: original.bitDepth,
    colorMode,
    layout,
    rank: made.rank,
    originalFileBytes: source.fileBytes,
    rawBytes: rawBytesOf(original),
    compressedBytes: bytes.length,
    ratio: ratios.ratio,
    fileRatio: ratios.fileRatio,
    factorRatio: ratios.factorRatio,
    psnr: made.psnr,
    ssim,
    relErr: made.relErr,
    iterations: made.iterations,
    backend: layout === 'tiled' ? (made.tileBackend ?? 'cpu') : options.backend.name,
    ...(options.backendReason !== undefined && layout === 'global' ? { backendReason: options.backendReason } : {}),
    ...(made.tileBackend === 'gpu' ? { backendReason: `${options.backend.label}: the tiles fitted in batches on it; their starts and quantisation on the CPU` } : {}),
    ms: 0,
  };
  let jpeg: ImagePixels | undefined;
  if (options.compareJpeg) {
    report({ stage: 'JPEG baseline', rank: made.rank, iteration: 0, maxIter: 0 });
    const j = await jpegBaseline(original, bytes.length);
    Object.assign(record, { jpegQuality: j.jpegQuality, jpegBytes: j.jpegBytes, jpegPsnr: j.jpegPsnr, jpegSsim: j.jpegSsim });
    jpeg = j.decoded;
  }
  throwIfCancelled(options.signal);

  report({ stage: 'writing', rank: made.rank, iteration: 0, maxIter: 0 });
  const previewBytes = options.preview ? await encodeImage(made.decoded, 'png') : null;
  await writeFileAtomic(paths.nmfz, bytes, { overwrite: options.overwrite });
  if (previewBytes) await writeFileAtomic(paths.preview, previewBytes, { overwrite: options.overwrite });
  record.ms = Math.round(performance.now() - started);
  return {
    record,
    original,
    decoded: made.decoded,
    factors: storedFactors(made.content),
    content: made.content,
    probes: made.probes,
    ...(made.tiles ? { tiles: made.tiles } : {}),
    ...(jpeg ? { jpeg } : {}),
    ...(previewBytes ? { previewPath: paths.preview } : {}),
  };
}

/** What either layout's encoder hands back: the file's bytes (before SSIM is put in its header) and what they decode to. */
interface Made extends Omit<TiledEncoded, 'tiles'> {
  probes: RankProbe[];
  tiles?: TileMapInfo;
  /** The SSIM of `decoded`, where the encoder let it be measured while it finished the file. */
  ssim?: Promise<number>;
  /** Where a tiled file's fits ran. */
  tileBackend?: 'cpu' | 'gpu';
}

/**
 * The layout for an image: 'auto' takes the tiled layout whenever the image spans more than one tile (one tile is
 * the global layout, written in the older version), and the global one for the stacked colour mode, whose one plane
 * puts R, G and B side by side, and for a fixed rank: K components of the whole image, what the app's components
 * gallery shows.
 */
export function chooseLayout(requested: Layout, pixels: ImagePixels, colorMode: ColorMode, rank?: number): 'global' | 'tiled' {
  if (requested !== 'auto') return requested;
  if (rank !== undefined) return 'global';
  if (colorMode === 'stacked' && pixels.channels >= 3) return 'global';
  return pixels.width > DEFAULT_TILE_SIZE || pixels.height > DEFAULT_TILE_SIZE ? 'tiled' : 'global';
}

/** Stored entries per matrix, for factorRatio: every tile in the tiled layout, every plane in the global one. */
export function storedShapes(content: NmfzContent): PlaneShape[] {
  if (!content.tiles) return content.header.planes;
  const g = gridOf(content.header);
  return content.tiles.flatMap((plane) => plane.map((q, t) => ({ rows: tileRect(g, t).h, cols: tileRect(g, t).w, rank: q.rank })));
}

async function encodeGlobal(source: SourceImage, options: CompressOptions, report: (p: CompressProgress) => void): Promise<Made> {
  const encoder = new ImageEncoder(source, {
    colorMode: options.colorMode,
    bits: options.bits,
    solver: options.solver,
    init: options.init,
    betaLoss: options.betaLoss,
    maxIter: options.maxIter,
    tol: options.tol,
    seed: options.seed,
    alphaW: options.alphaW,
    alphaH: options.alphaH,
    l1Ratio: options.l1Ratio,
    backend: options.backend,
    signal: options.signal,
    onProgress: (p: EncoderProgress) =>
      report({ stage: p.stage, rank: p.rank, iteration: p.iteration, maxIter: p.maxIter, loss: p.loss, relErr: p.relErr, plane: p.plane, W: p.W, H: p.H }),
  });
  const onProbe = (probe: RankProbe): void => report({ stage: `measured rank ${probe.rank}`, rank: probe.rank, iteration: 0, maxIter: 0, probe });
  let best: Encoded;
  let probes: RankProbe[];
  if (options.rank !== undefined) {
    best = await encoder.encodeRank(options.rank);
    probes = [{ rank: best.fit.rank, psnr: best.psnr, compressedBytes: best.bytes.length, ratio: encoder.ratios(best).ratio }];
  } else if (options.psnr !== undefined) {
    ({ best, probes } = await encoder.searchPsnr(options.psnr, onProbe));
  } else {
    const ratio = options.maxBytes !== undefined ? rawBytesOf(source.pixels) / options.maxBytes : (options.ratio ?? DEFAULT_RATIO);
    ({ best, probes } = await encoder.searchRatio(ratio, onProbe));
  }
  return { bytes: best.bytes, content: best.content, decoded: best.decoded, psnr: best.psnr, relErr: best.relErr, rank: best.fit.rank, iterations: best.fit.iterations, probes };
}

async function encodeTiled(source: SourceImage, options: CompressOptions, report: (p: CompressProgress) => void): Promise<Made> {
  const colorMode = options.colorMode ?? DEFAULT_COLOR_MODE;
  // Each build's SSIM, started while its payload is compressed.
  const ssims = new Map<ImagePixels, Promise<number>>();
  // On the GPU backend the tiles are fitted there, many per dispatch (gpu.js loaded only then).
  let gpu: TileBatchFitter | null = null;
  if (options.backend.name === 'gpu') {
    const { fitTilesBatched } = await import('../backends/gpu/tile-batch.js');
    const backend = options.backend as GpuBackend;
    gpu = (tiles, maxIter) => fitTilesBatched(tiles, { maxIter, innerSweeps: BLOCK_FIT_DEFAULTS.innerSweeps, backend });
  }
  const encoder = new TiledEncoder(source, {
    threads: options.backend.threads,
    colorMode,
    // none given: 6 or 8, as the tiles' sample says (TiledEncoder)
    bits: options.bits,
    seed: options.seed,
    signal: options.signal,
    ...(options.maxIter !== undefined ? { fit: { maxIter: options.maxIter } } : {}),
    nmf: {
      solver: 'hals',
      init: 'nndsvd',
      betaLoss: 'frobenius',
      maxIter: options.maxIter ?? TILE_MAX_ITER,
      tol: 0,
      seed: options.seed ?? 0,
      alphaW: 0,
      alphaH: 'same',
      l1Ratio: 0,
      iterations: 0,
      backend: gpu ? 'gpu' : 'cpu',
    },
    ...(gpu ? { fitTiles: gpu } : {}),
    onProgress: (stage, done, total) => report({ stage, iteration: done, maxIter: total }),
    onDecoded: (decoded) => {
      const measured = encoder.ssim(decoded);
      measured.catch(() => undefined); // awaited only for the build that becomes the file
      ssims.set(decoded, measured);
    },
  });
  const raw = rawBytesOf(source.pixels);
  const target: TiledTarget =
    options.rank !== undefined
      ? { rank: options.rank }
      : options.psnr !== undefined
        ? { psnr: options.psnr }
        : options.ratio !== undefined
          ? { bytes: Math.floor(raw / options.ratio) }
          : options.maxBytes !== undefined
            ? { bytes: options.maxBytes }
            : { psnr: DEFAULT_TILED_PSNR };
  // The default never makes a file larger than its input: then the input's size is the target instead (the encoder
  // measures the file against the cap before it keeps it).
  const cap = !targetAsked(options) && source.fileBytes > 0 ? { maxBytes: source.fileBytes - 64 } : undefined;
  let e: Awaited<ReturnType<typeof encoder.encode>>;
  try {
    e = await encoder.encode(target, cap);
    if (cap) e = await raisedToSsimFloor(e, cap, (d) => ssims.get(d)!, (psnr) => encoder.encode({ psnr }, cap));
  } catch (err) {
    // The input's size out of reach (a file that compresses to almost nothing, a black strip): say that, not the
    // byte count the cap became.
    if (cap && err instanceof TargetOutOfReach) {
      throw new UserError(`even the tiles' least ranks make a file larger than the input (${source.fileBytes} bytes), which the default does not write: ask for a PSNR, ratio, rank or size to have one`);
    }
    throw err;
  } finally {
    await encoder.close();
  }
  e.content.header.nmf.iterations = e.iterations;
  const probe: RankProbe = { rank: e.rank, psnr: e.psnr, compressedBytes: e.bytes.length, ratio: raw / e.bytes.length };
  return { bytes: e.bytes, content: e.content, decoded: e.decoded, psnr: e.psnr, relErr: e.relErr, rank: e.rank, iterations: e.iterations, probes: [probe], tiles: e.tiles, ssim: ssims.get(e.decoded), tileBackend: gpu ? 'gpu' : 'cpu' };
}

/** dB of PSNR a default build is raised by per unit of SSIM it lacks: Blinds gained 0.016 SSIM in 0.8 dB. */
const DB_PER_SSIM = 60;

/**
 * The tiled default's SSIM floor (COMPRESS_DEFAULTS.tiledSsimFloor): a build under it is made again at the PSNR its
 * shortfall asks for, twice at most (the encoder's spectra and fits kept, so a second build costs its new tiles and a
 * decode), the file never larger than the cap; the last build is kept even where it still falls short.
 */
export async function raisedToSsimFloor(
  e: TiledEncoded,
  cap: { maxBytes: number },
  ssimOf: (decoded: ImagePixels) => Promise<number>,
  encodeAt: (psnr: number) => Promise<TiledEncoded>,
): Promise<TiledEncoded> {
  const floor = COMPRESS_DEFAULTS.tiledSsimFloor;
  for (let tries = 0; tries < 2; tries++) {
    const s = await ssimOf(e.decoded);
    // Past the cap no build is larger: a second at the cap's size would be the same file.
    if (!(s < floor) || e.bytes.length >= cap.maxBytes - 1024) break;
    e = await encodeAt(e.psnr + (floor - s) * DB_PER_SSIM + 0.1);
  }
  return e;
}

/** A record for an input that failed or was skipped, with the same fields as a success (zeros where unknown). */
export function failedRecord(input: string, status: 'error' | 'skipped', message: string, colorMode: ColorMode = 'ycbcr'): CompressRecord {
  return {
    input,
    output: null,
    status,
    error: message,
    width: 0,
    height: 0,
    channels: 0,
    bitDepth: 0,
    colorMode,
    layout: 'global',
    rank: 0,
    originalFileBytes: 0,
    rawBytes: 0,
    compressedBytes: 0,
    ratio: 0,
    fileRatio: 0,
    factorRatio: 0,
    psnr: 0,
    ssim: 0,
    relErr: 0,
    iterations: 0,
    backend: '',
    ms: 0,
  };
}

async function readNmfzFile(file: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new UserError(`${file}: is a folder, not a .nmfz file`);
    return await readFile(file);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`}`);
  }
}

export interface DecompressOptions {
  /** Default 'png'. PNG, TIFF and WebP are lossless (JPEG at quality 95, 4:4:4); 16-bit needs PNG or TIFF. */
  format?: OutputFormat;
  overwrite?: boolean;
}

export interface DecompressResult {
  input: string;
  output: string;
  format: OutputFormat;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  bytes: number;
  /** The decoded pixels (as written, before any 8-bit reduction for JPEG or WebP). */
  pixels: ImagePixels;
  /** The .nmfz file's header. */
  header: NmfzHeader;
}

const EXTENSIONS: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', tiff: 'tif' };

/** Decodes <nmfzPath> and writes <outDir>/<name>.<ext>; a corrupt or foreign file is refused and nothing is written. */
export async function decompressFile(nmfzPath: string, outDir: string, options: DecompressOptions = {}): Promise<DecompressResult> {
  const format = options.format ?? 'png';
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new UserError(`format must be one of ${OUTPUT_FORMATS.join(', ')} (got ${String(format)})`, 'usage');
  }
  const output = path.join(outDir, `${baseName(nmfzPath)}.${EXTENSIONS[format]}`);
  await checkWritable(output, { overwrite: options.overwrite });
  const bytes = await readNmfzFile(nmfzPath);
  const content = decodeNmfz(bytes, nmfzPath);
  const pixels = decodePixels(content);
  const encoded = await encodeImage(pixels, format);
  await writeFileAtomic(output, encoded, { overwrite: options.overwrite });
  return {
    input: nmfzPath,
    output,
    format,
    width: pixels.width,
    height: pixels.height,
    channels: pixels.channels,
    bitDepth: pixels.bitDepth,
    bytes: encoded.length,
    pixels,
    header: content.header,
  };
}

/** readInfo's answer: the header as plain JSON, with the file's size, format version and ratios. */
export interface NmfzInfo extends NmfzHeader {
  file: string;
  formatVersion: number;
  compressedBytes: number;
  rawBytes: number;
  ratio: number;
  fileRatio: number;
  factorRatio: number;
}

/** The header of a .nmfz file (checked, CRC included) as a plain JSON object; the factors are not decoded. */
export async function readInfo(nmfzPath: string): Promise<NmfzInfo> {
  const bytes = await readNmfzFile(nmfzPath);
  const { formatVersion, header } = readNmfzHeader(bytes, nmfzPath);
  const rawBytes = rawBytesOf(header);
  // A tiled file's stored entries depend on each tile's rank, which its payload holds.
  const planes = header.layout === 'tiled' ? storedShapes(decodeNmfz(bytes, nmfzPath)) : header.planes;
  const ratios = compressionRatios({
    rawBytes,
    originalFileBytes: header.original.bytes,
    compressedBytes: bytes.length,
    planes,
  });
  return { file: nmfzPath, formatVersion, ...header, compressedBytes: bytes.length, rawBytes, ...ratios };
}
