import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convert, createReferenceBackend, factorize, relErr, transform, type Matrix } from '../../src-main/engine/index.js';
import { innerSweeps } from '../../src-main/engine/solvers/hals.js';
import { countingBackend, plantedLowRank, relDiff } from './support.js';

const backend = createReferenceBackend();

test('transform recovers W for data built from a known H, with every solver', async () => {
  const { V: X, W, H } = plantedLowRank(60, 45, 5, 0, 31);
  const before = Array.from(H.data);
  for (const [solver, maxIter, limit] of [
    ['cd', 500, 1e-6],
    ['hals', 200, 1e-6],
    ['mu', 4000, 2e-2],
  ] as const) {
    const r = await transform(X, H, { solver, backend, maxIter, tol: 0 });
    assert.equal(r.W.rows, 60);
    assert.equal(r.W.cols, 5);
    assert.ok(relDiff(r.W, W) < limit, `${solver}: W off by ${relDiff(r.W, W)}`);
    assert.ok(Math.abs(r.relErr - relErr(X, r.W, H)) <= 1e-9 + 1e-9 * r.relErr);
  }
  assert.deepEqual(Array.from(H.data), before, 'H is left as it was');
});

test('transform of the training data with the fitted H reproduces the fit’s quality', async () => {
  const { V } = plantedLowRank(50, 40, 4, 0.2, 8, 0.01);
  const fit = await factorize(V, { rank: 4, solver: 'cd', backend, maxIter: 300, tol: 0 });
  const r = await transform(V, fit.H, { solver: 'cd', backend, maxIter: 300, tol: 0 });
  assert.ok(Math.abs(r.relErr - fit.relErr) < 1e-6, `${r.relErr} vs ${fit.relErr}`);
  assert.ok(relDiff(r.W, fit.W) < 1e-3);
});

test('transform handles float32, missing cells of X, the KL loss and progress', async () => {
  const { V: X, W, H } = plantedLowRank(30, 25, 3, 0, 12);
  const data = X.data.slice();
  data[5] = NaN;
  data[77] = NaN;
  const seen: number[] = [];
  const r = await transform(convert({ rows: 30, cols: 25, data }, 'float32'), convert(H, 'float32'), {
    solver: 'hals',
    backend,
    maxIter: 300,
    tol: 0,
    onProgress: (p) => seen.push(p.iteration),
  });
  assert.ok(r.W.data instanceof Float32Array);
  assert.equal(r.missing, 2);
  assert.equal(seen.length, 301);
  assert.ok(relDiff(r.W, W) < 1e-3);
  const kl = await transform(X, H, { solver: 'mu', betaLoss: 'kullback-leibler', backend, maxIter: 3000, tol: 0 });
  assert.ok(relDiff(kl.W, W) < 2e-2, `KL: ${relDiff(kl.W, W)}`);
});

test('transform stops on tol, and maxIter 0 returns the starting W', async () => {
  const { V: X, H } = plantedLowRank(30, 20, 3, 0.1, 4, 0.01);
  const r = await transform(X, H, { backend });
  assert.equal(r.stopReason, 'tol');
  const zero = await transform(X, H, { backend, maxIter: 0 });
  assert.ok(zero.W.data.every((x) => x === 0), 'cd starts from zeros');
  const mu = await transform(X, H, { backend, solver: 'mu', maxIter: 0 });
  let mean = 0;
  for (const x of X.data) mean += x / X.data.length;
  assert.ok(mu.W.data.every((x) => Math.abs(x - Math.sqrt(mean / 3)) < 1e-12), 'mu starts from sqrt(mean(X) / rank)');
});

test('hals reaches cd’s relErr (scikit-learn defaults) in far fewer passes over V', async () => {
  const { V } = plantedLowRank(300, 200, 10, 0.5, 7);
  const cd = countingBackend();
  const reference = await factorize(V, { rank: 10, solver: 'cd', backend: cd.backend });
  assert.equal(reference.stopReason, 'tol');
  const hals = countingBackend();
  const r = await factorize(V, { rank: 10, solver: 'hals', backend: hals.backend, targetRelErr: reference.relErr, tol: 0, maxIter: 1000 });
  assert.equal(r.stopReason, 'targetRelErr');
  assert.ok(r.relErr <= reference.relErr);
  // Every pass counts: products, and any direct loss evaluation.
  assert.ok(hals.passes() * 2 < cd.passes(), `hals ${hals.passes()} passes vs cd ${cd.passes()}`);
  assert.equal(hals.counts.get('betaDivergence') ?? 0, 1, 'only the starting point needed a direct loss');
});

test('hals and cd minimise the same regularised objective', async () => {
  const { V } = plantedLowRank(40, 30, 4, 0.2, 3, 0.01);
  const settings = { rank: 4, backend, maxIter: 2000, tol: 0, alphaW: 0.002, alphaH: 0.001, l1Ratio: 0.5 } as const;
  const objective = (W: Matrix, H: Matrix, loss: number): number => {
    const [l1W, l2W] = [30 * 0.002 * 0.5, 30 * 0.002 * 0.5];
    const [l1H, l2H] = [40 * 0.001 * 0.5, 40 * 0.001 * 0.5];
    let s = loss;
    for (const x of W.data) s += l1W * x + 0.5 * l2W * x * x;
    for (const x of H.data) s += l1H * x + 0.5 * l2H * x * x;
    return s;
  };
  const cd = await factorize(V, { ...settings, solver: 'cd' });
  const hals = await factorize(V, { ...settings, solver: 'hals' });
  const a = objective(cd.W, cd.H, cd.loss);
  const b = objective(hals.W, hals.H, hals.loss);
  assert.ok(Math.abs(a - b) <= 1e-3 * a, `cd ${a} vs hals ${b}`);
  assert.ok(b <= a * (1 + 1e-9), 'hals gets at least as far as cd');
  const plain = await factorize(V, { ...settings, solver: 'hals', alphaW: 0 });
  assert.ok(plain.loss < hals.loss, 'regularisation costs some fit');
});

test('hals sweeps more when a product with V costs more than a sweep (the ρ rule)', () => {
  assert.equal(innerSweeps(1000, 1000, 10, 'W'), Math.floor(1 + 0.5 * ((1e6 + 1e4) / (1e4 + 1e3))));
  assert.ok(innerSweeps(2000, 2000, 10, 'H') > innerSweeps(200, 200, 10, 'H'));
  assert.equal(innerSweeps(5, 5, 5, 'W'), 1, 'tiny problems: one sweep, as plain HALS');
  assert.ok(innerSweeps(1000, 1000, 10, 'W', 10) < innerSweeps(1000, 1000, 10, 'W'), 'fast products: fewer sweeps each');
  assert.equal(innerSweeps(1000, 1000, 10, 'W', 1e6), 1);
});
