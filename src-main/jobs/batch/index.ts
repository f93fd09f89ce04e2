// Batch compression of files and whole folders: resumable, interruptible, shardable, with reports. What the CLI and app run.
//
// The walk is streamed and each file is compressed whole by one worker thread (decode, factorize, encode), so
// files overlap and memory stays that of `jobs` images. With a GPU the files share the one device from this
// thread instead, two at a time, so that one decodes and encodes while the other factorizes.

import { availableParallelism } from 'node:os';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BatchFileStatus, BatchSummary, CompressRecord } from '../../api/contract.js';
import type { Backend, BackendRequest } from '../../engine/backends/backend.js';
import { CancelledError, UserError } from '../../engine/errors.js';
import { writeFileAtomic } from '../../formats/atomic.js';
import { encodeImage } from '../../codec/image-io.js';
import { decodeNmfz, decodePixels } from '../../codec/nmfz.js';
import { resolveBackend } from '../backends.js';
import { failedRecord, readInfo, type NmfzInfo } from '../compress.js';
import { TaskPool } from '../pool.js';
import { compressOne, type FileSettings, type FileTask, type FileTaskResult } from './file-task.js';
import { PathFilter } from './glob.js';
import { RowSpool, thumbnailPaths, writeReports, type BatchRow, type BatchTotals } from './report.js';
export { publicRecord } from './report.js';
import { inShard, parseShard, reportBaseName, shardKey, type Shard } from './shard.js';
import { removeTemporariesSync, StaleTemporaries } from './temporaries.js';
import { planRoots, walkInputs, type WalkEntry, type WalkFile } from './walk.js';

export type { FileSettings } from './file-task.js';
export type { BatchRow, BatchTotals } from './report.js';
export { parseShard, shardOf, shardKey } from './shard.js';
export type { Shard } from './shard.js';

/** A batch: the contract's BatchRequest, with every setting optional and the CLI's extras. */
export interface BatchSpec {
  inputs: readonly string[];
  outDir: string;
  settings: FileSettings & { backend?: BackendRequest };
  include?: readonly string[];
  exclude?: readonly string[];
  /** Redo inputs whose outputs exist (default: skip them, so that a re-run resumes). */
  overwrite?: boolean;
  /** Files compressed at once (default: the cores with the CPU, 2 with a GPU). */
  jobs?: number;
  /** Only this deterministic part of the inputs: `{index, count}` or 'I/N'. */
  shard?: Shard | string;
  /** Write report.json/.csv/.html and thumbnails (default true). */
  reports?: boolean;
  /**
   * Compress on this thread, all files sharing the one backend, instead of on worker threads (default: only
   * when the backend is the GPU, which cannot be shared between threads).
   */
  inProcess?: boolean;
}

export interface BatchFileEvent {
  path: string;
  /** Relative to the output folder. */
  rel: string;
  status: BatchFileStatus;
  record?: CompressRecord;
  /** Inputs finished so far (ok, error or skipped). */
  done: number;
  /** Inputs found so far; final once totalKnown. */
  total: number;
  totalKnown: boolean;
}

export interface BatchProgress {
  done: number;
  total: number;
  totalKnown: boolean;
  /** Bytes of the inputs finished, and of all inputs found so far. */
  bytesDone: number;
  totalBytes: number;
  ok: number;
  errors: number;
  skipped: number;
  /** Inputs being compressed right now. */
  running: string[];
  elapsedMs: number;
  /** Estimated time left, once there is enough to estimate from. */
  etaMs?: number;
}

export interface BatchHooks {
  signal?: AbortSignal;
  onFile?(event: BatchFileEvent): void;
  onProgress?(progress: BatchProgress): void;
}

export interface BatchResult extends BatchSummary {
  total: number;
  /** The backend that ran, and how the work was spread. */
  backend: string;
  backendReason: string;
  jobs: number;
  reports: string[];
  /** Stale temporaries of earlier interrupted runs that were removed. */
  staleRemoved: number;
}

/** The run was cancelled; what had been done by then is in `result` (and in the reports). */
export class BatchInterrupted extends CancelledError {
  constructor(readonly result: BatchResult) {
    super('batch interrupted');
  }
}

