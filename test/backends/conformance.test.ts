// Every backend available here against the reference backend: each BoundV operation and matmul on odd
// shapes, the β-divergence terms for several β, missing-cell updates, and a short factorize() per solver.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, BoundV } from '../../src-main/engine/backends/backend.js';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { factorize } from '../../src-main/engine/index.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import type { Solver } from '../../src-main/engine/options.js';
import { sweepH, sweepW } from '../../src-main/engine/solvers/sweep.js';
import { assertClose, assertNear, assertSameProducts, availableProviders, seeded, TOLERANCE, withBackend, zeros } from './support.js';

/** rows, cols, rank: sizes around and between the SIMD blocks (4, 6, 8, 16), plus a tall and a wide one. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 9, 3],
  [19, 23, 5],
  [33, 65, 17],
  [130, 41, 8],
  [12, 301, 12],
];
const BETAS = [0, 0.5, 1, 1.5, 3];

const reference = createReferenceBackend();
const providers = await availableProviders();

for (const provider of providers) {
  const tol = TOLERANCE[provider.name]!;
  describe(`${provider.name} backend`, () => {
    for (const [rows, cols, rank] of SHAPES) {
      test(`products with V, ${rows}×${cols} rank ${rank}`, () =>
        withBackend(provider, async (backend) => {
          const V = seeded(rows, cols, rows * 31 + cols);
          const W = seeded(rows, rank, 7 + rank);
          const H = seeded(rank, cols, 11 + rank);
          await both(backend, V, async (mine, ref) => {
            await assertSameProducts(mine, ref, W, H, tol);
            assertNear(await mine.betaDivergence(W, H, 2), await ref.betaDivergence(W, H, 2), 10 * tol, 'Frobenius loss');
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
                const got = [zeros(r, c), zeros(r, c)], want = [zeros(r, c), zeros(r, c)];
                const run = (b: BoundV, out: Matrix[]) =>
                  side === 'H' ? b.betaTermsH(W, H, beta, out[0]!, out[1]!) : b.betaTermsW(W, H, beta, out[0]!, out[1]!);
                await run(mine, got);
                await run(ref, want);
                // Powers of values near EPSILON amplify float32 rounding of W·H: a looser bound than plain products.
                assertClose(got[0]!.data, want[0]!.data, 50 * tol, `betaTerms${side} numerator, β=${beta}`);
                assertClose(got[1]!.data, want[1]!.data, 50 * tol, `betaTerms${side} denominator, β=${beta}`);
              }
              const loss = await mine.betaDivergence(W, H, beta);
              assertNear(loss, await ref.betaDivergence(W, H, beta), 100 * tol, `β-divergence, β=${beta}`);
              if (mine.divergences) {
                const both = await mine.divergences(W, H, beta);
                assertNear(both.beta, loss, 100 * tol, `divergences().beta, β=${beta}`);
                assertNear(both.frobenius, await ref.betaDivergence(W, H, 2), 10 * tol, `divergences().frobenius, β=${beta}`);
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
            const got = zeros(rows, cols), want = zeros(rows, cols);
            await backend.matmul(a, b, ta, tb, got);
            await reference.matmul(a, b, ta, tb, want);
            assertClose(got.data, want.data, tol, `matmul transA=${ta} transB=${tb}`);
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
          const got = zeros(6, 37), want = zeros(6, 37);
          await mine.WtV(W, got);
          await ref.WtV(W, want);
          assertClose(got.data, want.data, tol, 'WtV after setCells');
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
            assertClose(mine.data, theirs.data, 10 * tol, `sweep ${side}: factor`);
            assertNear(got.violation, want.violation, 10 * tol, `sweep ${side}: violation`);
            assertNear(got.change, want.change, 100 * tol, `sweep ${side}: change`);
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
      test(`factorize ${run.solver}${run.betaLoss ? ` (${run.betaLoss})` : ''}: 15 iterations follow the reference`, () =>
        withBackend(provider, async (backend) => {
          const V = seeded(48, 61, 77, { lo: 0.1 });
          const options = { rank: 6, maxIter: 15, tol: 0, ...run };
          const mine = await factorize(V, { ...options, backend });
          // Same planning on both sides: hals sizes its inner sweeps from the backend's productSpeedup hint.
          const planned = Object.assign(Object.create(reference) as Backend, { productSpeedup: backend.productSpeedup });
          const want = await factorize(V, { ...options, backend: planned });
          assert.equal(mine.iterations, want.iterations);
          assertNear(mine.relErr, want.relErr, 1000 * tol, 'relErr');
          assertClose(mine.W.data, want.W.data, 1000 * tol, 'W');
          assertClose(mine.H.data, want.H.data, 1000 * tol, 'H');
        }));
    }
  });
}

test('the reference and CPU backends are both available on this machine', () => {
  const names = providers.map((p) => p.name);
  assert.ok(names.includes('reference'));
  assert.ok(names.includes('cpu'), 'the CPU backend should run wherever Node has WebAssembly threads');
});

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
