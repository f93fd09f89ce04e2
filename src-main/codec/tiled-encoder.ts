// The tiled layout's encoder: cut every plane into tiles → measure each tile's spectrum → allocate ranks to all tiles
// at once → fit each tile → quantise → measure in memory through the decoder → one correction → the file.

import { TargetOutOfReach, throwIfCancelled, UserError } from '../engine/errors.js';
import { COMPRESS_DEFAULTS } from '../api/contract.js';
import type { BlockFitOptions } from '../engine/block-fit.js';
import type { CancelSignal, Matrix } from '../engine/index.js';
import { allocateRanks } from './allocate.js';
import type { AllocationTarget, BlockCurve } from './allocate.js';
import { imageToPlanes, isAchromatic, planeLayouts, splitRank, YCBCR_CHROMA_SHARE } from './colour.js';
import type { PlaneLayout } from './colour.js';
import { compressPayload, envelopeOf, envelopeOverhead } from './container.js';
import type { SourceImage } from './image-io.js';
import { energyOf, mse, rawBytesOf } from './metrics.js';
import { ssimInBands, SsimAsDecoded } from './ssim-parallel.js';
import type { SsimBand } from './ssim-parallel.js';
import { decodeTiledPixels, extractAlpha, formatVersionOf, planesToPixels, storedPayloadAsync, storedQuality } from './nmfz.js';
import type { FactorCoding, NmfzContent, NmfzHeader } from './nmfz.js';
import { encodeTileCodes } from './range-coder.js';
import { levels, packCodes, quantizePlane } from './quantize.js';
import { originalStrips, tileSamples, TileWorkers } from './tile-work.js';
import type { FinishJob, FitJob, OriginalJob, SharedPlanes, SpectrumJob, SsimJob, StartJob, TileFitOutcome, TileJob, TileOutcome } from './tile-work.js';
import type { QuantizedPlane } from './quantize.js';
import { BorderStrips, chooseDeblockThreshold, edgeSampler, reconstructTiles, tileEdges, tileGrid, tileRect } from './tiles.js';
import type { TileGrid } from './tiles.js';
import type { ColorMode, ImagePixels, QuantBits } from './types.js';
import { colourChannels, hasAlpha, maxValue } from './types.js';

/** What the tiled encoder aims at: a PSNR, a file size, or a number of stored entries (`--rank K`: as many as rank K stores globally). */
/** Bytes a size target keeps free for what the header's measured figures (PSNR, deblocking) add to its estimate. */
const SIZE_MARGIN = 48;
/**
 * A size target's passes aim at this share of it and stop at the first file between SIZE_WINDOW of it and the
 * target: a measured pass predicts the next within about 2 %, so aiming at the window's middle saves a pass.
 */
const SIZE_AIM = 0.98;
const SIZE_WINDOW = 0.96;
/**
 * How a file's bytes grow with the budget allocated (bytes ∝ budget^E near a size target, measured 1.2–1.4 on
 * the photo set): the weaker components that a larger budget adds are noisier and compress worse.
 */
const BYTES_ELASTICITY = 1.3;
/** What a component costs beside its entries: its scale (float32) and a share of its tile's rank. */
const SCALE_BYTES = 6;

/** Bytes per entry measured on a file of `fromBytes`, carried to one of `toBytes` (BYTES_ELASTICITY). */
function perEntryAt(perEntry: number, fromBytes: number, toBytes: number): number {
  return perEntry * (toBytes / fromBytes) ** ((BYTES_ELASTICITY - 1) / BYTES_ELASTICITY);
}
/** Corrections of a PSNR target's allocation after measuring the built file. */
const MAX_PSNR_CORRECTIONS = 3;

export type TiledTarget = { psnr: number } | { bytes: number } | { rank: number };

/**
 * Fits many tiles at once elsewhere (the GPU backend's batched HALS): each tile's samples (rows×cols), its rank and
 * its NNDSVD start (W0 rows×k, H0 k×cols, row-major); the fitted W and H in the same layout.
 */
export type TileBatchFitter = (
  tiles: { V: Float32Array; rows: number; cols: number; k: number; W0: Float32Array; H0: Float32Array }[],
  maxIter: number,
) => Promise<{ W: Float32Array; H: Float32Array; iterations: number }[]>;

/** The tiles of a tiled encoding, as the contract's TileMap carries them. */
export interface TileMapInfo {
  tileSize: number;
  tilesX: number;
  tilesY: number;
  planes: { name: string; rows: number; cols: number; ranks: number[]; psnr: number[] }[];
}

export interface TiledSettings {
  colorMode: ColorMode;
  /**
   * Bits per stored factor entry; none: for a PSNR target 6 or 8, whichever its sample says reaches it in fewer bytes
   * (AUTO_BITS), else 6.
   */
  bits?: QuantBits;
  tileSize?: number;
  seed?: number;
  fit?: Partial<BlockFitOptions>;
  /** Brotli quality of the payload. */
  brotliQuality?: number;
  signal?: CancelSignal;
  /** The header's `nmf` record (settings, for people). */
  nmf: NmfzHeader['nmf'];
  software?: string;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Threads for the tiles (default: one per core). */
  threads?: number;
  /**
   * Told each build's decoded image as soon as it exists, while its payload is still being compressed (off this
   * thread): time for what the caller measures on it.
   */
  onDecoded?: (decoded: ImagePixels) => void;
  /** Where the fits run when not on the tile threads: their starts and their quantisation stay there. */
  fitTiles?: TileBatchFitter;
}

export interface TiledEncoded {
  bytes: Buffer;
  content: NmfzContent;
  decoded: ImagePixels;
  psnr: number;
  relErr: number;
  /** Components over all tiles and planes. */
  rank: number;
  /** The most HALS iterations any tile ran. */
  iterations: number;
  tiles: TileMapInfo;
}

/**
 * The triplets computed per tile to draw its error curve: enough for ranks that still store fewer numbers than the
 * tile has pixels at PSNRs people ask for; chroma, smooth, needs far fewer.
 */
const SPECTRUM_RANK = 16;
const CHROMA_SPECTRUM_RANK = 6;
/**
 * A tile allocated all the ranks its spectrum drew is measured again, longer: to SPECTRUM_RANK, then 16 more at a
 * time, up to EXTENDED_SPECTRUM_RANK (past it, ranks cost more than pixels). In steps, because a spectrum costs as
 * its length: most tiles that outgrow theirs need only a few more components (chroma above 6, luma above 16).
 */
const EXTENDED_SPECTRUM_RANK = 48;
const EXTENSION_STEP = 16;
/**
 * Bytes per stored 6-bit entry in the file, the first guess of a size target before its sample is measured (Brotli
 * made 0.55–0.75 of the photo set's; the range coder makes fewer, 0.25 on LadyBird to 0.53 on Dune): the sample's own
 * figure replaces it.
 */
const FIRST_BYTES_PER_ENTRY = 0.7;
/** Most HALS iterations per tile (the fit usually stops earlier, when what is left to gain is small). */
export const TILE_MAX_ITER = COMPRESS_DEFAULTS.tiledMaxIter;
/**
 * Brotli quality of a tiled file's Brotli'd part (its tile table, scales and alpha; with 12- or 16-bit codes, the
 * codes too): measured on a photograph's payload, 10 came within 0.5 % of 11's size in half its time, and 9 was 7 %
 * larger.
 */
