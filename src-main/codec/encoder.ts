// Image → factors → .nmfz bytes → decoded pixels, at any rank, reusing earlier fits as warm starts between ranks.

import { COMPRESS_DEFAULTS } from '../api/contract.js';
import { TargetOutOfReach, throwIfCancelled, UserError } from '../engine/errors.js';
import { factorize, initialize } from '../engine/index.js';
import type { Backend, BetaLossName, CancelSignal, CurrentFactors, Init, Matrix, Progress, Solver } from '../engine/index.js';
import { allocate, dtypeOf } from '../engine/matrix.js';
import { checkRank, imageToPlanes, isAchromatic, maxRank, minRank, planeLayouts, splitRank, YCBCR_CHROMA_SHARE } from './colour.js';
import type { PlaneLayout } from './colour.js';
import type { WriteEnvelopeOptions } from './container.js';
import type { SourceImage } from './image-io.js';
import { compressionRatios, psnr, rawBytesOf, relErr } from './metrics.js';
import type { CompressionRatios } from './metrics.js';
import { decodeNmfz, decodePixels, encodeNmfz, extractAlpha, storedQuality, withQuality } from './nmfz.js';
import type { NmfzContent, NmfzHeader } from './nmfz.js';
import { quantizePlane } from './quantize.js';
import type { ColorMode, ImagePixels, QuantBits } from './types.js';
import { hasAlpha } from './types.js';

/** Defaults for image compression, chosen by measurement (docs/colour-modes.md). */
export const DEFAULT_COLOR_MODE: ColorMode = COMPRESS_DEFAULTS.colorMode;
export const DEFAULT_BITS: QuantBits = COMPRESS_DEFAULTS.bits;
export const DEFAULT_SOLVER: Solver = 'hals';
/** nndsvda and nndsvd trade places by image; nndsvda ends lower within the default 200 iterations more often. */
export const DEFAULT_INIT: Exclude<Init, 'custom'> = 'nndsvda';
export const DEFAULT_MAX_ITER = COMPRESS_DEFAULTS.globalMaxIter;
export const DEFAULT_TOL = 1e-4;

/** The NMF settings of an image fit, by the names they have everywhere (command line, JSON, the app). */
export interface ImageFitSettings {
  solver?: Solver;
  init?: Exclude<Init, 'custom'>;
  betaLoss?: BetaLossName | number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  alphaW?: number;
  alphaH?: number | 'same';
  l1Ratio?: number;
}

export interface EncoderSettings extends ImageFitSettings {
  colorMode?: ColorMode;
  bits?: QuantBits;
  /** Where the products with V run; passed in by the caller, never chosen here. */
  backend: Backend;
  signal?: CancelSignal;
  onProgress?: (progress: EncoderProgress) => void;
  /** 'ycbcr' only: the share of the total rank each chroma plane gets (default YCBCR_CHROMA_SHARE; 0 for an image without colour). */
  chromaShare?: number;
  /** Brotli quality for the payload (default 11). */
  brotliQuality?: number;
  /** The program name written into headers. */
  software?: string;
}

export interface EncoderProgress extends Progress {
  /** e.g. 'factorizing rank 24 (plane y)' */
  stage: string;
  rank: number;
  plane: string;
  /** The plane's factors as they are now (the solver's live arrays: read during the callback, copy to keep). */
  W: Matrix;
  H: Matrix;
}

export interface PlaneFit {
  W: Matrix;
  H: Matrix;
  iterations: number;
}

/** The factors of every plane at one total rank. */
export interface RankFit {
  rank: number;
  ranks: number[];
  planes: PlaneFit[];
  /** The most iterations any plane's solver ran. */
  iterations: number;
}

/** What an encoded fit's header says of its SSIM until it is measured: six decimals, like every stored SSIM. */
const SSIM_STAND_IN = 0.987654;

/**
 * Where the parabola through three points meets `level`, if it does within [lo, hi] (one crossing is taken; none,
 * or a degenerate parabola, gives NaN).
 */
