// factorize and transform: options and data checked, V bound to the backend once, missing entries filled
// in, the starting point made, the chosen solver run, everything released again.

import type { Backend, BoundV } from './backends/backend.js';
import { createReferenceBackend } from './backends/reference.js';
import { sumSquares } from './dense.js';
import { UserError, throwIfCancelled } from './errors.js';
import { Fit, regularization, runLoop, type SolverSteps } from './fit.js';
import { initialFactors, numpyMean } from './init.js';
import { allocate, clone, convert, dtypeOf, isSparse, type DataMatrix, type DType, type Matrix } from './matrix.js';
import { fillMissing, findMissing, type MissingCells } from './missing.js';
import { convertSparse } from './sparse.js';
import type { FactorizeOptions, FactorizeResult, Init, Solver, TransformOptions, TransformResult } from './options.js';
import { CdSolver } from './solvers/cd.js';
import { HalsSolver } from './solvers/hals.js';
import { MuSolver } from './solvers/mu.js';
import {
  checkAlphaH,
  checkBetaLoss,
  checkCount,
  checkData,
  checkFactor,
  checkInit,
  checkL1Ratio,
  checkNonNegative,
  checkOptional,
  checkSeed,
  checkSolver,
} from './validate.js';

function checkBackend(backend: unknown): Backend {
  const b = backend as Backend | undefined;
  if (!b || typeof b.bind !== 'function') throw new UserError('a backend is required (e.g. createReferenceBackend())', 'usage');
  return b;
}

/** The dtype the run computes in: V's own, or the backend's first choice when it cannot take V's. */
function workingDtype(V: DataMatrix, backend: Backend): DType {
  const own = dtypeOf(V);
  return backend.dtypes.includes(own) ? own : backend.dtypes[0]!;
}

/** V as the backend will see it: converted if needed, missing cells filled (never the caller's array when it changes). */
interface Prepared {
  V: DataMatrix;
  missing: MissingCells | null;
  missingCount: number;
  normV2: number;
}

/** `missingCount` as checkData counted it: with none, V is not searched again. */
function prepare(V: DataMatrix, dtype: DType, missingCount: number): Prepared {
  if (isSparse(V)) {
    const working = dtypeOf(V) === dtype ? V : convertSparse(V, dtype);
    return { V: working, missing: null, missingCount: 0, normV2: sumSquares(working.values) };
  }
  const working = dtypeOf(V) === dtype ? V : convert(V, dtype);
  const indices = missingCount > 0 ? findMissing(working) : null;
  if (!indices) return { V: working, missing: null, missingCount: 0, normV2: sumSquares(working.data) };
  const { filled, missing } = fillMissing(working, indices);
  let normV2 = 0;
  for (let c = 0; c < working.data.length; c++) {
    const x = working.data[c]!;
    if (x === x) normV2 += x * x;
  }
  return { V: filled, missing, missingCount: indices.length, normV2 };
}

function makeSolver(solver: Solver, fit: Fit, tol: number, backend: Backend): SolverSteps {
  if (solver === 'mu') return new MuSolver(fit, tol);
  if (solver === 'hals') return new HalsSolver(fit, tol, backend.productSpeedup);
  return new CdSolver(fit, tol);
}

async function withBound<T>(backend: Backend, V: DataMatrix, run: (bound: BoundV) => Promise<T>): Promise<T> {
  const bound = await backend.bind(V);
  try {
    return await run(bound);
  } finally {
    await bound.dispose();
  }
}

function inDtype(m: Matrix, dtype: DType): Matrix {
  return dtypeOf(m) === dtype ? m : convert(m, dtype);
}

