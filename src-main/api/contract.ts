// The contract between the renderer and the service: operation names, requests, results and events.
// Self-contained on purpose (no imports): the renderer type-checks against this file alone, and the
// Electron preload, the IPC validators and the web transport are all written against it.

export type Solver = 'mu' | 'cd' | 'hals';
export type BetaLossName = 'frobenius' | 'kullback-leibler' | 'itakura-saito';
export type Init = 'random' | 'nndsvd' | 'nndsvda' | 'nndsvdar';
export type ColorMode = 'stacked' | 'channels' | 'ycbcr';
export type QuantBits = 6 | 8 | 12 | 16;
export type BackendRequest = 'auto' | 'gpu' | 'cpu' | 'reference';
export type FactorFormat = 'npy' | 'csv';
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff';
/**
 * How a plane is cut into matrices: one matrix for the whole plane ('global'), a grid of tiles each with its own
 * rank ('tiled'), or whichever of the two the encoder judges better for the image ('auto').
 */
export type Layout = 'global' | 'tiled' | 'auto';

export const SOLVERS: readonly Solver[] = ['mu', 'cd', 'hals'];
export const BETA_LOSSES: readonly BetaLossName[] = ['frobenius', 'kullback-leibler', 'itakura-saito'];
export const INITS: readonly Init[] = ['random', 'nndsvd', 'nndsvda', 'nndsvdar'];
export const COLOR_MODES: readonly ColorMode[] = ['stacked', 'channels', 'ycbcr'];
export const QUANT_BITS: readonly QuantBits[] = [6, 8, 12, 16];
/**
 * Bits per stored factor entry as asked for: a number of them, or 'auto', what `compress` does without --bits (6, and
 * for a PSNR target in the tiled layout 6 or 8, whichever its sample says reaches the target in fewer bytes).
 */
export type BitsChoice = QuantBits | 'auto';
export const BITS_CHOICES: readonly BitsChoice[] = ['auto', ...QUANT_BITS];
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'gpu', 'cpu', 'reference'];
export const LAYOUTS: readonly Layout[] = ['global', 'tiled', 'auto'];

/**
 * The image defaults of `compress`, `batch` and the app, from this one place (chosen by measurement: README). With
 * no target, the tiled layout aims at `tiledPsnr` dB, never writing a file larger than its input; the global one
 * at `globalRatio` times smaller than the raw pixels.
 */
export const COMPRESS_DEFAULTS = {
  layout: 'auto' as Layout,
  tiledPsnr: 38,
  /**
   * The least SSIM the tiled default keeps: a build under it is made again at a higher PSNR (the file still smaller
   * than its input). Blinds, fine stripes, had 0.887 at 38 dB and 0.903 at 38.8 in a file 58 % of its JPEG.
   */
  tiledSsimFloor: 0.9,
  globalRatio: 20,
  /** Most HALS iterations of one tile's fit (it usually stops earlier, when little is left to gain). */
  tiledMaxIter: 50,
  /** Most iterations of a whole-image fit. */
  globalMaxIter: 200,
  colorMode: 'ycbcr' as ColorMode,
  bits: 6 as QuantBits,
} as const;
/** The most rows and columns a matrix component lists (`--top`, `MatrixSettings.top`). */
export const MAX_TOP = 10_000;

/** File extensions the app opens, by kind. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'tif', 'tiff', 'gif', 'avif'] as const;
/** txt: whitespace-separated numbers as np.savetxt writes them (read by the CSV/TSV reader). */
export const MATRIX_EXTENSIONS = ['csv', 'tsv', 'txt', 'npy', 'npz', 'mtx'] as const;
export const DOCUMENT_EXTENSIONS = ['nmfz'] as const;

/** Engine settings shared by images and matrices (same names as the engine and the CLI flags). */
export interface EngineSettings {
  solver: Solver;
  betaLoss: BetaLossName;
  init: Init;
  maxIter: number;
  tol: number;
  seed: number;
  alphaW: number;
  alphaH: number | 'same';
  l1Ratio: number;
  backend: BackendRequest;
}

/**
 * How the rank is chosen: a fixed rank, the smallest rank reaching a PSNR, the largest reaching a ratio, the largest
 * whose file is at most `maxBytes` bytes, or `auto`: what `compress` does without a target (in the tiled layout
 * `tiledPsnr`, raised to keep SSIM at `tiledSsimFloor`, the file never larger than its input; else `globalRatio`).
 */
