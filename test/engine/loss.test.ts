import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convert, factorize, relErr, type Matrix, type Progress } from '../../src-main/engine/index.js';
import { countingBackend, plantedLowRank } from './support.js';

test('the Frobenius loss comes from the products at hand: no extra pass over V per iteration', async () => {
  const { V } = plantedLowRank(40, 30, 4, 0.3, 11, 0.05);
  for (const solver of ['cd', 'hals', 'mu'] as const) {
    const quiet = countingBackend();
    const a = await factorize(V, { rank: 4, solver, backend: quiet.backend, maxIter: 30, tol: 0 });
    assert.equal(quiet.passes(), 2 * a.iterations, `${solver} without progress: two products per iteration`);
    const watched = countingBackend();
    const seen: Progress[] = [];
    const b = await factorize(V, { rank: 4, solver, backend: watched.backend, maxIter: 30, tol: 0, onProgress: (p) => seen.push(p) });
    assert.equal(seen.length, 31);
    assert.equal(watched.passes(), 2 * b.iterations + 1, `${solver} with progress: one pass for the start only`);
  }
});

test('β ≠ 2 progress costs one pass per iteration (loss and relErr together)', async () => {
  const { V } = plantedLowRank(40, 30, 4, 0.3, 11, 0.05);
  const counted = countingBackend();
  await factorize(V, { rank: 4, solver: 'mu', betaLoss: 'kullback-leibler', backend: counted.backend, maxIter: 20, tol: 0, onProgress: () => {} });
  assert.equal(counted.counts.get('betaTermsW'), 20);
  assert.equal(counted.counts.get('betaTermsH'), 20);
  assert.equal(counted.counts.get('divergences'), 21);
  assert.equal(counted.counts.get('betaDivergence') ?? 0, 0);
  const quiet = countingBackend();
  await factorize(V, { rank: 4, solver: 'mu', betaLoss: 'kullback-leibler', backend: quiet.backend, maxIter: 20, tol: 1e-9 });
  // The start, iterations 10 and 20 for the tol rule, and the final relErr.
  assert.equal(quiet.passes(), 40 + 3 + 1);
});

function assertAccurate(reported: number, exact: number, tolerance: number, label: string): void {
  assert.ok(Math.abs(reported / exact - 1) <= tolerance, `${label}: reported ${reported}, exact ${exact}`);
}

test('relErr stays accurate when it is tiny (no cancellation in ‖V‖² − 2⟨WᵀV, H⟩ + ⟨WᵀW, HHᵀ⟩)', async () => {
  const exact = plantedLowRank(60, 50, 4, 0, 5);
  // A trace of noise: the best rank-4 fit has relErr around 1e-7.
  const V: Matrix = { rows: 60, cols: 50, data: exact.V.data.map((x, i) => x + 1e-6 * ((i * 7919) % 13)) };
  for (const dtype of ['float64', 'float32'] as const) {
    const data = convert(V, dtype);
    const seen: Progress[] = [];
    // Started next to the truth, so that a few hundred iterations reach the noise floor.
    const W0 = convert({ ...exact.W, data: exact.W.data.map((x, i) => x * (1 + 0.01 * Math.sin(i))) }, dtype);
    const H0 = convert(exact.H, dtype);
    const r = await factorize(data, { rank: 4, solver: 'hals', init: 'custom', W0, H0, backend: countingBackend().backend, maxIter: 300, tol: 0, onProgress: (p) => seen.push(p) });
    const truth = relErr(convert(data, 'float64'), convert(r.W, 'float64'), convert(r.H, 'float64'));
    assert.ok(truth < (dtype === 'float64' ? 1e-5 : 1e-4), `${dtype} fits closely: ${truth}`);
    assertAccurate(r.relErr, truth, dtype === 'float64' ? 1e-6 : 1e-2, dtype);
    assertAccurate(seen.at(-1)!.relErr, truth, dtype === 'float64' ? 1e-6 : 1e-2, `${dtype} progress`);
  }
});
