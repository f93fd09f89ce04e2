// The app's service: open documents, run jobs on worker threads, stream events. Transport-free — the
// Electron IPC and the web server both hand their validated calls to one AppService.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  AppInfo,
  BatchRequest,
  DocumentInfo,
  ExportKind,
  ImageSettings,
  JobProgress,
  MatrixResult,
  MatrixSettings,
  Raster,
  ServiceEvent,
  ServiceOps,
} from '../api/contract.js';
import { CancelledError, UserError } from '../engine/errors.js';
import type { Matrix } from '../engine/matrix.js';
import { encodeNpy, formatCsv } from '../formats/index.js';
import { resolveBackend } from '../jobs/backends.js';
import { TaskPool } from '../jobs/pool.js';
import type { TaskProgress } from '../jobs/tasks.js';
import { matrixView } from '../jobs/views.js';
import { describeError } from './errors.js';
import { kindOfPath } from './kinds.js';

export interface AppService extends ServiceOps {
  subscribe(listener: (event: ServiceEvent) => void): () => void;
  close(): Promise<void>;
}

export interface AppServiceOptions {
  shell: 'desktop' | 'web';
  startupFiles: string[];
  /** Worker threads for interactive jobs (default 2: the current job and a background rank curve). */
  workers?: number;
}

interface MatrixDocument {
  kind: 'matrix';
  info: DocumentInfo;
  path: string;
  V: Matrix;
  result?: { W: Matrix; H: Matrix; summary: MatrixResult };
}

type Document = MatrixDocument;

interface RunningJob {
  documentId: string;
  controller: AbortController;
}

const newId = (): string => randomBytes(9).toString('base64url');

export function createAppService(options: AppServiceOptions): AppService {
  const listeners = new Set<(event: ServiceEvent) => void>();
  const documents = new Map<string, Document>();
  const jobs = new Map<string, RunningJob>();
  const pool = new TaskPool(options.workers ?? 2);
  let uploadDir: string | null = null;

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

  async function openMatrix(filePath: string, name: string): Promise<DocumentInfo> {
    const opened = await pool.run('open-matrix', { path: filePath });
    const documentId = newId();
    const info: DocumentInfo = {
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
    };
    documents.set(documentId, { kind: 'matrix', info, path: filePath, V: opened.V });
    return info;
  }

  async function open(filePath: string, name: string): Promise<DocumentInfo> {
    const s = await stat(filePath).catch(() => null);
    if (!s) throw new UserError(`${name}: no such file`);
    if (!s.isFile()) throw new UserError(`${name}: not a file`);
    const kind = kindOfPath(filePath);
    if (kind === 'matrix') return openMatrix(filePath, name);
    throw new UserError(`${name}: not a file NMF Studio opens (images: PNG, JPEG, WebP, TIFF, GIF, AVIF; matrices: CSV, TSV, NPY, MTX; .nmfz)`);
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

    async openUpload(name, bytes) {
      uploadDir ??= await mkdtemp(path.join(os.tmpdir(), 'nmf-studio-uploads-'));
      // Each upload gets its own folder so that two files with one name never collide.
      const dir = path.join(uploadDir, newId());
      await import('node:fs/promises').then((fs) => fs.mkdir(dir));
      const filePath = path.join(dir, name);
      await writeFile(filePath, bytes);
      return open(filePath, name);
    },

    async closeDocument(documentId) {
      for (const [id, job] of jobs) if (job.documentId === documentId) cancelJob(id);
      documents.delete(documentId);
    },

    async compressImage(documentId, _settings: ImageSettings) {
      getDocument(documentId);
      throw new UserError('images are not supported yet');
    },

    async factorizeMatrix(documentId, settings: MatrixSettings) {
      const doc = getDocument(documentId);
      if (doc.kind !== 'matrix') throw new UserError(`${doc.info.name}: not a matrix file`);
      if (settings.rank > Math.min(doc.V.rows, doc.V.cols) && settings.init !== 'random') {
        throw new UserError(`rank ${settings.rank} is larger than the matrix allows for ${settings.init} (at most ${Math.min(doc.V.rows, doc.V.cols)}); use init random`);
      }
      return startJob(documentId, async (jobId, signal) => {
        const V = { rows: doc.V.rows, cols: doc.V.cols, data: doc.V.data.slice() };
        const r = await pool.run('factorize-matrix', { V, settings }, { signal, onProgress: progressReporter(jobId), transfer: [V.data.buffer as ArrayBuffer] });
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
          W: matrixView(r.W),
          H: matrixView(r.H),
          imputed: r.imputed,
        };
        if (jobs.has(jobId)) {
          doc.result = { W: r.W, H: r.H, summary };
          emit({ type: 'job-done', jobId, result: summary });
        }
      });
    },

    async reconstructWith(documentId, _enabled): Promise<Raster> {
      getDocument(documentId);
      throw new UserError('components apply to images');
    },

    async rankCurve(documentId) {
      getDocument(documentId);
      throw new UserError('the rank curve applies to images');
    },

    async cancel(jobId) {
      cancelJob(jobId);
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
      throw new UserError('unknown document');
    },

    async startBatch(_request: BatchRequest) {
      throw new UserError('batch is not supported yet');
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      for (const id of [...jobs.keys()]) cancelJob(id);
      await pool.close();
      if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
    },
  };
  return service;
}