export type RankChoice = { rank: number } | { psnr: number } | { ratio: number } | { maxBytes: number } | { auto: true };

export interface ImageSettings extends EngineSettings {
  choice: RankChoice;
  layout: Layout;
  colorMode: ColorMode;
  bits: BitsChoice;
  compareJpeg: boolean;
}

export interface MatrixSettings extends EngineSettings {
  rank: number;
  targetRelErr?: number;
  /** How many rows and columns each component lists in `MatrixResult.components` (default 10). */
  top?: number;
}

/** An 8-bit RGBA raster for display (16-bit images are shown through their top 8 bits). */
export interface Raster {
  width: number;
  height: number;
  /** width·height·4 bytes, RGBA, row-major. */
  rgba: Uint8Array;
}

/**
 * A matrix for heat maps. Large matrices arrive reduced to at most 1024 per side: each shown cell stands for a
 * block of source cells (the mean of V's and W·H's blocks; the largest entry of W's and H's, so that a row
 * that weighs heavily in a component stays visible).
 */
export interface MatrixView {
  rows: number;
  cols: number;
  data: Float32Array;
  /** The full size this view was reduced from. */
  sourceRows: number;
  sourceCols: number;
}

export interface ImageDocumentInfo {
  kind: 'image';
  documentId: string;
  name: string;
  /** Upper-case format as people name it: PNG, JPEG, WEBP, TIFF, GIF, AVIF. */
  format: string;
  fileBytes: number;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
  hasAlpha: boolean;
  original: Raster;
  /** Opened from a .nmfz: what its header says of the image it was made from (the pixels shown are the file's). */
  nmfz?: NmfzFacts;
}

/** What a .nmfz file's header says of its making. */
export interface NmfzFacts {
  /** The image it was made from: base name, format (png, jpeg, …) and size in bytes. */
  original: { name: string; format: string; bytes: number };
  rank: number;
  colorMode: ColorMode;
  /**
   * The file's pixels against that original as measured when it was written (PSNR null: identical; SSIM null: not
   * kept), or null for a file whose header does not keep them.
   */
  quality: { psnr: number | null; ssim: number | null; relErr: number } | null;
}

export interface MatrixDocumentInfo {
  kind: 'matrix';
  documentId: string;
  name: string;
  /** csv (also for .txt) | tsv | npy | npz | mtx */
  format: string;
  fileBytes: number;
  rows: number;
  cols: number;
  dtype: 'float32' | 'float64';
  missing: number;
  /** Block means of V (for a sparse V, absent entries count as zeros). */
  V: MatrixView;
  /** The smallest and largest observed value of V (missing cells aside), over the whole matrix. */
  valueRange: { min: number; max: number };
  /**
   * Present when V is mostly zeros: its count of non-zero entries, and the fraction of non-zero entries in
   * each block that V's view shows (same shape as `V`), drawn as a density ("spy") map.
   */
  sparse?: { nnz: number; density: MatrixView };
  /**
   * One label per row / column, when the file has them: a CSV's first column and header row, or the
   * features.tsv and barcodes.tsv beside a 10x Genomics matrix.mtx.
   */
  rowLabels?: string[];
  colLabels?: string[];
}

export type DocumentInfo = ImageDocumentInfo | MatrixDocumentInfo;

/** The per-image record; the same fields and names as `nmf-studio compress --json`. */
export interface CompressRecord {
  input: string;
  output: string | null;
  status: 'ok' | 'error' | 'skipped';
  error: string | null;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  colorMode: ColorMode;
  /** The layout used (what 'auto' chose). */
  layout: 'global' | 'tiled';
  /** The total rank: the sum over planes, and in the tiled layout over tiles. */
  rank: number;
  originalFileBytes: number;
  rawBytes: number;
  compressedBytes: number;
  ratio: number;
  fileRatio: number;
  factorRatio: number;
  psnr: number;
  ssim: number;
  relErr: number;
  iterations: number;
  backend: string;
  backendReason?: string;
  ms: number;
  jpegQuality?: number;
  jpegBytes?: number;
  jpegPsnr?: number;
  jpegSsim?: number;
}

/**
 * Seconds of compress time per megapixel of the image: the cost of compressing, comparable across image sizes (the
 * batch view and the reports show it beside the time). NaN where the record has no time or no pixels.
 */
export function secondsPerMegapixel(record: Pick<CompressRecord, 'ms' | 'width' | 'height'>): number {
  const megapixels = (record.width * record.height) / 1e6;
  return megapixels > 0 && record.ms > 0 ? record.ms / 1000 / megapixels : NaN;
}

