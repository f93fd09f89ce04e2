import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocate, convert, createReferenceBackend, reconstruct, type Matrix } from '../../src-main/engine/index.js';
import { cellDivergence, EPSILON } from '../../src-main/engine/divergence.js';
import { RandomState } from '../../src-main/engine/rng.js';

// Wide enough that W·H is formed in several blocks of rows (about 65 536 values each).
const rows = 50;
const cols = 3000;
const k = 4;
const rng = new RandomState(17);

function random(r: number, c: number, zeros = 0): Matrix {
  const m = allocate(r, c);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.randomSample() < zeros ? 0 : rng.randomSample();
  return m;
}

const V = random(rows, cols, 0.1);
const W = random(rows, k);
const H = random(k, cols);
// Zero rows of W and a zero column of H make W·H exactly zero in places: EPSILON handling is exercised.
for (let t = 0; t < k; t++) W.data[3 * k + t] = 0;
for (let t = 0; t < k; t++) H.data[t * cols + 11] = 0;
const WH = reconstruct(W, H);

function naive(op: (i: number, j: number) => number, r: number, c: number): Matrix {
  const out = allocate(r, c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[i * c + j] = op(i, j);
  return out;
}

function assertClose(actual: Matrix, expected: Matrix, tolerance: number, label: string): void {
  assert.equal(actual.rows, expected.rows, label);
  assert.equal(actual.cols, expected.cols, label);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    worst = Math.max(worst, Math.abs(actual.data[i]! - e) / Math.max(1, Math.abs(e)));
  }
  assert.ok(worst <= tolerance, `${label}: off by ${worst}`);
}

/** scikit-learn's numerator and denominator factors per cell, straight from _multiplicative_update_w/h. */
function ratio(x: number, y: number, beta: number): number {
  const ys = beta < 2 && y === 0 ? EPSILON : y;
  return beta === 1 ? x / ys : beta === 0 ? x * (1 / ys) ** 2 : x * ys ** (beta - 2);
}
function power(y: number, beta: number): number {
  return (beta < 1 && y === 0 ? EPSILON : y) ** (beta - 1);
}

