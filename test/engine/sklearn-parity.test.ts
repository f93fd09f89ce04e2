import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createReferenceBackend, factorize, initialize, type BetaLossName, type Init, type Matrix, type Solver } from '../../src-main/engine/index.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';

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

/**
 * How close a fit must come to scikit-learn's, per working dtype (relative: ‖ΔW‖_F/‖W‖_F for the factors, |Δ|/value
 * for the objective and rel_err). In float64 the engine follows scikit-learn's float64 arithmetic to 4e-14 on the
 * factors and 4e-11 on the objective (cd_frobenius_big, where the loss is a difference of large terms); float32
 * rounding brings that to 1.4e-6 and 1e-5. Stopping one iteration early moves W by 7e-4 and the objective by
 * 3e-4 or more in every case, so either bound catches it.
 */
const TOLERANCE = { float64: { factors: 1e-9, loss: 1e-9 }, float32: { factors: 1e-5, loss: 1e-4 } } as const;

function inDtype(m: Matrix, dtype: 'float32' | 'float64'): Matrix {
  return dtype === 'float64' ? m : { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}

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
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = TOLERANCE[dtype];
    test(`${c.name}: ${c.solver} in ${dtype} reproduces scikit-learn's W, H, objective and rel_err`, async () => {
      const V = inDtype(load(c, 'V.npy'), dtype);
      const result = await factorize(V, {
        rank: c.rank,
        solver: c.solver,
        betaLoss: c.beta_loss,
        init: 'custom',
        W0: inDtype(load(c, 'W0.npy'), dtype),
        H0: inDtype(load(c, 'H0.npy'), dtype),
        maxIter: c.max_iter,
        tol: c.tol,
        alphaW: c.alpha_W,
        alphaH: c.alpha_H,
        l1Ratio: c.l1_ratio,
        backend: createReferenceBackend(),
      });
      const dW = relDiff(result.W, load(c, 'W.npy'));
      const dH = relDiff(result.H, load(c, 'H.npy'));
      assert.ok(dW <= tol.factors, `W differs by ${dW}`);
      assert.ok(dH <= tol.factors, `H differs by ${dH}`);
      assert.equal(result.iterations, c.n_iter);
      assert.ok(Math.abs(result.loss - c.objective!) <= tol.loss * c.objective!, `objective ${result.loss} vs ${c.objective}`);
      assert.ok(Math.abs(result.relErr - c.rel_err!) <= tol.loss * c.rel_err!, `rel_err ${result.relErr} vs ${c.rel_err}`);
    });
  }
}
