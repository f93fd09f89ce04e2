import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createReferenceBackend, factorize, isSparse, type BetaLossName, type Matrix, type Solver } from '../../src-main/engine/index.js';
import { readMatrixFile } from '../../src-main/formats/index.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { assertLikeSklearn } from './support.js';

// scikit-learn 1.2.1 fits on scipy CSR input (test/fixtures/sklearn-sparse/make.py), read through the .npz reader
// and factorized in sparse form: the same tolerances as the dense fixtures.

interface Case {
  name: string;
  shape: [number, number];
  nnz: number;
  rank: number;
  solver: Solver;
  beta_loss: BetaLossName;
  max_iter: number;
  tol: number;
  n_iter: number;
  objective: number;
  rel_err: number;
}

const manifest = JSON.parse(readFileSync(fixture('sklearn-sparse', 'manifest.json'), 'utf8')) as { cases: Case[] };
const load = (c: Case, file: string): Matrix => readNpy(fixture('sklearn-sparse', c.name, file));

test('the sparse fixtures cover cd and mu (Frobenius and KL) on several seeds, and a tol stop', () => {
  const kinds = new Set(manifest.cases.map((c) => `${c.solver}/${c.beta_loss}`));
  assert.deepEqual([...kinds].sort(), ['cd/frobenius', 'mu/frobenius', 'mu/kullback-leibler']);
  assert.ok(manifest.cases.length >= 9);
  assert.ok(manifest.cases.some((c) => c.tol > 0 && c.n_iter < c.max_iter));
});

for (const c of manifest.cases) {
  test(`${c.name}: ${c.solver} ${c.beta_loss} on sparse V reproduces scikit-learn's W, H, n_iter, objective and rel_err`, async () => {
    const file = await readMatrixFile(fixture('sklearn-sparse', c.name, 'V.npz'));
    const V = file.matrix;
    assert.ok(isSparse(V), 'the .npz loads sparse');
    assert.deepEqual([V.rows, V.cols, V.indptr[V.rows]], [...c.shape, c.nnz]);
    const result = await factorize(V, {
      rank: c.rank,
      solver: c.solver,
      betaLoss: c.beta_loss,
      init: 'custom',
      W0: load(c, 'W0.npy'),
      H0: load(c, 'H0.npy'),
      maxIter: c.max_iter,
      tol: c.tol,
      backend: createReferenceBackend(),
    });
    assertLikeSklearn(result, { W: load(c, 'W.npy'), H: load(c, 'H.npy'), n_iter: c.n_iter!, objective: c.objective!, rel_err: c.rel_err! });
  });
}
