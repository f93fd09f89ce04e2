// Every backend available here binding a sparse V, against the reference backend on the same V held dense:
// products with V, the β-divergence terms and losses (W·H at the non-zeros only), and short fits.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { factorize } from '../../src-main/engine/index.js';
import { sparseOf } from '../../src-main/engine/sparse.js';
import { assertClose, assertNear, assertSameProducts, CONFORMANCE, conformanceProviders, seeded, TOLERANCE, withBackend, zeros } from './support.js';

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [19, 23, 5],
  [130, 41, 8],
  [12, 301, 12],
];
const BETAS = [0, 0.5, 1, 1.5, 2, 3];

const reference = createReferenceBackend();
// every backend the conformance suite covers (the GPU on headless-gl, software renderer accepted) that runs here
const providers = (await conformanceProviders()).filter((p) => !p.unavailable).map((p) => p.provider);

for (const provider of providers) {
  // the GPU backend (no entry in TOLERANCE): float32 products, a float32 tolerance
  const tol = TOLERANCE[provider.name] ?? 1e-3;
  describe(`${provider.name} backend, sparse V`, () => {
    for (const [rows, cols, rank] of SHAPES) {
      test(`products and β terms at the non-zeros, ${rows}×${cols} rank ${rank}`, () =>
        withBackend(provider, async (backend) => {
          const V = seeded(rows, cols, rows * 7 + cols, { zeros: 0.8 });
          const W = seeded(rows, rank, 3, { lo: 0.05 });
          const H = seeded(rank, cols, 4, { zeros: 0.3 });
          const mine = await backend.bind(sparseOf(V));
          const ref = await reference.bind(V);
          try {
            await assertSameProducts(backend, mine, ref, W, H, CONFORMANCE[provider.name]!.entries);
            for (const beta of BETAS) {
              for (const side of ['W', 'H'] as const) {
                const [r, c] = side === 'W' ? [rows, rank] : [rank, cols];
                const [n1, d1, n2, d2] = [zeros(r, c), zeros(r, c), zeros(r, c), zeros(r, c)];
                if (beta === 2) continue;
                await (side === 'W' ? mine.betaTermsW(W, H, beta, n1, d1) : mine.betaTermsH(W, H, beta, n1, d1));
                await (side === 'W' ? ref.betaTermsW(W, H, beta, n2, d2) : ref.betaTermsH(W, H, beta, n2, d2));
                // β < 1 divides by EPSILON where W·H = 0: the terms span many orders, so compare them relative to each entry
                assertClose(n1.data, n2.data, beta < 1 ? 1e-3 : 10 * tol, `β ${beta} numerator ${side}`);
                assertClose(d1.data, d2.data, beta < 1 ? 1e-3 : 10 * tol, `β ${beta} denominator ${side}`);
              }
              const got = await mine.divergences!(W, H, beta);
              const want = await ref.divergences!(W, H, beta);
              assertNear(got.frobenius, want.frobenius, 10 * tol, `Frobenius with β ${beta}`);
              assertNear(got.beta, want.beta, 1e-4, `β ${beta} divergence`);
            }
            await assert.rejects(mine.setCells(new Uint32Array([0]), [1]), /sparse V has no missing cells/);
          } finally {
            await mine.dispose();
            await ref.dispose();
          }
        }));
    }

    for (const [solver, betaLoss] of [['cd', 'frobenius'], ['hals', 'frobenius'], ['mu', 'frobenius'], ['mu', 'kullback-leibler']] as const) {
      test(`${solver} ${betaLoss} on a sparse V fits as the reference does on the dense V`, () =>
        withBackend(provider, async (backend) => {
          const V = seeded(90, 70, 17, { zeros: 0.85 });
          // V is float32: the reference sums in float64 but stores float32, so sparse and dense round apart by ~1e-8
          const options = { rank: 5, solver, betaLoss, maxIter: 30, tol: 0 } as const;
          const got = await factorize(sparseOf(V), { ...options, backend });
          const want = await factorize(V, { ...options, backend: reference });
          assertNear(got.loss, want.loss, provider.name === 'reference' ? 1e-6 : 1e-2, 'loss');
          assertNear(got.relErr, want.relErr, provider.name === 'reference' ? 1e-6 : 1e-2, 'relErr');
        }));
    }
  });
}
