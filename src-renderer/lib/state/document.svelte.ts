// The open document and its factorization: controls, the running job, live progress, the result, component toggles.
import type {
  DocumentInfo,
  ExportKind,
  ImageDocumentInfo,
  ImageResult,
  JobProgress,
  JobResult,
  MatrixDocumentInfo,
  MatrixResult,
  Raster,
  ServiceEvent,
  TileComponents,
  TileMap,
} from '../../../src-main/api/contract.js';
import { api, messageOf } from '../api.js';
import { imageSettings, loadControls, matrixSettings, saveControls, type ImageControls, type MatrixControls } from '../settings.js';
import { JobTracker } from './job-tracker.js';
import { maxRank as maxRankOf, minRank as minRankOf, planeLayouts } from '../../../src-main/codec/colour.js';
import { autoRanks, parseRanks, RankCurveState } from './rank-curve.svelte.js';
import { defaultColormap, isPicture, type ColormapName } from '../colormap.js';

export type JobStatus = 'idle' | 'starting' | 'running' | 'done' | 'cancelled' | 'failed';

export interface LossPoint {
  iteration: number;
  loss: number;
  relErr: number;
}

/** How long a slider drag must pause before the job restarts. */
export const DRAG_DEBOUNCE_MS = 250;

export class DocumentState {
  doc = $state.raw<DocumentInfo | null>(null);
  opening = $state(false);
  image = $state<ImageControls>(loadControls().image);
  matrix = $state<MatrixControls>(loadControls().matrix);

  status = $state<JobStatus>('idle');
  progress = $state.raw<JobProgress | null>(null);
  /** The last progress of an iterative stage: the bar holds it through stages that have no iterations. */
  iterating = $state.raw<JobProgress | null>(null);
  /** Loss per iteration of the current factorization (a job that tries several ranks starts a new one each time). */
  loss = $state.raw<LossPoint[]>([]);
  /** The live reconstruction while the job runs. */
  preview = $state.raw<Raster | null>(null);
  /** What that reconstruction is (the stage it came with), which later progress without a picture does not change. */
  previewStage = $state('');
  result = $state.raw<JobResult | null>(null);
  /** The job's error, shown beside the progress (and in the window's error bar). */
  failure = $state<string | null>(null);
  startedAt = $state(0);

  /** Indices (into the factors) of the components switched on. */
  enabled = $state.raw<ReadonlySet<number>>(new Set());
  /** The reconstruction from the enabled components only; null when all are on. */
  partial = $state.raw<Raster | null>(null);
  partialBusy = $state(false);

  /** How a matrix's values are coloured (V, W·H, W and H alike); each matrix opens in the one that suits it. */
  colormap = $state<ColormapName>('viridis');
  /** While a file is on its way to the service: bytes sent of its size (web mode uploads). */
  uploaded = $state.raw<{ loaded: number; total: number } | null>(null);
  /** The tile overlay: shown or not, over which plane, and the tile picked on it (with its components once they come). */
  tileOverlay = $state(false);
  tilePlane = $state(0);
  pickedTile = $state.raw<{ plane: number; tile: number } | null>(null);
  tileDetail = $state.raw<TileComponents | null>(null);
  tileProblem = $state<string | null>(null);

  readonly curve: RankCurveState;

  readonly imageDoc = $derived(this.doc?.kind === 'image' ? (this.doc as ImageDocumentInfo) : null);
  readonly matrixDoc = $derived(this.doc?.kind === 'matrix' ? (this.doc as MatrixDocumentInfo) : null);
  readonly imageResult = $derived(this.result?.kind === 'image' ? (this.result as ImageResult) : null);
  readonly matrixResult = $derived(this.result?.kind === 'matrix' ? (this.result as MatrixResult) : null);
  /** A matrix that looks like a picture is shown as one unless this is switched off (then as heat maps). */
  asPicture = $state(true);
  /** The open matrix looks like a picture (pixel-like values). */
  readonly matrixLooksLikePicture = $derived(this.matrixDoc !== null && isPicture(this.matrixDoc));
  /** The open matrix is shown as a picture: in the compare view, as images are. */
  readonly matrixPicture = $derived(this.matrixLooksLikePicture && this.asPicture);
  /** The compare view (zoom, split, difference) is on screen. */
  readonly comparing = $derived(this.imageDoc !== null || this.matrixPicture);
  readonly running = $derived(this.status === 'starting' || this.status === 'running');
  /** The tiles of the shown result, when it is tiled. */
  readonly tiles = $derived<TileMap | null>(this.imageResult?.tiles ?? null);
  /** The smallest rank the open document takes: a colour image split into three planes needs one per plane. */
  readonly minRank = $derived.by(() => {
    const d = this.imageDoc;
    return d ? minRankOf(planeLayouts(d, this.image.colorMode), this.image.colorMode) : 1;
  });
  /** The largest rank that makes sense for the open document (the total over the planes for an image). */
  readonly maxRank = $derived.by(() => {
    const d = this.doc;
    if (!d) return 512;
    if (d.kind === 'image') return maxRankOf(planeLayouts(d as ImageDocumentInfo, this.image.colorMode), this.image.colorMode);
    return Math.max(1, Math.min(d.rows, d.cols));
  });

