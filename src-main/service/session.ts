// The app's service: open documents, run jobs on worker threads, stream events. Transport-free — the
// Electron IPC and the web server both hand their validated calls to one AppService.

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type {
  AppInfo,
  CompressRecord,
  ImageResult,
  BatchRequest,
  DocumentInfo,
  ExportKind,
  ImageSettings,
  JobProgress,
  MatrixDocumentInfo,
  MatrixResult,
  MatrixSettings,
  NmfzFacts,
  Raster,
  ServiceEvent,
  ServiceOps,
  TileMap,
} from '../api/contract.js';
import { CancelledError, UserError } from '../engine/errors.js';
import { isSparse, type DataMatrix, type Matrix } from '../engine/matrix.js';
import { encodeImage } from '../codec/image-io.js';
import type { NmfzContent } from '../codec/nmfz.js';
import type { ImagePixels } from '../codec/types.js';
import { encodeNpy, formatCsv } from '../formats/index.js';
import { BatchInterrupted, runBatch, type BatchResult } from '../jobs/batch/index.js';
import { decompressFile } from '../jobs/compress.js';
import { resolveBackend } from '../jobs/backends.js';
import { TaskPool } from '../jobs/pool.js';
import { tileComponents } from '../jobs/tile-components.js';
import type { TaskProgress } from '../jobs/tasks.js';
import { MAX_VIEW_SIDE, matrixView } from '../jobs/views.js';
import { DEFAULT_TOP, topComponents } from './components.js';
import { describeError } from './errors.js';
import { kindOfPath } from './kinds.js';