export const DEFAULT_TILED_BROTLI_QUALITY = 10;
/**
 * Tile sizes, by what the image asks of them. A tile whose content is not low-rank at its size (a texture: sand, grass,
 * foliage) is better cut smaller: its quarters adapt their ranks to what each holds, at the same bytes, and a fit costs
 * as rows·cols·rank, so four quarters at half the rank cost half as much. Smooth content (sky, a studio backdrop)
 * needs a component or two whatever the size, and bigger tiles store fewer of them. Measured on the photo set at
 * 38 dB: 64-pixel tiles made Dune's file 5 % smaller than 128-pixel ones in 40 % of the fit work, and Storm's (a sky)
 * twice as large. The spectra are measured at FIRST_TILE_SIZE; the mean rank a first allocation gives its luma tiles
 * picks the size (TILE_SIZE_STEPS).
 */
const FIRST_TILE_SIZE = 64;
/** Every this-many'th tile (on diagonals) is measured at FIRST_TILE_SIZE to choose the size; the rest only at the size chosen. */
const TILE_SIZE_SAMPLE_STEP = 3;
/**
 * [the least mean luma rank at FIRST_TILE_SIZE, the tile size]: the first that the image's mean rank reaches is taken.
 * On the photo set at 38 dB: Storm 1.0 and Aqua 1.2 → 128; Garden, LadyBird, FreshFlower, YellowFlower, TwoWings and
 * Wood 1.5–2.0 → 96; GreenMeadow and RainDrops 3.5 → 64; Blinds 4.7 and Dune 15 → 48 (Dune's fits 15 % faster
 * than at 64, Blinds' file 4 % smaller; GreenMeadow's 5 % larger at 48).
 */
const TILE_SIZE_STEPS: readonly (readonly [number, number])[] = [
  [4.2, 48],
  [2.2, 64],
  [1.5, 96],
  [0, 128],
];
/**
 * The bits a PSNR target may be made at when the settings name none: the first unless the sample, quantised at both,
 * says the second reaches the target in fewer bytes (sampleForBits). Six bits are the smaller file at the
 * PSNRs photographs are usually kept at, and eight above about 41–43 dB, where six bits' quantisation noise is the
 * floor a tile's error stops at: measured at 42 dB, Storm's file was 391 kB in 6 bits and 37 kB in 8, LadyBird's 742
 * and 535 kB, Aqua's 229 and 128 kB, where Dune's was 1000 and 1131 kB, Blinds' 1928 and 2049; at 38 dB six bits made
 * every photograph's file 15–60 % smaller; and past 44 dB six bits fell short of the target by up to 3 dB.
 */
const AUTO_BITS: readonly [QuantBits, QuantBits] = [6, 8];
/** The allocations that weigh the bits are estimates: their slope found to a percent (allocateRanks). */
const ESTIMATE_TOLERANCE = 0.01;

/** A sample's figures at one number of bits (TiledEncoder.sample). */
interface Sample {
  stride: number;
  /** The sample's squared error over what the spectra predicted for its ranks. */
  errorFactor: number;
  /** The sample's weighted squared error; what the spectra predicted; what its components hold (energy − predicted). */
  actual: number;
  predicted: number;
  captured: number;
  /** Coded bytes per stored entry. */
  bytesPerEntry: number;
  /** What the sampled places' pixels' error makes of their tiles' summed one (called while the threads fit). */
  realOverEstimate: () => number;
}

/**
 * A tile's error at rank k as sampleForBits models it, f·residual[k] + eps·(energy − residual[k]); with the sampled
 * tiles' blocks for allocateRanks (weighted per sampled pixel, so that errors are the image's mean) and their energy.
 */
interface NoiseModel {
  f: number;
  eps: number;
  energy: number;
  blocks: (costOf: (rect: { w: number; h: number }) => number) => BlockCurve[];
}

/** A fit's key in the encoder's cache. */
function fitKey(p: number, t: number, k: number, bits: QuantBits): string {
  return `${bits}:${p}:${t}:${k}`;
}

/** A PSNR target's file the sample predicts above this share of its cap is measured before it is decoded. */
const NEAR_CAP = 0.85;
/** A tile whose PSNR would be infinite (stored exactly) is reported at this, which JSON can carry. */
const EXACT_TILE_PSNR = 100;

/**
 * How much a plane's squared error (in [0, 1] units) counts in the image's RGB mean squared error: the YCbCr inverse
 * spreads luma into all three channels and each chroma plane into two, with its coefficients squared.
 */
function planeWeights(layouts: readonly PlaneLayout[], mode: ColorMode): number[] {
  if (layouts.length === 1) return [1];
  if (mode === 'ycbcr') {
    const cb = (1.772 ** 2 + 0.344136 ** 2) / 3;
    const cr = (1.402 ** 2 + 0.714136 ** 2) / 3;
    return [1, cb, cr];
  }
  return [1 / 3, 1 / 3, 1 / 3];
}

/** A build decoded and measured, before its file is made. */
interface Decoded {
  ranks: readonly Int32Array[];
  content: NmfzContent;
  /** Per plane, per tile: the squared error of the decoded samples ([0, 1] units, after deblocking, before rounding). */
  tileErrors: Float64Array[];
  decoded: ImagePixels;
  psnr: number;
  relErr: number;
  iterations: number;
}

interface TileFit {
  q: QuantizedPlane;
  iterations: number;
  /** Squared error of the decoded tile before deblocking, in [0, 1] units. */
  error: number;
  /** The decoded tile's samples next to its edges ([0, 1] units, tileEdges): what its border strips hold. */
  edges: Float32Array;
}

/**
 * A build decoded in memory and measured: each plane's deblocking threshold chosen on its border strips (the only
 * samples the filter touches, from each tile's edges as its fit decoded them) against the original's, put in the
 * header; then the image decoded band by band as the decoder will, each tile's error measured on the way; PSNR and
 * relErr from one pass.
 */
function measureBuild(
  content: NmfzContent,
  edges: (p: number, t: number) => Float32Array,
  g: TileGrid,
  V: readonly Matrix[],
  pixels: ImagePixels,
  originals: { strips: readonly BorderStrips[]; energy: number },
  onPixels?: (samples: Uint8Array | Uint16Array, y: number) => void,
): { tileErrors: Float64Array[]; decoded: ImagePixels; psnr: number; relErr: number } {
  const header = content.header;
  const max = maxValue(pixels.bitDepth);
  content.tiles!.forEach((tiles, p) => {
    const strips = new BorderStrips(g);
    strips.fill((t) => edgeSampler(edges(p, t), tiles[t]!.rows, tiles[t]!.cols, max));
    header.planes[p]!.deblock = chooseDeblockThreshold(strips, originals.strips[p]!, max, max);
  });
  const tileErrors = content.tiles!.map(() => new Float64Array(g.count));
  const decoded = decodeTiledPixels(content, {
    onPixels,
    onRows: (y0, planes, count) => {
      planes.forEach((D, p) => {
        const plane = V[p]!.data;
        const e = tileErrors[p]!;
        for (let i = 0; i < count; i++) {
          const tileRow = Math.floor((y0 + i) / g.tileSize) * g.tilesX;
          for (let tx = 0; tx < g.tilesX; tx++) {
            let sum = 0;
            const x1 = Math.min(g.cols, (tx + 1) * g.tileSize);
            for (let x = tx * g.tileSize; x < x1; x++) sum += (D[i * g.cols + x]! / max - plane[(y0 + i) * g.cols + x]!) ** 2;
            e[tileRow + tx] += sum;
          }
        }
      });
    },
  });
  const m = mse(pixels, decoded);
  const psnr = m === 0 ? Infinity : 10 * Math.log10((max * max) / m);
  const relErr = originals.energy === 0 ? (m === 0 ? 0 : Infinity) : Math.sqrt((m * pixels.width * pixels.height * colourChannels(pixels)) / originals.energy);
  return { tileErrors, decoded, psnr, relErr };
}