  private readonly main = new JobTracker((event) => this.apply(event));
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private openGeneration = 0;
  private lastKey = '';
  private cancelWhenKnown = false;
  private pendingProgress: JobProgress | null = null;
  private pendingLoss: LossPoint[] = [];
  private pendingPreviewStage = '';
  private lastStage = '';
  private frame = 0;
  private reconstructTimer: ReturnType<typeof setTimeout> | undefined;
  private reconstructGeneration = 0;

  constructor(private readonly report: (message: string) => void) {
    this.curve = new RankCurveState(report);
  }

  offer(event: ServiceEvent): boolean {
    return this.main.offer(event) || this.curve.offer(event);
  }

  // ---- opening ---------------------------------------------------------------------------------

  /** Opens what `load` brings; `load` may report upload progress through the callback it is given. */
  async open(load: (onUpload: (loaded: number, total: number) => void) => Promise<DocumentInfo>): Promise<boolean> {
    const generation = ++this.openGeneration;
    this.opening = true;
    this.uploaded = null;
    const onUpload = (loaded: number, total: number): void => {
      if (generation === this.openGeneration) this.uploaded = { loaded, total };
    };
    try {
      const info = await load(onUpload);
      if (generation !== this.openGeneration) {
        void api.ops.closeDocument(info.documentId).catch(() => {});
        return false;
      }
      this.replaceDocument(info);
      this.start();
      return true;
    } catch (error) {
      if (generation === this.openGeneration) this.report(messageOf(error));
      return false;
    } finally {
      if (generation === this.openGeneration) {
        this.opening = false;
        this.uploaded = null;
      }
    }
  }

  private replaceDocument(info: DocumentInfo): void {
    const old = this.doc;
    const oldJob = this.main.jobId;
    this.main.forget();
    this.curve.reset();
    if (oldJob) void api.ops.cancel(oldJob).catch(() => {});
    if (old) void api.ops.closeDocument(old.documentId).catch(() => {});
    clearTimeout(this.restartTimer);
    this.clearJobState();
    this.result = null;
    this.enabled = new Set();
    this.partial = null;
    this.closeTile();
    this.status = 'idle';
    this.doc = info;
    // A rank remembered from a larger document (or another colour mode) may not fit this one.
    if (info.kind === 'image') this.image.rank = this.clampImageRank(this.image.rank);
    if (info.kind === 'matrix' && this.matrix.rank > this.maxRank) this.matrix.rank = this.maxRank;
    if (info.kind === 'matrix') {
      this.colormap = defaultColormap(info);
      this.asPicture = true;
    }
  }

  // ---- controls → jobs -------------------------------------------------------------------------

  /** Applies a change to the image controls and restarts the job (after `debounceMs` of quiet, for drags). */
  changeImage(patch: Partial<ImageControls>, debounceMs = 0): void {
    Object.assign(this.image, patch);
    // the colour mode decides how many planes share the rank, so the rank's range moves with it
    if (this.imageDoc) this.image.rank = this.clampImageRank(this.image.rank);
    saveControls($state.snapshot(this.image), $state.snapshot(this.matrix));
    if (this.doc?.kind === 'image') this.restart(debounceMs);
  }

  private clampImageRank(rank: number): number {
    return Math.min(this.maxRank, Math.max(this.minRank, rank));
  }

  changeMatrix(patch: Partial<MatrixControls>, debounceMs = 0): void {
    Object.assign(this.matrix, patch);
    saveControls($state.snapshot(this.image), $state.snapshot(this.matrix));
    if (this.doc?.kind === 'matrix') this.restart(debounceMs);
  }

  restart(debounceMs = 0): void {
    clearTimeout(this.restartTimer);
    if (debounceMs > 0) this.restartTimer = setTimeout(() => this.startIfChanged(), debounceMs);
    else this.startIfChanged();
  }