export interface AppService extends ServiceOps {
  /**
   * Opens a file that arrives as a stream of bytes (the web mode's uploads): written to the scratch folder as
   * it comes, never held whole in memory, then read from disk like any file.
   */
  openUploadStream(name: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, set?: string): Promise<DocumentInfo>;
  /**
   * Keeps a file uploaded with others (set: an id the page makes up for them) until the set's matrix arrives
   * through openUploadStream with the same set: its label files, as a desktop folder would hold them beside it.
   */
  stageUpload(set: string, name: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void>;
  subscribe(listener: (event: ServiceEvent) => void): () => void;
  close(): Promise<void>;
}

export interface AppServiceOptions {
  shell: 'desktop' | 'web';
  startupFiles: string[];
  /** Worker threads for interactive jobs (default 2: the current job and a background rank curve). */
  workers?: number;
}

interface ImageDocument {
  kind: 'image';
  info: DocumentInfo;
  /** The image file the fits read (for a .nmfz, its decoded pixels as PNG in the scratch folder). */
  path: string;
  /** The last result: its record, files, decoded pixels, stored content and, when tiled, its tile map. */
  result?: { record: CompressRecord; nmfzPath: string; scratch: string; decoded: ImagePixels; content: NmfzContent; tiles?: TileMap };
}

interface MatrixDocument {
  kind: 'matrix';
  info: MatrixDocumentInfo;
  path: string;
  V: DataMatrix;
  result?: { W: Matrix; H: Matrix; summary: MatrixResult };
}

type Document = ImageDocument | MatrixDocument;

interface RunningJob {
  documentId: string;
  controller: AbortController;
}

const newId = (): string => randomBytes(9).toString('base64url');

/** An upload set's id: made up by the page, so checked before it names anything on disk. */
const UPLOAD_SET_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** The most files one upload set may hold (a matrix and its label files need three). */
const MAX_SET_FILES = 16;

/** An error about an uploaded file names it as the person knows it, not by its place in the scratch folder. */
function withUploadNames(err: unknown, dir: string): unknown {
  if (err instanceof Error && err.message.includes(dir + path.sep)) err.message = err.message.split(dir + path.sep).join('');
  return err;
}

const notOpenable = (name: string): UserError =>
  new UserError(`${name}: not a file NMF Studio opens (images: PNG, JPEG, WebP, TIFF, GIF, AVIF; matrices: CSV, TSV, TXT, NPY, MTX; .nmfz)`);

export function createAppService(options: AppServiceOptions): AppService {
  const listeners = new Set<(event: ServiceEvent) => void>();
  const documents = new Map<string, Document>();
  /** The scratch folder each uploaded document was written to, removed when the document closes. */
  const uploads = new Map<string, string>();
  /** Upload sets still waiting for their matrix: their folder and the files staged in it so far. */
  const uploadSets = new Map<string, { dir: string; names: string[] }>();
  const jobs = new Map<string, RunningJob>();
  /** Rank curves and batches: they run beside the main job of a document, not instead of it. */
  const background = new Map<string, RunningJob>();
  const pool = new TaskPool(options.workers ?? 2);
  let scratchRoot: string | null = null;
  /** A fresh folder under the session's scratch space (uploads, results, decoded .nmfz files); removed on close. */
  async function scratch(): Promise<string> {
    scratchRoot ??= await mkdtemp(path.join(os.tmpdir(), 'nmf-studio-'));
    const dir = path.join(scratchRoot, newId());
    await mkdir(dir);
    return dir;
  }

  const emit = (event: ServiceEvent): void => {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        console.error('nmf-studio: an event listener failed:', err);
      }
    }
  };

  const getDocument = (documentId: string): Document => {
    const doc = documents.get(documentId);
    if (!doc) throw new UserError('that document is no longer open');
    return doc;
  };

  /** Starts a job, cancelling the document's previous one; the job runs on and reports through events. */
  function startJob(documentId: string, run: (jobId: string, signal: AbortSignal) => Promise<unknown>): string {
    for (const [id, job] of jobs) if (job.documentId === documentId) cancelJob(id);
    const jobId = newId();
    const controller = new AbortController();
    jobs.set(jobId, { documentId, controller });
    void run(jobId, controller.signal)
      .catch((err: unknown) => {
        const cancelled = err instanceof CancelledError || controller.signal.aborted;
        emit({ type: 'job-failed', jobId, error: cancelled ? 'cancelled' : describeError(err), cancelled });
      })
      .finally(() => jobs.delete(jobId));
    return jobId;
  }

  function cancelJob(jobId: string): void {
    const job = jobs.get(jobId);
    if (!job) return;
    job.controller.abort();
    jobs.delete(jobId);
  }

  function progressReporter(jobId: string): (p: TaskProgress) => void {
    const started = Date.now();
    return (p) => {
      const elapsedMs = Date.now() - started;
      const progress: JobProgress = { jobId, ...p, elapsedMs };
      if (p.iteration > 0 && p.maxIter > p.iteration) progress.etaMs = (elapsedMs / p.iteration) * (p.maxIter - p.iteration);
      emit({ type: 'progress', progress });
    };
  }

  async function openMatrix(filePath: string, name: string, companions: string[] = []): Promise<DocumentInfo> {
    const opened = await pool.run('open-matrix', { path: filePath, ...(companions.length ? { companions } : {}) });
    const documentId = newId();
    const info: MatrixDocumentInfo = {
      kind: 'matrix',
      documentId,
      name,
      format: opened.format,
      fileBytes: (await stat(filePath)).size,
      rows: opened.V.rows,
      cols: opened.V.cols,
      dtype: opened.dtype,
      missing: opened.missing,
      V: opened.view,
      valueRange: opened.valueRange,
      ...(opened.sparse ? { sparse: opened.sparse } : {}),
      ...(opened.rowLabels ? { rowLabels: opened.rowLabels } : {}),
      ...(opened.colLabels ? { colLabels: opened.colLabels } : {}),
    };
    documents.set(documentId, { kind: 'matrix', info, path: filePath, V: opened.V });
    return info;
  }

  async function openImage(filePath: string, name: string, shown?: { format: string; fileBytes: number; nmfz: NmfzFacts }): Promise<DocumentInfo> {
    const opened = await pool.run('open-image', { path: filePath });
    const documentId = newId();
    const info: DocumentInfo = {
      kind: 'image',
      documentId,
      name,
      format: shown?.format ?? opened.format,
      fileBytes: shown?.fileBytes ?? opened.fileBytes,
      width: opened.width,
      height: opened.height,
      channels: opened.channels,
      bitDepth: opened.bitDepth,
      hasAlpha: opened.hasAlpha,
      original: opened.original,
      ...(shown ? { nmfz: shown.nmfz } : {}),
    };
    documents.set(documentId, { kind: 'image', info, path: filePath });
    return info;
  }

  /** A .nmfz opens as the image it stands for: decoded once into the scratch folder, then like any image. */
  async function openNmfz(filePath: string, name: string): Promise<DocumentInfo> {
    const decoded = await decompressFile(filePath, await scratch(), { format: 'png' });
    const { original, rank, colorMode, quality } = decoded.header;
    const nmfz: NmfzFacts = { original, rank, colorMode, quality: quality ?? null };
    return openImage(decoded.output, name, { format: 'NMFZ', fileBytes: (await stat(filePath)).size, nmfz });
  }

  async function open(filePath: string, name: string, companions: string[] = []): Promise<DocumentInfo> {
    const s = await stat(filePath).catch(() => null);
    if (!s) throw new UserError(`${name}: no such file`);
    if (!s.isFile()) throw new UserError(`${name}: not a file`);
    const kind = kindOfPath(filePath);
    if (kind === 'matrix') return openMatrix(filePath, name, companions);
    if (companions.length) throw new UserError(`${name}: only a matrix file takes label files (uploaded with it: ${companions.map((c) => path.basename(c)).join(', ')})`);
    if (kind === 'image') return openImage(filePath, name);
    if (kind === 'nmfz') return openNmfz(filePath, name);
    throw notOpenable(name);
  }

  const service: AppService = {
    async appInfo(): Promise<AppInfo> {
      const { backend, reason } = await resolveBackend('auto');
      return {
        version: process.env.npm_package_version ?? '0.1.0',
        shell: options.shell,
        backend: backend.name,
        backendReason: reason,
        startupFiles: options.startupFiles,
      };
    },

    openPath: (filePath) => open(filePath, path.basename(filePath)),

    openUpload: (name, bytes) => service.openUploadStream(name, [bytes]),

    async openUploadStream(name, body, set) {
      // Refused before its bytes are written, not after.
      if (!kindOfPath(name)) throw notOpenable(name);
      if (set !== undefined && !UPLOAD_SET_ID.test(set)) throw new UserError(`${name}: not a valid upload set id`);
      const staged = set === undefined ? undefined : uploadSets.get(set);
      if (set !== undefined) uploadSets.delete(set);
      if (staged?.names.includes(name)) {
        await rm(staged.dir, { recursive: true, force: true });
        throw new UserError(`${name}: uploaded twice in one set`);
      }
      // Each upload gets its own folder so that two files with one name never collide; a set's files share one,
      // so that its matrix finds its label files beside it.
      const dir = staged?.dir ?? (await scratch());
      try {
        const filePath = path.join(dir, name);
        await pipeline(body, createWriteStream(filePath));
        const info = await open(filePath, name, (staged?.names ?? []).map((n) => path.join(dir, n)));
        uploads.set(info.documentId, dir);
        return info;
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw withUploadNames(err, dir);
      }
    },

    async stageUpload(set, name, body) {
      if (!UPLOAD_SET_ID.test(set)) throw new UserError(`${name}: not a valid upload set id`);
      let staged = uploadSets.get(set);
      if (staged && staged.names.length >= MAX_SET_FILES) throw new UserError(`${name}: more than ${MAX_SET_FILES} files uploaded together`);
      if (staged?.names.includes(name)) throw new UserError(`${name}: uploaded twice in one set`);
      if (!staged) uploadSets.set(set, (staged = { dir: await scratch(), names: [] }));
      try {
        await pipeline(body, createWriteStream(path.join(staged.dir, name)));
        staged.names.push(name);
      } catch (err) {
        uploadSets.delete(set);
        await rm(staged.dir, { recursive: true, force: true });
        throw withUploadNames(err, staged.dir);
      }
    },

    async closeDocument(documentId) {
      for (const [id, job] of jobs) if (job.documentId === documentId) cancelJob(id);
      const doc = documents.get(documentId);
      documents.delete(documentId);
      if (doc?.kind === 'image' && doc.result) await rm(doc.result.scratch, { recursive: true, force: true });
      const upload = uploads.get(documentId);
      uploads.delete(documentId);
      if (upload) await rm(upload, { recursive: true, force: true });
    },

    async compressImage(documentId, settings: ImageSettings) {
      const doc = getDocument(documentId);
      if (doc.kind !== 'image') throw new UserError(`${doc.info.name}: not an image`);
      return startJob(documentId, async (jobId, signal) => {
        const dir = await scratch();
        const r = await pool.run('compress-image', { path: doc.path, scratchDir: dir, settings }, { signal, onProgress: progressReporter(jobId) });
        if (!jobs.has(jobId)) {
          await rm(dir, { recursive: true, force: true });
          return;
        }
        // The file the person opened, not the scratch copy an upload or a .nmfz was read from.
        const record: CompressRecord = { ...r.record, input: doc.info.name, output: null };
        if (doc.result) await rm(doc.result.scratch, { recursive: true, force: true });
        doc.result = { record, nmfzPath: r.nmfzPath, scratch: dir, decoded: r.decoded, content: r.content, ...(r.tiles ? { tiles: r.tiles } : {}) };
        const result: ImageResult = {
          kind: 'image',
          documentId,
          record,
          reconstruction: r.reconstruction,
          diff: r.diff,
          components: r.components,
          ...(r.jpeg ? { jpeg: r.jpeg } : {}),
          ...(r.tiles ? { tiles: r.tiles } : {}),
        };
        emit({ type: 'job-done', jobId, result });
      });
    },

    async factorizeMatrix(documentId, settings: MatrixSettings) {
      const doc = getDocument(documentId);
      if (doc.kind !== 'matrix') throw new UserError(`${doc.info.name}: not a matrix file`);
      if (settings.rank > Math.min(doc.V.rows, doc.V.cols) && settings.init !== 'random') {
        throw new UserError(`rank ${settings.rank} is larger than the matrix allows for ${settings.init} (at most ${Math.min(doc.V.rows, doc.V.cols)}); use init random`);
      }
      return startJob(documentId, async (jobId, signal) => {
        // A copy for the worker (the engine may fill missing cells in place): its buffers move there.
        const V = copyOf(doc.V);
        const transfer = (isSparse(V) ? [V.indptr.buffer, V.indices.buffer, V.values.buffer] : [V.data.buffer]) as ArrayBuffer[];
        const r = await pool.run('factorize-matrix', { V, settings }, { signal, onProgress: progressReporter(jobId), transfer });
        const summary: MatrixResult = {
          kind: 'matrix',
          documentId,
          rows: doc.V.rows,
          cols: doc.V.cols,
          rank: settings.rank,
          solver: r.solver,
          betaLoss: r.betaLoss,
          init: r.init,
          iterations: r.iterations,
          loss: r.loss,
          relErr: r.relErr,
          backend: r.backend,
          backendReason: r.backendReason,
          ms: Math.round(r.ms),
          WH: r.WH,
          W: matrixView(r.W, MAX_VIEW_SIDE, 'max'),
          H: matrixView(r.H, MAX_VIEW_SIDE, 'max'),
          imputed: r.imputed,
          components: topComponents(r.W, r.H, { top: settings.top ?? DEFAULT_TOP, rowLabels: doc.info.rowLabels, colLabels: doc.info.colLabels }),
        };
        if (jobs.has(jobId)) {
          doc.result = { W: r.W, H: r.H, summary };
          emit({ type: 'job-done', jobId, result: summary });
        }
      });
    },

    async reconstructWith(documentId, enabled): Promise<Raster> {
      const doc = getDocument(documentId);
      if (doc.kind !== 'image') throw new UserError(`${doc.info.name}: components apply to images`);
      if (!doc.result) throw new UserError(`${doc.info.name}: no result yet`);
      return pool.run('reconstruct-image', { content: doc.result.content, enabled });
    },

    async tileComponents(documentId, plane, tile) {
      const doc = getDocument(documentId);
      if (doc.kind !== 'image') throw new UserError(`${doc.info.name}: tiles apply to images`);
      if (!doc.result) throw new UserError(`${doc.info.name}: no result yet`);
      const { tiles, content } = doc.result;
      if (!tiles || !content.tiles) throw new UserError(`${doc.info.name}: this result is one factorization of the whole image, not tiles; its components are in the gallery`);
      return tileComponents(tiles, content.tiles, content.header.quantization.bits, plane, tile);
    },

    async rankCurve(documentId, settings, ranks) {
      const doc = getDocument(documentId);
      if (doc.kind !== 'image') throw new UserError(`${doc.info.name}: the rank curve applies to images`);
      // A background job of its own: it does not cancel (and is not cancelled by) the document's main job.
      const jobId = newId();
      const controller = new AbortController();
      for (const [id, job] of background) if (job.documentId === documentId) {
        job.controller.abort();
        background.delete(id);
      }
      background.set(jobId, { documentId, controller });
      const onProgress = (p: TaskProgress) => {
        if (p.point && background.has(jobId)) emit({ type: 'rank-curve', jobId, point: p.point, done: false });
      };
      void pool
        .run('rank-curve', { path: doc.path, settings, ranks }, { signal: controller.signal, onProgress })
        .then(
          (points) => {
            const last = points[points.length - 1];
            if (last && background.has(jobId)) emit({ type: 'rank-curve', jobId, point: last, done: true });
          },
          (err: unknown) => {
            const cancelled = err instanceof CancelledError || controller.signal.aborted;
            if (!cancelled) emit({ type: 'job-failed', jobId, error: describeError(err), cancelled });
          },
        )
        .finally(() => background.delete(jobId));
      return jobId;
    },

    async cancel(jobId) {
      cancelJob(jobId);
      const curve = background.get(jobId);
      if (curve) {
        curve.controller.abort();
        background.delete(jobId);
      }
    },

    async exportResult(documentId, kind: ExportKind) {
      const doc = getDocument(documentId);
      const stem = path.parse(doc.info.name).name;
      if (doc.kind === 'matrix') {
        if (!doc.result) throw new UserError(`${doc.info.name}: nothing to save yet; factorize it first`);
        const dtype = doc.info.kind === 'matrix' ? doc.info.dtype : 'float64';
        const which = kind.startsWith('W') ? doc.result.W : doc.result.H;
        if (kind === 'W.npy' || kind === 'H.npy') return { name: `${stem}.${kind}`, bytes: encodeNpy(which, dtype) };
        if (kind === 'W.csv' || kind === 'H.csv') return { name: `${stem}.${kind}`, bytes: new TextEncoder().encode(formatCsv(which)) };
        throw new UserError(`${doc.info.name}: a matrix result is saved as W and H (.npy or .csv)`);
      }
      if (!doc.result) throw new UserError(`${doc.info.name}: nothing to save yet; wait for the result`);
      if (kind === 'nmfz') return { name: `${stem}.nmfz`, bytes: new Uint8Array(await readFile(doc.result.nmfzPath)) };
      if (kind === 'png') return { name: `${stem}.reconstruction.png`, bytes: new Uint8Array(await encodeImage(doc.result.decoded, 'png')) };
      throw new UserError(`${doc.info.name}: an image result is saved as .nmfz or PNG`);
    },

    async startBatch(request: BatchRequest) {
      const jobId = newId();
      const controller = new AbortController();
      background.set(jobId, { documentId: '', controller });
      const done = (r: BatchResult) =>
        emit({
          type: 'batch-done',
          jobId,
          outDir: request.outDir,
          summary: { ok: r.ok, errors: r.errors, skipped: r.skipped, inputBytes: r.inputBytes, outputBytes: r.outputBytes, ms: r.ms },
        });
      void runBatch(
        {
          inputs: request.inputs,
          outDir: request.outDir,
          settings: request.settings,
          overwrite: request.overwrite,
          ...(request.include ? { include: request.include } : {}),
          ...(request.exclude ? { exclude: request.exclude } : {}),
          ...(request.jobs ? { jobs: request.jobs } : {}),
        },
        {
          signal: controller.signal,
          onFile: (e) =>
            emit({ type: 'batch-file', jobId, path: e.path, status: e.status, ...(e.record ? { record: e.record } : {}), done: e.done, total: e.total }),
        },
      )
        .then(done, (err: unknown) => {
          // A cancelled batch still reports what it finished (its reports are written too).
          if (err instanceof BatchInterrupted) done(err.result);
          emit({ type: 'job-failed', jobId, error: describeError(err), cancelled: err instanceof CancelledError });
        })
        .finally(() => background.delete(jobId));
      return jobId;
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      for (const id of [...jobs.keys()]) cancelJob(id);
      for (const c of background.values()) c.controller.abort();
      await pool.close();
      if (scratchRoot) await rm(scratchRoot, { recursive: true, force: true });
    },
  };
  return service;
}

/** A copy of V whose buffers can be handed to a worker. */
function copyOf(V: DataMatrix): DataMatrix {
  if (isSparse(V)) return { ...V, indptr: V.indptr.slice(), indices: V.indices.slice(), values: V.values.slice() };
  return { rows: V.rows, cols: V.cols, data: V.data.slice() };
}