/** Side of the corner of the image warmUpDecoder measures a made-up build on. */
const WARM_UP_SIDE = 192;

export class TiledEncoder {
  readonly pixels: ImagePixels;
  readonly layouts: PlaneLayout[];
  /** The tiles (their size chosen by the image when the settings name none: chooseTileSize). */
  grid: TileGrid;
  private readonly weights: number[];
  private readonly V: Matrix[];
  private readonly alpha: Uint16Array | null;
  /** Per plane, per tile: the error against rank from the tile's spectrum. */
  private curves: Float64Array[][] = [];
  private readonly fits = new Map<string, TileFit>();
  /** Compressed payloads by their tiles' ranks (payloadOf). */
  private readonly payloads = new Map<string, Promise<Buffer>>();
  private readonly workers: TileWorkers;
  private readonly shared: SharedPlanes;
  /** The original's border strips (for the deblocking thresholds) and its energy (relErr's denominator), once made. */
  private originals: Promise<{ strips: BorderStrips[]; energy: number }> | undefined;
  /** The decoded images onDecoded was told of. */
  private readonly announced = new WeakSet<ImagePixels>();
  /** Builds' SSIM, summed as they were decoded (decodeAt). */
  private readonly ssims = new WeakMap<ImagePixels, SsimAsDecoded>();
  /** Whether warmUpDecoder has run. */
  private warmedUp = false;
  /** Σ x² over the original's colour samples (energyOf). */
  private energy: number | undefined;
  /** Whether the tile size is settled (chooseTileSize). */
  private sized = false;
  /** Bits per stored factor entry: the settings', or as the sample chose them (AUTO_BITS). */
  private bits: QuantBits;

  constructor(
    readonly source: SourceImage,
    private readonly settings: TiledSettings,
  ) {
    this.pixels = source.pixels;
    if (settings.colorMode === 'stacked' && this.pixels.channels >= 3) {
      throw new UserError("the tiled layout cuts planes of the image's size: use colour mode ycbcr or channels, or --layout global", 'usage');
    }
    this.layouts = planeLayouts(this.pixels, settings.colorMode);
    this.bits = settings.bits ?? AUTO_BITS[0];
    this.grid = tileGrid(this.pixels.height, this.pixels.width, settings.tileSize ?? FIRST_TILE_SIZE);
    this.weights = planeWeights(this.layouts, settings.colorMode);
    // The planes in memory the tile threads share, so that a job names its tile instead of carrying a copy.
    this.V = imageToPlanes(
      this.pixels,
      settings.colorMode,
      'float32',
      this.layouts.map((l) => ({ rows: l.rows, cols: l.cols, data: new Float32Array(new SharedArrayBuffer(l.rows * l.cols * 4)) })),
    );
    this.alpha = extractAlpha(this.pixels);
    this.shared = { data: this.V.map((m) => m.data as Float32Array), cols: this.V.map((m) => m.cols) };
    this.workers = new TileWorkers(this.shared, settings.threads);
  }

  /** Ends the worker threads (the encoder can still be used: they start again when needed). */
  close(): Promise<void> {
    return this.workers.close();
  }

  /** Runs tile jobs on the threads, reporting progress under `stage`. */
  private async runJobs(jobs: readonly TileJob[], stage: string): Promise<TileOutcome[]> {
    throwIfCancelled(this.settings.signal);
    this.settings.onProgress?.(stage, 0, jobs.length);
    const out = await this.workers.run(jobs, (done) => this.settings.onProgress?.(stage, done, jobs.length));
    throwIfCancelled(this.settings.signal);
    return out;
  }

  /** Where tile t of plane p is, as a job gives it. */
  private tileAt(p: number, t: number): { plane: number; x: number; y: number; rows: number; cols: number } {
    const r = tileRect(this.grid, t);
    return { plane: p, x: r.x, y: r.y, rows: r.h, cols: r.w };
  }

  /** Each tile's error curve, from its leading spectrum: of the tiles `which` names (all by default) not measured yet. */
  private async measureSpectra(which?: (t: number) => boolean): Promise<void> {
    const count = this.grid.count;
    if (this.curves.length !== this.layouts.length) this.curves = this.layouts.map(() => new Array<Float64Array>(count));
    const chromaless = this.settings.colorMode === 'ycbcr' && isAchromatic(this.pixels);
    const jobs: SpectrumJob[] = [];
    const where: [number, number][] = [];
    this.layouts.forEach((l, p) => {
      const chroma = l.name === 'cb' || l.name === 'cr';
      const r = chroma ? (chromaless ? 1 : CHROMA_SPECTRUM_RANK) : SPECTRUM_RANK;
      for (let t = 0; t < count; t++) {
        if (this.curves[p]![t] || (which && !which(t))) continue;
        jobs.push({ kind: 'spectrum', ...this.tileAt(p, t), r, seed: this.settings.seed ?? 0 });
        where.push([p, t]);
      }
    });
    if (!jobs.length) return;
    const measured = this.runJobs(jobs, 'measuring tiles');
    this.energyOf(); // while the threads measure: this thread is idle, and so is the compiler's
    const out = await measured;
    where.forEach(([p, t], i) => (this.curves[p]![t] = (out[i] as { residual: Float64Array }).residual));
  }

  /**
   * The original's energy (relErr's denominator), once: made while this thread waits on the first spectra (later,
   * with both cores busy, its loop ran unoptimised for several times as long).
   */
  private energyOf(): number {
    return (this.energy ??= energyOf(this.pixels));
  }

  /**
   * Tiles whose allocation reached the end of their curve get a longer one (up to EXTENDED_SPECTRUM_RANK); true when
   * any did, and the allocation must be made again.
   */
  private async extendSpectra(ranks: Int32Array): Promise<boolean> {
    const jobs: SpectrumJob[] = [];
    const where: [number, number][] = [];
    this.layouts.forEach((_, p) => {
      for (let t = 0; t < this.grid.count; t++) {
        const curve = this.curves[p]![t]!;
        const r = curve.length - 1;
        const rect = tileRect(this.grid, t);
        const limit = Math.min(EXTENDED_SPECTRUM_RANK, rect.w, rect.h);
        if (ranks[p * this.grid.count + t]! < r || r >= limit || curve[r]! === 0) continue;
        const longer = r < SPECTRUM_RANK ? SPECTRUM_RANK : r + EXTENSION_STEP;
        jobs.push({ kind: 'spectrum', ...this.tileAt(p, t), r: Math.min(limit, longer), seed: this.settings.seed ?? 0 });
        where.push([p, t]);
      }
    });
    if (!jobs.length) return false;
    const out = await this.runJobs(jobs, 'measuring tiles');
    where.forEach(([p, t], i) => (this.curves[p]![t] = (out[i] as { residual: Float64Array }).residual));
    return true;
  }