function parabolaCrossing(p0: { x: number; v: number }, p1: { x: number; v: number }, p2: { x: number; v: number }, level: number, lo: number, hi: number): number {
  // Newton's form: v0 + d01·(x − x0) + d012·(x − x0)(x − x1)
  const d01 = (p1.v - p0.v) / (p1.x - p0.x);
  const d12 = (p2.v - p1.v) / (p2.x - p1.x);
  const d012 = (d12 - d01) / (p2.x - p0.x);
  const a = d012;
  const b = d01 - d012 * (p0.x + p1.x);
  const c = p0.v - d01 * p0.x + d012 * p0.x * p1.x - level;
  if (![a, b, c].every(Number.isFinite)) return NaN;
  if (Math.abs(a) < 1e-12 * Math.max(1, Math.abs(b))) return b === 0 ? NaN : inRange(-c / b);
  const disc = b * b - 4 * a * c;
  if (disc < 0) return NaN;
  const root = Math.sqrt(disc);
  const r1 = inRange((-b + root) / (2 * a));
  return Number.isFinite(r1) ? r1 : inRange((-b - root) / (2 * a));

  function inRange(r: number): number {
    return r >= lo && r <= hi ? r : NaN;
  }
}

/**
 * A file's bytes with its measured SSIM in the header in place of the stand-in. The header is Brotli'd, so equal
 * widths need not give equal sizes; the file must not outgrow the size a search compared against its target, so
 * fewer decimals are tried, and at worst the SSIM is left out (null).
 */
export function withMeasuredSsim(file: Buffer, psnr: number, relErr: number, ssim: number, label: string): Buffer {
  let bytes = file;
  for (const decimals of [6, 5, 4, 3, 2, null]) {
    bytes = withQuality(file, storedQuality(psnr, decimals === null ? null : ssim, relErr, decimals ?? 0), label);
    if (bytes.length <= file.length) break;
  }
  return bytes;
}

/** A fit made into a file: its bytes, the decoded pixels (the ones everyone sees), their PSNR and relErr. */
export interface Encoded {
  fit: RankFit;
  bytes: Buffer;
  content: NmfzContent;
  decoded: ImagePixels;
  psnr: number;
  /** ‖original − decoded‖ / ‖original‖ over all samples. */
  relErr: number;
}

export interface RankProbe {
  rank: number;
  psnr: number;
  compressedBytes: number;
  ratio: number;
}

function isZero(V: Matrix): boolean {
  for (let c = 0; c < V.data.length; c++) if (V.data[c] !== 0) return false;
  return true;
}

/** Factor entries of a plane's top components by energy ‖w_j‖²·‖h_j‖², in their original order. */
function topComponents(fit: PlaneFit, k: number): PlaneFit {
  const { W, H } = fit;
  const r = W.cols;
  const energy = Array.from({ length: r }, (_, j) => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < W.rows; i++) a += W.data[i * r + j]! ** 2;
    for (let l = 0; l < H.cols; l++) b += H.data[j * H.cols + l]! ** 2;
    return { j, e: a * b };
  });
  const keep = energy
    .sort((x, y) => y.e - x.e || x.j - y.j)
    .slice(0, k)
    .map((x) => x.j)
    .sort((x, y) => x - y);
  const W2 = allocate(W.rows, k, dtypeOf(W));
  const H2 = allocate(k, H.cols, dtypeOf(H));
  keep.forEach((j, t) => {
    for (let i = 0; i < W.rows; i++) W2.data[i * k + t] = W.data[i * r + j]!;
    H2.data.set(H.data.subarray(j * H.cols, (j + 1) * H.cols), t * H.cols);
  });
  return { W: W2, H: H2, iterations: 0 };
}

/** Whether every entry is a finite number. */
function finite(m: Matrix): boolean {
  for (let c = 0; c < m.data.length; c++) if (!Number.isFinite(m.data[c]!)) return false;
  return true;
}

/** Entries of W·H per backend call: products the size of the image are made a block of rows at a time. */
const PRODUCT_BLOCK_ENTRIES = 1 << 22;

/** out = W·H on the backend (its fast products, not a loop here), a block of rows at a time. */
async function product(backend: Backend, W: Matrix, H: Matrix, out: Matrix): Promise<void> {
  const { rows, cols } = out;
  const k = W.cols;
  const step = Math.max(1, Math.floor(PRODUCT_BLOCK_ENTRIES / Math.max(1, cols)));
  for (let i0 = 0; i0 < rows; i0 += step) {
    const n = Math.min(step, rows - i0);
    const Wb: Matrix = { rows: n, cols: k, data: W.data.subarray(i0 * k, (i0 + n) * k) };
    const Ob: Matrix = { rows: n, cols, data: out.data.subarray(i0 * cols, (i0 + n) * cols) };
    await backend.matmul(Wb, H, false, false, Ob);
  }
}

