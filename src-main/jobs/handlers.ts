// What each worker task does. Every handler is plain async code over the engine, formats and codec.

import { performance } from 'node:perf_hooks';
import type { ImageSettings, RankCurvePoint } from '../api/contract.js';
import type { PlaneName } from '../codec/colour.js';
import { ImageEncoder } from '../codec/encoder.js';
import { readImage } from '../codec/image-io.js';
import { compareJpeg } from '../codec/jpeg-compare.js';
import { decodePixels } from '../codec/nmfz.js';
import { factorize, isSparse, type Matrix } from '../engine/index.js';
import { cellOfProduct } from '../engine/dense.js';
import { throwIfCancelled, type CancelSignal } from '../engine/errors.js';
import { readLabelledMatrix } from '../formats/index.js';
import { resolveBackend, withBackend } from './backends.js';
import { coarsePreview } from './coarse-preview.js';
import { compressImage, compressOptionsOf } from './compress.js';
import { componentInfos, diffRaster, previewRaster, toRaster } from './rasters.js';
import type { TaskKind, TaskPayload, TaskProgress, TaskResult } from './tasks.js';
import { denseNonZeros, matrixView, productView, sparseMatrixView, sparseNonZeros, sparseValueRange, sparseView, valueRange } from './views.js';

/** How often a running fit sends a fresh reconstruction to the window. */
const PREVIEW_EVERY_MS = 250;


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
  async 'open-matrix'({ path, companions }) {
    const file = await readLabelledMatrix(path, { companions });
    const V = file.matrix;
    // A sparse V is described from its non-zeros alone: it is never made dense here.
    const held = isSparse(V);
    const sparse = sparseView(V.rows, V.cols, held ? sparseNonZeros(V) : denseNonZeros(V));
    return {
      V,
      dtype: file.dtype,
      format: file.format,
      missing: file.missing,
      view: held ? sparseMatrixView(V) : matrixView(V),
      valueRange: held ? sparseValueRange(V) : valueRange(V),
      ...(sparse ? { sparse } : {}),
      ...(file.rowLabels ? { rowLabels: file.rowLabels.names } : {}),
      ...(file.colLabels ? { colLabels: file.colLabels.names } : {}),
    };
  },

  async 'factorize-matrix'({ V, settings }, ctx) {
    const started = performance.now();
    // Noted before the fit: the engine may fill V's missing cells in place as it imputes them.
    const missing: number[] = [];
    if (!isSparse(V)) for (let k = 0; k < V.data.length && missing.length < MAX_IMPUTED_SHOWN; k++) if (Number.isNaN(V.data[k]!)) missing.push(k);
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
      { V, rank: settings.rank },
    );
    const imputed = missing.map((k) => {
      const row = Math.floor(k / V.cols);
      const col = k % V.cols;
      return { row, col, value: cellOfProduct(result.W, result.H, row, col) };
    });
    return {
      WH: productView(result.W, result.H),
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

  async 'open-image'({ path }) {
    const source = await readImage(path);
    const px = source.pixels;
    return {
      format: source.format.toUpperCase(),
      fileBytes: source.fileBytes,
      width: px.width,
      height: px.height,
      channels: px.channels,
      bitDepth: px.bitDepth,
      hasAlpha: px.channels === 2 || px.channels === 4,
      original: toRaster(px),
    };
  },

  async 'compress-image'({ path, scratchDir, settings }, ctx) {
    // Something to look at at once, before the backend starts and the encoding has a first fit to show.
    const coarse = await coarsePreview(path, settings.colorMode, ctx.signal);
    if (coarse) ctx.progress({ iteration: 0, maxIter: 0, loss: NaN, relErr: NaN, stage: coarse.stage, preview: coarse.raster });
    const { backend, reason } = await resolveBackend(settings.backend);
    // Live preview: the latest factors of each plane, drawn a few times a second.
    const planeNames: PlaneName[] = [];
    const live: ({ W: Matrix; H: Matrix } | null)[] = [];
    let size = { width: 0, height: 0 };
    let lastPreview = 0;
    const outcome = await compressImage(path, scratchDir, {
      ...compressOptionsOf(settings),
      overwrite: true,
      backend,
      backendReason: reason,
      signal: ctx.signal,
      onProgress: (p) => {
        let preview;
        if (p.plane && p.W && p.H) {
          let i = planeNames.indexOf(p.plane as PlaneName);
          if (i < 0) {
            // Planes arrive in order; a new rank restarts them, so the list is rebuilt from the first plane.
            if (planeNames.length && ['gray', 'rgb', 'r', 'y'].includes(p.plane)) planeNames.length = live.length = 0;
            planeNames.push(p.plane as PlaneName);
            live.push(null);
            i = planeNames.length - 1;
          }
          live[i] = { W: p.W, H: p.H };
          const now = performance.now();
          if (now - lastPreview >= PREVIEW_EVERY_MS) {
            lastPreview = now;
            if (size.width === 0) size = imageSize(p.plane as PlaneName, p.W.rows, p.H.cols);
            const names = expectedPlanes(planeNames, settings.colorMode);
            preview = previewRaster(settings.colorMode, names, names.map((_, k) => live[k] ?? null), size);
          }
        }
        ctx.progress({
          iteration: p.iteration,
          maxIter: p.maxIter,
          loss: p.loss ?? NaN,
          relErr: p.relErr ?? NaN,
          stage: p.stage,
          ...(preview ? { preview } : {}),
        });
      },
    });
    throwIfCancelled(ctx.signal);
    const components = componentInfos(outcome.factors);
    return {
      record: outcome.record,
      nmfzPath: outcome.record.output!,
      decoded: outcome.decoded,
      content: outcome.content,
      reconstruction: toRaster(outcome.decoded),
      diff: diffRaster(outcome.original, outcome.decoded).raster,
      components,
      ...(outcome.jpeg ? { jpeg: toRaster(outcome.jpeg) } : {}),
      ...(outcome.tiles ? { tiles: outcome.tiles } : {}),
    };
  },

  async 'reconstruct-image'({ content, enabled }) {
    return toRaster(decodePixels(content, enabled));
  },

  async 'rank-curve'({ path, settings, ranks }, ctx) {
    const { backend } = await resolveBackend(settings.backend);
    const source = await readImage(path);
    const encoder = new ImageEncoder(source, { ...compressOptionsOf(settings), backend, signal: ctx.signal });
    const points: RankCurvePoint[] = [];
    // Ascending, so that each rank starts from the one below it (the encoder keeps its fits).
    const wanted = [...new Set(ranks)].filter((r) => r >= encoder.minRank && r <= encoder.maxRank).sort((a, b) => a - b);
    for (const [i, rank] of wanted.entries()) {
      throwIfCancelled(ctx.signal);
      const encoded = await encoder.encodeRank(rank);
      const ratios = encoder.ratios(encoded);
      const point: RankCurvePoint = { rank, psnr: encoded.psnr, ratio: ratios.ratio, compressedBytes: encoded.bytes.length };
      if (settings.compareJpeg) point.jpegPsnr = (await compareJpeg(source.pixels, encoded.bytes.length)).jpegPsnr;
      points.push(point);
      ctx.progress({ iteration: i + 1, maxIter: wanted.length, loss: NaN, relErr: NaN, stage: `rank curve: rank ${rank}`, point });
    }
    return points;
  },

  async 'batch-file'(task, ctx) {
    const { runFileTask } = await import('./batch/worker-task.js');
    return runFileTask(task, ctx.signal, () => undefined);
  },
};

/** The image's size, from the first plane's shape (a stacked [R|G|B] plane is three images wide). */
function imageSize(plane: PlaneName, rows: number, cols: number): { width: number; height: number } {
  return { width: plane === 'rgb' ? cols / 3 : cols, height: rows };
}

/** All the planes a colour mode will have, given the first ones seen. */
function expectedPlanes(seen: PlaneName[], mode: ImageSettings['colorMode']): PlaneName[] {
  const first = seen[0];
  if (first === 'gray' || first === 'rgb') return [first];
  if (mode === 'channels') return ['r', 'g', 'b'];
  return ['y', 'cb', 'cr'];
}