  /** The settings a start would send, as text, to tell a real change from a repeated one. */
  private settingsKey(): string {
    const doc = this.doc;
    if (!doc) return '';
    const settings = doc.kind === 'image' ? imageSettings($state.snapshot(this.image)) : matrixSettings($state.snapshot(this.matrix));
    return `${doc.documentId}\n${JSON.stringify(settings)}`;
  }

  // A field committed after its typed value already started a job must not start the same job again.
  private startIfChanged(): void {
    const repeated = this.settingsKey() === this.lastKey;
    if (repeated && (this.running || this.status === 'done')) return;
    this.start();
  }

  /** Starts a job with the current controls; the service cancels the document's previous job. */
  start(): void {
    const doc = this.doc;
    if (!doc) return;
    clearTimeout(this.restartTimer);
    this.lastKey = this.settingsKey();
    this.clearJobState();
    this.status = 'starting';
    this.startedAt = performance.now();
    this.cancelWhenKnown = false;
    const begin =
      doc.kind === 'image'
        ? () => api.ops.compressImage(doc.documentId, imageSettings($state.snapshot(this.image)))
        : () => api.ops.factorizeMatrix(doc.documentId, matrixSettings($state.snapshot(this.matrix)));
    this.main.begin(begin).then(
      (id) => {
        if (id === null) return;
        if (this.status === 'starting') this.status = 'running';
        if (this.cancelWhenKnown) void this.cancel();
      },
      (error: unknown) => {
        this.status = 'failed';
        this.failure = messageOf(error);
        this.report(this.failure);
      },
    );
  }

  async cancel(): Promise<void> {
    clearTimeout(this.restartTimer);
    const id = this.main.jobId;
    if (!id) {
      // The id is still on its way; cancel as soon as it comes.
      if (this.main.starting) this.cancelWhenKnown = true;
      return;
    }
    try {
      await api.ops.cancel(id);
    } catch (error) {
      this.report(messageOf(error));
    }
  }

  private clearJobState(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.pendingProgress = null;
    this.pendingLoss = [];
    this.lastStage = '';
    this.progress = null;
    this.iterating = null;
    this.loss = [];
    this.preview = null;
    this.previewStage = '';
    this.failure = null;
  }