/**
 * Encodes one image at whatever ranks are asked for. Fits are kept, and a new rank starts from the nearest smaller
 * one: its components plus new ones made by NNDSVD of the positive part of what it leaves unexplained (or, going
 * down, from the strongest components of the nearest larger one), so trying several ranks costs little more than
 * the largest fit.
 */
export class ImageEncoder {
  readonly pixels: ImagePixels;
  readonly colorMode: ColorMode;
  readonly bits: QuantBits;
  readonly layouts: PlaneLayout[];
  readonly minRank: number;
  readonly maxRank: number;
  private readonly settings: EncoderSettings;
  /** The YCbCr chroma share in use: 0 (one component per chroma plane) for an image without colour. */
  private readonly chromaShare: number;
  private planesV: Matrix[] | null = null;
  private readonly fits = new Map<number, RankFit>();
  private readonly alpha: Uint16Array | null;

  constructor(
    readonly source: SourceImage,
    settings: EncoderSettings,
  ) {
    this.settings = settings;
    this.pixels = source.pixels;
    this.colorMode = settings.colorMode ?? DEFAULT_COLOR_MODE;
    this.bits = settings.bits ?? DEFAULT_BITS;
    this.layouts = planeLayouts(this.pixels, this.colorMode);
    this.chromaShare = settings.chromaShare ?? (this.colorMode === 'ycbcr' && isAchromatic(this.pixels) ? 0 : YCBCR_CHROMA_SHARE);
    this.minRank = minRank(this.layouts, this.colorMode);
    this.maxRank = maxRank(this.layouts, this.colorMode, this.chromaShare);
    this.alpha = extractAlpha(this.pixels);
  }

  /** The matrices factorized, made on first use in the backend's preferred precision. */
  get V(): Matrix[] {
    if (!this.planesV) {
      const dtype = this.settings.backend.dtypes.includes('float32') ? 'float32' : 'float64';
      this.planesV = imageToPlanes(this.pixels, this.colorMode, dtype);
    }
    return this.planesV;
  }

  ranksFor(total: number): number[] {
    return splitRank(this.layouts, this.colorMode, total, this.chromaShare);
  }

  private engineOptions() {
    const s = this.settings;
    return {
      solver: s.solver ?? DEFAULT_SOLVER,
      betaLoss: s.betaLoss ?? 'frobenius',
      maxIter: s.maxIter ?? DEFAULT_MAX_ITER,
      tol: s.tol ?? DEFAULT_TOL,
      seed: s.seed ?? 0,
      alphaW: s.alphaW ?? 0,
      alphaH: s.alphaH ?? 'same',
      l1Ratio: s.l1Ratio ?? 0,
      backend: s.backend,
      signal: s.signal,
    };
  }

  /** The nearest fit below `total` (to grow from), else the nearest above (to shrink from). */
  private nearestFit(total: number): RankFit | undefined {
    let below: RankFit | undefined;
    let above: RankFit | undefined;
    for (const f of this.fits.values()) {
      if (f.rank < total && (!below || f.rank > below.rank)) below = f;
      if (f.rank > total && (!above || f.rank < above.rank)) above = f;
    }
    return below ?? above;
  }

