// One file of a batch, start to end: compress it, write its thumbnails; run on a worker thread or, with a GPU, in place.

import type { CompressRecord, RankChoice } from '../../api/contract.js';
import type { Backend, BackendName } from '../../engine/backends/backend.js';
import type { CancelSignal } from '../../engine/errors.js';
import type { BetaLossName, Init, Solver } from '../../engine/options.js';
import { compressImage, type CompressProgress } from '../compress.js';
import { writeThumbnails } from './thumbnails.js';

/** Everything about how each file is compressed; plain data, so it crosses to worker threads as is. */
export interface FileSettings {
  /** A fixed rank, the smallest rank reaching a PSNR, or the largest reaching a ratio; default: the codec's ratio. */
  choice?: RankChoice;
  colorMode?: 'stacked' | 'channels' | 'ycbcr';
  bits?: 8 | 12 | 16;
  preview?: boolean;
  compareJpeg?: boolean;
  solver?: Solver;
  betaLoss?: BetaLossName;
  init?: Exclude<Init, 'custom'>;
  maxIter?: number;
  tol?: number;
  seed?: number;
  alphaW?: number;
  alphaH?: number | 'same';
  l1Ratio?: number;
  maxPixels?: number;
}

export interface FileTask {
  input: string;
  /** The folder its .nmfz (and preview) go into. */
  outDir: string;
  /** Where its report thumbnails go; null when no report is written. */
  thumbnails: { original: string; reconstruction: string } | null;
  overwrite: boolean;
  settings: FileSettings;
  /** The backend each worker makes for itself (the GPU is never run from workers). */
  backend: { name: Exclude<BackendName, 'gpu'>; threads: number; reason: string };
}

export interface FileTaskResult {
  record: CompressRecord;
  thumbnails: boolean;
}

/** Compresses one file with a ready backend; a bad file throws a UserError naming it, and nothing is written. */
export async function compressOne(
  task: Omit<FileTask, 'backend'>,
  backend: Backend,
  backendReason: string,
  signal: CancelSignal | undefined,
  onProgress?: (p: CompressProgress) => void,
): Promise<FileTaskResult> {
  const s = task.settings;
  const choice = s.choice;
  const outcome = await compressImage(task.input, task.outDir, {
    rank: choice && 'rank' in choice ? choice.rank : undefined,
    psnr: choice && 'psnr' in choice ? choice.psnr : undefined,
    ratio: choice && 'ratio' in choice ? choice.ratio : undefined,
    colorMode: s.colorMode,
    bits: s.bits,
    preview: s.preview,
    compareJpeg: s.compareJpeg,
    overwrite: task.overwrite,
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
    backend,
    backendReason,
    signal,
    onProgress,
  });
  let thumbnails = false;
  if (task.thumbnails) {
    try {
      await writeThumbnails(outcome.original, outcome.decoded, task.thumbnails);
      thumbnails = true;
    } catch {
      // A report without this picture is better than a failed file: the .nmfz is written and sound.
    }
  }
  return { record: outcome.record, thumbnails };
}
