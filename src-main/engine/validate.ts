// Checks of options ('usage' errors) and of data ('input' errors), each a UserError with one clear line.

import { betaOf } from './divergence.js';
import { UserError } from './errors.js';
import { isSparse, type DataMatrix, type Matrix, type SparseMatrix } from './matrix.js';
import { MAX_SEED } from './rng.js';
import { BETA_LOSSES, INITS, SOLVERS, type BetaLossName, type Init, type Solver } from './options.js';

function usage(message: string): never {
  throw new UserError(message, 'usage');
}

function input(message: string): never {
  throw new UserError(message, 'input');
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));

export function checkSolver(solver: unknown): Solver {
  if (solver === undefined) return 'cd';
  if (!SOLVERS.includes(solver as Solver)) usage(`unknown solver ${show(solver)}: use one of ${SOLVERS.join(', ')}`);
  return solver as Solver;
}

export function checkBetaLoss(betaLoss: unknown, solver: Solver): { betaLoss: BetaLossName | number; beta: number } {
  const given = betaLoss ?? 'frobenius';
  if (typeof given === 'number') {
    if (!Number.isFinite(given)) usage(`betaLoss must be a finite number or one of ${BETA_LOSSES.join(', ')} (got ${given})`);
  } else if (!BETA_LOSSES.includes(given as BetaLossName)) {
    usage(`unknown betaLoss ${show(given)}: use one of ${BETA_LOSSES.join(', ')} or a number`);
  }
  const beta = betaOf(given as BetaLossName | number);
  if (solver !== 'mu' && beta !== 2) {
    usage(`solver '${solver}' only minimises the frobenius loss; use solver 'mu' for betaLoss ${show(given)}`);
  }
  return { betaLoss: given as BetaLossName | number, beta };
}

export function checkInit(init: unknown): Init | undefined {
  if (init === undefined) return undefined;
  if (!INITS.includes(init as Init)) usage(`unknown init ${show(init)}: use one of ${INITS.join(', ')}`);
  return init as Init;
}

export function checkCount(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    usage(`${name} must be a whole number ≥ ${min} (got ${show(value)})`);
  }
  return value;
}

export function checkNonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) usage(`${name} must be a number ≥ 0 (got ${show(value)})`);
  return value;
}

export function checkOptional(name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : checkNonNegative(name, value, 0);
}

export function checkL1Ratio(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) usage(`l1Ratio must be between 0 and 1 (got ${show(value)})`);
  return value;
}

export function checkAlphaH(value: unknown, alphaW: number): number {
  if (value === undefined || value === 'same') return alphaW;
  return checkNonNegative('alphaH', value, alphaW);
}

export function checkSeed(value: unknown): number {
  if (value === undefined) return 0;
  // NumPy's RandomState takes exactly these seeds; scikit-learn refuses others.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) {
    usage(`seed must be a whole number from 0 to ${MAX_SEED} (got ${show(value)})`);
  }
  return value;
}

const at = (cols: number, c: number): string => `row ${Math.floor(c / cols) + 1}, column ${(c % cols) + 1}`;

/**
 * V must be a non-empty, well-formed matrix of non-negative numbers, NaN marking a missing entry, with at
 * least one observed entry; β ≤ 0 also needs every observed entry to be positive. Returns the missing count.
 */
