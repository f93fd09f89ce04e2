import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReferenceBackend, factorize, initialize, transform, UserError, type FactorizeOptions, type Matrix } from '../../src-main/engine/index.js';

const backend = createReferenceBackend();
const V: Matrix = { rows: 4, cols: 3, data: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3]) };

async function expectUserError(run: Promise<unknown>, kind: 'usage' | 'input', pattern: RegExp): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof UserError, `a UserError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

const usageCases: [string, Partial<FactorizeOptions> & Record<string, unknown>, RegExp][] = [
  ['rank 0', { rank: 0 }, /rank must be a whole number ≥ 1 \(got 0\)/],
  ['fractional rank', { rank: 1.5 }, /rank must be a whole number/],
  ['no rank', { rank: undefined }, /rank is required/],
  ['unknown solver', { solver: 'als' as never }, /unknown solver 'als'/],
  ['unknown loss', { betaLoss: 'euclid' as never }, /unknown betaLoss 'euclid'/],
  ['infinite β', { betaLoss: Infinity }, /betaLoss must be a finite number/],
  ['cd with KL', { solver: 'cd', betaLoss: 'kullback-leibler' }, /solver 'cd' only minimises the frobenius loss/],
  ['hals with β 1.5', { solver: 'hals', betaLoss: 1.5 }, /solver 'hals' only minimises the frobenius loss/],
  ['unknown init', { init: 'svd' as never }, /unknown init 'svd'/],
  ['nndsvd with rank > min', { rank: 4, init: 'nndsvd' }, /init 'nndsvd' needs rank ≤ min\(rows, cols\) = 3/],
  ['custom without W0', { init: 'custom' }, /init 'custom' needs both W0 and H0/],
  ['W0 with another init', { init: 'random', W0: V, H0: V }, /only used with init 'custom'/],
  ['negative maxIter', { maxIter: -1 }, /maxIter must be a whole number ≥ 0/],
  ['negative tol', { tol: -1e-4 }, /tol must be a number ≥ 0/],
  ['NaN alphaW', { alphaW: NaN }, /alphaW must be a number ≥ 0/],
  ['negative alphaH', { alphaH: -1 }, /alphaH must be a number ≥ 0/],
  ['l1Ratio above 1', { l1Ratio: 2 }, /l1Ratio must be between 0 and 1/],
  ['fractional seed', { seed: 0.5 }, /seed must be a whole number/],
  ['negative targetRelErr', { targetRelErr: -0.1 }, /targetRelErr must be a number ≥ 0/],
  ['no backend', { backend: undefined }, /a backend is required/],
];

for (const [label, options, pattern] of usageCases) {
  test(`bad option (${label}) is a usage error`, async () => {
    await expectUserError(factorize(V, { rank: 2, backend, ...options } as FactorizeOptions), 'usage', pattern);
  });
}

test('bad data is an input error naming the row, column and value', async () => {
  const negative: Matrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, -0.5, 6]) };
  await expectUserError(factorize(negative, { rank: 1, backend }), 'input', /V has a negative value \(-0\.5\) at row 2, column 2/);
  const infinite: Matrix = { rows: 2, cols: 2, data: Float64Array.from([1, Infinity, 3, 4]) };
  await expectUserError(factorize(infinite, { rank: 1, backend }), 'input', /V has an infinite value at row 1, column 2/);
  const allMissing: Matrix = { rows: 2, cols: 2, data: Float64Array.from([NaN, NaN, NaN, NaN]) };
  await expectUserError(factorize(allMissing, { rank: 1, backend }), 'input', /no observed entries/);
  const empty: Matrix = { rows: 0, cols: 3, data: new Float64Array(0) };
  await expectUserError(factorize(empty, { rank: 1, backend }), 'input', /V is empty/);
  const short: Matrix = { rows: 2, cols: 3, data: new Float64Array(5) };
  await expectUserError(factorize(short, { rank: 1, backend }), 'input', /malformed/);
});

test('itakura-saito and β ≤ 0 refuse zeros in V (not in missing cells)', async () => {
  const zero: Matrix = { rows: 2, cols: 2, data: Float64Array.from([1, 0, 3, 4]) };
  await expectUserError(factorize(zero, { rank: 1, backend, solver: 'mu', betaLoss: 'itakura-saito' }), 'input', /zero at row 1, column 2; betaLoss itakura-saito needs positive data/);
  await expectUserError(factorize(zero, { rank: 1, backend, solver: 'mu', betaLoss: -0.5 }), 'input', /betaLoss -0\.5 needs positive/);
  const gap: Matrix = { rows: 2, cols: 2, data: Float64Array.from([1, NaN, 3, 4]) };
  const r = await factorize(gap, { rank: 1, backend, solver: 'mu', betaLoss: 'itakura-saito', maxIter: 5 });
  assert.equal(r.missing, 1);
});

test('custom starting factors of the wrong shape or sign are input errors', async () => {
  const W0: Matrix = { rows: 4, cols: 2, data: new Float64Array(8).fill(1) };
  const H0: Matrix = { rows: 2, cols: 3, data: new Float64Array(6).fill(1) };
  await expectUserError(factorize(V, { rank: 2, backend, init: 'custom', W0, H0: { ...H0, rows: 3, cols: 2 } }), 'input', /H0 must be 2×3 but is 3×2/);
  const negative = { ...W0, data: W0.data.map((x, i) => (i === 5 ? -1 : x)) };
  await expectUserError(factorize(V, { rank: 2, backend, init: 'custom', W0: negative, H0 }), 'input', /W0 has a negative value \(-1\) at row 3, column 2/);
  await expectUserError(factorize(V, { rank: 2, backend, init: 'custom', W0: { ...W0, data: new Float64Array(8) }, H0 }), 'input', /W0 is all zeros/);
});

test('transform and initialize check their inputs too', async () => {
  const H: Matrix = { rows: 2, cols: 4, data: new Float64Array(8).fill(1) };
  await expectUserError(transform(V, H, { backend }), 'input', /H must be 2×3 but is 2×4/);
  await expectUserError(transform(V, { rows: 2, cols: 3, data: new Float64Array(6).fill(1) }, { backend, solver: 'cd', betaLoss: 1 }), 'usage', /only minimises the frobenius/);
  await expectUserError(initialize(V, 5, 'nndsvda'), 'usage', /needs rank ≤ min/);
  await expectUserError(initialize(V, 2, 'custom' as never), 'usage', /cannot make a 'custom' start/);
});