export async function factorize(V: DataMatrix, options: FactorizeOptions): Promise<FactorizeResult> {
  if (!options || typeof options !== 'object') throw new UserError('factorize needs options with at least rank and backend', 'usage');
  const backend = checkBackend(options.backend);
  const solver = checkSolver(options.solver);
  const { betaLoss, beta } = checkBetaLoss(options.betaLoss, solver);
  let init = checkInit(options.init);
  if (options.rank === undefined) throw new UserError('rank is required', 'usage');
  const rank = checkCount('rank', options.rank, 1, 1);
  const maxIter = checkCount('maxIter', options.maxIter, 200, 0);
  const tol = checkNonNegative('tol', options.tol, 1e-4);
  const targetRelErr = checkOptional('targetRelErr', options.targetRelErr);
  const seed = checkSeed(options.seed);
  const alphaW = checkNonNegative('alphaW', options.alphaW, 0);
  const alphaH = checkAlphaH(options.alphaH, alphaW);
  const l1Ratio = checkL1Ratio(options.l1Ratio);
  const hasStart = options.W0 !== undefined || options.H0 !== undefined;
  if (init === undefined && options.W0 !== undefined && options.H0 !== undefined) init = 'custom';
  if (init !== undefined && init !== 'custom' && hasStart) {
    throw new UserError(`W0 and H0 are only used with init 'custom' (init is '${init}')`, 'usage');
  }

  const missingCount = checkData(V, 'V', beta);
  const { rows, cols } = V;
  const smaller = Math.min(rows, cols);
  init ??= rank <= smaller ? 'nndsvda' : 'random';
  if (init !== 'random' && init !== 'custom' && rank > smaller) {
    throw new UserError(`init '${init}' needs rank ≤ min(rows, cols) = ${smaller} (got rank ${rank}); use init 'random'`, 'usage');
  }
  if (init === 'custom') {
    if (!options.W0 || !options.H0) throw new UserError(`init 'custom' needs both W0 and H0`, 'usage');
    checkFactor(options.W0, 'W0', rows, rank);
    checkFactor(options.H0, 'H0', rank, cols);
  }

  const outDtype = dtypeOf(V);
  const dtype = workingDtype(V, backend);
  const prepared = prepare(V, dtype, missingCount);
  throwIfCancelled(options.signal);

  return withBound(backend, prepared.V, async (bound) => {
    const start =
      init === 'custom'
        ? { W: clone(inDtype(options.W0!, dtype)), H: clone(inDtype(options.H0!, dtype)) }
        : await initialFactors(prepared.V, rank, init!, seed, { bound, backend, signal: options.signal });
    const fit = new Fit(
      backend,
      bound,
      start.W,
      start.H,
      beta,
      regularization(rows, cols, alphaW, alphaH, l1Ratio),
      prepared.missing,
      prepared.normV2,
      true,
    );
    const loop = await runLoop(fit, makeSolver(solver, fit, tol, backend), {
      maxIter,
      targetRelErr,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    return {
      W: inDtype(fit.W, outDtype),
      H: inDtype(fit.H, outDtype),
      iterations: loop.iterations,
      loss: loop.loss,
      relErr: loop.relErr,
      stopReason: loop.stopReason,
      solver,
      betaLoss,
      init: init!,
      missing: missingCount,
    };
  });
}

/** Solve W for new data X with H fixed (scikit-learn's NMF.transform: same solver, H not updated). */
export async function transform(X: DataMatrix, H: Matrix, options: TransformOptions): Promise<TransformResult> {
  if (!options || typeof options !== 'object') throw new UserError('transform needs options with at least a backend', 'usage');
  const backend = checkBackend(options.backend);
  const solver = checkSolver(options.solver);
  const { beta } = checkBetaLoss(options.betaLoss, solver);
  const maxIter = checkCount('maxIter', options.maxIter, 200, 0);
  const tol = checkNonNegative('tol', options.tol, 1e-4);
  const targetRelErr = checkOptional('targetRelErr', options.targetRelErr);
  const alphaW = checkNonNegative('alphaW', options.alphaW, 0);
  const l1Ratio = checkL1Ratio(options.l1Ratio);

  const missingCount = checkData(X, 'X', beta);
  if (!H) throw new UserError('transform needs H', 'usage');
  const rank = H.rows;
  checkFactor(H, 'H', rank, X.cols);

  const outDtype = dtypeOf(X);
  const dtype = workingDtype(X, backend);
  const prepared = prepare(X, dtype, missingCount);
  throwIfCancelled(options.signal);

  return withBound(backend, prepared.V, async (bound) => {
    const W = allocate(X.rows, rank, dtype);
    if (solver === 'mu') {
      // Multiplicative updates cannot leave zero: start from scikit-learn's constant sqrt(mean(X) / rank).
      W.data.fill(Math.sqrt(numpyMean(prepared.V) / rank));
    }
    const reg = regularization(X.rows, X.cols, alphaW, 0, l1Ratio);
    const fit = new Fit(backend, bound, W, clone(inDtype(H, dtype)), beta, reg, prepared.missing, prepared.normV2, false);
    const loop = await runLoop(fit, makeSolver(solver, fit, tol, backend), {
      maxIter,
      targetRelErr,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    return {
      W: inDtype(fit.W, outDtype),
      iterations: loop.iterations,
      loss: loop.loss,
      relErr: loop.relErr,
      stopReason: loop.stopReason,
      missing: missingCount,
    };
  });
}


/**
 * The starting factors factorize would use for V (missing entries filled with column means first).
 * `backend` runs the products of the large-matrix SVD; the reference backend when omitted.
 */
export async function initialize(
  V: DataMatrix,
  rank: number,
  init?: Exclude<Init, 'custom'>,
  seed = 0,
  backend?: Backend,
): Promise<{ W: Matrix; H: Matrix }> {
  const chosen = checkInit(init);
  if (chosen === 'custom') throw new UserError(`initialize cannot make a 'custom' start: pass W0 and H0 to factorize`, 'usage');
  const k = checkCount('rank', rank, 1, 1);
  const s = checkSeed(seed);
  const missingCount = checkData(V, 'V', 2);
  const smaller = Math.min(V.rows, V.cols);
  const method = chosen ?? (k <= smaller ? 'nndsvda' : 'random');
  if (method !== 'random' && k > smaller) {
    throw new UserError(`init '${method}' needs rank ≤ min(rows, cols) = ${smaller} (got rank ${k}); use init 'random'`, 'usage');
  }
  const runner = backend ?? createReferenceBackend();
  const dtype = workingDtype(V, runner);
  const prepared = prepare(V, dtype, missingCount);
  try {
    const start = await withBound(runner, prepared.V, (bound) => initialFactors(prepared.V, k, method, s, { bound, backend: runner }));
    return { W: inDtype(start.W, dtypeOf(V)), H: inDtype(start.H, dtypeOf(V)) };
  } finally {
    if (!backend) await runner.dispose();
  }
}
