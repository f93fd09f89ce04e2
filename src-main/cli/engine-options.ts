// The engine flags every factorizing command shares (`factor`, `compress`, `batch`), parsed in one place.

import { BETA_LOSSES, INITS, SOLVERS, type Init } from '../engine/options.js';
import type { BackendRequest } from '../engine/backends/backend.js';
import type { EngineSettings } from '../api/contract.js';
import { choice, num, str, type OptionTable, type Parsed } from './args.js';
import { UserError } from '../engine/errors.js';

export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'gpu', 'cpu', 'reference'];

export const ENGINE_OPTIONS: OptionTable = {
  solver: { type: 'string' },
  'beta-loss': { type: 'string' },
  init: { type: 'string' },
  'max-iter': { type: 'string' },
  tol: { type: 'string' },
  'target-rel-err': { type: 'string' },
  seed: { type: 'string' },
  'alpha-w': { type: 'string' },
  'alpha-h': { type: 'string' },
  'l1-ratio': { type: 'string' },
  backend: { type: 'string' },
};

export const ENGINE_HELP = `Engine options:
  --solver mu|cd|hals       mu: multiplicative updates (any β-loss); cd: scikit-learn's coordinate
                            descent; hals: accelerated HALS, the fastest to a given error (Frobenius)
  --beta-loss L             frobenius (default), kullback-leibler, itakura-saito (mu only)
  --init I                  random, nndsvd, nndsvda, nndsvdar (default: nndsvda when rank <= min(rows,
                            cols), else random)
  --max-iter N              iteration limit (default 200; 0 returns the initialisation)
  --tol T                   stopping tolerance as scikit-learn uses it (default 1e-4)
  --target-rel-err E        stop as soon as ||V-WH||/||V|| <= E
  --seed S                  seed for random initialisation, 0 to 4294967295 (default 0): the
                            random_state of scikit-learn, drawn from NumPy's RandomState(S) as it
                            does, so --init random --seed S starts from scikit-learn's W and H
  --alpha-w A               regularisation of W (default 0)
  --alpha-h A|same          regularisation of H (default same)
  --l1-ratio R              0 = L2 only, 1 = L1 only (default 0)
  --backend auto|gpu|cpu|reference
                            where the products run (default auto: GPU when one works, else the fast CPU;
                            both compute in float32, reference in the input's precision)`;

/** Engine settings from the command line; undefined means "the command's default". */
export interface EngineFlags extends Partial<Omit<EngineSettings, 'init'>> {
  /** The engine's inits, 'custom' included (the app offers only the computed ones). */
  init?: Init;
  targetRelErr?: number;
  backend: BackendRequest;
}

export function parseEngineFlags(values: Parsed['values']): EngineFlags {
  const alphaHRaw = str(values, 'alpha-h');
  const flags: EngineFlags = {
    solver: choice(values, 'solver', SOLVERS),
    betaLoss: choice(values, 'beta-loss', BETA_LOSSES),
    init: choice(values, 'init', INITS),
    maxIter: num(values, 'max-iter', { min: 0, integer: true }),
    tol: num(values, 'tol', { min: 0 }),
    targetRelErr: num(values, 'target-rel-err', { min: 0 }),
    seed: num(values, 'seed', { min: 0, integer: true, max: 2 ** 32 - 1 }),
    alphaW: num(values, 'alpha-w', { min: 0 }),
    alphaH: alphaHRaw === 'same' ? 'same' : num(values, 'alpha-h', { min: 0 }),
    l1Ratio: num(values, 'l1-ratio', { min: 0, max: 1 }),
    backend: choice(values, 'backend', BACKEND_REQUESTS) ?? 'auto',
  };
  const solver = flags.solver;
  if ((solver === 'cd' || solver === 'hals') && flags.betaLoss && flags.betaLoss !== 'frobenius') {
    throw new UserError(`--beta-loss ${flags.betaLoss} needs --solver mu (${solver} minimises the Frobenius loss only)`, 'usage');
  }
  return flags;
}