  /**
   * The tile size the image asks for, where the settings name none (TILE_SIZE_STEPS): from the mean rank that a first
   * allocation to the target gives the first plane's tiles at FIRST_TILE_SIZE, on the spectra of a third of them (as
   * first measured). Kept at that size, the other tiles are measured next; at another size, all of them. Once per
   * encoder: a later target keeps the tiles.
   */
  private async chooseTileSize(costOf: (rect: { w: number; h: number }) => number, n: number, target: AllocationTarget): Promise<void> {
    if (this.settings.tileSize !== undefined || this.sized) return;
    this.sized = true;
    // A third of the tiles, on diagonals across the grid, tell the mean (allocated for the target over their own pixels).
    const g = this.grid;
    const step = g.count >= TILE_SIZE_SAMPLE_STEP * 4 ? TILE_SIZE_SAMPLE_STEP : 1;
    const sampled = (t: number): boolean => ((t % g.tilesX) + Math.floor(t / g.tilesX)) % step === 0;
    await this.measureSpectra(sampled);
    let pixels = 0;
    let tiles = 0;
    for (let t = 0; t < g.count; t++) {
      if (!sampled(t)) continue;
      const r = tileRect(g, t);
      pixels += r.w * r.h;
      tiles++;
    }
    const a = allocateRanks(this.blocks(costOf, pixels, sampled), 'error' in target ? target : { cost: (target.cost * pixels) / n });
    let sum = 0;
    for (let i = 0; i < tiles; i++) sum += a.ranks[i]!;
    const mean = sum / tiles;
    const size = TILE_SIZE_STEPS.find(([least]) => mean >= least)![1];
    if (size === g.tileSize) return;
    this.grid = tileGrid(this.pixels.height, this.pixels.width, size);
    this.curves = [];
  }

  /** allocateRanks over every tile, lengthening the curves of tiles that use them up first (a step at a time). */
  private async allocate(costOf: (rect: { w: number; h: number }) => number, n: number, target: AllocationTarget): Promise<ReturnType<typeof allocateRanks>> {
    await this.chooseTileSize(costOf, n, target);
    await this.measureSpectra();
    let a = allocateRanks(this.blocks(costOf, n), target);
    while (await this.extendSpectra(a.ranks)) a = allocateRanks(this.blocks(costOf, n), target);
    return a;
  }

  /** The allocation's blocks: every plane's tiles (those `which` names), in order. */
  private blocks(costOf: (rect: { w: number; h: number }) => number, n: number, which?: (t: number) => boolean): BlockCurve[] {
    const out: BlockCurve[] = [];
    this.layouts.forEach((_, p) => {
      for (let t = 0; t < this.grid.count; t++) {
        if (which && !which(t)) continue;
        const rect = tileRect(this.grid, t);
        out.push({ residual: this.curves[p]![t]!, weight: this.weights[p]! / n, cost: costOf(rect), minRank: 1 });
      }
    });
    return out;
  }

  /**
   * The fits of tiles (plane, tile, rank), quantised, made where not already (cached: a correction refits only the
   * tiles whose rank it changed).
   */
  private async ensureFits(wanted: readonly [number, number, number][], alsoBits?: QuantBits): Promise<void> {
    if (this.settings.fitTiles) return this.ensureBatchFits(wanted, this.settings.fitTiles, alsoBits);
    const todo = this.unfitted(wanted, alsoBits);
    const fit = { maxIter: TILE_MAX_ITER, ...this.settings.fit };
    const jobs: FitJob[] = todo.map(([p, t, k]) => ({ kind: 'fit', ...this.tileAt(p, t), k, seed: this.settings.seed ?? 0, bits: this.bits, alsoBits, fit }));
    if (!jobs.length) return;
    this.keep(todo, await this.runJobs(jobs, 'fitting tiles'), alsoBits);
  }

  /** Fits' outcomes into the cache, at the bits they were made at (and their alt at alsoBits). */
  private keep(todo: readonly [number, number, number][], out: readonly TileOutcome[], alsoBits?: QuantBits): void {
    todo.forEach(([p, t, k], i) => {
      const f = out[i] as TileFitOutcome;
      this.fits.set(fitKey(p, t, k, this.bits), f);
      if (alsoBits !== undefined && f.alt) this.fits.set(fitKey(p, t, k, alsoBits), f.alt);
    });
  }

  /** The wanted fits (plane, tile, rank) not made yet at the bits in use (or at alsoBits), each once. */
  private unfitted(wanted: readonly [number, number, number][], alsoBits?: QuantBits): [number, number, number][] {
    const todo: [number, number, number][] = [];
    const seen = new Set<string>();
    for (const [p, t, k] of wanted) {
      const key = fitKey(p, t, k, this.bits);
      if ((this.fits.has(key) && (alsoBits === undefined || this.fits.has(fitKey(p, t, k, alsoBits)))) || seen.has(key)) continue;
      seen.add(key);
      todo.push([p, t, k]);
    }
    return todo;
  }

  /** ensureFits with the fits made by a batch fitter: starts on the tile threads, the batch, quantisation there again. */
  private async ensureBatchFits(wanted: readonly [number, number, number][], fitTiles: TileBatchFitter, alsoBits?: QuantBits): Promise<void> {
    const todo = this.unfitted(wanted, alsoBits);
    const starts: StartJob[] = todo.map(([p, t, k]) => ({ kind: 'start', ...this.tileAt(p, t), k, seed: this.settings.seed ?? 0 }));
    if (!starts.length) return;
    const begun = (await this.runJobs(starts, 'fitting tiles')) as { W0: Float32Array; H0: Float32Array }[];
    throwIfCancelled(this.settings.signal);
    const maxIter = this.settings.fit?.maxIter ?? TILE_MAX_ITER;
    const fitted = await fitTiles(
      starts.map((s, i) => ({ V: tileSamples(s, this.shared), rows: s.rows, cols: s.cols, k: s.k, W0: begun[i]!.W0, H0: begun[i]!.H0 })),
      maxIter,
    );
    const finish: FinishJob[] = starts.map((s, i) => ({ ...s, kind: 'finish', bits: this.bits, alsoBits, W: fitted[i]!.W, H: fitted[i]!.H, iterations: fitted[i]!.iterations }));
    this.keep(todo, await this.runJobs(finish, 'fitting tiles'), alsoBits);
  }

  private fitOf(p: number, t: number, k: number, bits = this.bits): TileFit {
    return this.fits.get(fitKey(p, t, k, bits))!;
  }

  private header(ranks: readonly Int32Array[]): NmfzHeader {
    const px = this.pixels;
    const planes = this.layouts.map((l, p) => ({ name: l.name, rows: l.rows, cols: l.cols, rank: ranks[p]!.reduce((s, k) => s + k, 0), deblock: 0 }));
    return {
      width: px.width,
      height: px.height,
      channels: px.channels,
      bitDepth: px.bitDepth,
      colorMode: this.settings.colorMode,
      rank: planes.reduce((s, p) => s + p.rank, 0),
      planes,
      layout: 'tiled',
      tileSize: this.grid.tileSize,
      quantization: { bits: this.bits, scale: 'per-component', coding: this.coding },
      alpha: hasAlpha(px) ? 'lossless' : 'none',
      nmf: this.settings.nmf,
      original: { name: this.source.name, format: this.source.format, bytes: this.source.fileBytes },
      software: this.settings.software ?? 'NMF Studio',
    };
  }

  /** The file of the tiles at the given ranks: fitted and quantised where not already, decoded in memory, measured. */
  private async build(ranks: readonly Int32Array[]): Promise<{ e: TiledEncoded; payloadBytes: number }> {
    return this.file(await this.decodeAt(ranks));
  }

  /** Every tile's (plane, tile, rank) at these ranks. */
  private wanted(ranks: readonly Int32Array[]): [number, number, number][] {
    return ranks.flatMap((plane, p) => Array.from(plane, (k, t): [number, number, number] => [p, t, k]));
  }

