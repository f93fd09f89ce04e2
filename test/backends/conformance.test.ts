// Every backend against the reference backend: each BoundV operation and matmul on odd shapes, the β-divergence
// terms for several β, missing-cell updates, and a short factorize() per solver, with and without missing values.
// The gpu backend runs on headless-gl, a software renderer accepted (see softwareGpuProvider): under Xvfb on CI.
// A backend that cannot run here is reported as a skipped suite with the reason; with NMF_TEST_REQUIRE_GPU=1
// (set by .ci/run) a gpu backend that cannot run fails instead.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, BoundV } from '../../src-main/engine/backends/backend.js';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { factorize } from '../../src-main/engine/index.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import type { Solver } from '../../src-main/engine/options.js';
import { sweepH, sweepW } from '../../src-main/engine/solvers/sweep.js';
import { assertEntriesClose, assertNear, assertSameProducts, CONFORMANCE, conformanceProviders, seeded, withBackend, zeros, zerosFor } from './support.js';

/** rows, cols, rank: sizes around and between the SIMD blocks (4, 6, 8, 16), plus a tall and a wide one. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 9, 3],
  [19, 23, 5],
  [33, 65, 17],
  [130, 41, 8],
  [12, 301, 12],
];
/**
 * Mesa's software renderer compiles every kernel for every shape, slowly: the gpu backend takes the first four
 * (about 20 s under Xvfb here; all six take 80 s). The tall and wide shapes stay with the CPU backend's SIMD blocks.
 */
const GPU_SHAPES = SHAPES.slice(0, 4);
const BETAS = [0, 0.5, 1, 1.5, 3];

const reference = createReferenceBackend();
const candidates = await conformanceProviders();
const providers = candidates.flatMap((c) => (c.unavailable === undefined ? [c.provider] : []));

for (const { provider, unavailable } of candidates) {
  if (unavailable === undefined) continue;
  if (provider.name === 'gpu' && process.env.NMF_TEST_REQUIRE_GPU === '1') {
    test(`${provider.name} backend runs here (NMF_TEST_REQUIRE_GPU=1)`, () => assert.fail(`the gpu backend cannot run: ${unavailable}`));
  } else {
    test(`${provider.name} backend`, { skip: unavailable }, () => undefined);
  }
}