  private apply(event: ServiceEvent): void {
    switch (event.type) {
      case 'progress':
        this.queueProgress(event.progress);
        break;
      case 'job-done':
        this.flushProgress();
        this.finish(event.result);
        break;
      case 'job-failed':
        this.flushProgress();
        this.preview = null;
        if (event.cancelled) this.status = 'cancelled';
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

  // Progress can arrive every iteration; the window takes at most one update per frame.
  private queueProgress(progress: JobProgress): void {
    // Stages without iterations (reading, measuring, writing) carry no loss: the curve so far stays.
    if (Number.isFinite(progress.loss)) {
      const last = this.pendingLoss.at(-1) ?? this.loss.at(-1);
      if (progress.stage !== this.lastStage || (last && progress.iteration < last.iteration)) {
        // A new factorization (another rank tried): its loss curve starts afresh.
        this.loss = [];
        this.pendingLoss = [];
        this.lastStage = progress.stage;
      }
      this.pendingLoss.push({ iteration: progress.iteration, loss: progress.loss, relErr: progress.relErr });
    }
    // Keep the last preview seen even if a later progress event carries none.
    if (progress.preview) this.pendingPreviewStage = progress.stage;
    const preview = progress.preview ?? this.pendingProgress?.preview;
    this.pendingProgress = preview ? { ...progress, preview } : progress;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flushProgress());
  }

  private flushProgress(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const p = this.pendingProgress;
    if (p) {
      this.progress = p;
      if (p.maxIter > 0) this.iterating = p;
      if (p.preview) {
        this.preview = p.preview;
        this.previewStage = this.pendingPreviewStage;
      }
      this.pendingProgress = null;
    }
    if (this.pendingLoss.length) {
      this.loss = this.loss.concat(this.pendingLoss);
      this.pendingLoss = [];
    }
  }

  private finish(result: JobResult): void {
    this.result = result;
    this.status = 'done';
    // Progress is throttled and always sent for the last of maxIter iterations, but a fit that stops early on
    // tol ends between two sends: the result's own loss closes the curve.
    const lastPoint = this.loss.at(-1);
    if (result.kind === 'matrix' && lastPoint && lastPoint.iteration < result.iterations && Number.isFinite(result.loss)) {
      this.loss = [...this.loss, { iteration: result.iterations, loss: result.loss, relErr: result.relErr }];
    }
    this.preview = null;
    this.partial = null;
    clearTimeout(this.reconstructTimer);
    this.reconstructGeneration++;
    this.partialBusy = false;
    this.enabled = new Set(result.kind === 'image' ? result.components.map((c) => c.index) : []);
    this.closeTile();
    if (this.tilePlane >= (result.kind === 'image' ? (result.tiles?.planes.length ?? 0) : 0)) this.tilePlane = 0;
  }

  // ---- tiles -----------------------------------------------------------------------------------

  /** The tile under an image point of the overlay's plane: its place, rank and PSNR now, its components when they come. */
  pickTileAt(x: number, y: number): void {
    const tiles = this.tiles;
    const doc = this.doc;
    if (!tiles || !doc || !this.tileOverlay) return;
    const plane = this.tilePlane;
    const tx = Math.floor(x / tiles.tileSize);
    const ty = Math.floor(y / tiles.tileSize);
    if (tx < 0 || ty < 0 || tx >= tiles.tilesX || ty >= tiles.tilesY) return;
    const tile = ty * tiles.tilesX + tx;
    this.pickedTile = { plane, tile };
    this.tileDetail = null;
    this.tileProblem = null;
    const result = this.result;
    api.ops.tileComponents(doc.documentId, plane, tile).then(
      (detail) => {
        if (this.result === result && this.pickedTile?.plane === plane && this.pickedTile.tile === tile) this.tileDetail = detail;
      },
      (error: unknown) => {
        if (this.result === result) this.tileProblem = messageOf(error);
      },
    );
  }

  closeTile(): void {
    this.pickedTile = null;
    this.tileDetail = null;
    this.tileProblem = null;
  }

  // ---- components ------------------------------------------------------------------------------

  toggleComponent(index: number): void {
    const next = new Set(this.enabled);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    this.setEnabled(next);
  }

  setEnabled(indices: Iterable<number>): void {
    this.enabled = new Set(indices);
    clearTimeout(this.reconstructTimer);
    this.reconstructTimer = setTimeout(() => void this.reconstruct(), 120);
  }

  private async reconstruct(): Promise<void> {
    const result = this.imageResult;
    const doc = this.doc;
    if (!result || !doc) return;
    const generation = ++this.reconstructGeneration;
    if (result.components.every((c) => this.enabled.has(c.index))) {
      this.partial = null;
      this.partialBusy = false;
      return;
    }
    this.partialBusy = true;
    try {
      const raster = await api.ops.reconstructWith(doc.documentId, [...this.enabled].sort((a, b) => a - b));
      if (generation === this.reconstructGeneration && this.result === result) this.partial = raster;
    } catch (error) {
      if (generation === this.reconstructGeneration) this.report(messageOf(error));
    } finally {
      if (generation === this.reconstructGeneration) this.partialBusy = false;
    }
  }

  /** One rank-1 layer at full size, for the large view. */
  async layer(index: number): Promise<Raster> {
    const doc = this.doc;
    if (!doc) throw new Error('no document is open');
    return api.ops.reconstructWith(doc.documentId, [index]);
  }

  // ---- rank curve ------------------------------------------------------------------------------

  startCurve(): void {
    const doc = this.imageDoc;
    if (!doc) return;
    let ranks: number[];
    try {
      ranks = this.curve.ranksText.trim()
        ? parseRanks(this.curve.ranksText, this.minRank, this.maxRank)
        : autoRanks(doc.width, doc.height).filter((r) => r >= this.minRank);
    } catch (error) {
      this.report(`Rank curve: ${messageOf(error)}`);
      return;
    }
    void this.curve.start(doc.documentId, imageSettings($state.snapshot(this.image)), ranks);
  }

  /** A point of the rank curve picked: factorize at that rank. */
  chooseRank(rank: number): void {
    this.changeImage({ rankBy: 'rank', rank });
  }

  // ---- saving ----------------------------------------------------------------------------------

  /** An image result is saved as .nmfz or PNG; a matrix result as W and H (.npy or .csv). */
  canSave(kind: ExportKind): boolean {
    const r = this.result;
    if (!r) return false;
    const imageKind = kind === 'nmfz' || kind === 'png';
    return r.kind === 'image' ? imageKind : !imageKind;
  }

  async save(kind: ExportKind): Promise<string | null> {
    const doc = this.doc;
    if (!doc || !this.canSave(kind)) return null;
    return api.save(doc.documentId, kind);
  }
}