for (const dtype of ['float64', 'float32'] as const) {
  const tolerance = dtype === 'float64' ? 1e-12 : 1e-6;
  const [v, w, h] = [convert(V, dtype), convert(W, dtype), convert(H, dtype)];

  test(`reference ${dtype}: WᵀV, V·Hᵀ, WᵀW, H·Hᵀ match the definitions`, async () => {
    const bound = await createReferenceBackend().bind(v);
    const out = (r: number, c: number): Matrix => allocate(r, c, dtype);
    const WtV = out(k, cols);
    await bound.WtV(w, WtV);
    assertClose(WtV, naive((t, j) => sum(rows, (i) => W.data[i * k + t]! * V.data[i * cols + j]!), k, cols), tolerance, 'WtV');
    const VHt = out(rows, k);
    await bound.VHt(h, VHt);
    assertClose(VHt, naive((i, t) => sum(cols, (j) => V.data[i * cols + j]! * H.data[t * cols + j]!), rows, k), tolerance, 'VHt');
    const WtW = out(k, k);
    await bound.WtW(w, WtW);
    assertClose(WtW, naive((a, b) => sum(rows, (i) => W.data[i * k + a]! * W.data[i * k + b]!), k, k), tolerance, 'WtW');
    const HHt = out(k, k);
    await bound.HHt(h, HHt);
    assertClose(HHt, naive((a, b) => sum(cols, (j) => H.data[a * cols + j]! * H.data[b * cols + j]!), k, k), tolerance, 'HHt');
    assert.ok(WtV.data instanceof (dtype === 'float64' ? Float64Array : Float32Array));
    await bound.dispose();
  });

  for (const beta of [0, 0.5, 1, 1.5, 2.5, 3]) {
    test(`reference ${dtype}: β = ${beta} update terms and divergence, tile by tile`, async () => {
      const bound = await createReferenceBackend().bind(v);
      const x = (i: number, j: number): number => V.data[i * cols + j]!;
      const y = (i: number, j: number): number => WH.data[i * cols + j]!;
      const numH = allocate(k, cols, dtype);
      const denH = allocate(k, cols, dtype);
      await bound.betaTermsH(w, h, beta, numH, denH);
      assertClose(numH, naive((t, j) => sum(rows, (i) => W.data[i * k + t]! * ratio(x(i, j), y(i, j), beta)), k, cols), tolerance, 'numerator H');
      const expectedDenH =
        beta === 1
          ? naive((t) => sum(rows, (i) => W.data[i * k + t]!), k, cols)
          : naive((t, j) => sum(rows, (i) => W.data[i * k + t]! * power(y(i, j), beta)), k, cols);
      assertClose(denH, expectedDenH, tolerance, 'denominator H');
      const numW = allocate(rows, k, dtype);
      const denW = allocate(rows, k, dtype);
      await bound.betaTermsW(w, h, beta, numW, denW);
      assertClose(numW, naive((i, t) => sum(cols, (j) => ratio(x(i, j), y(i, j), beta) * H.data[t * cols + j]!), rows, k), tolerance, 'numerator W');
      const expectedDenW =
        beta === 1
          ? naive((_, t) => sum(cols, (j) => H.data[t * cols + j]!), rows, k)
          : naive((i, t) => sum(cols, (j) => power(y(i, j), beta) * H.data[t * cols + j]!), rows, k);
      assertClose(denW, expectedDenW, tolerance, 'denominator W');
      const expected = sum(rows * cols, (c) => cellDivergence(V.data[c]!, WH.data[c]!, beta));
      const got = await bound.betaDivergence(w, h, beta);
      assert.ok(Math.abs(got - expected) <= tolerance * Math.abs(expected), `divergence ${got} vs ${expected}`);
      const both = await bound.divergences!(w, h, beta);
      assert.equal(both.beta, got);
      assert.ok(Math.abs(both.frobenius - (await bound.betaDivergence(w, h, 2))) <= 1e-12 * both.frobenius);
      await bound.dispose();
    });
  }
}

function sum(n: number, f: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
}

test('cellDivergence adds up to scikit-learn’s closed forms', () => {
  // Frobenius: half the squared difference; KL and IS at x = y: zero.
  assert.equal(cellDivergence(3, 1, 2), 2);
  assert.ok(Math.abs(cellDivergence(2.5, 2.5, 1)) < 1e-15);
  assert.ok(Math.abs(cellDivergence(2.5, 2.5, 0)) < 1e-15);
  assert.ok(Math.abs(cellDivergence(2.5, 2.5, 1.5)) < 1e-15);
  // KL: x log(x/y) − x + y.
  assert.ok(Math.abs(cellDivergence(2, 1, 1) - (2 * Math.log(2) - 1)) < 1e-15);
  // Cells with x ≤ EPSILON only contribute their W·H term.
  assert.equal(cellDivergence(0, 0.5, 1), 0.5);
});

