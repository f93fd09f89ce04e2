import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createReferenceBackend, factorize, initialize, type BetaLossName, type Init, type Matrix, type Solver } from '../../src-main/engine/index.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { assertLikeSklearn } from './support.js';

interface Case {
  name: string;
  kind?: 'init';
  rank: number;
  solver?: Solver;
  beta_loss?: BetaLossName;
  alpha_W?: number;
  alpha_H?: number | 'same';
  l1_ratio?: number;
  max_iter?: number;
  tol?: number;
  init: Init;
  n_iter?: number;
  objective?: number;
  rel_err?: number;
}

const manifest = JSON.parse(readFileSync(fixture('sklearn', 'manifest.json'), 'utf8')) as { cases: Case[] };
const load = (c: Case, file: string): Matrix => readNpy(fixture('sklearn', c.name, file));

/** ‖A − B‖_F / ‖B‖_F */
function relDiff(A: Matrix, B: Matrix): number {
  assert.equal(A.rows, B.rows);
  assert.equal(A.cols, B.cols);
  let d = 0;
  let n = 0;
  for (let i = 0; i < B.data.length; i++) {
    d += (A.data[i]! - B.data[i]!) ** 2;
    n += B.data[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

test('the fixtures cover mu, cd and both NNDSVD initialisations', () => {
  const names = manifest.cases.map((c) => c.name);
  for (const expected of ['mu_frobenius', 'mu_kl', 'mu_is', 'cd_frobenius', 'cd_frobenius_l2', 'init_nndsvd', 'init_nndsvda']) {
    assert.ok(names.includes(expected), expected);
  }
});

for (const c of manifest.cases) {
  if (c.kind === 'init') {
    test(`${c.name}: exact-SVD ${c.init} matches scikit-learn to 1e-6`, async () => {
      const V = load(c, 'V.npy');
      const { W, H } = await initialize(V, c.rank, c.init as Exclude<Init, 'custom'>);
      assert.ok(relDiff(W, load(c, 'W.npy')) <= 1e-6, `W differs by ${relDiff(W, load(c, 'W.npy'))}`);
      assert.ok(relDiff(H, load(c, 'H.npy')) <= 1e-6, `H differs by ${relDiff(H, load(c, 'H.npy'))}`);
    });
    continue;
  }
  test(`${c.name}: ${c.solver} reproduces scikit-learn's W, H, objective and rel_err`, async () => {
    const V = load(c, 'V.npy');
    const result = await factorize(V, {
      rank: c.rank,
      solver: c.solver,
      betaLoss: c.beta_loss,
      init: 'custom',
      W0: load(c, 'W0.npy'),
      H0: load(c, 'H0.npy'),
      maxIter: c.max_iter,
      tol: c.tol,
      alphaW: c.alpha_W,
      alphaH: c.alpha_H,
      l1Ratio: c.l1_ratio,
      backend: createReferenceBackend(),
    });
    assertLikeSklearn(result, { W: load(c, 'W.npy'), H: load(c, 'H.npy'), n_iter: c.n_iter!, objective: c.objective!, rel_err: c.rel_err! });
  });
}
