import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReferenceBackend, initialize, reconstruct, relErr, type Matrix } from '../../src-main/engine/index.js';
import { initialFactors } from '../../src-main/engine/init.js';
import { symmetricEigen } from '../../src-main/engine/linalg.js';
import { RandomState } from '../../src-main/engine/rng.js';
import { denseTriplets, leadingSingularTriplets } from '../../src-main/engine/svd.js';
import { plantedLowRank, relDiff } from './support.js';

function mean(m: Matrix): number {
  let s = 0;
  for (const x of m.data) s += x;
  return s / m.data.length;
}

test('random init: |N(0,1)| scaled by sqrt(mean(V)/rank), seeded', async () => {
  const { V } = plantedLowRank(300, 200, 3, 0.1, 1);
  const { W, H } = await initialize(V, 5, 'random', 42);
  const avg = Math.sqrt(mean(V) / 5);
  // E|N(0,1)| = sqrt(2/π); 1500 and 1000 draws put the sample means within a few percent.
  assert.ok(Math.abs(mean(W) / (avg * Math.sqrt(2 / Math.PI)) - 1) < 0.06, `W mean ${mean(W)}`);
  assert.ok(Math.abs(mean(H) / (avg * Math.sqrt(2 / Math.PI)) - 1) < 0.06, `H mean ${mean(H)}`);
  const again = await initialize(V, 5, 'random', 42);
  assert.deepEqual(Array.from(again.W.data), Array.from(W.data));
  const other = await initialize(V, 5, 'random', 43);
  assert.notDeepEqual(Array.from(other.H.data), Array.from(H.data));
});

test('NNDSVD variants: exact zeros, mean fill, small random fill', async () => {
  const { V } = plantedLowRank(60, 50, 4, 0.3, 2);
  const plain = await initialize(V, 6, 'nndsvd');
  const zeros = [...plain.W.data, ...plain.H.data].filter((x) => x === 0).length;
  assert.ok(zeros > 0, 'nndsvd is sparse');
  assert.ok([...plain.W.data, ...plain.H.data].every((x) => x === 0 || x >= 1e-6));
  const a = await initialize(V, 6, 'nndsvda');
  const avg = mean(V);
  // The mean is NumPy's pairwise sum (exactly so in random-state.test.ts); this one adds in turn.
  for (let c = 0; c < a.W.data.length; c++) {
    if (plain.W.data[c] === 0) assert.ok(Math.abs(a.W.data[c]! - avg) <= 1e-14 * avg, `${a.W.data[c]} vs ${avg}`);
    else assert.equal(a.W.data[c], plain.W.data[c]);
  }
  const ar = await initialize(V, 6, 'nndsvdar', 3);
  for (let c = 0; c < ar.H.data.length; c++) {
    if (plain.H.data[c] === 0) assert.ok(ar.H.data[c]! > 0 && ar.H.data[c]! < avg / 10);
    else assert.equal(ar.H.data[c], plain.H.data[c]);
  }
  // The NNDSVD start is already a fair fit of a low-rank matrix.
  assert.ok(relErr(V, plain.W, plain.H) < 0.3);
});

test('large matrices: the randomized SVD through the backend gives the exact SVD’s NNDSVD', async () => {
  const { V } = plantedLowRank(420, 360, 5, 0.05, 4);
  const backend = createReferenceBackend();
  const bound = await backend.bind(V);
  const fast = await initialFactors(V, 5, 'nndsvd', 0, { bound });
  const exact = await initialFactors(V, 5, 'nndsvd', 0);
  assert.ok(relDiff(fast.W, exact.W) < 1e-6, `W ${relDiff(fast.W, exact.W)}`);
  assert.ok(relDiff(fast.H, exact.H) < 1e-6, `H ${relDiff(fast.H, exact.H)}`);
  const t = await leadingSingularTriplets(V, 5, { bound });
  const d = denseTriplets(V, 5);
  for (let c = 0; c < 5; c++) assert.ok(Math.abs(t.S[c]! / d.S[c]! - 1) < 1e-10);
  await bound.dispose();
});