  /** The file's content at these ranks (its header's measured figures not yet in): tiles fitted and quantised where not already. */
  private async contentAt(ranks: readonly Int32Array[]): Promise<NmfzContent> {
    await this.ensureFits(this.wanted(ranks));
    const tiles = ranks.map((plane, p) => Array.from(plane, (k, t) => this.fitOf(p, t, k).q));
    return { header: this.header(ranks), planes: [], tiles, alpha: this.alpha };
  }

  /**
   * The tiles at the given ranks fitted and quantised where not already, decoded in memory and measured; their
   * payload is compressed meanwhile, off this thread.
   */
  private async decodeAt(ranks: readonly Int32Array[]): Promise<Decoded> {
    const content = await this.contentAt(ranks);
    void this.payloadOf(content).catch(() => undefined); // awaited (and its error reported) by whoever files it
    let iterations = 0;
    ranks.forEach((plane, p) => plane.forEach((k, t) => (iterations = Math.max(iterations, this.fitOf(p, t, k).iterations))));
    const originals = await this.measureOriginal();
    const edges = (p: number, t: number): Float32Array => this.fitOf(p, t, ranks[p]![t]!).edges;
    // The SSIM is summed on the tile threads (idle but for the payload's codes) as the rows are decoded.
    const ssim = this.workers.running ? new SsimAsDecoded(this.pixels, this.workers.threads, (bands) => this.ssimElsewhere(bands)) : undefined;
    const onPixels = ssim && ((samples: Uint8Array | Uint16Array, y: number): void => ssim.decoded(samples, y));
    const { tileErrors, decoded, psnr, relErr } = measureBuild(content, edges, this.grid, this.V, this.pixels, originals, onPixels);
    if (ssim) this.ssims.set(decoded, ssim);
    return { ranks, content, tileErrors, decoded, psnr, relErr, iterations };
  }

  /**
   * The original's border strips at the tile size and its energy: on a tile thread when they run (sample() starts it
   * there while this thread weighs the sample), else here; once.
   */
  private measureOriginal(): Promise<{ strips: BorderStrips[]; energy: number }> {
    this.originals ??= (async () => {
      // The strips on a tile thread (it reads the planes in shared memory), the energy here (the pixels are here;
      // made already, as a rule).
      const job: OriginalJob = { kind: 'original', tileSize: this.grid.tileSize, rows: 0, cols: 0 };
      const made = this.workers.running ? this.workers.run([job], undefined, true) : Promise.resolve([{ strips: originalStrips(this.shared, job.tileSize) }]);
      const energy = this.energyOf();
      const { strips } = (await made)[0] as { strips: { vertical: Float32Array; horizontal: Float32Array }[] };
      return {
        strips: strips.map((s) => {
          const b = new BorderStrips(this.grid);
          b.vertical.set(s.vertical);
          b.horizontal.set(s.horizontal);
          return b;
        }),
        energy,
      };
    })();
    return this.originals;
  }

  /**
   * measureBuild once on a made-up build of the image's top-left corner (rank-2 tiles at the tile size): its loops are
   * compiled while the tile threads fit, instead of on the real build, which runs them once (cold, a photograph's
   * decode took twice its warm time). This thread is idle then; the corner costs a few milliseconds.
   */
  private warmUpDecoder(): void {
    if (this.warmedUp) return;
    this.warmedUp = true;
    const px = this.pixels;
    const w = Math.min(px.width, WARM_UP_SIDE);
    const h = Math.min(px.height, WARM_UP_SIDE);
    const C = px.channels;
    const data = px.bitDepth === 16 ? new Uint16Array(w * h * C) : new Uint8Array(w * h * C);
    for (let y = 0; y < h; y++) data.set(px.data.subarray(y * px.width * C, (y * px.width + w) * C), y * w * C);
    const corner: ImagePixels = { ...px, width: w, height: h, data };
    const g = tileGrid(h, w, this.grid.tileSize);
    const V = this.V.map((m) => {
      const out = new Float32Array(w * h);
      for (let y = 0; y < h; y++) out.set((m.data as Float32Array).subarray(y * m.cols, y * m.cols + w), y * w);
      return { rows: h, cols: w, data: out };
    });
    const tiles = V.map((m) =>
      Array.from({ length: g.count }, (_, t) => {
        const r = tileRect(g, t);
        const W = { rows: r.h, cols: 2, data: Float64Array.from({ length: r.h * 2 }, (_, c) => (c % 2 ? (c >> 1) / r.h : 1)) };
        const H = { rows: 2, cols: r.w, data: Float64Array.from({ length: 2 * r.w }, (_, c) => 0.3 * m.data[(r.y + (c >= r.w ? r.h - 1 : 0)) * w + r.x + (c % r.w)]!) };
        return quantizePlane(W, H, this.bits, true);
      }),
    );
    const ranks = tiles.map((plane) => Int32Array.from(plane, (q) => q.rank));
    const header = { ...this.header(ranks), width: w, height: h };
    const originals = { strips: V.map((m) => BorderStrips.of(m.data, g)), energy: energyOf(corner) };
    const edges = tiles.map((plane) => plane.map((q) => tileEdges(reconstructTiles([q], tileGrid(q.rows, q.cols, g.tileSize), this.bits, 1), q.rows, q.cols)));
    measureBuild({ header, planes: [], tiles, alpha: null }, (p, t) => edges[p]![t]!, g, V, corner, originals);
  }

  /** Tells the caller of a build's decoded image (onDecoded), once. */
  private announce(decoded: ImagePixels): void {
    if (this.announced.has(decoded)) return;
    this.announced.add(decoded);
    this.settings.onDecoded?.(decoded);
  }

  /** A decoded build made into its file. */
  private async file(d: Decoded): Promise<{ e: TiledEncoded; payloadBytes: number }> {
    const { ranks, content, tileErrors, decoded, psnr, relErr, iterations } = d;
    const header = content.header;
    const map = this.tileMap(ranks, tileErrors);
    throwIfCancelled(this.settings.signal);
    const payload = this.payloadOf(content);
    this.announce(decoded);
    this.settings.onProgress?.('compressing', 0, 1);
    const compressed = await payload;
    const bytes = envelopeOf(formatVersionOf(header), { ...header, quality: storedQuality(psnr, 0.987654, relErr) }, compressed);
    return { e: { bytes, content, decoded, psnr, relErr, rank: header.rank, iterations, tiles: map }, payloadBytes: compressed.length };
  }

  private tileMap(ranks: readonly Int32Array[], tileErrors: readonly Float64Array[]): TileMapInfo {
    return {
      tileSize: this.grid.tileSize,
      tilesX: this.grid.tilesX,
      tilesY: this.grid.tilesY,
      planes: this.layouts.map((l, p) => {
        const psnr = Array.from(tileErrors[p]!, (e, t) => {
          const r = tileRect(this.grid, t);
          const mse = e / (r.w * r.h);
          return mse > 0 ? Math.min(EXACT_TILE_PSNR, Number((10 * Math.log10(1 / mse)).toFixed(3))) : EXACT_TILE_PSNR;
        });
        return { name: l.name, rows: l.rows, cols: l.cols, ranks: Array.from(ranks[p]!), psnr };
      }),
    };
  }

  private split(ranks: Int32Array): Int32Array[] {
    return this.layouts.map((_, p) => ranks.slice(p * this.grid.count, (p + 1) * this.grid.count));
  }