/**
 * The tiles of a tiled encoding: each plane cut into tilesX × tilesY tiles of tileSize pixels (edge tiles smaller),
 * per plane the rank and the PSNR (of that plane's values, peak 1) of every tile, row-major.
 */
export interface TileMap {
  tileSize: number;
  tilesX: number;
  tilesY: number;
  planes: { name: string; rows: number; cols: number; ranks: number[]; psnr: number[] }[];
}

/** One tile of a tiled result and its components: what the tile overlay shows for the tile clicked. */
export interface TileComponents {
  /** The plane's index in TileMap.planes and its name (y, cb, cr, gray, …). */
  plane: number;
  planeName: string;
  /** The tile's index, row-major over the grid, and where it lies in the plane, in pixels. */
  tile: number;
  x: number;
  y: number;
  width: number;
  height: number;
  rank: number;
  /** Each w_j·h_jᵀ of the tile as stored, sorted by energy (largest first); index j within the tile. */
  components: ComponentInfo[];
}

/** One rank-1 layer w_i·h_iᵀ of an image factorization. */
export interface ComponentInfo {
  index: number;
  /** Share of the reconstruction's energy (‖w_i‖²‖h_i‖² over the sum), for sorting and display. */
  energy: number;
  thumbnail: Raster;
}

export interface ImageResult {
  kind: 'image';
  documentId: string;
  record: CompressRecord;
  reconstruction: Raster;
  /** |original − reconstruction| as a heat map. */
  diff: Raster;
  /** Sorted by energy, largest first. */
  components: ComponentInfo[];
  jpeg?: Raster;
  /** The tiles and their ranks, for an image encoded in the tiled layout. */
  tiles?: TileMap;
}

/** A row of V in a component's top list, or a column of V. */
export interface ComponentEntry {
  /** The row (or column) of V, counting from 0. */
  index: number;
  /** Its label, or null when the matrix has no labels on that axis. */
  label: string | null;
  /** A row's W[row, component], or a column's H[component, col]: its loading in the component, as written in W and H. */
  weight: number;
}

/**
 * What matrix component k is made of: the rows of V with the largest W[:, k] and the columns with the largest
 * H[k, :], largest first (ties by index), zeros left out. The same in components.csv and `factor --json`.
 */
export interface MatrixComponent {
  /** The component: column k of W, row k of H. */
  index: number;
  rows: ComponentEntry[];
  cols: ComponentEntry[];
}

export interface MatrixResult {
  kind: 'matrix';
  documentId: string;
  rows: number;
  cols: number;
  rank: number;
  solver: Solver;
  betaLoss: BetaLossName;
  init: string;
  iterations: number;
  loss: number;
  relErr: number;
  backend: string;
  backendReason: string;
  ms: number;
  WH: MatrixView;
  W: MatrixView;
  H: MatrixView;
  /** Missing cells of V (row, col in the source matrix) with the value W·H puts there. */
  imputed: { row: number; col: number; value: number }[];
  /** Each component's top rows and columns, in component order. */
  components: MatrixComponent[];
}

export type JobResult = ImageResult | MatrixResult;

export interface RankCurvePoint {
  rank: number;
  psnr: number;
  ratio: number;
  compressedBytes: number;
  /** PSNR of a JPEG of the same byte size, when measured. */
  jpegPsnr?: number;
}

export interface JobProgress {
  jobId: string;
  iteration: number;
  maxIter: number;
  loss: number;
  relErr: number;
  elapsedMs: number;
  /** Estimated time left, when it can be estimated. */
  etaMs?: number;
  /** What the job is doing, e.g. 'factorizing rank 24', 'encoding', 'JPEG baseline'. */
  stage: string;
  /** A live reconstruction, a few times a second for images. */
  preview?: Raster;
}

export type BatchFileStatus = 'queued' | 'running' | 'ok' | 'error' | 'skipped';

export interface BatchSummary {
  ok: number;
  errors: number;
  skipped: number;
  inputBytes: number;
  outputBytes: number;
  ms: number;
}

export interface BatchRequest {
  inputs: string[];
  outDir: string;
  settings: ImageSettings;
  include?: string[];
  exclude?: string[];
  overwrite: boolean;
  jobs?: number;
}

