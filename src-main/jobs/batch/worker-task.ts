// The batch's task on a pool worker: one backend per worker thread, sized so that jobs × threads ≈ cores.

import type { Backend } from '../../engine/backends/backend.js';
import { createReferenceBackend } from '../../engine/backends/reference.js';
import { CpuBackend } from '../../backends/cpu/index.js';
import type { CancelSignal } from '../../engine/errors.js';
import type { CompressProgress } from '../compress.js';
import { compressOne, type FileTask, type FileTaskResult } from './file-task.js';

let held: { key: string; backend: Promise<Backend> } | null = null;

function backendFor(spec: FileTask['backend']): Promise<Backend> {
  const key = `${spec.name}:${spec.threads}`;
  if (held?.key !== key) {
    const previous = held;
    held = {
      key,
      backend: spec.name === 'cpu' ? CpuBackend.create({ threads: spec.threads }) : Promise.resolve(createReferenceBackend()),
    };
    void previous?.backend.then((b) => b.dispose()).catch(() => undefined);
    // A backend that failed to start is tried again for the next file.
    const mine = held;
    mine.backend.catch(() => {
      if (held === mine) held = null;
    });
  }
  return held.backend;
}

export async function runFileTask(task: FileTask, signal: CancelSignal, onProgress: (p: CompressProgress) => void): Promise<FileTaskResult> {
  const backend = await backendFor(task.backend);
  return compressOne(task, backend, task.backend.reason, signal, onProgress);
}