  /**
   * A sample of tiles fitted and quantised at the given ranks (every plane, spread over the grid): their squared
   * error (weighted as in the allocation) against what the spectra predicted, and their coded bytes per entry; and,
   * when asked (the caller has the threads fitting meanwhile), what their pixels' error makes of their summed one.
   */
  private async sample(ranks: Int32Array, n: number, alsoBits?: QuantBits): Promise<Sample> {
    const count = this.grid.count;
    const stride = Math.max(1, Math.floor(count / 24));
    const picked: [number, number, number][] = [];
    for (let p = 0; p < this.layouts.length; p++) {
      for (let t = Math.floor(stride / 2) % count; t < count; t += stride) picked.push([p, t, ranks[p * count + t]!]);
    }
    await this.ensureFits(picked, alsoBits);
    void this.measureOriginal().catch(() => undefined); // awaited by the first build
    return this.sampleAt(ranks, n, stride, this.bits);
  }

  /** sample's figures from its fits at the given bits (made already). */
  private sampleAt(ranks: Int32Array, n: number, stride: number, bits: QuantBits): Sample {
    const count = this.grid.count;
    let predicted = 0;
    let actual = 0;
    let captured = 0;
    let entries = 0;
    const fitted: QuantizedPlane[] = [];
    for (let p = 0; p < this.layouts.length; p++) {
      for (let t = Math.floor(stride / 2) % count; t < count; t += stride) {
        const k = ranks[p * count + t]!;
        const rect = tileRect(this.grid, t);
        const { q, error } = this.fitOf(p, t, k, bits);
        const curve = this.curves[p]![t]!;
        actual += (this.weights[p]! / n) * error;
        predicted += (this.weights[p]! / n) * curve[k]!;
        captured += (this.weights[p]! / n) * (curve[0]! - curve[k]!);
        entries += k * (rect.w + rect.h);
        fitted.push(q);
      }
    }
    // The sample's codes coded as the file codes them (its own adaptive models learn on fewer codes: a little more
    // per entry than the whole file, which the measured builds correct).
    const bytes = this.codeBytes(fitted, bits);
    return {
      stride,
      actual,
      predicted,
      captured,
      errorFactor: predicted > 0 ? actual / predicted : 1,
      bytesPerEntry: entries > 0 ? bytes / entries : FIRST_BYTES_PER_ENTRY,
      realOverEstimate: () => this.sampledPixels(ranks, stride),
    };
  }

  /** The weighted energy of the tiles `which` names, from their curves (their residual at rank 0), per pixel of n. */
  private energyOfCurves(n: number, which: (t: number) => boolean): number {
    let energy = 0;
    this.layouts.forEach((_, p) => {
      for (let t = 0; t < this.grid.count; t++) if (which(t)) energy += (this.weights[p]! / n) * this.curves[p]![t]![0]!;
    });
    return energy;
  }

  /**
   * sample(), at the settings' bits; without any, at both AUTO_BITS (the fits made once, quantised twice), the bits
   * kept for the rest of the encoding being those whose error model `score` rates lower.
   *
   * The model: a tile's error at rank k and b bits is f·residual[k] (the fit's, f ≥ 1 of the spectrum's) plus its
   * components' quantisation noise, about ε_b times the energy they hold (a code's step is its component's scale over
   * the levels, so the noise follows the component's size): f·residual[k] + ε_b·(energy − residual[k]). The noise is
   * a floor, ε_b of the energy, that no rank goes below, which a single error factor measured at the first ranks
   * missed (it chose 6 bits for Storm at 42 dB, a file ten times what 8 bits made). ε of the two bits differ by the
   * square of their levels' ratio, which gives ε and f from the sample's errors at both.
   */
  private async sampleForBits(ranks: Int32Array, n: number, score: (s: Sample, m: NoiseModel) => number): Promise<Sample> {
    if (this.settings.bits !== undefined) return this.sample(ranks, n);
    const [lo, hi] = AUTO_BITS;
    const coarse = await this.sample(ranks, n, hi);
    const fine = this.sampleAt(ranks, n, coarse.stride, hi);
    const rho = (levels(hi) / levels(lo)) ** 2;
    const epsFine = coarse.captured > 0 ? Math.max(0, coarse.actual - fine.actual) / ((rho - 1) * coarse.captured) : 0;
    const f = fine.predicted > 0 ? Math.max(1, (fine.actual - epsFine * fine.captured) / fine.predicted) : 1;
    // The decision on the sampled tiles alone (a fraction of the allocation's work: over every tile it took a 2-MP
    // photograph's command 30 ms, with the tile threads waiting).
    const start = Math.floor(coarse.stride / 2) % this.grid.count;
    const sampled = (t: number): boolean => t >= start && (t - start) % coarse.stride === 0;
    let pixels = 0;
    for (let t = start; t < this.grid.count; t += coarse.stride) pixels += tileRect(this.grid, t).w * tileRect(this.grid, t).h;
    const energy = this.energyOfCurves(pixels, sampled);
    const model = { f, energy, blocks: (costOf: (rect: { w: number; h: number }) => number) => this.blocks(costOf, pixels, sampled) };
    const byFine = score(fine, { ...model, eps: epsFine });
    const byCoarse = score(coarse, { ...model, eps: rho * epsFine });
    // Out of reach at both: the finer comes the closer.
    if (!(byFine < byCoarse || byCoarse === Infinity)) return coarse;
    this.bits = hi;
    return fine;
  }

  /**
   * The sampled places (every stride'th tile, every plane) decoded to pixels as the decoder does (colour conversion,
   * clipping to the sample range, rounding; not the deblocking): how far the tiles' summed error lands from the
   * pixels' own.
   */
  private sampledPixels(ranks: Int32Array, stride: number): number {
    const count = this.grid.count;
    const bits = this.bits;
    let real = 0;
    let estimate = 0;
    const max = maxValue(this.pixels.bitDepth);
    for (let t = Math.floor(stride / 2) % count; t < count; t += stride) {
      const rect = tileRect(this.grid, t);
      const planes = this.layouts.map((_, p) => reconstructTiles([this.fitOf(p, t, ranks[p * count + t]!).q], tileGrid(rect.h, rect.w, this.grid.tileSize), bits, max));
      const header = { ...this.header(this.split(ranks)), width: rect.w, height: rect.h };
      const pixels = planesToPixels({ header, planes: [], tiles: [], alpha: null }, planes);
      real += squaredDifference(pixels.data, this.pixels.data, rect, this.pixels.width, this.pixels.channels, colourChannels(this.pixels)) / (max * max);
      real -= (rect.w * rect.h * colourChannels(this.pixels)) / (12 * max * max); // the rounding, left out of the estimate
      for (let p = 0; p < this.layouts.length; p++) estimate += this.weights[p]! * this.fitOf(p, t, ranks[p * count + t]!).error;
    }
    real /= colourChannels(this.pixels);
    return estimate > 0 && real > 0 ? real / estimate : 1;
  }

  /**
   * The image's mean squared error (RGB, [0, 1] units) that the fitted tiles at these ranks add up to, as the tile
   * threads measured each before deblocking and rounding: a build's PSNR without the build.
   */
  private estimatedError(ranks: Int32Array, n: number): number {
    let e = 0;
    for (let p = 0; p < this.layouts.length; p++) {
      let plane = 0;
      for (let t = 0; t < this.grid.count; t++) plane += this.fitOf(p, t, ranks[p * this.grid.count + t]!).error;
      e += (this.weights[p]! / n) * plane;
    }
    return e;
  }

