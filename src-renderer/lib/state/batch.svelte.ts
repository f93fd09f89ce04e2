// The Batch view: folders in, an output folder, options, and a table of files that fills in as the batch runs.
import type { BatchFileStatus, BatchSummary, CompressRecord, ServiceEvent } from '../../../src-main/api/contract.js';
import { api, messageOf } from '../api.js';
import { imageSettings, loadControls, type ImageControls } from '../settings.js';
import { JobTracker } from './job-tracker.js';

export type BatchStatus = 'idle' | 'starting' | 'running' | 'done' | 'cancelled' | 'failed';

export interface BatchRow {
  path: string;
  status: BatchFileStatus;
  record: CompressRecord | null;
}

type FileEvent = Extract<ServiceEvent, { type: 'batch-file' }>;

/** The service takes whole paths only: POSIX, drive-letter or UNC. */
export function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

export class BatchState {
  inputs = $state<string[]>([]);
  /** A folder path typed by hand (the web mode has no folder dialog). */
  folderField = $state('');
  outDir = $state('');
  options = $state<ImageControls>(loadControls().image);
  include = $state('');
  exclude = $state('');
  overwrite = $state(false);
  /** Parallel files; 0 lets the service decide. */
  jobs = $state(0);

  status = $state<BatchStatus>('idle');
  rows = $state<BatchRow[]>([]);
  done = $state(0);
  total = $state(0);
  summary = $state.raw<BatchSummary | null>(null);
  summaryOutDir = $state('');
  failure = $state<string | null>(null);

  readonly running = $derived(this.status === 'starting' || this.status === 'running');
  readonly canStart = $derived(!this.running && this.inputs.length > 0 && this.outDir.trim().length > 0);

  private readonly tracker = new JobTracker((event) => this.apply(event));
  private rowIndex = new Map<string, number>();
  private queued: FileEvent[] = [];
  private cancelRequested = false;
  private frame = 0;

  constructor(private readonly report: (message: string) => void) {}

  offer(event: ServiceEvent): boolean {
    return this.tracker.offer(event);
  }

  addInputs(paths: Iterable<string>): void {
    for (const raw of paths) {
      const p = raw.trim();
      if (p && !this.inputs.includes(p)) this.inputs.push(p);
    }
  }

  addTypedFolder(): void {
    const folder = this.folderField.trim();
    if (!folder) return;
    if (!isAbsolute(folder)) {
      this.report(`"${folder}" is not a full path: type the folder's whole path, e.g. /home/me/Pictures or C:\\Photos`);
      return;
    }
    this.addInputs([folder]);
    this.folderField = '';
  }

  removeInput(path: string): void {
    this.inputs = this.inputs.filter((p) => p !== path);
  }

  async pickFolders(): Promise<void> {
    if (!api.desktop) return;
    try {
      this.addInputs(await api.desktop.pickFolders());
    } catch (error) {
      this.report(messageOf(error));
    }
  }

  async pickOutputFolder(): Promise<void> {
    if (!api.desktop) return;
    try {
      const folder = await api.desktop.pickOutputFolder();
      if (folder) this.outDir = folder;
    } catch (error) {
      this.report(messageOf(error));
    }
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    if (!isAbsolute(this.outDir.trim())) {
      this.report(`Output folder "${this.outDir.trim()}" is not a full path: type its whole path`);
      return;
    }
    this.rows = [];
    this.rowIndex = new Map();
    this.queued = [];
    this.done = 0;
    this.total = 0;
    this.summary = null;
    this.failure = null;
    this.cancelRequested = false;
    this.status = 'starting';
    const patterns = (text: string): string[] | undefined => {
      const list = text.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
      return list.length ? list : undefined;
    };
    const request = {
      inputs: $state.snapshot(this.inputs),
      outDir: this.outDir.trim(),
      settings: imageSettings($state.snapshot(this.options)),
      include: patterns(this.include),
      exclude: patterns(this.exclude),
      overwrite: this.overwrite,
      jobs: this.jobs > 0 ? this.jobs : undefined,
    };
    try {
      const id = await this.tracker.begin(() => api.ops.startBatch(request));
      if (id !== null && this.status === 'starting') this.status = 'running';
    } catch (error) {
      this.status = 'failed';
      this.failure = messageOf(error);
      this.report(this.failure);
    }
  }

  async cancel(): Promise<void> {
    const id = this.tracker.jobId;
    if (!id) return;
    this.cancelRequested = true;
    try {
      await api.ops.cancel(id);
    } catch (error) {
      this.report(messageOf(error));
    }
  }

  async showOutput(): Promise<void> {
    if (!api.desktop || !this.summaryOutDir) return;
    try {
      await api.desktop.showFolder(this.summaryOutDir);
    } catch (error) {
      this.report(messageOf(error));
    }
  }

  private apply(event: ServiceEvent): void {
    switch (event.type) {
      case 'batch-file':
        // Thousands of files may report in quick succession: fold them into one update per frame.
        this.queued.push(event);
        if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
        break;
      case 'batch-done':
        this.flush();
        this.summary = event.summary;
        this.summaryOutDir = event.outDir;
        if (this.status !== 'cancelled') this.status = 'done';
        break;
      case 'job-failed':
        this.flush();
        // However the service words the end of a batch it was asked to stop, it is a cancellation.
        if (event.cancelled || this.cancelRequested) this.status = 'cancelled';
        else {
          this.status = 'failed';
          this.failure = event.error;
          this.report(event.error);
        }
        break;
      default:
        break;
    }
  }

  private flush(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const events = this.queued;
    this.queued = [];
    for (const e of events) {
      const row: BatchRow = { path: e.path, status: e.status, record: e.record ?? null };
      const at = this.rowIndex.get(e.path);
      if (at === undefined) {
        this.rowIndex.set(e.path, this.rows.length);
        this.rows.push(row);
      } else {
        // A later event without a record keeps what an earlier one said.
        this.rows[at] = { ...row, record: row.record ?? this.rows[at]!.record };
      }
      this.done = e.done;
      this.total = e.total;
    }
  }
}
