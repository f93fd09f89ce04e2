// The stopping rules against scikit-learn 1.2.1: fits run to tol 1e-4 and 1e-3 (mu with Frobenius and
// Kullback-Leibler, cd) must stop after the same number of iterations with the same objective, W and H.
// Fixtures: test/fixtures/sklearn-stopping (make.py remakes them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createReferenceBackend, factorize, type BetaLossName, type Matrix, type Solver } from '../../src-main/engine/index.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { relDiff } from './support.js';

interface Case {
  name: string;
  inputs: string;
  rank: number;
  solver: Solver;
  beta_loss: BetaLossName;
  tol: number;
  max_iter: number;
  n_iter: number;
  objective: number;
}

const manifest = JSON.parse(readFileSync(fixture('sklearn-stopping', 'manifest.json'), 'utf8')) as { cases: Case[] };
const load = (...parts: string[]): Matrix => readNpy(fixture('sklearn-stopping', ...parts));

test('the stopping fixtures cover mu (Frobenius and KL) and cd, tol 1e-4 and 1e-3, several seeds, all stopped early', () => {
  const kinds = new Set(manifest.cases.map((c) => `${c.solver} ${c.beta_loss} ${c.tol}`));
  for (const solver of ['mu frobenius', 'mu kullback-leibler', 'cd frobenius']) {
    for (const tol of [0.0001, 0.001]) assert.ok(kinds.has(`${solver} ${tol}`), `${solver} tol ${tol}`);
  }
  assert.ok(new Set(manifest.cases.map((c) => c.inputs)).size >= 3);
  for (const c of manifest.cases) assert.ok(c.n_iter < c.max_iter, `${c.name} ran to max_iter`);
});

for (const c of manifest.cases) {
  test(`${c.name}: stops after ${c.n_iter} iterations as scikit-learn does, with its objective`, async () => {
    const result = await factorize(load(c.inputs, 'V.npy'), {
      rank: c.rank,
      solver: c.solver,
      betaLoss: c.beta_loss,
      init: 'custom',
      W0: load(c.inputs, 'W0.npy'),
      H0: load(c.inputs, 'H0.npy'),
      maxIter: c.max_iter,
      tol: c.tol,
      backend: createReferenceBackend(),
    });
    assert.equal(result.iterations, c.n_iter);
    assert.equal(result.stopReason, 'tol');
    // float64 throughout, as in the parity suite: the same arithmetic as scikit-learn's to about 1e-12
    assert.ok(Math.abs(result.loss - c.objective) <= 1e-9 * c.objective, `objective ${result.loss} vs ${c.objective}`);
    const dW = relDiff(result.W, load(c.name, 'W.npy'));
    const dH = relDiff(result.H, load(c.name, 'H.npy'));
    assert.ok(dW <= 1e-9 && dH <= 1e-9, `W differs by ${dW}, H by ${dH}`);
  });
}
