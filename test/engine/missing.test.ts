import assert from 'node:assert/strict';
import { test } from 'node:test';
import { betaDivergence, createReferenceBackend, factorize, reconstruct, relErr, type Matrix } from '../../src-main/engine/index.js';
import { RandomState } from '../../src-main/engine/rng.js';
import { plantedLowRank, relDiff } from './support.js';

const backend = createReferenceBackend();
const rows = 50;
const cols = 40;
const rank = 3;
const planted = plantedLowRank(rows, cols, rank, 0.01, 21, 0.1);

/** V with about `fraction` of its cells set to NaN (the same cells for the same seed). */
function mask(V: Matrix, fraction: number, seed: number): { masked: Matrix; cells: number[] } {
  const rng = new RandomState(seed);
  const data = V.data.slice();
  const cells: number[] = [];
  for (let c = 0; c < data.length; c++) {
    if (rng.randomSample() < fraction) {
      data[c] = NaN;
      cells.push(c);
    }
  }
  return { masked: { rows: V.rows, cols: V.cols, data }, cells };
}

/**
 * Largest violation of the first-order optimality (KKT) conditions of ½‖M∘(V − WH)‖² over observed cells,
 * relative to the gradient's scale: ∇ = 0 where a factor is positive, ∇ ≥ 0 where it is zero.
 */
function kktResidual(V: Matrix, W: Matrix, H: Matrix): number {
  const R = reconstruct(W, H);
  for (let c = 0; c < R.data.length; c++) R.data[c] = V.data[c] !== V.data[c] ? 0 : R.data[c]! - V.data[c]!;
  let worst = 0;
  let scale = 0;
  const check = (value: number, grad: number): void => {
    scale = Math.max(scale, Math.abs(grad));
    worst = Math.max(worst, value > 0 ? Math.abs(grad) * Math.min(1, value) : Math.max(0, -grad));
  };
  let gradScale = 0;
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < rank; t++) {
      let g = 0;
      for (let j = 0; j < cols; j++) g += R.data[i * cols + j]! * H.data[t * cols + j]!;
      check(W.data[i * rank + t]!, g);
    }
  }
  for (let t = 0; t < rank; t++) {
    for (let j = 0; j < cols; j++) {
      let g = 0;
      for (let i = 0; i < rows; i++) g += W.data[i * rank + t]! * R.data[i * cols + j]!;
      check(H.data[t * cols + j]!, g);
    }
  }
  for (const x of V.data) if (x === x) gradScale += x * x;
  return worst / Math.sqrt(gradScale);
}

for (const solver of ['cd', 'hals', 'mu'] as const) {
  test(`${solver}: missing cells are left out of the fit and filled in by W·H`, async () => {
    const { masked, cells } = mask(planted.V, 0.2, 5);
    assert.ok(cells.length > 300);
    const r = await factorize(masked, { rank, solver, backend, maxIter: solver === 'mu' ? 3000 : 800, tol: 0 });
    assert.equal(r.missing, cells.length);
    // Reported figures are over observed cells only.
    assert.ok(Math.abs(r.relErr - relErr(masked, r.W, r.H)) <= 1e-9 * r.relErr);
    assert.ok(Math.abs(r.loss - betaDivergence(masked, r.W, r.H, 2)) <= 1e-9 * r.loss);
    assert.ok(r.relErr < 0.01, `fits the observed cells: ${r.relErr}`);
    // The hidden truth at the missing cells is recovered (the data are rank 3 plus a little noise).
    const WH = reconstruct(r.W, r.H);
    let err = 0;
    let norm = 0;
    for (const c of cells) {
      err += (WH.data[c]! - planted.V.data[c]!) ** 2;
      norm += planted.V.data[c]! ** 2;
    }
    assert.ok(Math.sqrt(err / norm) < 0.02, `imputed cells are close to the truth: ${Math.sqrt(err / norm)}`);
    // A stationary point of the observed-only objective: what sits in the missing cells does not pull on W, H.
    assert.ok(kktResidual(masked, r.W, r.H) < 1e-3, `KKT residual ${kktResidual(masked, r.W, r.H)}`);
  });
}

