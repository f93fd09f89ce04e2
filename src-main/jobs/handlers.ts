// What each worker task does. Every handler is plain async code over the engine, formats and codec.

import { performance } from 'node:perf_hooks';
import { factorize, reconstruct } from '../engine/index.js';
import type { CancelSignal } from '../engine/errors.js';
import { readMatrixFile } from '../formats/index.js';
import { withBackend } from './backends.js';
import type { TaskKind, TaskPayload, TaskProgress, TaskResult } from './tasks.js';
import { matrixView } from './views.js';

/** More imputed cells than this are not listed one by one (the heat map still shows them). */
const MAX_IMPUTED_SHOWN = 10_000;

export interface TaskContext {
  signal: CancelSignal;
  progress(p: TaskProgress): void;
}

type Handlers = { [K in TaskKind]: (payload: TaskPayload<K>, ctx: TaskContext) => Promise<TaskResult<K>> };

/** Progress at most every `ms` milliseconds (and always for the first and last iteration). */
export function throttled(ctx: TaskContext, stage: string, ms = 100) {
  let last = 0;
  return (p: { iteration: number; maxIter: number; loss: number; relErr: number }) => {
    const now = performance.now();
    if (now - last < ms && p.iteration !== 0 && p.iteration !== p.maxIter) return;
    last = now;
    ctx.progress({ ...p, stage });
  };
}

export const TASK_HANDLERS: Handlers = {
  async 'open-matrix'({ path }) {
    const file = await readMatrixFile(path);
    return { V: file.matrix, dtype: file.dtype, format: file.format, missing: file.missing, view: matrixView(file.matrix) };
  },

  async 'factorize-matrix'({ V, settings }, ctx) {
    const started = performance.now();
    // Noted before the fit: the engine may fill V's missing cells in place as it imputes them.
    const missing: number[] = [];
    for (let k = 0; k < V.data.length && missing.length < MAX_IMPUTED_SHOWN; k++) if (Number.isNaN(V.data[k]!)) missing.push(k);
    const { result, backend, backendReason } = await withBackend(settings.backend, (backend) =>
      factorize(V, {
        rank: settings.rank,
        solver: settings.solver,
        betaLoss: settings.betaLoss,
        init: settings.init,
        maxIter: settings.maxIter,
        tol: settings.tol,
        targetRelErr: settings.targetRelErr,
        seed: settings.seed,
        alphaW: settings.alphaW,
        alphaH: settings.alphaH,
        l1Ratio: settings.l1Ratio,
        backend,
        signal: ctx.signal,
        onProgress: throttled(ctx, `factorizing rank ${settings.rank}`),
      }),
    );
    const WH = reconstruct(result.W, result.H);
    const imputed = missing.map((k) => ({ row: Math.floor(k / V.cols), col: k % V.cols, value: WH.data[k]! }));
    return {
      WH: matrixView(WH),
      imputed,
      W: result.W,
      H: result.H,
      iterations: result.iterations,
      loss: result.loss,
      relErr: result.relErr,
      solver: result.solver,
      betaLoss: typeof result.betaLoss === 'number' ? settings.betaLoss : result.betaLoss,
      init: result.init,
      backend,
      backendReason,
      ms: performance.now() - started,
    };
  },

  async 'image-placeholder'() {
    return null;
  },
};