/** Events the service sends while jobs run. */
export type ServiceEvent =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'job-done'; jobId: string; result: JobResult }
  | { type: 'job-failed'; jobId: string; error: string; cancelled: boolean }
  | { type: 'rank-curve'; jobId: string; point: RankCurvePoint; done: boolean }
  | { type: 'batch-file'; jobId: string; path: string; status: BatchFileStatus; record?: CompressRecord; done: number; total: number }
  | { type: 'batch-done'; jobId: string; summary: BatchSummary; outDir: string }
  | { type: 'open-request'; path: string }
  | { type: 'menu'; command: MenuCommand; kind?: ExportKind };

/**
 * What a desktop menu item asks the window to do; the renderer carries it out exactly as its own button
 * or shortcut would. 'save' takes the ExportKind in `kind` (default 'nmfz').
 */
export type MenuCommand =
  | 'open'
  | 'save'
  | 'show-studio'
  | 'show-batch'
  | 'add-folder'
  | 'zoom-in'
  | 'zoom-out'
  | 'zoom-fit'
  | 'mode-side-by-side'
  | 'mode-split'
  | 'mode-diff'
  | 'cancel';
export const MENU_COMMANDS: readonly MenuCommand[] = [
  'open',
  'save',
  'show-studio',
  'show-batch',
  'add-folder',
  'zoom-in',
  'zoom-out',
  'zoom-fit',
  'mode-side-by-side',
  'mode-split',
  'mode-diff',
  'cancel',
];

export type ExportKind = 'nmfz' | 'png' | 'W.npy' | 'H.npy' | 'W.csv' | 'H.csv';

export interface AppInfo {
  version: string;
  /** 'desktop' in the Electron window, 'web' in a browser. */
  shell: 'desktop' | 'web';
  /** The backend 'auto' resolves to here, and why the better ones were passed over. */
  backend: string;
  backendReason: string;
  /** Files to open at start-up (command-line arguments, or the sample image on a first launch), by path. */
  startupFiles: string[];
}

/**
 * The service's operations as the renderer reaches them, through IPC (desktop) or HTTP (web mode).
 * Arguments and results are plain data (structured-clonable); every argument is validated on the
 * receiving side. One entry per operation: the preload exposes exactly these, plus DesktopOps.
 */
export interface ServiceOps {
  appInfo(): Promise<AppInfo>;
  /** Open a file by path (desktop: dialog, drop, command line, recent files). */
  openPath(path: string): Promise<DocumentInfo>;
  /** Open a file from its bytes (web mode: a file picked or dropped in the page). */
  openUpload(name: string, bytes: Uint8Array): Promise<DocumentInfo>;
  closeDocument(documentId: string): Promise<void>;
  /** Start factorizing an image; cancels the document's running job first. Resolves with the job id at once. */
  compressImage(documentId: string, settings: ImageSettings): Promise<string>;
  factorizeMatrix(documentId: string, settings: MatrixSettings): Promise<string>;
  /** Reconstruction of the last result with only the listed components (indices into the factors). */
  reconstructWith(documentId: string, enabled: number[]): Promise<Raster>;
  /** A tiled result's tile (plane index, tile index row-major): its place, rank and components. */
  tileComponents(documentId: string, plane: number, tile: number): Promise<TileComponents>;
  /** PSNR and ratio against rank, computed in the background with warm starts; points arrive as events. */
  rankCurve(documentId: string, settings: ImageSettings, ranks: number[]): Promise<string>;
  cancel(jobId: string): Promise<void>;
  /** The bytes of a result file and its suggested name. */
  exportResult(documentId: string, kind: ExportKind): Promise<{ name: string; bytes: Uint8Array }>;
  startBatch(request: BatchRequest): Promise<string>;
}

export type ServiceOpName = keyof ServiceOps;

/** What only the desktop shell can do (native dialogs, the file manager). */
export interface DesktopOps {
  /** Save a result through the native Save dialog; the saved path, or null if cancelled. */
  saveResult(documentId: string, kind: ExportKind): Promise<string | null>;
  pickFiles(): Promise<string[]>;
  pickFolders(): Promise<string[]>;
  pickOutputFolder(): Promise<string | null>;
  showFolder(path: string): Promise<void>;
}

/** The object the preload puts at window.nmf: ServiceOps, DesktopOps, the event stream and drop-path lookup. */
export interface DesktopBridge extends ServiceOps, DesktopOps {
  onEvent(listener: (event: ServiceEvent) => void): () => void;
  /** The file-system path of a File dropped or picked in the window (Electron's webUtils.getPathForFile). */
  pathForFile(file: unknown): string;
}
