// Validates the arguments of every ServiceOps call that crosses a trust boundary (IPC, HTTP).
// Pure and shared: the Electron IPC handlers and the web server both run each call through validateCall.

import {
  BACKEND_REQUESTS,
  BETA_LOSSES,
  BITS_CHOICES,
  COLOR_MODES,
  INITS,
  LAYOUTS,
  MAX_TOP,
  SOLVERS,
  type BatchRequest,
  type EngineSettings,
  type ExportKind,
  type ImageSettings,
  type MatrixSettings,
  type RankChoice,
  type ServiceOpName,
} from './contract.js';

/** A rejected argument; the message names the operation and the argument. */
export class InvalidArgument extends Error {
  override readonly name = 'InvalidArgument';
}

const fail = (op: string, what: string): never => {
  throw new InvalidArgument(`${op}: ${what}`);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function id(op: string, name: string, v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(v)) fail(op, `${name} must be an id`);
  return v as string;
}

/** An absolute path without NUL bytes; the service still checks that it exists and what it is. */
export function absolutePath(op: string, name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || v.includes('\0')) fail(op, `${name} must be a path`);
  const p = v as string;
  if (!(p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'))) fail(op, `${name} must be an absolute path`);
  return p;
}

function number(op: string, name: string, v: unknown, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    fail(op, `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return v as number;
}

function oneOf<T>(op: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) fail(op, `${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function engineSettings(op: string, v: Record<string, unknown>): EngineSettings {
  return {
    solver: oneOf(op, 'solver', v.solver, SOLVERS),
    betaLoss: oneOf(op, 'betaLoss', v.betaLoss, BETA_LOSSES),
    init: oneOf(op, 'init', v.init, INITS),
    maxIter: number(op, 'maxIter', v.maxIter, 0, 100_000, true),
    tol: number(op, 'tol', v.tol, 0, 1),
    seed: number(op, 'seed', v.seed, 0, 2 ** 32 - 1, true),
    alphaW: number(op, 'alphaW', v.alphaW, 0, 1e6),
    alphaH: v.alphaH === 'same' ? 'same' : number(op, 'alphaH', v.alphaH, 0, 1e6),
    l1Ratio: number(op, 'l1Ratio', v.l1Ratio, 0, 1),
    backend: oneOf(op, 'backend', v.backend, BACKEND_REQUESTS),
  };
}

function rankChoice(op: string, v: unknown): RankChoice {
  if (!isObject(v)) return fail(op, 'choice must be {rank} | {psnr} | {ratio} | {maxBytes} | {auto: true}');
  const keys = Object.keys(v);
  if (keys.length !== 1) fail(op, 'choice must have exactly one of rank, psnr, ratio, maxBytes, auto');
  if ('auto' in v) return v.auto === true ? { auto: true } : fail(op, 'choice auto must be true');
  if ('rank' in v) return { rank: number(op, 'rank', v.rank, 1, 1_000_000, true) };
  if ('psnr' in v) return { psnr: number(op, 'psnr', v.psnr, 1, 150) };
  if ('ratio' in v) return { ratio: number(op, 'ratio', v.ratio, 1, 1e6) };
  if ('maxBytes' in v) return { maxBytes: number(op, 'maxBytes', v.maxBytes, 64, 2 ** 32, true) };
  return fail(op, 'choice must be {rank} | {psnr} | {ratio} | {maxBytes} | {auto: true}');
}

export function imageSettings(op: string, v: unknown): ImageSettings {
  if (!isObject(v)) return fail(op, 'settings must be an object');
  return {
    ...engineSettings(op, v),
    choice: rankChoice(op, v.choice),
    // Absent in callers older than the layouts: the default.
    layout: v.layout === undefined ? 'auto' : oneOf(op, 'layout', v.layout, LAYOUTS),
    colorMode: oneOf(op, 'colorMode', v.colorMode, COLOR_MODES),
    bits: oneOf(op, 'bits', v.bits, BITS_CHOICES),
    compareJpeg: v.compareJpeg === true,
  };
}

function matrixSettings(op: string, v: unknown): MatrixSettings {
  if (!isObject(v)) return fail(op, 'settings must be an object');
  const s: MatrixSettings = { ...engineSettings(op, v), rank: number(op, 'rank', v.rank, 1, 100_000, true) };
  if (v.targetRelErr !== undefined) s.targetRelErr = number(op, 'targetRelErr', v.targetRelErr, 0, 1);
  if (v.top !== undefined) s.top = number(op, 'top', v.top, 1, MAX_TOP, true);
  if ((s.solver === 'cd' || s.solver === 'hals') && s.betaLoss !== 'frobenius') fail(op, `solver ${s.solver} minimises the Frobenius loss only`);
  return s;
}

function globs(op: string, name: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 100 || v.some((g) => typeof g !== 'string' || g.length === 0 || g.length > 512)) {
    fail(op, `${name} must be a list of glob patterns`);
  }
  return v as string[];
}

function batchRequest(op: string, v: unknown): BatchRequest {
  if (!isObject(v)) return fail(op, 'request must be an object');
  if (!Array.isArray(v.inputs) || v.inputs.length === 0 || v.inputs.length > 10_000) fail(op, 'inputs must be a non-empty list of paths');
  const request: BatchRequest = {
    inputs: (v.inputs as unknown[]).map((p, i) => absolutePath(op, `inputs[${i}]`, p)),
    outDir: absolutePath(op, 'outDir', v.outDir),
    settings: imageSettings(op, v.settings),
    overwrite: v.overwrite === true,
  };
  const include = globs(op, 'include', v.include);
  const exclude = globs(op, 'exclude', v.exclude);
  if (include) request.include = include;
  if (exclude) request.exclude = exclude;
  if (v.jobs !== undefined) request.jobs = number(op, 'jobs', v.jobs, 1, 256, true);
  return request;
}

/** A bare file name (no folder, no NUL), as an upload is named. */
export function fileName(op: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255 || /[\\/\0]/.test(v)) fail(op, 'name must be a file name');
  return v as string;
}

const EXPORT_KINDS: readonly ExportKind[] = ['nmfz', 'png', 'W.npy', 'H.npy', 'W.csv', 'H.csv'];
export const exportKind = (op: string, v: unknown): ExportKind => oneOf(op, 'kind', v, EXPORT_KINDS);
export const documentId = (op: string, v: unknown): string => id(op, 'documentId', v);

/** Per operation: the expected argument count and a validator that returns clean copies. */
const VALIDATORS: Record<ServiceOpName, (args: unknown[]) => unknown[]> = {
  appInfo: () => [],
  openPath: ([p]) => [absolutePath('openPath', 'path', p)],
  openUpload: ([name, bytes]) => {
    if (!(bytes instanceof Uint8Array)) fail('openUpload', 'bytes must be a Uint8Array');
    return [fileName('openUpload', name), bytes];
  },
  closeDocument: ([d]) => [documentId('closeDocument', d)],
  compressImage: ([d, s]) => [documentId('compressImage', d), imageSettings('compressImage', s)],
  factorizeMatrix: ([d, s]) => [documentId('factorizeMatrix', d), matrixSettings('factorizeMatrix', s)],
  reconstructWith: ([d, enabled]) => {
    if (!Array.isArray(enabled) || enabled.length > 4096) fail('reconstructWith', 'enabled must be a list of component indices');
    return [documentId('reconstructWith', d), (enabled as unknown[]).map((i) => number('reconstructWith', 'enabled[]', i, 0, 4095, true))];
  },
  tileComponents: ([d, plane, tile]) => [
    documentId('tileComponents', d),
    number('tileComponents', 'plane', plane, 0, 15, true),
    number('tileComponents', 'tile', tile, 0, 2 ** 31 - 1, true),
  ],
  rankCurve: ([d, s, ranks]) => {
    if (!Array.isArray(ranks) || ranks.length === 0 || ranks.length > 256) fail('rankCurve', 'ranks must be a non-empty list');
    return [documentId('rankCurve', d), imageSettings('rankCurve', s), (ranks as unknown[]).map((r) => number('rankCurve', 'ranks[]', r, 1, 4096, true))];
  },
  cancel: ([j]) => [id('cancel', 'jobId', j)],
  exportResult: ([d, k]) => [documentId('exportResult', d), exportKind('exportResult', k)],
  startBatch: ([r]) => [batchRequest('startBatch', r)],
};

const ARITY: Record<ServiceOpName, number> = {
  appInfo: 0,
  openPath: 1,
  openUpload: 2,
  closeDocument: 1,
  compressImage: 2,
  factorizeMatrix: 2,
  reconstructWith: 2,
  tileComponents: 3,
  rankCurve: 3,
  cancel: 1,
  exportResult: 2,
  startBatch: 1,
};

export const SERVICE_OPS = Object.keys(VALIDATORS) as ServiceOpName[];

export function isServiceOp(name: string): name is ServiceOpName {
  return Object.prototype.hasOwnProperty.call(VALIDATORS, name);
}

/** Checks an operation name and its arguments; returns clean arguments or throws InvalidArgument. */
export function validateCall(op: string, args: unknown): { op: ServiceOpName; args: unknown[] } {
  if (!isServiceOp(op)) throw new InvalidArgument(`unknown operation '${op}'`);
  if (!Array.isArray(args)) throw new InvalidArgument(`${op}: arguments must be a list`);
  if (args.length !== ARITY[op]) throw new InvalidArgument(`${op}: expected ${ARITY[op]} argument(s), got ${args.length}`);
  return { op, args: VALIDATORS[op](args) };
}
