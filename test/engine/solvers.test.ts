import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  convert,
  createReferenceBackend,
  factorize,
  relErr,
  type FactorizeOptions,
  type Matrix,
  type Progress,
} from '../../src-main/engine/index.js';
import { minOf, plantedLowRank, relDiff } from './support.js';

const backend = createReferenceBackend();
const { V } = plantedLowRank(40, 30, 4, 0.3, 11, 0.05);

async function losses(options: Partial<FactorizeOptions>, data: Matrix = V): Promise<{ trace: Progress[]; W: Matrix; H: Matrix }> {
  const trace: Progress[] = [];
  const r = await factorize(data, { rank: 4, backend, tol: 0, onProgress: (p) => trace.push(p), ...options });
  return { trace, W: r.W, H: r.H };
}

function assertNonIncreasing(trace: Progress[], label: string, slack = 1e-12): void {
  for (let i = 1; i < trace.length; i++) {
    const before = trace[i - 1]!.loss;
    const after = trace[i]!.loss;
    assert.ok(after <= before * (1 + slack) + 1e-300, `${label}: loss rose at iteration ${i}: ${before} → ${after}`);
  }
}

for (const betaLoss of ['frobenius', 'kullback-leibler', 'itakura-saito', 0.5, 1.5, 3] as const) {
  test(`mu never increases the ${betaLoss} loss and keeps W, H non-negative`, async () => {
    const { trace, W, H } = await losses({ solver: 'mu', betaLoss, maxIter: 60, init: 'nndsvda' });
    assert.equal(trace.length, 61);
    assertNonIncreasing(trace, String(betaLoss));
    assert.ok(trace.at(-1)!.loss < trace[0]!.loss * 0.9, 'the loss went down overall');
    assert.ok(minOf(W) >= 0 && minOf(H) >= 0);
  });
}

test('mu with l1 and l2 regularisation keeps the factors non-negative and finite', async () => {
  const { W, H } = await losses({ solver: 'mu', betaLoss: 'kullback-leibler', alphaW: 0.01, l1Ratio: 0.5, maxIter: 40 });
  assert.ok(minOf(W) >= 0 && minOf(H) >= 0);
  assert.ok([...W.data, ...H.data].every(Number.isFinite));
});

for (const solver of ['cd', 'hals'] as const) {
  test(`${solver} decreases the loss every iteration, factors stay non-negative`, async () => {
    for (const init of ['nndsvda', 'random', 'nndsvd'] as const) {
      const { trace, W, H } = await losses({ solver, init, maxIter: 50 });
      assertNonIncreasing(trace, `${solver}/${init}`, 1e-9);
      assert.ok(trace.at(-1)!.relErr < 0.2, `${solver}/${init} fits: relErr ${trace.at(-1)!.relErr}`);
      assert.ok(minOf(W) >= 0 && minOf(H) >= 0);
    }
  });
}

test('progress reports relErr = ‖V−WH‖/‖V‖ and the result agrees with a direct computation', async () => {
  for (const solver of ['mu', 'cd', 'hals'] as const) {
    const trace: Progress[] = [];
    const r = await factorize(V, { rank: 4, solver, backend, maxIter: 25, tol: 0, onProgress: (p) => trace.push(p) });
    const direct = relErr(V, r.W, r.H);
    assert.ok(Math.abs(r.relErr - direct) <= 1e-9 * direct, `${solver}: ${r.relErr} vs ${direct}`);
    assert.ok(Math.abs(trace.at(-1)!.relErr - direct) <= 1e-9 * direct);
    assert.equal(trace.at(-1)!.iteration, 25);
    assert.ok(Math.abs(r.loss - (direct ** 2 * sumSq(V)) / 2) <= 1e-9 * r.loss);
  }
});

function sumSq(m: Matrix): number {
  let s = 0;
  for (const x of m.data) s += x * x;
  return s;
}

test('maxIter 0 returns the initialisation unchanged', async () => {
  const W0 = plantedLowRank(40, 4, 1, 0, 3).V;
  const H0 = plantedLowRank(4, 30, 1, 0, 4).V;
  for (const solver of ['mu', 'cd', 'hals'] as const) {
    const r = await factorize(V, { rank: 4, solver, backend, init: 'custom', W0, H0, maxIter: 0 });
    assert.deepEqual(Array.from(r.W.data), Array.from(W0.data));
    assert.deepEqual(Array.from(r.H.data), Array.from(H0.data));
    assert.equal(r.iterations, 0);
    assert.equal(r.stopReason, 'maxIter');
    assert.ok(Math.abs(r.relErr - relErr(V, W0, H0)) < 1e-12);
  }
  assert.notEqual(W0.data[0], 0, 'the caller’s W0 was not touched');
});

test('the same seed gives the same factors; another seed does not', async () => {
  for (const init of ['random', 'nndsvdar'] as const) {
    const a = await factorize(V, { rank: 4, init, seed: 5, backend, maxIter: 30 });
    const b = await factorize(V, { rank: 4, init, seed: 5, backend, maxIter: 30 });
    const c = await factorize(V, { rank: 4, init, seed: 6, backend, maxIter: 30 });
    assert.deepEqual(Array.from(a.W.data), Array.from(b.W.data));
    assert.deepEqual(Array.from(a.H.data), Array.from(b.H.data));
    assert.notDeepEqual(Array.from(a.W.data), Array.from(c.W.data));
  }
});

