// The controls' values: defaults, their translation into the service's settings, and their memory across sessions.
import { COMPRESS_DEFAULTS, LAYOUTS } from '../../src-main/api/contract.js';
import type { BitsChoice, EngineSettings, ImageSettings, MatrixSettings } from '../../src-main/api/contract.js';

/** How the app chooses the rank: as compress without a target ('auto'), or by the field of that name. */
export type RankBy = 'auto' | 'rank' | 'psnr' | 'ratio';

/** What the image controls hold: the settings minus `choice`, plus the three ways of choosing the rank. */
export interface ImageControls extends Omit<ImageSettings, 'choice'> {
  rankBy: RankBy;
  rank: number;
  psnr: number;
  ratio: number;
}

export type MatrixControls = MatrixSettings;

const ENGINE_DEFAULTS: EngineSettings = {
  solver: 'cd',
  betaLoss: 'frobenius',
  init: 'nndsvda',
  maxIter: 200,
  tol: 1e-4,
  seed: 0,
  alphaW: 0,
  alphaH: 'same',
  l1Ratio: 0,
  backend: 'auto',
};

export const IMAGE_DEFAULTS: ImageControls = {
  ...ENGINE_DEFAULTS,
  // HALS reaches a given error fastest on images.
  solver: 'hals',
  // as compress without --max-iter: the default layout's own (see maxIterFor)
  maxIter: maxIterFor(COMPRESS_DEFAULTS.layout),
  // as `compress` without a target: in the tiled layout 38 dB, SSIM kept at 0.90, never larger than the file
  rankBy: 'auto',
  rank: 24,
  psnr: COMPRESS_DEFAULTS.tiledPsnr,
  // as `compress --layout global` without a target: the ratio a person switching to a ratio target starts from
  ratio: COMPRESS_DEFAULTS.globalRatio,
  // the command line's and batches' defaults, from the one place they are kept
  layout: COMPRESS_DEFAULTS.layout,
  colorMode: COMPRESS_DEFAULTS.colorMode,
  // as compress without --bits: 6, or 8 for a tiled PSNR target that 6 bits would reach only in more bytes
  bits: 'auto',
  compareJpeg: false,
};

/**
 * The iteration cap compress uses for a layout when none is given: tiles stop early by themselves, so theirs is a
 * ceiling; a whole-image fit takes the engine's. ('auto' fits tiles unless the image is a single tile.)
 */
export function maxIterFor(layout: ImageControls['layout']): number {
  return layout === 'global' ? COMPRESS_DEFAULTS.globalMaxIter : COMPRESS_DEFAULTS.tiledMaxIter;
}

/**
 * A change of layout, taking the new layout's iteration cap along when the cap was the old layout's default: a
 * person who never touched it gets what compress would use, and one who set it keeps their number.
 */
export function withLayout(c: Pick<ImageControls, 'layout' | 'maxIter'>, layout: ImageControls['layout']): Pick<ImageControls, 'layout' | 'maxIter'> {
  return { layout, maxIter: c.maxIter === maxIterFor(c.layout) ? maxIterFor(layout) : c.maxIter };
}

/** The Quantisation control's words for a bits choice. */
export function bitsLabel(b: BitsChoice): string {
  return b === 'auto' ? 'Automatic (6 or 8 bits)' : `${b} bits`;
}

export const MATRIX_DEFAULTS: MatrixControls = { ...ENGINE_DEFAULTS, rank: 4 };

export function imageSettings(c: ImageControls): ImageSettings {
  const { rankBy, rank, psnr, ratio, ...rest } = c;
  const choice = rankBy === 'auto' ? ({ auto: true } as const) : rankBy === 'psnr' ? { psnr } : rankBy === 'ratio' ? { ratio } : { rank };
  return { ...rest, choice };
}

export function matrixSettings(c: MatrixControls): MatrixSettings {
  return { ...c };
}

/** Only β = Frobenius works with cd and hals (as in scikit-learn); mu takes any. */
export function betaLossAllowed(solver: EngineSettings['solver']): boolean {
  return solver === 'mu';
}

// v1 kept every value, defaults included, so a default changed later (the iteration cap, 20 → 100) never reached
// those who had it; v2 keeps only what the person changed.
const STORAGE_KEY = 'nmf-studio.controls.v2';

/** The part of the browser's localStorage used here (typed locally, so that this file also builds for Node's tests). */
interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Throws where there is none, like a disabled localStorage. */
function storage(): KeyValueStore {
  const store = (globalThis as { localStorage?: KeyValueStore }).localStorage;
  if (!store) throw new Error('no localStorage');
  return store;
}

interface Stored {
  image?: Partial<ImageControls>;
  matrix?: Partial<MatrixControls>;
}

function readStored(): Stored {
  try {
    const text = storage().getItem(STORAGE_KEY);
    const parsed: unknown = text ? JSON.parse(text) : {};
    return parsed && typeof parsed === 'object' ? (parsed as Stored) : {};
  } catch {
    return {};
  }
}

/** Defaults overlaid with what was stored, keeping only keys and types the defaults know. */
function merge<T extends object>(defaults: T, stored: Partial<T> | undefined): T {
  const out = { ...defaults };
  if (!stored || typeof stored !== 'object') return out;
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = stored[key];
    const fits = typeof value === typeof defaults[key] || (key === 'alphaH' && (typeof value === 'number' || value === 'same'));
    if (value !== undefined && fits) out[key] = value as T[keyof T];
  }
  return out;
}

/** The values that differ from the defaults. */
function changed<T extends object>(defaults: T, values: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(defaults) as (keyof T)[]) if (values[key] !== defaults[key]) out[key] = values[key];
  return out;
}

/** The defaults for controls in this layout: the iteration cap is the layout's own. */
function imageDefaultsIn(layout: unknown): ImageControls {
  return LAYOUTS.includes(layout as ImageControls['layout']) ? { ...IMAGE_DEFAULTS, maxIter: maxIterFor(layout as ImageControls['layout']) } : IMAGE_DEFAULTS;
}

export function loadControls(): { image: ImageControls; matrix: MatrixControls } {
  const stored = readStored();
  return { image: merge(imageDefaultsIn(stored.image?.layout), stored.image), matrix: merge(MATRIX_DEFAULTS, stored.matrix) };
}

export function saveControls(image: ImageControls, matrix: MatrixControls): void {
  try {
    const stored: Stored = { image: changed(imageDefaultsIn(image.layout), image), matrix: changed(MATRIX_DEFAULTS, matrix) };
    storage().setItem(STORAGE_KEY, JSON.stringify(stored));
  } catch {
    // Storage can be full or disabled; the controls still work for this session.
  }
}