/** How long to wait for the count of inputs before starting, to size the work to it when it is small. */
const COUNT_WAIT_MS = 300;

interface Targets {
  nmfz: string;
  preview: string | null;
  thumbnails: { original: string; reconstruction: string } | null;
}

function targetsFor(file: WalkFile, outDir: string, settings: FileSettings, reports: boolean): Targets {
  const stemPath = path.join(outDir, ...file.stem.split('/'));
  const thumbs = thumbnailPaths(file.stem);
  return {
    nmfz: `${stemPath}.nmfz`,
    preview: settings.preview ? `${stemPath}.preview.png` : null,
    thumbnails: reports
      ? { original: path.join(outDir, ...thumbs.original.split('/')), reconstruction: path.join(outDir, ...thumbs.reconstruction.split('/')) }
      : null,
  };
}

function allTargets(t: Targets): string[] {
  return [t.nmfz, ...(t.preview ? [t.preview] : []), ...(t.thumbnails ? [t.thumbnails.original, t.thumbnails.reconstruction] : [])];
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function checkSpec(spec: BatchSpec): { shard: Shard | undefined; filter: PathFilter } {
  if (!Array.isArray(spec.inputs) || spec.inputs.length === 0) throw new UserError('no inputs: give image files or folders', 'usage');
  if (typeof spec.outDir !== 'string' || spec.outDir.trim() === '') throw new UserError('an output folder is required (--out DIR)', 'usage');
  if (spec.jobs !== undefined && (!Number.isInteger(spec.jobs) || spec.jobs < 1 || spec.jobs > 1024)) {
    throw new UserError(`jobs must be a whole number from 1 to 1024 (got ${String(spec.jobs)})`, 'usage');
  }
  const choice = spec.settings.choice;
  if (choice && !('auto' in choice)) {
    const [[key, value] = ['', undefined]] = Object.entries(choice) as [string, unknown][];
    const integer = key === 'rank';
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new UserError(`${key || 'rank choice'} must be a positive ${integer ? 'whole number' : 'number'} (got ${String(value)})`, 'usage');
    }
  }
  const shard = typeof spec.shard === 'string' ? parseShard(spec.shard) : spec.shard;
  return { shard, filter: new PathFilter(spec.include ?? [], spec.exclude ?? []) };
}

function problemRecord(input: string, status: 'error' | 'skipped', reason: string, colorMode: FileSettings['colorMode']): CompressRecord {
  return failedRecord(input, status, reason, colorMode);
}

function skippedRecord(file: WalkFile, nmfz: string, info: NmfzInfo, reason: string): CompressRecord {
  return {
    ...failedRecord(file.path, 'skipped', reason, info.colorMode),
    output: nmfz,
    layout: info.layout === 'tiled' ? 'tiled' : 'global',
    width: info.width,
    height: info.height,
    channels: info.channels,
    bitDepth: info.bitDepth,
    rank: info.rank,
    originalFileBytes: info.original.bytes || file.size,
    rawBytes: info.rawBytes,
    compressedBytes: info.compressedBytes,
    ratio: info.ratio,
    fileRatio: info.fileRatio,
    factorRatio: info.factorRatio,
    // what the run that wrote the file measured, where its header says (NaN: not known, null in the reports)
    psnr: info.quality ? (info.quality.psnr ?? Infinity) : NaN,
    ssim: info.quality?.ssim ?? NaN,
    relErr: info.quality?.relErr ?? NaN,
    iterations: typeof info.nmf.iterations === 'number' ? info.nmf.iterations : NaN,
  };
}

/** The preview of an existing .nmfz, when a re-run asks for previews the first run did not write. */
async function previewFrom(nmfz: string, preview: string): Promise<void> {
  const pixels = decodePixels(decodeNmfz(await readFile(nmfz), nmfz));
  await writeFileAtomic(preview, await encodeImage(pixels, 'png'));
}