test('targetRelErr stops as soon as the relative error is reached', async () => {
  for (const solver of ['mu', 'cd', 'hals'] as const) {
    const full = await losses({ solver, maxIter: 200 });
    const target = 0.5 * (full.trace[1]!.relErr + full.trace.at(-1)!.relErr);
    const expected = full.trace.findIndex((p) => p.relErr <= target);
    const r = await factorize(V, { rank: 4, solver, backend, maxIter: 200, tol: 0, targetRelErr: target });
    assert.equal(r.stopReason, 'targetRelErr');
    assert.equal(r.iterations, expected, `${solver} stops at the first iteration under the target`);
    assert.ok(r.relErr <= target);
    assert.ok(r.iterations < 200);
  }
});

test('tol stops cd and mu before maxIter, as scikit-learn does', async () => {
  const cd = await factorize(V, { rank: 4, solver: 'cd', backend, tol: 1e-2, maxIter: 500 });
  assert.equal(cd.stopReason, 'tol');
  assert.ok(cd.iterations < 500);
  const mu = await factorize(V, { rank: 4, solver: 'mu', backend, tol: 1e-3, maxIter: 500 });
  assert.equal(mu.stopReason, 'tol');
  assert.equal(mu.iterations % 10, 0, 'mu checks every 10 iterations');
  const hals = await factorize(V, { rank: 4, solver: 'hals', backend, tol: 1e-3, maxIter: 500 });
  assert.equal(hals.stopReason, 'tol');
  assert.equal(hals.iterations % 10, 0);
});

test('cancellation rejects with CancelledError within one iteration', async () => {
  for (const solver of ['mu', 'cd', 'hals'] as const) {
    const controller = new AbortController();
    let last = -1;
    await assert.rejects(
      factorize(V, {
        rank: 4,
        solver,
        backend,
        maxIter: 1000,
        tol: 0,
        signal: controller.signal,
        onProgress: (p) => {
          last = p.iteration;
          if (p.iteration === 3) controller.abort();
        },
      }),
      CancelledError,
    );
    assert.equal(last, 3, `${solver} ran no further iteration after the abort`);
  }
});

test('an abort from a timer stops a long run (the engine lets the event loop run)', async () => {
  const big = plantedLowRank(150, 120, 8, 0.1, 2).V;
  const controller = new AbortController();
  let iterations = 0;
  let started = 0;
  // The timer is armed once iterations are under way (however slow a loaded machine makes the start), so
  // only the engine's own yielding to the event loop can let it fire.
  const onProgress = (p: { iteration: number }) => {
    iterations = p.iteration;
    if (p.iteration === 1) {
      started = Date.now();
      setTimeout(() => controller.abort(), 100);
    }
  };
  await assert.rejects(
    factorize(big, { rank: 8, solver: 'mu', backend, maxIter: 1_000_000, tol: 0, signal: controller.signal, onProgress }),
    CancelledError,
  );
  assert.ok(started > 0 && Date.now() - started < 5000);
  assert.ok(iterations > 1);
});

test('float32 V gives float32 factors that match the float64 run closely', async () => {
  for (const solver of ['mu', 'cd', 'hals'] as const) {
    const r64 = await factorize(V, { rank: 4, solver, backend, maxIter: 50, tol: 0 });
    const r32 = await factorize(convert(V, 'float32'), { rank: 4, solver, backend, maxIter: 50, tol: 0 });
    assert.ok(r32.W.data instanceof Float32Array && r32.H.data instanceof Float32Array);
    assert.ok(r64.W.data instanceof Float64Array);
    assert.ok(relDiff(r32.W, r64.W) < 1e-3, `${solver} W: ${relDiff(r32.W, r64.W)}`);
    assert.ok(relDiff(r32.H, r64.H) < 1e-3, `${solver} H: ${relDiff(r32.H, r64.H)}`);
    assert.ok(Math.abs(r32.relErr / r64.relErr - 1) < 1e-4);
  }
});

test('defaults: cd, frobenius, nndsvda when rank ≤ min(rows, cols), random otherwise', async () => {
  const r = await factorize(V, { rank: 4, backend, maxIter: 5 });
  assert.equal(r.solver, 'cd');
  assert.equal(r.betaLoss, 'frobenius');
  assert.equal(r.init, 'nndsvda');
  const tall = plantedLowRank(6, 5, 2, 0.1, 1).V;
  const wide = await factorize(tall, { rank: 7, backend, maxIter: 5 });
  assert.equal(wide.init, 'random');
  const warm = await factorize(V, { rank: 4, backend, maxIter: 0, W0: r.W, H0: r.H });
  assert.equal(warm.init, 'custom');
});

test('progress hands out the live factors, so a preview can be drawn mid-run', async () => {
  const previews: number[] = [];
  const r = await factorize(V, {
    rank: 4,
    solver: 'hals',
    backend,
    maxIter: 8,
    tol: 0,
    onProgress: (p, current) => {
      assert.equal(current.W.rows, 40);
      assert.equal(current.H.cols, 30);
      previews.push(relErr(V, current.W, current.H));
      assert.ok(Math.abs(previews.at(-1)! - p.relErr) <= 1e-9 * p.relErr, 'the factors are those the figures describe');
    },
  });
  assert.equal(previews.length, 9);
  assert.ok(previews[8]! < previews[0]!);
  assert.equal(previews[8], relErr(V, r.W, r.H));
});
