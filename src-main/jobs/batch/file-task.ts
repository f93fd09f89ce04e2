// One file of a batch, start to end: compress it, write its thumbnails; run on a worker thread or, with a GPU, in place.

import type { CompressRecord } from '../../api/contract.js';
import type { Backend, BackendName } from '../../engine/backends/backend.js';
import type { CancelSignal } from '../../engine/errors.js';
import { compressImage, compressOptionsOf, type CompressProgress, type ImageJobSettings } from '../compress.js';
import { writeThumbnails } from './thumbnails.js';

/** Everything about how each file is compressed (the same settings as one image in the app); plain data, so it crosses to worker threads as is. */
export type FileSettings = ImageJobSettings;

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
  const outcome = await compressImage(task.input, task.outDir, {
    ...compressOptionsOf(task.settings),
    overwrite: task.overwrite,
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