test('the result depends only on observed values: under the mask the fit sees its own reconstruction, whatever the truth there', async () => {
  const { masked, cells } = mask(planted.V, 0.25, 9);
  const a = await factorize(masked, { rank, solver: 'hals', backend, maxIter: 50 });
  // Two truths that agree on the observed cells: the planted one, and garbage under the mask.
  const garbage = planted.V.data.slice();
  for (const c of cells) garbage[c] = 1000 * (c % 7);
  // One more iteration from a's factors, once for each truth with the mask applied, and once on the complete
  // matrix whose masked cells hold a's own reconstruction: an EM step must take the same step in all three, so
  // nothing of either truth under the mask reaches W or H.
  const step = (V: Matrix) => factorize(V, { rank, solver: 'hals', backend, init: 'custom', W0: a.W, H0: a.H, maxIter: 1, tol: 0 });
  const ownGuess = planted.V.data.slice();
  const WH = reconstruct(a.W, a.H);
  for (const c of cells) ownGuess[c] = WH.data[c]!;
  const expected = await step({ rows, cols, data: ownGuess });
  for (const [name, truth] of [['planted', planted.V.data], ['garbage', garbage]] as const) {
    const remasked: Matrix = { rows, cols, data: truth.map((x, c) => (masked.data[c] !== masked.data[c] ? NaN : x)) };
    const b = await step(remasked);
    assert.ok(relDiff(b.W, expected.W) <= 1e-12, `${name} truth, masked: W differs by ${relDiff(b.W, expected.W)}`);
    assert.ok(relDiff(b.H, expected.H) <= 1e-12, `${name} truth, masked: H differs by ${relDiff(b.H, expected.H)}`);
  }
  // The same step on the complete garbage matrix goes elsewhere: what sits under the mask would matter if it were seen.
  const unmasked = await step({ rows, cols, data: garbage });
  assert.ok(relDiff(unmasked.W, expected.W) > 0.1, `garbage unmasked moves W by only ${relDiff(unmasked.W, expected.W)}`);
  // And the masked fit is not the fit of the complete matrix with garbage in those cells.
  const full = await factorize({ rows, cols, data: garbage }, { rank, solver: 'hals', backend, maxIter: 50 });
  assert.ok(relErr(masked, full.W, full.H) > 10 * relErr(masked, a.W, a.H));
});

test('a column with no observed value is filled from the rest, and β-losses skip missing cells', async () => {
  const data = planted.V.data.slice();
  for (let i = 0; i < rows; i++) data[i * cols + 7] = NaN;
  const V: Matrix = { rows, cols, data };
  const r = await factorize(V, { rank, solver: 'mu', betaLoss: 'kullback-leibler', backend, maxIter: 200, tol: 0 });
  assert.equal(r.missing, rows);
  assert.ok([...r.W.data, ...r.H.data].every((x) => Number.isFinite(x) && x >= 0));
  assert.ok(Math.abs(r.loss - betaDivergence(V, r.W, r.H, 'kullback-leibler')) <= 1e-8 * r.loss);
  assert.ok(r.relErr < 0.05);
  // Nothing observed pins column 7, so its fill W·h₇ can only follow what the other columns say of each row:
  // rows that are large elsewhere are large there. It must be positive everywhere, rise and fall with the rows'
  // observed means, and stay within a small factor of each row's mean. Measured here: correlation 0.80 (the
  // planted truth's own is 0.88), 0.51–3.9 × the row mean (the unpinned column drifts up from the overall mean it
  // starts at; other planted data give 0.78–0.94 and up to 5.3 ×): the bounds leave that margin, and a column of
  // zeros or of one constant fails them.
  const WH = reconstruct(r.W, r.H);
  const filled = Array.from({ length: rows }, (_, i) => WH.data[i * cols + 7]!);
  const rowMeans = Array.from({ length: rows }, (_, i) => {
    let s = 0;
    for (let j = 0; j < cols; j++) if (j !== 7) s += data[i * cols + j]!;
    return s / (cols - 1);
  });
  assert.ok(filled.every((x) => x > 0), `filled with ${filled.join(', ')}`);
  assert.ok(correlation(filled, rowMeans) > 0.6, `the fill follows the rows: correlation ${correlation(filled, rowMeans)}`);
  for (let i = 0; i < rows; i++) {
    const ratio = filled[i]! / rowMeans[i]!;
    assert.ok(ratio > 0.25 && ratio < 8, `row ${i}: filled ${filled[i]} against a row mean of ${rowMeans[i]}`);
  }
});

function correlation(a: number[], b: number[]): number {
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

test('progress loss is over observed entries at every iteration', async () => {
  const { masked } = mask(planted.V, 0.1, 3);
  const seen: number[] = [];
  const r = await factorize(masked, { rank, solver: 'cd', backend, maxIter: 10, tol: 0, onProgress: (p) => seen.push(p.relErr) });
  assert.equal(seen.length, 11);
  assert.ok(Math.abs(seen.at(-1)! - relErr(masked, r.W, r.H)) <= 1e-9 * r.relErr);
});
