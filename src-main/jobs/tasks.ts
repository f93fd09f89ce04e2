// The tasks worker threads run, with their payloads and results: the one list the pool and the worker share.

import type { ComponentInfo, CompressRecord, ImageDocumentInfo, ImageSettings, MatrixResult, MatrixSettings, MatrixView, Raster, RankCurvePoint, TileMap } from '../api/contract.js';
import type { NmfzContent } from '../codec/nmfz.js';
import type { ImagePixels } from '../codec/types.js';
import type { DataMatrix, Matrix } from '../engine/matrix.js';
import type { FileTask, FileTaskResult } from './batch/file-task.js';

export interface OpenedMatrix {
  V: DataMatrix;
  dtype: 'float32' | 'float64';
  format: string;
  missing: number;
  view: MatrixView;
  valueRange: { min: number; max: number };
  sparse?: { nnz: number; density: MatrixView };
  /** One label per row / column, when the file (or the 10x files beside it) has them. */
  rowLabels?: string[];
  colLabels?: string[];
}

export interface FactorizedMatrix {
  W: Matrix;
  H: Matrix;
  iterations: number;
  loss: number;
  relErr: number;
  solver: MatrixSettings['solver'];
  betaLoss: MatrixSettings['betaLoss'];
  init: string;
  backend: string;
  backendReason: string;
  ms: number;
  /** W·H reduced for display, and the values it puts in V's missing cells. */
  WH: MatrixView;
  imputed: MatrixResult['imputed'];
}

/** An opened image as the app describes it, less what the session adds (its id, kind and name). */
export type OpenedImage = Omit<ImageDocumentInfo, 'kind' | 'documentId' | 'name'>;

export interface CompressedImage {
  record: CompressRecord;
  /** Where the .nmfz was written (the session's scratch folder). */
  nmfzPath: string;
  decoded: ImagePixels;
  content: NmfzContent;
  reconstruction: Raster;
  diff: Raster;
  components: ComponentInfo[];
  jpeg?: Raster;
  /** The tiles of a tiled file: their ranks and PSNRs. */
  tiles?: TileMap;
}

export interface TaskMap {
  'open-matrix': { payload: { path: string; companions?: string[] }; result: OpenedMatrix };
  'factorize-matrix': { payload: { V: DataMatrix; settings: MatrixSettings }; result: FactorizedMatrix };
  'open-image': { payload: { path: string }; result: OpenedImage };
  'compress-image': { payload: { path: string; scratchDir: string; settings: ImageSettings }; result: CompressedImage };
  'reconstruct-image': { payload: { content: NmfzContent; enabled: number[] }; result: Raster };
  'rank-curve': { payload: { path: string; settings: ImageSettings; ranks: number[] }; result: RankCurvePoint[] };
  /** One file of a batch, compressed whole (read, factorize, encode, write). */
  'batch-file': { payload: FileTask; result: FileTaskResult };
}

export type TaskKind = keyof TaskMap;
export type TaskPayload<K extends TaskKind> = TaskMap[K]['payload'];
export type TaskResult<K extends TaskKind> = TaskMap[K]['result'];

/** Progress a task reports while it runs (the service turns it into JobProgress events). */
export interface TaskProgress {
  iteration: number;
  maxIter: number;
  loss: number;
  relErr: number;
  stage: string;
  preview?: Raster;
  /** A measured point of a rank curve. */
  point?: RankCurvePoint;
}

export interface TaskMessage {
  id: number;
  kind: TaskKind;
  payload: unknown;
  cancelFlag: Int32Array;
}

export type WorkerReply =
  | { type: 'progress'; id: number; progress: TaskProgress }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; error: { kind: 'input' | 'usage' | 'cancelled' | 'internal'; message: string; stack?: string } };