  /** A starting point for one plane at rank k from an earlier fit of it (grown or cut down). */
  private async warmStart(V: Matrix, from: PlaneFit, k: number): Promise<{ W0: Matrix; H0: Matrix }> {
    const k0 = from.W.cols;
    if (k0 === k) return { W0: from.W, H0: from.H };
    if (k0 > k) {
      const top = topComponents(from, k);
      return { W0: top.W, H0: top.H };
    }
    const extra = k - k0;
    const backend = this.settings.backend;
    // The residual V − W·H, and its positive part: what the smaller fit leaves unexplained.
    const R = allocate(V.rows, V.cols, dtypeOf(V));
    await product(backend, from.W, from.H, R);
    const Rplus = allocate(V.rows, V.cols, dtypeOf(V));
    let any = false;
    for (let c = 0; c < R.data.length; c++) {
      const d = V.data[c]! - R.data[c]!;
      R.data[c] = d;
      if (d > 0) {
        Rplus.data[c] = d;
        any = true;
      }
    }
    const seed = this.settings.seed ?? 0;
    const fresh = any && extra <= Math.min(V.rows, V.cols) ? await initialize(Rplus, extra, 'nndsvd', seed, backend) : null;
    // The new components approximate only the positive part of the residual; scaled by the least-squares
    // α = ⟨V − WH, WnHn⟩ / ‖WnHn‖² they can only lower the error the smaller fit ended with.
    let alpha = 0;
    if (fresh) {
      const N = Rplus; // no longer needed: Wn·Hn goes in its place
      await product(backend, fresh.W, fresh.H, N);
      let dot = 0;
      let norm = 0;
      for (let c = 0; c < N.data.length; c++) {
        dot += R.data[c]! * N.data[c]!;
        norm += N.data[c]! * N.data[c]!;
      }
      alpha = norm > 0 && dot > 0 ? dot / norm : 0;
    }
    let Wn: Matrix;
    let Hn: Matrix;
    if (fresh && alpha > 0) {
      Wn = fresh.W;
      Hn = fresh.H;
      const s = Math.sqrt(alpha);
      for (let c = 0; c < Wn.data.length; c++) Wn.data[c] = Wn.data[c]! * s;
      for (let c = 0; c < Hn.data.length; c++) Hn.data[c] = Hn.data[c]! * s;
    } else {
      // Nothing positive left to explain: small random components, which the solver grows where they help.
      ({ W: Wn, H: Hn } = await initialize(V, extra, 'random', seed, this.settings.backend));
      for (let c = 0; c < Wn.data.length; c++) Wn.data[c] = Wn.data[c]! * 0.01;
      for (let c = 0; c < Hn.data.length; c++) Hn.data[c] = Hn.data[c]! * 0.01;
    }
    const W0 = allocate(V.rows, k, dtypeOf(V));
    const H0 = allocate(k, V.cols, dtypeOf(V));
    for (let i = 0; i < V.rows; i++) {
      W0.data.set(from.W.data.subarray(i * k0, (i + 1) * k0), i * k);
      W0.data.set(Wn.data.subarray(i * extra, (i + 1) * extra), i * k + k0);
    }
    H0.data.set(from.H.data, 0);
    H0.data.set(Hn.data, k0 * V.cols);
    return { W0, H0 };
  }

  /** Factorizes every plane at total rank `total` (cached). */
  async fit(total: number): Promise<RankFit> {
    checkRank(this.layouts, this.colorMode, total, this.chromaShare);
    const cached = this.fits.get(total);
    if (cached) return cached;
    const ranks = this.ranksFor(total);
    const near = this.nearestFit(total);
    const base = this.engineOptions();
    const planes: PlaneFit[] = [];
    for (let p = 0; p < this.layouts.length; p++) {
      throwIfCancelled(this.settings.signal);
      const V = this.V[p]!;
      const name = this.layouts[p]!.name;
      const onProgress = this.settings.onProgress
        ? (pr: Progress, current: CurrentFactors) =>
            this.settings.onProgress!({
              ...pr,
              stage: `factorizing rank ${total}${this.layouts.length > 1 ? ` (plane ${name})` : ''}`,
              rank: total,
              plane: name,
              W: current.W,
              H: current.H,
            })
        : undefined;
      if (isZero(V)) {
        // A plane of zeros (a black or fully transparent image) is zero factors exactly; no start a solver
        // accepts can be made from it.
        planes.push({ W: allocate(V.rows, ranks[p]!, dtypeOf(V)), H: allocate(ranks[p]!, V.cols, dtypeOf(V)), iterations: 0 });
        continue;
      }
      const warm = near ? await this.warmStart(V, near.planes[p]!, ranks[p]!) : null;
      const run = (start: { W0: Matrix; H0: Matrix } | null) =>
        factorize(V, {
          ...base,
          rank: ranks[p]!,
          ...(start ? { init: 'custom' as const, W0: start.W0, H0: start.H0 } : { init: this.settings.init ?? DEFAULT_INIT }),
          onProgress,
        });
      let r = await run(warm && finite(warm.W0) && finite(warm.H0) ? warm : null);
      // Float32 products can overflow on a start far from the fit (seen once, in a rank search on a 4-MP photograph):
      // factors that are not all finite are made again from a cold start rather than kept or warmed from.
      if (!finite(r.W) || !finite(r.H)) {
        r = await run(null);
        if (!finite(r.W) || !finite(r.H)) throw new Error(`the ${name} plane's factorization at rank ${ranks[p]} did not stay finite`);
      }
      planes.push({ W: r.W, H: r.H, iterations: r.iterations });
    }
    const fit: RankFit = { rank: total, ranks, planes, iterations: Math.max(...planes.map((q) => q.iterations)) };
    this.fits.set(total, fit);
    return fit;
  }