test('the dense SVD reconstructs V and has orthonormal singular vectors (tall and wide)', () => {
  for (const [r, c] of [
    [30, 12],
    [12, 30],
  ] as const) {
    const { V } = plantedLowRank(r, c, 12, 0.5, r);
    const k = 12;
    const { U, S, Vt } = denseTriplets(V, k);
    const US: Matrix = { rows: r, cols: k, data: U.map((u, i) => u * S[i % k]!) };
    assert.ok(relDiff(reconstruct(US, { rows: k, cols: c, data: Vt }), V) < 1e-10);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let du = 0;
        let dv = 0;
        for (let i = 0; i < r; i++) du += U[i * k + a]! * U[i * k + b]!;
        for (let j = 0; j < c; j++) dv += Vt[a * c + j]! * Vt[b * c + j]!;
        assert.ok(Math.abs(du - (a === b ? 1 : 0)) < 1e-9 && Math.abs(dv - (a === b ? 1 : 0)) < 1e-9);
      }
      if (a > 0) assert.ok(S[a]! <= S[a - 1]!);
    }
  }
});

test('symmetric eigen-decomposition: A·v = λ·v, descending, also for repeated and zero eigenvalues; the values alone are the same', () => {
  const rng = new RandomState(8);
  const n = 25;
  const B = Float64Array.from({ length: n * n }, () => rng.standardNormal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = B[i * n + j]! + B[j * n + i]!;
  const identity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 2;
  for (const M of [A, identity, new Float64Array(n * n)]) {
    const { values, vectors } = symmetricEigen(M, n);
    for (let c = 0; c < n; c++) {
      if (c > 0) assert.ok(values[c]! <= values[c - 1]!);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += M[i * n + j]! * vectors[j * n + c]!;
        assert.ok(Math.abs(av - values[c]! * vectors[i * n + c]!) < 1e-10);
      }
    }
  }
  assert.deepEqual(Array.from(symmetricEigen(Float64Array.from([3]), 1).values), [3]);
});

test('the generator: reproducible, uniform in [0, 1), standard normals', () => {
  const a = new RandomState(123);
  const b = new RandomState(123);
  const xs = Array.from({ length: 20000 }, () => a.standardNormal());
  assert.deepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => b.standardNormal()),
  );
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
  assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.03, `mean ${m}, variance ${v}`);
  const u = Array.from({ length: 10000 }, () => a.randomSample());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5) < 0.02);
  assert.notEqual(new RandomState(1).randomSample(), new RandomState(2).randomSample());
  assert.notEqual(new RandomState(2 ** 32 - 1).randomSample(), new RandomState(0).randomSample());
  // NumPy's RandomState takes seeds 0 … 2³² − 1 only.
  for (const seed of [-1, 2 ** 32, 0.5]) assert.throws(() => new RandomState(seed), /seed must be a whole number from 0 to 4294967295/);
});

test('the randomized SVD copes with V of lower rank than its block (singular Gram matrices), in float32 and float64', async () => {
  for (const dtype of ['float64', 'float32'] as const) {
    // Rank 3 exactly, while the randomized SVD asks for 8 + 10 directions: its Gram matrices are singular.
    const { V: exact } = plantedLowRank(200, 150, 3, 0, 6);
    const V: Matrix = { rows: 200, cols: 150, data: dtype === 'float32' ? Float32Array.from(exact.data) : exact.data };
    const t = await leadingSingularTriplets(V, 8, { bound: await createReferenceBackend().bind(V) });
    const d = denseTriplets(V, 8);
    for (const x of [...t.U, ...t.S, ...t.Vt]) assert.ok(Number.isFinite(x));
    const scale = dtype === 'float32' ? 1e-4 : 1e-10;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(t.S[c]! / d.S[c]! - 1) < scale, `${dtype}: σ${c} ${t.S[c]} vs ${d.S[c]}`);
    // What is left is rounding (the exact path's own Gram matrix leaves about 1e-8 of σ₀ there).
    for (let c = 3; c < 8; c++) assert.ok(t.S[c]! < 1e-6 * t.S[0]!, `${dtype}: σ${c} should vanish, is ${t.S[c]}`);
    for (const init of ['nndsvd', 'nndsvda'] as const) {
      const { W, H } = await initialize(V, 8, init);
      for (const x of [...W.data, ...H.data]) assert.ok(Number.isFinite(x) && x >= 0, `${dtype} ${init}: ${x}`);
      // The plain start is already a fair fit (nndsvda's mean-filled empty components are not).
      if (init === 'nndsvd') assert.ok(relErr(V, W, H) < 0.5, `${dtype}: relErr ${relErr(V, W, H)}`);
    }
  }
});