export function checkData(V: DataMatrix, name: string, beta: number): number {
  if (V && isSparse(V)) return checkSparseData(V, name, beta);
  if (!V || !Number.isInteger(V.rows) || !Number.isInteger(V.cols) || V.rows < 1 || V.cols < 1) {
    input(`${name} is empty: it needs at least one row and one column`);
  }
  if (!(V.data instanceof Float32Array || V.data instanceof Float64Array) || V.data.length !== V.rows * V.cols) {
    input(`${name} is malformed: ${V.rows}×${V.cols} needs ${V.rows * V.cols} float values`);
  }
  const d = V.data;
  let missing = 0;
  let firstZero = -1;
  for (let c = 0; c < d.length; c++) {
    const x = d[c]!;
    if (x !== x) {
      missing++;
    } else if (x < 0) {
      input(`${name} has a negative value (${x}) at ${at(V.cols, c)}; NMF needs non-negative data`);
    } else if (x === Infinity) {
      input(`${name} has an infinite value at ${at(V.cols, c)}`);
    } else if (x === 0 && firstZero < 0) {
      firstZero = c;
    }
  }
  if (missing === d.length) input(`${name} has no observed entries: every value is missing`);
  if (beta <= 0 && firstZero >= 0) {
    input(`${name} has a zero at ${at(V.cols, firstZero)}; betaLoss ${beta === 0 ? 'itakura-saito' : beta} needs positive data`);
  }
  return missing;
}

/**
 * A sparse V: well-formed CSR, finite non-negative values (no missing entries: absent ones are zeros). β ≤ 0
 * refuses it when it holds a zero, as scikit-learn does for X.min() == 0.
 */
function checkSparseData(V: SparseMatrix, name: string, beta: number): number {
  const { rows, cols, indptr, indices, values } = V;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) input(`${name} is empty: it needs at least one row and one column`);
  const nnz = indptr instanceof Uint32Array && indptr.length === rows + 1 ? indptr[rows]! : -1;
  if (nnz < 0 || !(indices instanceof Uint32Array) || indices.length !== nnz || !(values instanceof Float32Array || values instanceof Float64Array) || values.length !== nnz) {
    input(`${name} is malformed: a sparse ${rows}×${cols} matrix needs rows + 1 offsets and as many column indices as values`);
  }
  for (let i = 0; i < rows; i++) {
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const j = indices[p]!;
      if (j >= cols || (p > indptr[i]! && indices[p - 1]! >= j)) input(`${name} is malformed: row ${i + 1}'s column indices are not ascending within 1..${cols}`);
      const x = values[p]!;
      const where = `row ${i + 1}, column ${j + 1}`;
      if (x !== x) input(`${name} has a missing value at ${where}: a sparse matrix has no missing entries (absent ones are zeros)`);
      if (x < 0) input(`${name} has a negative value (${x}) at ${where}; NMF needs non-negative data`);
      if (x === Infinity) input(`${name} has an infinite value at ${where}`);
      if (x === 0 && beta <= 0) input(`${name} has a zero at ${where}; betaLoss ${beta === 0 ? 'itakura-saito' : beta} needs positive data (the solver may diverge): add a small value or use a positive betaLoss`);
    }
  }
  if (beta <= 0 && nnz < rows * cols) {
    input(
      `${name} is sparse with ${(rows * cols - nnz).toLocaleString('en-US')} zero entries; betaLoss ${beta === 0 ? 'itakura-saito' : beta} needs positive data (the solver may diverge): add a small value to every entry or use a positive betaLoss`,
    );
  }
  return 0;
}

/** A starting or fixed factor: the expected shape, finite non-negative values, not all zero. */
export function checkFactor(F: Matrix | undefined, name: string, rows: number, cols: number): Matrix {
  if (!F) usage(`${name} is required`);
  if (F.rows !== rows || F.cols !== cols) input(`${name} must be ${rows}×${cols} but is ${F.rows}×${F.cols}`);
  if (!(F.data instanceof Float32Array || F.data instanceof Float64Array) || F.data.length !== rows * cols) {
    input(`${name} is malformed: ${rows}×${cols} needs ${rows * cols} float values`);
  }
  let max = 0;
  for (let c = 0; c < F.data.length; c++) {
    const x = F.data[c]!;
    if (!(x >= 0) || x === Infinity) {
      input(`${name} has ${x !== x ? 'a missing' : x < 0 ? 'a negative' : 'an infinite'} value (${x}) at ${at(cols, c)}; factors must be finite and non-negative`);
    }
    if (x > max) max = x;
  }
  if (max === 0) input(`${name} is all zeros`);
  return F;
}