  /**
   * Encodes to the target: allocate from the spectra; fit a sample of tiles to learn how far the fits, the
   * quantisation and Brotli land from the spectra's prediction; allocate again with that; build; and when the
   * result still misses, correct once more. With a cap, a PSNR target's file is at most cap.maxBytes: where it would
   * be larger, the cap becomes the target.
   */
  async encode(target: TiledTarget, cap?: { maxBytes: number }): Promise<TiledEncoded> {
    const n = this.pixels.width * this.pixels.height;
    const max = maxValue(this.pixels.bitDepth);
    const entries = (r: { w: number; h: number }): number => r.w + r.h;
    if ('rank' in target) {
      // As many stored entries as the global layout stores at rank K, shared by equal slope.
      const split = splitRank(this.layouts, this.settings.colorMode, target.rank, this.settings.colorMode === 'ycbcr' && isAchromatic(this.pixels) ? 0 : YCBCR_CHROMA_SHARE);
      const budget = split.reduce((s, k, p) => s + k * (this.layouts[p]!.rows + this.layouts[p]!.cols), 0);
      const a = await this.allocate(entries, n, { cost: budget });
      return (await this.build(this.split(a.ranks))).e;
    }
    if ('bytes' in target) {
      // At the settings' bits, or 6: a size's first allocation is too rough to weigh the bits on (its sample's codes,
      // at low ranks, pack better than the file's; weighed there, Garden's 150-kB file came out at 8 bits, 2 dB
      // worse than at 6).
      const first = await this.allocate((r) => entries(r) * FIRST_BYTES_PER_ENTRY + SCALE_BYTES, n, { cost: Math.max(0, target.bytes - this.headerGuess()) });
      return this.encodeToSize(target.bytes, (await this.sample(first.ranks, n)).bytesPerEntry);
    }
    // The RGB mean squared error the target allows, less the rounding to whole samples every decoder does.
    const rounding = 1 / (12 * max * max);
    // A tenth of a dB above the target: the last correction's own miss then lands on the target's side more often.
    const wanted = 10 ** (-(target.psnr + 0.1) / 10) - rounding;
    if (!(wanted > 0)) throw new UserError(`${target.psnr} dB is beyond what ${this.pixels.bitDepth}-bit samples can show`, 'usage');
    const first = await this.allocate(entries, n, { error: wanted });
    const blocks = this.blocks(entries, n);
    // The bits whose model predicts the fewer bytes for the target (none where its noise floor is above it).
    const bytesFor = (s: Sample, m: NoiseModel): number => {
      const residual = (wanted - m.eps * m.energy) / (m.f - m.eps);
      if (!(residual > 0 && m.f > m.eps)) return Infinity;
      const at = allocateRanks(m.blocks(entries), { error: residual }, ESTIMATE_TOLERANCE);
      if (at.error > residual * 1.01) return Infinity;
      return at.cost * s.bytesPerEntry + SCALE_BYTES * at.ranks.reduce((sum, k) => sum + k, 0);
    };
    const { errorFactor, realOverEstimate: weighPixels, bytesPerEntry } = await this.sampleForBits(first.ranks, n, bytesFor);
    let a = allocateRanks(blocks, { error: wanted / errorFactor });
    // A file the sample already shows to be over the cap is not made: the cap is the target instead.
    const predicted = a.cost * bytesPerEntry;
    if (cap && predicted > cap.maxBytes) return this.encodeToSize(cap.maxBytes, perEntryAt(bytesPerEntry, predicted, cap.maxBytes));
    // The tiles are fitted at these ranks while this thread weighs the sample's pixels (the threads were idle then).
    const fitting = this.ensureFits(this.wanted(this.split(a.ranks)));
    fitting.catch(() => undefined); // awaited below; its error is thrown there
    // Each correction scales the allocation's error by what the fitted tiles add up to (fits are cached, so a
    // correction refits only the tiles whose rank moved); small images (a tile or two) can need more than one.
    // `realOverEstimate` carries what deblocking and the decoder's clipping make of that sum, once a build has
    // measured it.
    let realOverEstimate = weighPixels();
    this.warmUpDecoder();
    await fitting;
    const correct = async (passes: number): Promise<void> => {
      for (let pass = 0; pass < passes; pass++) {
        const fitting = this.ensureFits(this.wanted(this.split(a.ranks)));
        this.warmUpDecoder();
        await fitting;
        const measured = this.estimatedError(a.ranks, n) * realOverEstimate;
        const psnr = 10 * Math.log10(1 / (measured + rounding));
        if (!(Math.abs(psnr - target.psnr) > 0.2 && measured > 0 && a.error > 0)) break;
        a = allocateRanks(blocks, { error: (wanted * a.error) / measured });
      }
    };
    await correct(MAX_PSNR_CORRECTIONS);
    // Over the cap after all (the sample's bytes per entry were too few): the cap is the target, before anything is
    // decoded. The file's own bytes per entry start it, as the size target
    // counts them (the components' scales apart).
    const toCap = (m: { bytes: number; payloadBytes: number }): Promise<TiledEncoded> => {
      const perEntry = a.cost > 0 ? Math.max(0.01, (m.payloadBytes - SCALE_BYTES * a.ranks.reduce((s, k) => s + k, 0)) / a.cost) : bytesPerEntry;
      return this.encodeToSize(cap!.maxBytes, perEntryAt(perEntry, m.bytes, cap!.maxBytes));
    };
    if (cap && predicted > NEAR_CAP * cap.maxBytes) {
      const m = await this.sizeOf(this.split(a.ranks));
      if (m.bytes > cap.maxBytes) return toCap(m);
    }
    // Decoded and measured first; the payload is compressed meanwhile, off this thread, and the file is made only of
    // the build that is kept.
    let decoded = await this.decodeAt(this.split(a.ranks));
    const real = 10 ** (-decoded.psnr / 10) - rounding;
    // Kept when within 0.3 dB above the target or 0.1 below it (the aim is 0.1 above): a second build costs as
    // much as the first.
    if ((decoded.psnr > target.psnr + 0.3 || decoded.psnr < target.psnr - 0.1) && real > 0) {
      const estimate = this.estimatedError(a.ranks, n);
      if (estimate > 0) realOverEstimate = real / estimate;
      const built = a.ranks;
      await correct(MAX_PSNR_CORRECTIONS);
      // A correction that moved no rank would build the same file again (Dune: 0.02 dB under the window, within
      // the correction's own tolerance): that build is kept instead.
      if (a.ranks.some((k, i) => k !== built[i])) decoded = await this.decodeAt(this.split(a.ranks));
    }
    if (cap) {
      // The caller's measures of the build begin while its payload is coded (the cap rarely turns a build away).
      const payload = this.payloadOf(decoded.content);
      this.announce(decoded.decoded);
      const payloadBytes = (await payload).length;
      const bytes = envelopeOverhead({ ...decoded.content.header, quality: storedQuality(decoded.psnr, 0.987654, decoded.relErr) }) + payloadBytes;
      if (bytes > cap.maxBytes) return toCap({ bytes, payloadBytes });
    }
    return (await this.file(decoded)).e;
  }

  /** 6- and 8-bit codes are range-coded (version 4); wider ones Brotli'd with the rest (version 3). */
  private get coding(): FactorCoding {
    return this.bits <= 8 ? 'adaptive-range' : 'delta-zigzag';
  }

