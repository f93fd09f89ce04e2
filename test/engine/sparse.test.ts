import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createReferenceBackend,
  denseOf,
  factorize,
  initialize,
  sparseFromCoordinates,
  sparseOf,
  transform,
  type BetaLossName,
  type Matrix,
  type Solver,
} from '../../src-main/engine/index.js';
import { transposeSparse } from '../../src-main/engine/sparse.js';
import { RandomState } from '../../src-main/engine/rng.js';
import { relDiff } from './support.js';

/** A rows×cols matrix with about `density` of its cells non-zero, drawn around a rank-3 product. */
function sparseish(rows: number, cols: number, density: number, seed: number): Matrix {
  const rng = new RandomState(seed);
  const W = Float64Array.from({ length: rows * 3 }, () => Math.abs(rng.standardNormal()));
  const H = Float64Array.from({ length: 3 * cols }, () => Math.abs(rng.standardNormal()));
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (rng.randomSample() >= density) continue;
      let s = 0;
      for (let t = 0; t < 3; t++) s += W[i * 3 + t]! * H[t * cols + j]!;
      data[i * cols + j] = s * (0.5 + rng.randomSample());
    }
  }
  return { rows, cols, data };
}

test('coordinates become CSR as scipy makes it: rows and columns sorted, repeats summed, zeros dropped', () => {
  // (row, col, value), unsorted, with a repeat at (1, 2) and an entry that sums to zero at (0, 0)
  const r = [1, 0, 1, 2, 0, 0, 1];
  const c = [2, 3, 0, 1, 0, 0, 2];
  const v = [1, 4, 2, 5, 3, -3, 0.5];
  const S = sparseFromCoordinates(3, 4, r, c, v, r.length);
  assert.deepEqual(Array.from(S.indptr), [0, 1, 3, 4]);
  assert.deepEqual(Array.from(S.indices), [3, 0, 2, 1]);
  assert.deepEqual(Array.from(S.values), [4, 2, 1.5, 5]);
  assert.deepEqual(Array.from(denseOf(S).data), [0, 0, 0, 4, 2, 0, 1.5, 0, 0, 5, 0, 0]);
  const T = transposeSparse(S);
  assert.deepEqual([T.rows, T.cols], [4, 3]);
  assert.deepEqual(Array.from(denseOf(T).data), [0, 2, 0, 0, 0, 5, 0, 1.5, 0, 4, 0, 0]);
  assert.deepEqual(Array.from(sparseOf(denseOf(S)).values), Array.from(S.values));
});

const runs: { solver: Solver; betaLoss: BetaLossName | number }[] = [
  { solver: 'cd', betaLoss: 'frobenius' },
  { solver: 'hals', betaLoss: 'frobenius' },
  { solver: 'mu', betaLoss: 'frobenius' },
  { solver: 'mu', betaLoss: 'kullback-leibler' },
  { solver: 'mu', betaLoss: 1.5 },
  { solver: 'mu', betaLoss: 0.5 },
];

for (const { solver, betaLoss } of runs) {
  test(`${solver} ${betaLoss}: sparse V gives the dense V's factors, iterations, loss and relErr`, async () => {
    const dense = sparseish(37, 29, 0.2, 5);
    const options = { rank: 4, solver, betaLoss, maxIter: 60, tol: 1e-6, backend: createReferenceBackend(), targetRelErr: 0 };
    const a = await factorize(dense, options);
    const b = await factorize(sparseOf(dense), options);
    assert.equal(b.iterations, a.iterations);
    assert.equal(b.init, 'nndsvda');
    assert.ok(relDiff(b.W, a.W) < 1e-9, `W differs by ${relDiff(b.W, a.W)}`);
    assert.ok(relDiff(b.H, a.H) < 1e-9, `H differs by ${relDiff(b.H, a.H)}`);
    assert.ok(Math.abs(b.loss - a.loss) <= 1e-9 * a.loss, `loss ${b.loss} vs ${a.loss}`);
    assert.ok(Math.abs(b.relErr - a.relErr) <= 1e-9 * a.relErr, `relErr ${b.relErr} vs ${a.relErr}`);
  });
}

test('nndsvd starts on a sparse V larger than the exact path takes come from the randomized SVD, as for dense V', async () => {
  const dense = sparseish(260, 180, 0.05, 9);
  const backend = createReferenceBackend();
  for (const init of ['nndsvd', 'nndsvda', 'nndsvdar'] as const) {
    const a = await initialize(dense, 6, init, 3, backend);
    const b = await initialize(sparseOf(dense), 6, init, 3, backend);
    assert.ok(relDiff(b.W, a.W) < 1e-8, `${init}: W differs by ${relDiff(b.W, a.W)}`);
    assert.ok(relDiff(b.H, a.H) < 1e-8, `${init}: H differs by ${relDiff(b.H, a.H)}`);
  }
  const random = await initialize(sparseOf(dense), 6, 'random', 3, backend);
  const randomDense = await initialize(dense, 6, 'random', 3, backend);
  assert.deepEqual(Array.from(random.W.data), Array.from(randomDense.W.data));
});

test('transform on a sparse X equals transform on the dense one', async () => {
  const dense = sparseish(30, 25, 0.25, 2);
  const fit = await factorize(dense, { rank: 3, backend: createReferenceBackend(), maxIter: 50 });
  for (const solver of ['cd', 'mu'] as const) {
    const a = await transform(dense, fit.H, { solver, backend: createReferenceBackend(), maxIter: 40 });
    const b = await transform(sparseOf(dense), fit.H, { solver, backend: createReferenceBackend(), maxIter: 40 });
    assert.ok(relDiff(b.W, a.W) < 1e-9, `${solver}: W differs by ${relDiff(b.W, a.W)}`);
  }
});

test('Itakura-Saito refuses a sparse V with zeros, as scikit-learn does; a sparse V has no missing values', async () => {
  const S = sparseOf(sparseish(10, 8, 0.3, 1));
  await assert.rejects(
    factorize(S, { rank: 2, solver: 'mu', betaLoss: 'itakura-saito', backend: createReferenceBackend() }),
    /V is sparse with \d+ zero entries; betaLoss itakura-saito needs positive data \(the solver may diverge\)/,
  );
  const withNaN = { ...S, values: S.values.map((x, p) => (p === 3 ? NaN : x)) };
  await assert.rejects(factorize(withNaN, { rank: 2, backend: createReferenceBackend() }), /V has a missing value at row \d+, column \d+: a sparse matrix has no missing entries/);
  const negative = { ...S, values: S.values.map((x, p) => (p === 0 ? -1 : x)) };
  await assert.rejects(factorize(negative, { rank: 2, backend: createReferenceBackend() }), /V has a negative value \(-1\) at row \d+, column \d+; NMF needs non-negative data/);
});