for (const provider of providers) {
  const tol = CONFORMANCE[provider.name]!;
  describe(`${provider.name} backend`, () => {
    for (const [rows, cols, rank] of provider.name === 'gpu' ? GPU_SHAPES : SHAPES) {
      test(`products with V, ${rows}×${cols} rank ${rank}`, () =>
        withBackend(provider, async (backend) => {
          const V = seeded(rows, cols, rows * 31 + cols);
          const W = seeded(rows, rank, 7 + rank);
          const H = seeded(rank, cols, 11 + rank);
          await both(backend, V, async (mine, ref) => {
            await assertSameProducts(backend, mine, ref, W, H, tol.entries);
            assertNear(await mine.betaDivergence(W, H, 2), await ref.betaDivergence(W, H, 2), tol.loss, 'Frobenius loss');
          });
        }));

      test(`β-divergence terms and losses, ${rows}×${cols} rank ${rank}`, () =>
        withBackend(provider, async (backend) => {
          // Zeros in V and in H exercise scikit-learn's EPSILON clipping (W·H = 0 where a row of W meets zeros).
          const V = seeded(rows, cols, rows + 5 * cols, { zeros: 0.2 });
          const W = seeded(rows, rank, 3, { lo: 0.05 });
          const H = seeded(rank, cols, 4, { zeros: 0.3 });
          await both(backend, V, async (mine, ref) => {
            for (const beta of BETAS) {
              for (const side of ['H', 'W'] as const) {
                const [r, c] = side === 'H' ? [rank, cols] : [rows, rank];
                const got = [zerosFor(backend, r, c), zerosFor(backend, r, c)], want = [exact(r, c), exact(r, c)];
                const run = (b: BoundV, out: Matrix[]) =>
                  side === 'H' ? b.betaTermsH(W, H, beta, out[0]!, out[1]!) : b.betaTermsW(W, H, beta, out[0]!, out[1]!);
                await run(mine, got);
                await run(ref, want);
                assertEntriesClose(got[0]!, want[0]!, { rtol: tol.entries }, `betaTerms${side} numerator, β=${beta}`);
                assertEntriesClose(got[1]!, want[1]!, { rtol: tol.entries }, `betaTerms${side} denominator, β=${beta}`);
              }
              const loss = await mine.betaDivergence(W, H, beta);
              assertNear(loss, await ref.betaDivergence(W, H, beta), tol.loss, `β-divergence, β=${beta}`);
              if (mine.divergences) {
                const both = await mine.divergences(W, H, beta);
                assertNear(both.beta, loss, tol.loss, `divergences().beta, β=${beta}`);
                assertNear(both.frobenius, await ref.betaDivergence(W, H, 2), tol.loss, `divergences().frobenius, β=${beta}`);
              }
            }
          });
        }));

      test(`matmul with every transpose, ${rows}×${cols} rank ${rank}`, () =>
        withBackend(provider, async (backend) => {
          const A = seeded(rows, rank, 21);
          const At = seeded(rank, rows, 22);
          const B = seeded(rank, cols, 23);
          const Bt = seeded(cols, rank, 24);
          for (const [a, b, ta, tb] of [
            [A, B, false, false],
            [At, B, true, false],
            [A, Bt, false, true],
            [At, Bt, true, true],
          ] as const) {
            const got = zerosFor(backend, rows, cols), want = exact(rows, cols);
            await backend.matmul(a, b, ta, tb, got);
            await reference.matmul(a, b, ta, tb, want);
            assertEntriesClose(got, want, { rtol: tol.entries }, `matmul transA=${ta} transB=${tb}`);
          }
        }));
    }

    test('setCells changes V for every later product, never the caller’s array', () =>
      withBackend(provider, async (backend) => {
        const V = seeded(29, 37, 5);
        const original = V.data.slice();
        const W = seeded(29, 6, 6);
        const indices = Uint32Array.from([0, 5, 36, 37, 29 * 37 - 1]);
        const values = [9, 0, 4.5, 2, 7];
        await both(backend, V, async (mine, ref) => {
          await mine.setCells(indices, values);
          await ref.setCells(indices, values);
          const got = zerosFor(backend, 6, 37), want = exact(6, 37);
          await mine.WtV(W, got);
          await ref.WtV(W, want);
          assertEntriesClose(got, want, { rtol: tol.entries }, 'WtV after setCells');
          assert.equal((mine.V as Matrix).data[36], 4.5);
        });
        assert.deepEqual(V.data, original);
      }));

    test('a sweep done by the backend matches the engine’s own', () =>
      withBackend(provider, async (backend) => {
        const [rows, cols, rank] = [45, 70, 9];
        const bound = await backend.bind(seeded(rows, cols, 1));
        try {
          if (!bound.sweep) return;
          const B = seeded(rank, rank, 2);
          for (let a = 0; a < rank; a++) {
            for (let b = 0; b < a; b++) B.data[a * rank + b] = B.data[b * rank + a]!;
            B.data[a * rank + a]! += rank;
          }
          for (const side of ['W', 'H'] as const) {
            const factor = side === 'W' ? seeded(rows, rank, 3, { zeros: 0.2 }) : seeded(rank, cols, 4, { zeros: 0.2 });
            const A = seeded(factor.rows, factor.cols, 5, { lo: -0.5 });
            const mine = { ...factor, data: factor.data.slice() };
            const theirs = { ...factor, data: factor.data.slice() };
            const sweep = side === 'W' ? sweepW : sweepH;
            const got = sweep(mine, B, A, true, bound);
            const want = sweep(theirs, B, A, true);
            assertEntriesClose(mine, theirs, { rtol: tol.factors, atol: tol.factors, scaleBy: 'all' }, `sweep ${side}: factor`);
            assertNear(got.violation, want.violation, tol.relErr, `sweep ${side}: violation`);
            assertNear(got.change, want.change, tol.factors, `sweep ${side}: change`);
          }
        } finally {
          await bound.dispose();
        }
      }));

    const runs: { solver: Solver; betaLoss?: 'kullback-leibler' | 'itakura-saito' }[] = [
      { solver: 'mu' },
      { solver: 'mu', betaLoss: 'kullback-leibler' },
      { solver: 'mu', betaLoss: 'itakura-saito' },
      { solver: 'cd' },
      { solver: 'hals' },
    ];
    for (const run of runs) {
      for (const masked of [false, true]) {
        const title = `factorize ${run.solver}${run.betaLoss ? ` (${run.betaLoss})` : ''}${masked ? ' with missing values' : ''}`;
        test(`${title}: 15 iterations follow the reference`, () =>
          withBackend(provider, async (backend) => {
            const V = seeded(48, 61, 77, { lo: 0.1 });
            // every 7th cell missing: the fit imputes them through setCells on the backend's resident V
            if (masked) for (let c = 0; c < V.data.length; c += 7) V.data[c] = NaN;
            const options = { rank: 6, maxIter: 15, tol: 0, ...run };
            const mine = await factorize(V, { ...options, backend });
            // Same planning on both sides: hals sizes its inner sweeps from the backend's productSpeedup hint.
            const planned = Object.assign(Object.create(reference) as Backend, { productSpeedup: backend.productSpeedup });
            const want = await factorize(V, { ...options, backend: planned });
            assert.equal(mine.iterations, want.iterations);
            assert.equal(mine.missing, masked ? Math.ceil(V.data.length / 7) : 0);
            assertNear(mine.relErr, want.relErr, tol.relErr, 'relErr');
            assertEntriesClose(mine.W, want.W, { rtol: tol.factors, atol: tol.factors, scaleBy: 'row' }, 'W');
            assertEntriesClose(mine.H, want.H, { rtol: tol.factors, atol: tol.factors, scaleBy: 'col' }, 'H');
          }));
      }
    }
  });
}

test('the reference and CPU backends are both available on this machine', () => {
  const names = providers.map((p) => p.name);
  assert.ok(names.includes('reference'));
  assert.ok(names.includes('cpu'), 'the CPU backend should run wherever Node has WebAssembly threads');
});

/** A float64 matrix of zeros for the reference backend's answers. */
function exact(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

async function both(backend: Backend, V: Matrix, run: (mine: BoundV, ref: BoundV) => Promise<void>): Promise<void> {
  const mine = await backend.bind(V);
  const ref = await reference.bind(V);
  try {
    await run(mine, ref);
  } finally {
    await mine.dispose();
    await ref.dispose();
  }
}