  /** The bytes these tiles' codes take in the file, as its coding stores them (for a sample, without the rest). */
  private codeBytes(tiles: readonly QuantizedPlane[], bits = this.bits): number {
    if (bits === 6 || bits === 8) return encodeTileCodes(tiles, bits).length;
    const packed = tiles.flatMap((q) => [packCodes(q.wCodes, q.rows, bits), packCodes(q.hCodes, q.cols, bits)]);
    const all = new Uint8Array(packed.reduce((s, x) => s + x.length, 0));
    let at = 0;
    for (const x of packed) (all.set(x, at), (at += x.length));
    return compressPayload(all, { quality: this.settings.brotliQuality ?? DEFAULT_TILED_BROTLI_QUALITY }).length;
  }

  /** What a file's header and alpha take, before the header is known. */
  private headerGuess(): number {
    return 400 + (this.alpha ? 0.02 * this.pixels.width * this.pixels.height : 0);
  }

  /**
   * The largest file of at most `targetBytes`, found by allocations of a payload budget (in bytes at `perEntry`
   * bytes per stored entry) whose files are measured without being decoded: each pass aims at SIZE_AIM of the
   * target, by proportion from one measured pass and by the secant through the last two after that. Only the
   * allocation kept is decoded and made.
   */
  private async encodeToSize(targetBytes: number, perEntry: number): Promise<TiledEncoded> {
    const n = this.pixels.width * this.pixels.height;
    const blocks = this.blocks((r) => (r.w + r.h) * perEntry + SCALE_BYTES, n);
    // The header's measured figures can move the file by a few bytes (SIZE_MARGIN).
    const limit = targetBytes - SIZE_MARGIN;
    const aim = SIZE_AIM * limit;
    let budget = aim - this.headerGuess();
    let best: { ranks: Int32Array; cost: number; bytes: number } | null = null;
    const measured: { budget: number; bytes: number }[] = [];
    const inWindow = (bytes: number): boolean => bytes <= limit && bytes >= SIZE_WINDOW * targetBytes;
    for (let pass = 0; pass < 5 && !(best && inWindow(best.bytes)); pass++) {
      const a = allocateRanks(blocks, { cost: Math.max(0, budget) });
      const ranks = this.split(a.ranks);
      const least = a.ranks.every((k) => k <= 1);
      const { bytes } = await this.sizeOf(ranks);
      if (bytes <= limit && bytes > (best?.bytes ?? -1)) best = { ranks: a.ranks, cost: a.cost, bytes };
      if (least && bytes > limit) break;
      measured.push({ budget: a.cost, bytes });
      const [p0, p1] = measured.slice(-2);
      const slope = p1 && p1.bytes !== p0!.bytes ? (p1.budget - p0!.budget) / (p1.bytes - p0!.bytes) : 0;
      budget = slope > 0 ? p1!.budget + (aim - p1!.bytes) * slope : a.cost * (aim / Math.max(1, bytes)) ** (1 / BYTES_ELASTICITY);
    }
    if (!best) throw new TargetOutOfReach(`cannot fit in ${targetBytes} bytes at the tiles' least ranks`);
    let { e } = await this.build(this.split(best.ranks));
    // Should the measured header outgrow the margin, the payload gives up that much and more.
    for (let extra = 2 * SIZE_MARGIN; e.bytes.length > targetBytes && extra <= 0.1 * targetBytes; extra *= 4) {
      const a = allocateRanks(blocks, { cost: Math.max(0, best.cost - extra) });
      ({ e } = await this.build(this.split(a.ranks)));
    }
    if (e.bytes.length > targetBytes) throw new TargetOutOfReach(`cannot fit in ${targetBytes} bytes at the tiles' least ranks`);
    return e;
  }

  /**
   * The file's size at these ranks, its header's measured figures stood in for: fitted, quantised and coded (the
   * payload kept for the file), not decoded.
   */
  private async sizeOf(ranks: readonly Int32Array[]): Promise<{ bytes: number; payloadBytes: number }> {
    const content = await this.contentAt(ranks);
    const overhead = envelopeOverhead({ ...content.header, quality: storedQuality(38.123456, 0.987654, 0.0123456) });
    const payloadBytes = (await this.payloadOf(content)).length;
    return { bytes: overhead + payloadBytes, payloadBytes };
  }

  /**
   * The payload of this content as the file stores it, its Brotli off this thread: made once per allocation (by the
   * build or by sizeOf, whichever asks first) and kept for the other.
   */
  private payloadOf(content: NmfzContent): Promise<Buffer> {
    const key = `${content.header.quantization.bits}:${content.tiles!.map((plane) => plane.map((q) => q.rank).join(',')).join('/')}`;
    let compressed = this.payloads.get(key);
    if (!compressed) {
      // The codes are range-coded on a tile thread when they are running (they are idle between fits, and this
      // thread has the decode to do meanwhile).
      const onThread = this.workers.running
        ? async (tiles: QuantizedPlane[], bits: 6 | 8): Promise<Uint8Array> => {
            const [out] = await this.workers.run([{ kind: 'codes', tiles, bits, rows: 0, cols: 0 }], undefined, true);
            return (out as { coded: Uint8Array }).coded;
          }
        : undefined;
      compressed = storedPayloadAsync(content, { quality: this.settings.brotliQuality ?? DEFAULT_TILED_BROTLI_QUALITY }, onThread);
      // The last few are enough: a size target's passes and a PSNR target's corrections move forward.
      if (this.payloads.size >= 4) this.payloads.delete(this.payloads.keys().next().value!);
      this.payloads.set(key, compressed);
    }
    return compressed;
  }

  /**
   * SSIM of a decoded image against the original. A build's was begun as it was decoded (on the tile threads, chunk
   * by chunk as its rows came: they are idle then but for the payload's codes), and is finished; any other image's is
   * made in bands of rows, one on this thread, the others on the tile threads (on two cores ssimParallel would leave
   * the second core to it).
   */
  ssim(decoded: ImagePixels): Promise<number> {
    const asDecoded = this.ssims.get(decoded);
    if (asDecoded) return asDecoded.finish(decoded);
    return ssimInBands(this.pixels, decoded, this.workers.threads, (bands) => this.ssimElsewhere(bands));
  }

  /** SSIM bands' sums on the tile threads. */
  private async ssimElsewhere(bands: SsimBand[]): Promise<number[][]> {
    const jobs = bands.map((band): SsimJob => ({ kind: 'ssim', band, rows: band.rowEnd - band.rowStart, cols: band.width }));
    const out = await this.workers.run(jobs, undefined, true);
    return out.map((o) => (o as { sums: number[] }).sums);
  }

  /** The raw pixel bytes (for ratio targets). */
  get rawBytes(): number {
    return rawBytesOf(this.pixels);
  }
}

/**
 * Σ (tile − image)² over a rectangle's colour samples, the tile's pixels row-major (C channels, as the image's), in
 * sample units: a flat loop (it runs once per image, cold: the loop it replaced took 40 ms of a 2-MP photograph's command).
 */
function squaredDifference(
  tile: ArrayLike<number>, image: ArrayLike<number>, rect: { x: number; y: number; w: number; h: number }, width: number, C: number, colours: number,
): number {
  let sum = 0;
  for (let i = 0, d = 0; i < rect.h; i++) {
    for (let j = 0, s = ((rect.y + i) * width + rect.x) * C; j < rect.w; j++, s += C, d += C) {
      for (let c = 0; c < colours; c++) {
        const e = tile[d + c]! - image[s + c]!;
        sum += e * e;
      }
    }
  }
  return sum;
}
