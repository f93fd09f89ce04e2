// scikit-learn's random_state, reproduced: NumPy's RandomState stream, the 'random' and 'nndsvdar' starts and
// whole fits from init 'random', against fixtures made by test/fixtures/random-state/make.py.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createReferenceBackend, factorize, initialize, type BetaLossName, type Matrix, type Solver } from '../../src-main/engine/index.js';
import { numpyMean } from '../../src-main/engine/init.js';
import { RandomState, roundedLog } from '../../src-main/engine/rng.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { relDiff } from './support.js';

interface Case {
  name: string;
  kind: 'normals' | 'init' | 'fit' | 'founding';
  seed: number;
  init?: 'random' | 'nndsvdar';
  dtype?: 'float64' | 'float32';
  rank?: number;
  mean?: number;
  solver?: Solver;
  beta_loss?: BetaLossName;
  n_iter?: number;
  reconstruction_err?: number;
}

const manifest = JSON.parse(readFileSync(fixture('random-state', 'manifest.json'), 'utf8')) as { cases: Case[] };
const load = (c: Case, file: string): Matrix => readNpy(fixture('random-state', c.name, file));
const kind = (k: Case['kind']): Case[] => manifest.cases.filter((c) => c.kind === k);

/** The largest |a − b| / |b| over the entries (0 where both are 0). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return worst;
}

function countDifferent(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

test('the fixtures cover five seeds, both dtypes, random and nndsvdar starts, cd and mu fits and the founding example', () => {
  assert.deepEqual(kind('normals').map((c) => c.seed), [0, 1, 42, 2 ** 31 - 1, 2 ** 32 - 1]);
  const inits = kind('init');
  for (const dtype of ['float64', 'float32']) {
    assert.ok(inits.some((c) => c.init === 'random' && c.dtype === dtype));
    assert.ok(inits.some((c) => c.init === 'nndsvdar' && c.dtype === dtype));
  }
  const fits = kind('fit');
  assert.ok(fits.some((c) => c.solver === 'cd' && c.n_iter! < 200));
  assert.ok(fits.some((c) => c.solver === 'mu' && c.beta_loss === 'frobenius' && c.n_iter! < 200));
  assert.ok(fits.some((c) => c.solver === 'mu' && c.beta_loss === 'kullback-leibler' && c.n_iter! < 200));
  assert.equal(kind('founding').length, 1);
});

for (const c of kind('normals')) {
  test(`RandomState(${c.seed}): random_sample bit for bit, standard_normal to the last bit but for rare 1-ulp logs`, () => {
    const uniforms = load(c, 'uniforms.npy').data;
    const rs = new RandomState(c.seed);
    const mine = Float64Array.from(uniforms, () => rs.randomSample());
    assert.equal(countDifferent(mine, uniforms), 0);

    const normals = load(c, 'normals.npy').data;
    const rn = new RandomState(c.seed);
    const drawn = Float64Array.from(normals, () => rn.standardNormal());
    assert.ok(maxRelDiff(drawn, normals) <= 1e-15, `max relative difference ${maxRelDiff(drawn, normals)}`);
    // Math.log alone would leave about 60 of these 2000 a bit or two apart.
    assert.ok(countDifferent(drawn, normals) <= 4, `${countDifferent(drawn, normals)} of ${normals.length} normals differ`);
  });
}

test('roundedLog: exact where the answer is known, within an ulp of Math.log elsewhere', () => {
  assert.equal(roundedLog(1), 0);
  assert.equal(roundedLog(2), Math.LN2);
  assert.equal(roundedLog(0.5), -Math.LN2);
  assert.equal(roundedLog(Math.E), 1);
  const rs = new RandomState(9);
  for (let i = 0; i < 10000; i++) {
    const x = rs.randomSample() * 10 ** (rs.randomSample() * 40 - 30);
    const a = roundedLog(x);
    const b = Math.log(x);
    assert.ok(Math.abs(a - b) <= 2.3e-16 * Math.abs(b), `${x}: ${a} vs ${b}`);
  }
  assert.ok(Number.isNaN(roundedLog(-1)) && roundedLog(0) === -Infinity);
});

for (const c of kind('init')) {
  const label = `${c.name}: ${c.init} start for random_state=${c.seed}`;
  test(c.dtype === 'float32' ? `${label}, exactly (float32)` : `${label}, to 1e-12 (float64)`, async () => {
    const V = load(c, 'V.npy');
    assert.equal(V.data instanceof Float32Array ? 'float32' : 'float64', c.dtype);
    // V.mean() as NumPy sums it: the scale of every random start.
    assert.equal(numpyMean(V), c.mean);
    const { W, H } = await initialize(V, c.rank!, c.init, c.seed);
    const expectedW = load(c, 'W.npy');
    const expectedH = load(c, 'H.npy');
    assert.equal(W.data.constructor, expectedW.data.constructor);
    if (c.init === 'random') {
      if (c.dtype === 'float32') {
        assert.equal(countDifferent(W.data, expectedW.data), 0, 'W');
        assert.equal(countDifferent(H.data, expectedH.data), 0, 'H');
      } else {
        assert.ok(maxRelDiff(W.data, expectedW.data) <= 1e-12, `W: ${maxRelDiff(W.data, expectedW.data)}`);
        assert.ok(maxRelDiff(H.data, expectedH.data) <= 1e-12, `H: ${maxRelDiff(H.data, expectedH.data)}`);
      }
      return;
    }
    // nndsvdar: the NNDSVD part comes from an SVD (scikit-learn's randomized one, the engine's exact one), so
    // it agrees to the SVD's accuracy; the random fill of the zeros it leaves agrees to the last bit.
    const plain = await initialize(V, c.rank!, 'nndsvd', c.seed);
    const tolerance = c.dtype === 'float32' ? 1e-4 : 1e-6;
    for (const [name, mine, expected, sklearnPlain, minePlain] of [
      ['W', W, expectedW, load(c, 'W_nndsvd.npy'), plain.W],
      ['H', H, expectedH, load(c, 'H_nndsvd.npy'), plain.H],
    ] as const) {
      const zeros = [...sklearnPlain.data.keys()].filter((i) => sklearnPlain.data[i] === 0);
      assert.ok(zeros.length > 0, `${name}: nndsvd leaves zeros to fill`);
      assert.deepEqual(zeros, [...minePlain.data.keys()].filter((i) => minePlain.data[i] === 0), `${name}: the same zeros`);
      const filled = zeros.map((i) => mine.data[i]!);
      const expectedFill = zeros.map((i) => expected.data[i]!);
      assert.ok(maxRelDiff(filled, expectedFill) <= (c.dtype === 'float32' ? 0 : 1e-15), `${name} fill: ${maxRelDiff(filled, expectedFill)}`);
      assert.ok(relDiff(mine, expected) <= tolerance, `${name}: ${relDiff(mine, expected)}`);
    }
  });
}

for (const c of kind('fit')) {
  test(`${c.name}: ${c.solver}/${c.beta_loss} from init 'random', seed ${c.seed}: scikit-learn's W, H and n_iter_`, async () => {
    const V = load(c, 'V.npy');
    const result = await factorize(V, {
      rank: c.rank!,
      solver: c.solver,
      betaLoss: c.beta_loss,
      init: 'random',
      seed: c.seed,
      backend: createReferenceBackend(),
    });
    assert.equal(result.iterations, c.n_iter);
    const dW = relDiff(result.W, load(c, 'W.npy'));
    const dH = relDiff(result.H, load(c, 'H.npy'));
    assert.ok(dW <= 1e-6, `W differs by ${dW}`);
    assert.ok(dH <= 1e-6, `H differs by ${dH}`);
    // scikit-learn's reconstruction_err_ is sqrt(2 · loss).
    const err = Math.sqrt(2 * result.loss);
    assert.ok(Math.abs(err / c.reconstruction_err! - 1) <= 1e-7, `reconstruction error ${err} vs ${c.reconstruction_err}`);
  });
}

test('seeds outside NumPy’s 0 … 2³² − 1 are refused with one line', async () => {
  const V: Matrix = { rows: 2, cols: 2, data: Float64Array.from([1, 2, 3, 4]) };
  for (const seed of [-1, 2 ** 32, 2 ** 40]) {
    await assert.rejects(initialize(V, 1, 'random', seed), /seed must be a whole number from 0 to 4294967295/);
  }
});