  /** The header this encoder writes for a fit. */
  header(fit: RankFit): NmfzHeader {
    const e = this.engineOptions();
    const px = this.pixels;
    return {
      width: px.width,
      height: px.height,
      channels: px.channels,
      bitDepth: px.bitDepth,
      colorMode: this.colorMode,
      rank: fit.rank,
      planes: this.layouts.map((l, i) => ({ name: l.name, rows: l.rows, cols: l.cols, rank: fit.ranks[i]! })),
      quantization: { bits: this.bits, scale: 'per-component', coding: 'delta-zigzag' },
      alpha: hasAlpha(px) ? 'lossless' : 'none',
      nmf: {
        solver: e.solver,
        init: this.settings.init ?? DEFAULT_INIT,
        betaLoss: e.betaLoss,
        maxIter: e.maxIter,
        tol: e.tol,
        seed: e.seed,
        alphaW: e.alphaW,
        alphaH: e.alphaH,
        l1Ratio: e.l1Ratio,
        iterations: fit.iterations,
        backend: this.settings.backend.name,
      },
      original: { name: this.source.name, format: this.source.format, bytes: this.source.fileBytes },
      software: this.settings.software ?? 'NMF Studio',
    };
  }

  /**
   * Quantises a fit, writes the file bytes, then reads them back with the one decoder: the decoded pixels and
   * their PSNR are those of the file itself.
   */
  encode(fit: RankFit, opts: WriteEnvelopeOptions = {}): Encoded {
    const planes = fit.planes.map((p) => quantizePlane(p.W, p.H, this.bits));
    const content: NmfzContent = { header: this.header(fit), planes, alpha: this.alpha };
    const label = this.source.name;
    const unmeasured = encodeNmfz(content, { quality: opts.quality ?? this.settings.brotliQuality });
    const read = decodeNmfz(unmeasured, label);
    const decoded = decodePixels(read);
    const p = psnr(this.pixels, decoded);
    const e = relErr(this.pixels, decoded);
    // The header carries the file's quality. SSIM costs more and is measured once, for the rank chosen, so a
    // stand-in of the same printed width holds its place: the sizes a rank search compares are then, to a byte or
    // two, those of the file written (see withSsim).
    const bytes = withQuality(unmeasured, storedQuality(p, SSIM_STAND_IN, e), label);
    return { fit, bytes, content: read, decoded, psnr: p, relErr: e };
  }

  /**
   * An encoded fit with its measured SSIM in the header in place of the stand-in. The header is Brotli'd, so equal
   * widths need not give equal sizes; the file must not outgrow the size a rank search compared against its
   * target, so fewer decimals are tried, and at worst the SSIM is left out (null).
   */
  withSsim(e: Encoded, ssim: number): Encoded {
    return { ...e, bytes: withMeasuredSsim(e.bytes, e.psnr, e.relErr, ssim, this.source.name) };
  }

  async encodeRank(total: number): Promise<Encoded> {
    return this.encode(await this.fit(total));
  }