test('reference: setCells changes the bound V but never the caller’s array; a disposed V refuses work', async () => {
  const small: Matrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
  const bound = await createReferenceBackend().bind(small);
  await bound.setCells(Uint32Array.from([1, 5]), [20, 60]);
  assert.deepEqual(Array.from(small.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from((bound.V as Matrix).data), [1, 20, 3, 4, 5, 60]);
  const out = allocate(1, 3);
  await bound.WtV({ rows: 2, cols: 1, data: Float64Array.from([1, 1]) }, out);
  assert.deepEqual(Array.from(out.data), [5, 25, 63]);
  await assert.rejects(bound.setCells(Uint32Array.from([6]), [1]), RangeError);
  await bound.dispose();
  await assert.rejects(bound.WtV({ rows: 2, cols: 1, data: Float64Array.from([1, 1]) }, out), /disposed/);
});

test('reference matmul handles every transpose combination and checks shapes', async () => {
  const backend = createReferenceBackend();
  const a: Matrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
  const b: Matrix = { rows: 3, cols: 2, data: Float64Array.from([7, 8, 9, 10, 11, 12]) };
  const out = allocate(2, 2);
  await backend.matmul(a, b, false, false, out);
  assert.deepEqual(Array.from(out.data), [58, 64, 139, 154]);
  const at: Matrix = { rows: 3, cols: 2, data: Float64Array.from([1, 4, 2, 5, 3, 6]) };
  const bt: Matrix = { rows: 2, cols: 3, data: Float64Array.from([7, 9, 11, 8, 10, 12]) };
  for (const [x, y, ta, tb] of [
    [at, b, true, false],
    [a, bt, false, true],
    [at, bt, true, true],
  ] as const) {
    out.data.fill(0);
    await backend.matmul(x, y, ta, tb, out);
    assert.deepEqual(Array.from(out.data), [58, 64, 139, 154]);
  }
  await assert.rejects(backend.matmul(a, a, false, false, out), /inner dimensions/);
  await assert.rejects(backend.matmul(a, b, false, false, allocate(3, 3)), /expected 2×2/);
});

test('EPSILON exactly where scikit-learn 1.2.1 puts it: W·H = 0 becomes EPSILON, a tiny positive W·H stays', async () => {
  // W·H = [[1e-9, 2], [0, 0]]: 1e-9 is below EPSILON yet not zero. scikit-learn 1.2.1 replaces only exact zeros
  // (WH[WH == 0] = EPSILON); later releases raise everything below EPSILON, which would change every number here.
  const m = (r: number, c: number, d: number[]): Matrix => ({ rows: r, cols: c, data: Float64Array.from(d) });
  const V2 = m(2, 2, [0.5, 1, 0.25, 0.75]);
  const W2 = m(2, 1, [1, 0]);
  const H2 = m(1, 2, [1e-9, 2]);
  // _beta_divergence(V, W, H, β) and W, H after one _multiplicative_update_w / _h (γ = 1) in scikit-learn 1.2.1.
  const sklearn = [
    { beta: 1, loss: 24.20196215689322, H: [0.49999999999999994, 1], W: [0.749999999625, 0] },
    { beta: 0, loss: 508388554.95223457, H: [0.49999999999999994, 1], W: [250000000.24999994, 0] },
    { beta: 0.5, loss: 37407.34552835678, H: [0.49999999999999994, 1], W: [11180.589881908902, 0] },
  ];
  const bound = await createReferenceBackend().bind(V2);
  const close = (got: number, want: number, what: string): void =>
    assert.ok(Math.abs(got - want) <= 1e-12 * Math.abs(want) + 1e-300, `${what}: ${got} vs scikit-learn's ${want}`);
  // The update as scikit-learn applies it: a zero denominator reads as EPSILON (as 1 for β = 1's column sums of W).
  const updated = (F: Matrix, num: Matrix, den: Matrix, zeroSumIsOne: boolean): number[] =>
    Array.from(F.data, (f, c) => {
      let d = den.data[c]!;
      if (zeroSumIsOne && d === 0) d = 1;
      return f * (num.data[c]! / (d === 0 ? EPSILON : d));
    });
  for (const s of sklearn) {
    close(await bound.betaDivergence(W2, H2, s.beta), s.loss, `β = ${s.beta}: loss`);
    const [numH, denH, numW, denW] = [allocate(1, 2), allocate(1, 2), allocate(2, 1), allocate(2, 1)];
    await bound.betaTermsH(W2, H2, s.beta, numH, denH);
    await bound.betaTermsW(W2, H2, s.beta, numW, denW);
    updated(H2, numH, denH, s.beta === 1).forEach((x, c) => close(x, s.H[c]!, `β = ${s.beta}: H[${c}]`));
    updated(W2, numW, denW, false).forEach((x, c) => close(x, s.W[c]!, `β = ${s.beta}: W[${c}]`));
  }
  await bound.dispose();
});
