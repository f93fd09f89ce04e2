// Every backend available here binding a sparse V, against the reference backend on the same V held dense:
// products with V, the β-divergence terms and losses (W·H at the non-zeros only), and short fits. The gpu backend
// runs its sparse kernels for every product here (sparseMinWork 0), on odd ranks, empty rows and columns, row blocks.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { factorize } from '../../src-main/engine/index.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { sparseOf } from '../../src-main/engine/sparse.js';
import { createGpuBackend } from '../../src-main/backends/gpu/index.js';
import { planRowBlocks, SPARSE_MIN_WORK, sparsePlacement, type GpuSparseBoundV } from '../../src-main/backends/gpu/sparse.js';
import { assertClose, assertEntriesClose, assertNear, assertSameProducts, CONFORMANCE, conformanceProviders, seeded, TOLERANCE, withBackend, zeros } from './support.js';

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

// ---- the gpu backend's own sparse kernels (headless-gl, software renderer accepted) --------------------------------

const gpuProvider = providers.find((p) => p.name === 'gpu');

/** V with whole rows and columns empty (and sparse elsewhere): the CSR's and the CSC's empty runs. */
function withEmptyLines(rows: number, cols: number, seed: number): Matrix {
  const V = seeded(rows, cols, seed, { zeros: 0.7 });
  for (let i = 0; i < rows; i += 3) V.data.fill(0, i * cols, (i + 1) * cols);
  for (let j = 1; j < cols; j += 4) for (let i = 0; i < rows; i++) V.data[i * cols + j] = 0;
  return V;
}

describe('gpu backend, sparse V on the device', { skip: gpuProvider ? false : 'no gpu backend here' }, () => {
  // rank 1, 3, 7: never a multiple of 4 (a shader reading texels four floats at a time must not spill into the next row)
  for (const [rows, cols, rank, tileRows] of [
    [17, 26, 3, undefined],
    [40, 9, 7, undefined],
    [29, 31, 1, 5],
    [33, 14, 7, 4],
  ] as const) {
    test(`${rows}×${cols} rank ${rank} with empty rows and columns${tileRows ? `, in blocks of ${tileRows} rows` : ''}: every product on the device matches the reference`, async () => {
      const backend = await createGpuBackend({ modes: ['headlessgl'], allowSoftware: true, sparseMinWork: 0, ...(tileRows ? { tileRows } : {}) });
      const V = withEmptyLines(rows, cols, rows + cols);
      const W = seeded(rows, rank, 5, { lo: 0.05 });
      const H = seeded(rank, cols, 6, { zeros: 0.2 });
      const mine = (await backend.bind(sparseOf(V))) as GpuSparseBoundV;
      const ref = await reference.bind(V);
      try {
        if (tileRows) {
          const before = backend.kernels.compiled;
          await mine.VHt(H, zeros(rows, rank));
          // blocks are padded alike: one copy kernel per padded length and one product kernel, however many blocks
          assert.ok(backend.kernels.compiled - before <= 3, `${backend.kernels.compiled - before} kernels compiled for ${Math.ceil(rows / tileRows)} blocks`);
        }
        await assertSameProducts(backend, mine, ref, W, H, CONFORMANCE.gpu!.entries);
        for (const beta of [1, 0.5, 3]) {
          for (const side of ['W', 'H'] as const) {
            const [r, c] = side === 'W' ? [rows, rank] : [rank, cols];
            const [n1, d1, n2, d2] = [zeros(r, c), zeros(r, c), zeros(r, c), zeros(r, c)];
            await (side === 'W' ? mine.betaTermsW(W, H, beta, n1, d1) : mine.betaTermsH(W, H, beta, n1, d1));
            await (side === 'W' ? ref.betaTermsW(W, H, beta, n2, d2) : ref.betaTermsH(W, H, beta, n2, d2));
            assertEntriesClose(n1, n2, { rtol: beta < 1 ? 1e-3 : 1e-4 }, `β ${beta} numerator ${side}`);
          }
          const got = await mine.divergences(W, H, beta);
          const want = await ref.divergences!(W, H, beta);
          assertNear(got.beta, want.beta, 1e-4, `β ${beta} divergence`);
          assertNear(got.frobenius, want.frobenius, 1e-4, `Frobenius with β ${beta}`);
        }
        // the kernels ran: not one product fell back to the host
        assert.ok(mine.products.ran.device >= 10, `device products: ${mine.products.ran.device}`);
        assert.equal(mine.products.ran.host, 0);
      } finally {
        await mine.dispose();
        await ref.dispose();
        await backend.dispose();
      }
    });
  }

  test('by default a small sparse V stays on the host, and sparseNote says so by the same rule', async () => {
    const backend = await createGpuBackend({ modes: ['headlessgl'], allowSoftware: true });
    const S = sparseOf(withEmptyLines(30, 20, 1));
    const mine = (await backend.bind(S)) as GpuSparseBoundV;
    try {
      const out = zeros(30, 4);
      await mine.VHt(seeded(4, 20, 2), out);
      assert.deepEqual(mine.products.ran, { device: 0, host: 1 });
      assert.match(backend.sparseNote(S, 4), /^sparse V: its products run on the CPU \(TypeScript\), not on the GPU: too small to repay a dispatch \(81 non-zeros in 30×20, rank 4\)$/);
    } finally {
      await mine.dispose();
      await backend.dispose();
    }
  });
});

test('sparsePlacement: the device only where non-zeros outnumber rows plus columns and nnz·k repays a dispatch', () => {
  const big = 1 << 30;
  // 1000×1000 with 10⁵ non-zeros: 100× the rows plus columns, 2·10⁶ multiply-adds at rank 20
  assert.equal(sparsePlacement(1000, 1000, 1e5, 20, SPARSE_MIN_WORK, big).onDevice, true);
  assert.match(sparsePlacement(1000, 1000, 1e5, 20, SPARSE_MIN_WORK, big).why, /^sparse V: its products run on the GPU \(100 k non-zeros in 1000×1000, rank 20\)$/);
  // the same at rank 5 is 5·10⁵ multiply-adds: below 2^20
  assert.match(sparsePlacement(1000, 1000, 1e5, 5, SPARSE_MIN_WORK, big).why, /too small to repay a dispatch/);
  // 10⁵ non-zeros spread over 10⁵ + 10⁵ rows and columns: moving the factors costs more than the arithmetic
  assert.match(sparsePlacement(1e5, 1e5, 1e5, 64, SPARSE_MIN_WORK, big).why, /fewer non-zeros than rows and columns/);
  // minWork 0 runs everything that fits, nothing that does not
  assert.equal(sparsePlacement(3, 3, 1, 1, 0, big).onDevice, true);
  assert.equal(sparsePlacement(3, 3, 0, 1, 0, big).onDevice, false);
  assert.match(sparsePlacement(1 << 22, 10, 1 << 24, 8, 0, big).why, /exact float32 indices/);
});

test('planRowBlocks: runs of rows within the row and entry limits, covering every row once', () => {
  // rows with 0, 3, 0, 5, 1, 0, 2 entries
  const indptr = [0, 0, 3, 3, 8, 9, 9, 11];
  assert.deepEqual(planRowBlocks(indptr, 7, 3, 100), [{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 7 }]);
  assert.deepEqual(planRowBlocks(indptr, 7, 10, 4), [{ start: 0, end: 3 }, { start: 3, end: 4 }, { start: 4, end: 7 }]);
});
