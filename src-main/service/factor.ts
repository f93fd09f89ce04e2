// Factorize a matrix file and write W, H and components.csv: the `factor` operation, shared by the CLI and the app.

import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { denseOf, factorize, type DataMatrix, type FactorizeResult, type Matrix, type Progress } from '../engine/index.js';
import type { BackendRequest } from '../engine/backends/backend.js';
import type { BetaLossName, Init, Solver } from '../engine/options.js';
import { UserError, type CancelSignal } from '../engine/errors.js';
import { readLabelledMatrix, readMatrixFile, writeFileAtomic, writeMatrixFile } from '../formats/index.js';
import { withBackend } from '../jobs/backends.js';
import type { EngineSettings, MatrixComponent } from '../api/contract.js';
import { DEFAULT_TOP, formatComponentsCsv, topComponents } from './components.js';

export interface FactorRequest extends Partial<Omit<EngineSettings, 'init'>> {
  /** The engine's inits, 'custom' included (the app offers only the computed ones). */
  init?: Init;
  input: string;
  rank: number;
  /** Label files for the rows and the columns (otherwise a CSV's own names, or the 10x files beside a matrix.mtx). */
  rowLabels?: string;
  colLabels?: string;
  /** Rows and columns listed per component (default 10). */
  top?: number;
  /** Paths of W0 and H0 for init 'custom'. */
  w0?: string;
  h0?: string;
  targetRelErr?: number;
  backend: BackendRequest;
  clipNegative?: boolean;
  /** Where W, H and components.csv are written; nothing is written when absent. */
  outDir?: string;
  format?: 'npy' | 'csv';
  overwrite?: boolean;
  signal?: CancelSignal;
  onProgress?: (progress: Progress) => void;
}

/** The `--json` summary of a factorization: same names as the engine and the UI. */
export interface FactorSummary {
  input: string;
  rows: number;
  cols: number;
  rank: number;
  solver: Solver;
  betaLoss: BetaLossName | number;
  init: Init;
  iterations: number;
  loss: number;
  relErr: number;
  missing: number;
  backend: string;
  backendReason: string;
  ms: number;
  /** Where the row and column labels came from (a file, or the table's first column / header row); null: none. */
  rowLabelsFrom: string | null;
  colLabelsFrom: string | null;
  /** Each component's top rows (weight: the W entry) and top columns (weight: the H entry). */
  components: MatrixComponent[];
  outputs: string[];
}

export interface FactorOutcome {
  summary: FactorSummary;
  V: DataMatrix;
  result: FactorizeResult;
}

export async function factorFile(request: FactorRequest): Promise<FactorOutcome> {
  const source = await readLabelledMatrix(request.input, {
    clipNegative: request.clipNegative ?? false,
    rowLabels: request.rowLabels,
    colLabels: request.colLabels,
  });
  const V = source.matrix;
  let W0: Matrix | undefined;
  let H0: Matrix | undefined;
  if (request.init === 'custom') {
    if (!request.w0 || !request.h0) throw new UserError('--init custom needs both --w0 FILE and --h0 FILE', 'usage');
    W0 = denseOf((await readMatrixFile(request.w0)).matrix);
    H0 = denseOf((await readMatrixFile(request.h0)).matrix);
  } else if (request.w0 || request.h0) {
    throw new UserError('--w0 and --h0 are only used with --init custom', 'usage');
  }
  const outputs = request.outDir ? plannedOutputs(request.outDir, request.format ?? 'npy') : [];
  // Refuse before a long run rather than after it.
  if (!request.overwrite) await refuseExisting(outputs);
  if (request.outDir) await mkdir(request.outDir, { recursive: true });

  const started = performance.now();
  const { result, backend, backendReason } = await withBackend(request.backend, (backend) =>
    factorizeFile(request.input, V, {
      rank: request.rank,
      solver: request.solver,
      betaLoss: request.betaLoss,
      init: request.init,
      W0,
      H0,
      maxIter: request.maxIter,
      tol: request.tol,
      targetRelErr: request.targetRelErr,
      seed: request.seed,
      alphaW: request.alphaW,
      alphaH: request.alphaH,
      l1Ratio: request.l1Ratio,
      backend,
      onProgress: request.onProgress,
      signal: request.signal,
    }),
    { V, rank: request.rank },
  );
  const ms = performance.now() - started;
  const components = topComponents(result.W, result.H, {
    top: request.top ?? DEFAULT_TOP,
    rowLabels: source.rowLabels?.names,
    colLabels: source.colLabels?.names,
  });

  if (request.outDir) {
    // W and H keep the input's precision (float64 for CSV, MatrixMarket and float64 .npy); so do the weights.
    const [wPath, hPath, componentsPath] = outputs as [string, string, string];
    const overwrite = request.overwrite ?? false;
    await writeMatrixFile(wPath, result.W, request.format ?? 'npy', { dtype: source.dtype, overwrite });
    await writeMatrixFile(hPath, result.H, request.format ?? 'npy', { dtype: source.dtype, overwrite });
    await writeFileAtomic(componentsPath, formatComponentsCsv(components, source.dtype), { overwrite });
  }

  return {
    V,
    result,
    summary: {
      input: request.input,
      rows: V.rows,
      cols: V.cols,
      rank: request.rank,
      solver: result.solver,
      betaLoss: result.betaLoss,
      init: result.init,
      iterations: result.iterations,
      loss: result.loss,
      relErr: result.relErr,
      missing: result.missing,
      backend,
      backendReason,
      ms: Math.round(ms * 10) / 10,
      rowLabelsFrom: source.rowLabels?.source ?? null,
      colLabelsFrom: source.colLabels?.source ?? null,
      components,
      outputs,
    },
  };
}

/** factorize, with the engine's complaints about V ('V has a zero at …') naming the file instead. */
async function factorizeFile(input: string, V: DataMatrix, options: Parameters<typeof factorize>[1]): Promise<FactorizeResult> {
  try {
    return await factorize(V, options);
  } catch (err) {
    if (err instanceof UserError && err.kind === 'input' && /^V (has|is) /.test(err.message)) throw new UserError(`${input}: the matrix ${err.message.slice(2)}`, 'input');
    throw err;
  }
}

async function refuseExisting(paths: string[]): Promise<void> {
  for (const p of paths) {
    if (await exists(p)) throw new UserError(`${p}: already exists (pass --overwrite to replace it)`);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function plannedOutputs(outDir: string, format: 'npy' | 'csv'): string[] {
  return [path.join(outDir, `W.${format}`), path.join(outDir, `H.${format}`), path.join(outDir, 'components.csv')];
}