  /**
   * Probes ranks for the boundary of a condition that holds from some rank upwards ("reaches the PSNR", "is over the
   * byte budget"): returns the highest rank probed where it fails and the lowest where it holds, which are adjacent
   * unless the condition holds at the smallest rank or fails at the largest. The next rank is interpolated from the
   * measured values (over log rank for PSNR, over rank for bytes: the scales on which each is close to a straight
   * line, and bent: a parabola through three probes does better than a chord). An interpolated probe that lands
   * just short of the boundary it predicted is followed by steps of 1, 2, 4 … across it, since values wobble by a
   * rank or two between neighbouring fits; otherwise the search falls back to bisection whenever an interpolated
   * step did not halve the bracket. So few of the expensive probes are spent.
   */
  private async bracket(
    value: (e: Encoded) => number,
    threshold: number,
    onProbe: ((p: RankProbe) => void) | undefined,
    scale: 'log' | 'linear',
    highest = this.maxRank,
  ): Promise<{ below: Encoded | null; above: Encoded | null; probes: RankProbe[] }> {
    const probes: RankProbe[] = [];
    const x = scale === 'log' ? Math.log : (r: number) => r;
    const fromX = scale === 'log' ? Math.exp : (v: number) => v;
    /** Every probe as (x, value), for interpolation. */
    const seen: { x: number; v: number }[] = [];
    const point = (e: Encoded): { x: number; v: number } => ({ x: x(e.fit.rank), v: value(e) });
    // Only the bracket's ends are kept: each Encoded holds a whole decoded image.
    const probe = async (k: number): Promise<Encoded> => {
      throwIfCancelled(this.settings.signal);
      const e = await this.encodeRank(k);
      const p = this.probeOf(e);
      probes.push(p);
      seen.push(point(e));
      onProbe?.(p);
      return e;
    };
    const holds = (e: Encoded): boolean => value(e) >= threshold;
    /**
     * The rank (not rounded) where the values cross the threshold between a and b: on the parabola through them and
     * the probe nearest to them when there is one (the curves bend, and a chord misses by several ranks), else on
     * the line through a and b.
     */
    const interpolate = (a: Encoded, b: Encoded): number => {
      const pa = point(a);
      const pb = point(b);
      if (!(Number.isFinite(pa.v) && Number.isFinite(pb.v)) || pa.v === pb.v) return NaN;
      const [xl, xh] = pa.x < pb.x ? [pa.x, pb.x] : [pb.x, pa.x];
      const distance = (q: { x: number }): number => (q.x < xl ? xl - q.x : q.x > xh ? q.x - xh : 0);
      const third = seen.filter((q) => q.x !== pa.x && q.x !== pb.x && Number.isFinite(q.v)).sort((m, n) => distance(m) - distance(n))[0];
      const crossing = third ? parabolaCrossing(pa, pb, third, threshold, xl, xh) : NaN;
      return fromX(Number.isFinite(crossing) ? crossing : pa.x + ((threshold - pa.v) * (pb.x - pa.x)) / (pb.v - pa.v));
    };
    const lo0 = this.minRank;
    const hi0 = highest;
    let below: Encoded | null = null; // highest probed rank where the condition fails
    let above: Encoded | null = null; // lowest probed rank where it holds
    let last: Encoded | null = null;
    let k = Math.min(hi0, Math.max(lo0, 8 * this.layouts.length));
    // Bracket: step outwards, by extrapolation once two ranks are known, else by doubling or halving.
    for (;;) {
      const e = await probe(k);
      if (holds(e)) above = e;
      else below = e;
      if (above && below) break;
      if (above && above.fit.rank === lo0) break;
      if (below && below.fit.rank === hi0) break;
      const first = last === null;
      const guess = last ? Math.round(interpolate(last, e)) : NaN;
      last = e;
      if (above) {
        const r = above.fit.rank;
        k = Math.max(lo0, Math.min(r - 1, Number.isFinite(guess) ? Math.max(guess, Math.floor(r / 4)) : Math.floor(r / 2)));
      } else {
        const r = below!.fit.rank;
        const v = value(e);
        // Upwards, every probe costs more than the last, and one far past the boundary most of all. Bytes are close
        // to proportional to the rank, a little fewer per rank as it grows: from the first probe, the proportional
        // rank falls a little short of the boundary, and a line through two probes lands within a few per cent of
        // it, so a small margin closes the bracket. PSNR gives no such model: doubling, then a wider margin.
        k =
          scale === 'linear' && first && v > 0
            ? Math.floor((r * threshold) / v)
            : Number.isFinite(guess)
              ? Math.min(Math.ceil(guess * (scale === 'linear' ? 1.02 : 1.1)), 4 * r)
              : 2 * r;
        k = Math.min(hi0, Math.max(r + 1, k));
      }
    }
    // Refine to adjacent ranks.
    let bisectNext = false;
    // After an interpolated probe just short of the boundary it predicted: steps of 1, 2, 4 … across the guess
    let gallop: { from: number; dir: 1 | -1; step: number } | null = null;
    while (above && below && above.fit.rank - below.fit.rank > 1) {
      const lo = below.fit.rank;
      const hi = above.fit.rank;
      const guess = gallop || bisectNext ? NaN : interpolate(below, above);
      const interpolated = Number.isFinite(guess);
      // Every rank strictly inside the bracket is still untried.
      const inside = (r: number): number => Math.min(hi - 1, Math.max(lo + 1, r));
      k = gallop ? inside(gallop.from + gallop.dir * gallop.step) : interpolated ? inside(Math.round(guess)) : Math.floor((lo + hi) / 2);
      const e = await probe(k);
      const held = holds(e);
      if (held) above = e;
      else below = e;
      if (gallop) {
        // still short of the boundary: a longer step; across it: the bracket is narrow now, interpolate inside it
        gallop = (gallop.dir > 0 ? !held : held) ? { from: k, dir: gallop.dir, step: 2 * gallop.step } : null;
      } else if (interpolated && (held ? guess > k - 1 : guess < k + 1)) {
        // the boundary was predicted between k and its neighbour across the guess
        gallop = { from: k, dir: held ? -1 : 1, step: 1 };
      } else {
        // an interpolated step that did not halve the bracket is followed by a bisection
        bisectNext = !bisectNext && above.fit.rank - below.fit.rank > (hi - lo) / 2;
      }
    }
    return { below, above, probes };
  }