/**
 * Compresses every input (files, and the images inside folders) into spec.outDir, mirroring folders. Never
 * modifies an input; skips inputs whose output exists unless spec.overwrite; reports each file through
 * hooks.onFile; writes the reports. On cancellation, stops within one iteration, leaves only complete outputs
 * and no temporaries, writes the reports of what was done, and throws BatchInterrupted (a CancelledError).
 */
export async function runBatch(spec: BatchSpec, hooks: BatchHooks = {}): Promise<BatchResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { shard, filter } = checkSpec(spec);
  await planRoots(spec.inputs); // two input folders of the same name: refused before anything is written
  const signal = hooks.signal;
  const settings: FileSettings = { ...spec.settings };
  delete (settings as { backend?: unknown }).backend;
  const overwrite = spec.overwrite ?? false;
  const writeReportFiles = spec.reports ?? true;
  const outDir = path.resolve(spec.outDir);

  // Everything that can be refused is refused before the output folder is made.
  const existing = await stat(outDir).catch(() => null);
  if (existing) {
    for (const input of spec.inputs) {
      const st = await stat(input).catch(() => null);
      if (st?.isDirectory() && st.dev === existing.dev && st.ino === existing.ino) {
        throw new UserError(`--out ${spec.outDir} is the input folder ${input} itself; give another folder (it may be inside it)`, 'usage');
      }
    }
  }
  const request = spec.settings.backend ?? 'auto';
  const chosen = await resolveBackend(request);
  const onGpu = chosen.backend.name === 'gpu';
  const inProcess = spec.inProcess ?? onGpu;
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot create the output folder ${spec.outDir}: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (code ?? String(err))}`);
  }

  const cores = availableParallelism();
  let jobs = spec.jobs ?? (inProcess ? 2 : cores);

  // Count the inputs in the background (a second, cheap walk) so that progress has a total and an ETA.
  const count = { total: 0, bytes: 0, known: false };
  const counting = (async () => {
    for await (const entry of walkInputs(spec.inputs, { filter, outDir, signal })) {
      if (!inShard(shardKey(entry.stem), shard)) continue;
      count.total++;
      if (entry.kind === 'file') count.bytes += entry.size;
    }
    count.known = true;
  })().catch(() => undefined);
  await Promise.race([counting, new Promise((r) => setTimeout(r, COUNT_WAIT_MS))]);
  if (count.known && spec.jobs === undefined) jobs = Math.max(1, Math.min(jobs, count.total));
  const threads = Math.max(1, Math.floor(cores / jobs));
  const backendReason = inProcess
    ? `${chosen.reason}; ${jobs} file${jobs === 1 ? '' : 's'} at a time sharing it`
    : `${chosen.reason}; ${jobs} file${jobs === 1 ? '' : 's'} at a time, ${threads} thread${threads === 1 ? '' : 's'} each`;

  const pool = inProcess ? null : new TaskPool(jobs);
  const workerBackend: FileTask['backend'] = {
    name: chosen.backend.name === 'reference' ? 'reference' : 'cpu',
    threads,
    reason: backendReason,
  };
  const sharedBackend: Backend | null = inProcess ? chosen.backend : null;

  const stale = new StaleTemporaries(!shard || shard.count === 1);
  const base = reportBaseName(shard);
  await stale.clean([RowSpool.target(spec.outDir, base)]);
  const spool = RowSpool.create(spec.outDir, base);
  const totals: BatchTotals = { ok: 0, errors: 0, skipped: 0, inputBytes: 0, outputBytes: 0, ms: 0 };
  const claims = new Map<string, string>();
  const running = new Map<string, { targets: Targets; done: Promise<void> }>();
  /** Outputs of files stopped part-way: their temporaries are removed once no worker can write them. */
  const abandoned: string[] = [];
  let done = 0;
  let bytesDone = 0;
  let found = 0;

  // A second Ctrl-C exits at once: the temporaries of files in flight on worker threads go with it.
  const onExit = () => removeTemporariesSync([...running.values()].flatMap((r) => allTargets(r.targets)));
  process.once('exit', onExit);

  const progress = (): BatchProgress => {
    const elapsedMs = performance.now() - started;
    const total = count.known ? count.total : Math.max(count.total, found);
    const totalBytes = Math.max(count.bytes, bytesDone);
    const p: BatchProgress = {
      done,
      total,
      totalKnown: count.known,
      bytesDone,
      totalBytes,
      ok: totals.ok,
      errors: totals.errors,
      skipped: totals.skipped,
      running: [...running.keys()],
      elapsedMs,
    };
    // Time per byte of the files compressed so far, applied to the bytes left (skipped files cost nothing).
    const workBytes = bytesDone - skippedBytes;
    if (count.known && workBytes > 0 && totals.ok + totals.errors >= 1) {
      p.etaMs = Math.max(0, ((elapsedMs - skipMs) / workBytes) * (totalBytes - bytesDone));
    }
    return p;
  };
  let skippedBytes = 0;
  let skipMs = 0;

  const emit = (entry: WalkEntry, status: BatchFileStatus, record?: CompressRecord) => {
    hooks.onFile?.({ path: entry.path, rel: entry.rel, status, record, done, total: progress().total, totalKnown: count.known });
    hooks.onProgress?.(progress());
  };

  // Rows reach the reports in the order of the walk, whatever order the files finish in: each waits for the
  // ones before it (a window as wide as the files in flight, unless one file takes far longer than the rest).
  const finishedRows = new Map<number, BatchRow>();
  let nextRow = 0;
  const MAX_WAITING_ROWS = 10_000;
  const flushRows = async (): Promise<void> => {
    while (finishedRows.size > 0) {
      let row = finishedRows.get(nextRow);
      if (!row) {
        if (finishedRows.size < MAX_WAITING_ROWS) return;
        const first = Math.min(...finishedRows.keys());
        row = finishedRows.get(first)!;
        nextRow = first;
      }
      finishedRows.delete(nextRow++);
      await spool.append(row);
    }
  };

  const finish = async (seq: number, entry: WalkEntry, record: CompressRecord, thumbnails: boolean): Promise<void> => {
    done++;
    const size = entry.kind === 'file' ? entry.size : 0;
    bytesDone += size;
    if (record.status === 'ok') {
      totals.ok++;
      totals.inputBytes += size;
      totals.outputBytes += record.compressedBytes;
    } else if (record.status === 'skipped') {
      totals.skipped++;
      skippedBytes += size;
      if (record.output) {
        totals.inputBytes += size;
        totals.outputBytes += record.compressedBytes;
      }
    } else {
      totals.errors++;
      skippedBytes += size;
    }
    emit(entry, record.status, record);
    finishedRows.set(seq, { ...record, rel: entry.rel, stem: entry.stem, thumbnails });
    await flushRows();
  };

  const compress = async (file: WalkFile, targets: Targets): Promise<FileTaskResult> => {
    const task: Omit<FileTask, 'backend'> = {
      input: file.path,
      outDir: path.dirname(targets.nmfz),
      thumbnails: targets.thumbnails,
      overwrite,
      settings,
    };
    if (!pool) return compressOne(task, sharedBackend!, backendReason, signal);
    // The pool listens on the signal it is given until the run ends; a signal per file keeps those listeners
    // from piling up on the batch's over thousands of files.
    const perFile = new AbortController();
    const forward = () => perFile.abort();
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) perFile.abort();
    try {
      return await pool.run('batch-file', { ...task, backend: workerBackend }, { signal: perFile.signal });
    } finally {
      signal?.removeEventListener('abort', forward);
    }
  };

  const handle = async (seq: number, file: WalkFile, targets: Targets): Promise<void> => {
    const t0 = performance.now();
    try {
      await mkdir(path.dirname(targets.nmfz), { recursive: true });
      const { record, thumbnails } = await compress(file, targets);
      await finish(seq, file, record, thumbnails);
    } catch (err) {
      if (err instanceof CancelledError && signal?.aborted) {
        abandoned.push(...allTargets(targets));
        finishedRows.delete(seq);
        return;
      }
      // One line that names the file, whatever the message said.
      const text = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      const message = err instanceof UserError ? (text.includes(file.path) ? text : `${file.path}: ${text}`) : `${file.path}: could not be compressed: ${text}`;
      await finish(seq, file, { ...problemRecord(file.path, 'error', message, settings.colorMode), ms: Math.round(performance.now() - t0) }, false);
    }
  };

  let walkError: unknown = null;
  try {
    for await (const entry of walkInputs(spec.inputs, { filter, outDir, signal })) {
      if (signal?.aborted) break;
      if (!inShard(shardKey(entry.stem), shard)) continue;
      const seq = found++;
      const earlier = claims.get(entry.stem);
      if (earlier !== undefined) {
        const record =
          path.resolve(earlier) === path.resolve(entry.path)
            ? problemRecord(entry.path, 'skipped', `${entry.path}: given more than once; compressed once`, settings.colorMode)
            : problemRecord(entry.path, 'error', `${entry.path}: not compressed: ${earlier} has the same name and already goes to ${entry.stem}.nmfz; rename one of them`, settings.colorMode);
        await finish(seq, entry, record, false);
        continue;
      }
      claims.set(entry.stem, entry.path);
      if (entry.kind === 'problem') {
        await finish(seq, entry, problemRecord(entry.path, entry.status, `${entry.path}: ${entry.reason}`, settings.colorMode), false);
        continue;
      }
      const targets = targetsFor(entry, spec.outDir, settings, writeReportFiles);
      await stale.clean(allTargets(targets));
      if (!overwrite && (await exists(targets.nmfz))) {
        const t0 = performance.now();
        let record: CompressRecord;
        try {
          const info = await readInfo(targets.nmfz);
          if (targets.preview && !(await exists(targets.preview))) await previewFrom(targets.nmfz, targets.preview);
          record = skippedRecord(entry, targets.nmfz, info, `${path.relative(process.cwd(), targets.nmfz) || targets.nmfz} already exists (--overwrite redoes it)`);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          record = problemRecord(entry.path, 'error', `${entry.path}: the existing output ${targets.nmfz} cannot be used (${reason}); --overwrite redoes it`, settings.colorMode);
        }
        skipMs += performance.now() - t0;
        await finish(seq, entry, record, targets.thumbnails ? await exists(targets.thumbnails.original) : false);
        continue;
      }
      while (running.size >= jobs) await Promise.race([...running.values()].map((r) => r.done));
      if (signal?.aborted) break;
      const key = entry.path;
      const job = { targets, done: Promise.resolve() };
      job.done = handle(seq, entry, targets).finally(() => running.delete(key));
      running.set(key, job);
      emit(entry, 'running');
    }
  } catch (err) {
    if (!(err instanceof CancelledError)) walkError = err;
  }

  await Promise.allSettled([...running.values()].map((r) => r.done));
  // Rows still waiting for a file that was stopped part-way.
  for (const seq of [...finishedRows.keys()].sort((a, b) => a - b)) await spool.append(finishedRows.get(seq)!);
  finishedRows.clear();
  await pool?.close();
  // A worker stopped mid-write leaves its temporary; now that no worker runs, it can go.
  removeTemporariesSync(abandoned);
  process.off('exit', onExit);
  const interrupted = signal?.aborted ?? false;
  totals.ms = Math.round(performance.now() - started);

  let reports: string[] = [];
  try {
    if (writeReportFiles) {
      await stale.clean(['json', 'csv', 'html'].map((ext) => path.join(spec.outDir, `${base}.${ext}`)));
      reports = await writeReports(spec.outDir, base, {
        totals,
        interrupted,
        outDir: spec.outDir,
        shard: shard ? `${shard.index}/${shard.count}` : null,
        startedAt,
        finishedAt: new Date().toISOString(),
        settings: { ...settings, backend: request, overwrite, include: spec.include ?? [], exclude: spec.exclude ?? [], jobs },
        backend: backendReason,
        compareJpeg: settings.compareJpeg ?? false,
      }, spool);
    }
  } finally {
    await spool.dispose();
  }
  if (walkError) throw walkError;
  const result: BatchResult = {
    ...totals,
    total: done,
    backend: chosen.backend.name,
    backendReason,
    jobs,
    reports,
    staleRemoved: stale.removed,
  };
  if (interrupted) throw new BatchInterrupted(result);
  return result;
}
