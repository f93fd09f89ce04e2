// The controls' values: defaults, their translation into the service's settings, and their memory across sessions.
import { COMPRESS_DEFAULTS } from '../../src-main/api/contract.js';
import type { EngineSettings, ImageSettings, MatrixSettings } from '../../src-main/api/contract.js';

export type RankBy = 'rank' | 'psnr' | 'ratio';

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
  // the tiles' own default, as compress without --max-iter (a tile's fit stops earlier when little is left to gain);
  // with the engine's 200 the app took 98 s on a 4-MP photograph that compress did in 23 s
  maxIter: 20,
  // as `compress` without a target in the tiled layout: a PSNR (the tiles' one-pass allocation reaches it as fast
  // as a size)
  rankBy: 'psnr',
  rank: 24,
  psnr: COMPRESS_DEFAULTS.tiledPsnr,
  ratio: 10,
  // the command line's and batches' defaults, from the one place they are kept
  layout: COMPRESS_DEFAULTS.layout,
  colorMode: COMPRESS_DEFAULTS.colorMode,
  bits: COMPRESS_DEFAULTS.bits,
  compareJpeg: false,
};

export const MATRIX_DEFAULTS: MatrixControls = { ...ENGINE_DEFAULTS, rank: 4 };

export function imageSettings(c: ImageControls): ImageSettings {
  const { rankBy, rank, psnr, ratio, ...rest } = c;
  const choice = rankBy === 'psnr' ? { psnr } : rankBy === 'ratio' ? { ratio } : { rank };
  return { ...rest, choice };
}

export function matrixSettings(c: MatrixControls): MatrixSettings {
  return { ...c };
}

/** Only β = Frobenius works with cd and hals (as in scikit-learn); mu takes any. */
export function betaLossAllowed(solver: EngineSettings['solver']): boolean {
  return solver === 'mu';
}

const STORAGE_KEY = 'nmf-studio.controls.v1';

interface Stored {
  image?: Partial<ImageControls>;
  matrix?: Partial<MatrixControls>;
}

function readStored(): Stored {
  try {
    const text = localStorage.getItem(STORAGE_KEY);
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

export function loadControls(): { image: ImageControls; matrix: MatrixControls } {
  const stored = readStored();
  return { image: merge(IMAGE_DEFAULTS, stored.image), matrix: merge(MATRIX_DEFAULTS, stored.matrix) };
}

export function saveControls(image: ImageControls, matrix: MatrixControls): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ image, matrix } satisfies Stored));
  } catch {
    // Storage can be full or disabled; the controls still work for this session.
  }
}