  /**
   * The largest total rank that still stores at most half as many numbers as the image has (factorRatio ≥ 2). A PSNR
   * search stops there: beyond it the file is not much smaller than the pixels, and fits grow slow with the rank.
   */
  get searchCeiling(): number {
    const entries = this.layouts.reduce((s, l) => s + l.rows * l.cols, 0);
    for (let total = this.maxRank; total > this.minRank; total--) {
      const stored = this.ranksFor(total).reduce((s, k, i) => s + k * (this.layouts[i]!.rows + this.layouts[i]!.cols), 0);
      if (2 * stored <= entries) return total;
    }
    return this.minRank;
  }

  /** The smallest total rank whose decoded image reaches `target` dB, up to searchCeiling. */
  async searchPsnr(target: number, onProbe?: (p: RankProbe) => void): Promise<{ best: Encoded; probes: RankProbe[] }> {
    const { above, probes } = await this.bracket((e) => e.psnr, target, onProbe, 'log', this.searchCeiling);
    if (!above) {
      const top = probes.reduce((a, b) => (b.psnr > a.psnr ? b : a));
      throw new UserError(
        `cannot reach ${target} dB at a rank that still compresses (best ${top.psnr.toFixed(2)} dB at rank ${top.rank}${this.bits < 16 && this.pixels.bitDepth === 16 ? '; more bits may help' : ''})`,
      );
    }
    return { best: above, probes };
  }

  /** The largest total rank whose ratio (raw pixel bytes ÷ file bytes) is at least `target`. */
  async searchRatio(target: number, onProbe?: (p: RankProbe) => void): Promise<{ best: Encoded; probes: RankProbe[] }> {
    const budget = rawBytesOf(this.pixels) / target;
    // "Over budget" holds from some rank upwards; the answer is the rank just below it.
    const { below, probes } = await this.bracket((e) => e.bytes.length, Math.floor(budget) + 1, onProbe, 'linear');
    if (!below) {
      const smallest = probes.reduce((a, b) => (b.compressedBytes < a.compressedBytes ? b : a));
      throw new TargetOutOfReach(`cannot reach ratio ${target} (rank ${smallest.rank} already gives ratio ${smallest.ratio.toFixed(2)})`);
    }
    return { best: below, probes };
  }

  /** ratio, fileRatio and factorRatio of an encoded fit. */
  ratios(e: Encoded): CompressionRatios {
    return compressionRatios({
      rawBytes: rawBytesOf(this.pixels),
      originalFileBytes: this.source.fileBytes,
      compressedBytes: e.bytes.length,
      planes: e.content.header.planes,
    });
  }

  private probeOf(e: Encoded): RankProbe {
    return { rank: e.fit.rank, psnr: e.psnr, compressedBytes: e.bytes.length, ratio: this.ratios(e).ratio };
  }
}
