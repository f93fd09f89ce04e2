// The CPU backend's sparse products in its WebAssembly kernels against the engine's TypeScript loops (the
// reference backend's), on random CSR matrices of awkward shapes: empty rows and columns, one column, one row,
// no entries at all, ranks off the two-lane SIMD width, on one thread and shared out to three.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Arena } from '../../src-main/backends/cpu/arena.js';
import { CpuBackend } from '../../src-main/backends/cpu/index.js';
import { HEAP_BYTE, JobKind, KernelPool } from '../../src-main/backends/cpu/pool.js';
import { SPARSE_JOB_WORDS, SparseMode, writeSparseJob } from '../../src-main/backends/cpu/sparse-kernels.js';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import type { SparseMatrix } from '../../src-main/engine/matrix.js';
import { csr64, denseOf, productAtEntries, sparseTimesDense, sparseTransposeTimesDense, transposeSparse, type Csr64 } from '../../src-main/engine/sparse.js';
import { xorshift } from '../helpers/random.js';
import { assertClose, seeded, TOLERANCE, zeros } from './support.js';

/** rows×cols with about `density` of the cells stored, and every row in `emptyEvery` left empty. */
function randomCsr(rows: number, cols: number, density: number, seed: number, emptyEvery = 0): SparseMatrix {
  const next = xorshift(seed);
  const indptr = new Uint32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (!(emptyEvery > 0 && i % emptyEvery === 0)) {
      for (let j = 0; j < cols; j++) {
        if (next() < density) {
          indices.push(j);
          // values spanning several orders, so that a changed order of the sums would show
          values.push(Math.exp(8 * next() - 4));
        }
      }
    }
    indptr[i + 1] = indices.length;
  }
  return { format: 'csr', rows, cols, indptr, indices: Uint32Array.from(indices), values: Float64Array.from(values) };
}

function randomArray(n: number, seed: number): Float64Array {
  const next = xorshift(seed);
  return Float64Array.from({ length: n }, () => next() * 3 - 0.5);
}

const SHAPES: { rows: number; cols: number; density: number; emptyEvery: number }[] = [
  { rows: 1, cols: 1, density: 1, emptyEvery: 0 },
  { rows: 37, cols: 1, density: 0.6, emptyEvery: 3 }, // one column
  { rows: 1, cols: 211, density: 0.3, emptyEvery: 0 }, // one row
  { rows: 12, cols: 9, density: 0, emptyEvery: 0 }, // no entries at all
  { rows: 53, cols: 47, density: 0.2, emptyEvery: 2 }, // every other row empty, some columns empty
  { rows: 2003, cols: 61, density: 0.05, emptyEvery: 7 }, // many chunks for the threads
];
const RANKS = [1, 2, 3, 5, 7, 8, 9, 15, 17, 33];

for (const threads of [1, 3]) {
  describe(`sparse kernels in WebAssembly against the TypeScript loops, ${threads} thread${threads === 1 ? '' : 's'}`, () => {
    let pool: KernelPool;
    let arena: Arena;
    let job: number;
    before(async () => {
      pool = await KernelPool.create({ threads, flavour: 'simd' });
      arena = new Arena(pool.memory, HEAP_BYTE);
      job = arena.alloc(4 * SPARSE_JOB_WORDS, true);
    });
    after(() => pool.dispose());

    // Copies into the shared memory; alloc may grow it, so every view is made after its own alloc.
    const shared = (a: Float64Array | Uint32Array): Float64Array | Uint32Array => {
      const ptr = arena.alloc(Math.max(1, a.byteLength));
      const view = a instanceof Float64Array ? new Float64Array(pool.memory.buffer, ptr, a.length) : new Uint32Array(pool.memory.buffer, ptr, a.length);
      view.set(a);
      return view;
    };
    const sharedCsr = (S: SparseMatrix): Csr64 => ({
      rows: S.rows,
      indptr: shared(S.indptr) as Uint32Array,
      indices: shared(S.indices) as Uint32Array,
      values: shared(S.values as Float64Array) as Float64Array,
    });
    const run = (mode: SparseMode, S: Csr64, A: Float64Array | null, B: Float64Array | null, k: number, out: Float64Array): void => {
      const record = new Int32Array(pool.memory.buffer, job, SPARSE_JOB_WORDS);
      assert.ok(writeSparseJob(record, mode, S, A, B, k, out, threads), 'every operand is in the shared memory');
      pool.run(JobKind.Sparse, job, mode !== SparseMode.TransposeTimesDense);
    };

    for (const { rows, cols, density, emptyEvery } of SHAPES) {
      test(`${rows}×${cols}, density ${density}${emptyEvery ? `, one row in ${emptyEvery} empty` : ''}`, () => {
        const V = randomCsr(rows, cols, density, rows * 131 + cols, emptyEvery);
        const nnz = V.indptr[rows]!;
        const S = sharedCsr(V);
        const T = sharedCsr(transposeSparse(V));
        for (const k of RANKS) {
          const what = `rank ${k}`;
          const W = shared(randomArray(rows * k, k)) as Float64Array;
          const Ht = shared(randomArray(cols * k, k + 1)) as Float64Array;
          // out = S·B, every sum in the same order as the TypeScript loop: equal to the bit
          const times = shared(new Float64Array(rows * k).fill(NaN)) as Float64Array;
          run(SparseMode.TimesDense, S, null, Ht, k, times);
          const timesWant = new Float64Array(rows * k);
          sparseTimesDense(csr64(V), Float64Array.from(Ht), k, timesWant);
          assert.deepEqual(Array.from(times), Array.from(timesWant), `S·B, ${what}`);
          // out = Sᵀ·A scattered by one thread, and gathered along the CSC by the threads: the same sums, in order
          const scattered = shared(new Float64Array(cols * k).fill(NaN)) as Float64Array;
          run(SparseMode.TransposeTimesDense, S, W, null, k, scattered);
          const scatteredWant = new Float64Array(cols * k);
          sparseTransposeTimesDense(csr64(V), Float64Array.from(W), k, scatteredWant);
          assert.deepEqual(Array.from(scattered), Array.from(scatteredWant), `Sᵀ·A scattered, ${what}`);
          const gathered = shared(new Float64Array(cols * k).fill(NaN)) as Float64Array;
          run(SparseMode.TimesDense, T, null, W, k, gathered);
          assert.deepEqual(Array.from(gathered), Array.from(scatteredWant), `Sᵀ·A gathered, ${what}`);
          // (A·Bᵀ) at the entries: k terms summed in two lanes, so equal to a float64 rounding of each term's size
          const entries = shared(new Float64Array(Math.max(1, nnz)).fill(NaN)).subarray(0, nnz) as Float64Array;
          run(SparseMode.AtEntries, S, W, Ht, k, entries);
          const entriesWant = new Float64Array(nnz);
          productAtEntries(csr64(V), Float64Array.from(W), Float64Array.from(Ht), k, entriesWant);
          for (let i = 0; i < rows; i++) {
            for (let p = V.indptr[i]!; p < V.indptr[i + 1]!; p++) {
              let scale = 0;
              for (let t = 0; t < k; t++) scale += Math.abs(W[i * k + t]! * Ht[V.indices[p]! * k + t]!);
              const diff = Math.abs(entries[p]! - entriesWant[p]!);
              assert.ok(diff <= 4 * k * Number.EPSILON * scale, `A·Bᵀ at entry ${p} (row ${i}), ${what}: ${entries[p]} vs ${entriesWant[p]}`);
            }
          }
          for (const a of [W, Ht, times, scattered, gathered, entries]) arena.release(a.byteOffset);
        }
        for (const a of [S.indptr, S.indices, S.values, T.indptr, T.indices, T.values]) arena.release(a.byteOffset);
      });
    }
  });
}

test('the CPU backend on a sparse V big enough for its threads gives the reference backend’s products', async () => {
  const backend = await CpuBackend.create({ threads: 3, flavour: 'simd' });
  const reference = createReferenceBackend();
  try {
    const rows = 3001;
    const cols = 407;
    const rank = 11;
    // 3001 × 407 × 0.02 ≈ 24 000 entries × rank 11: past the size that the backend shares out to its threads
    const V = randomCsr(rows, cols, 0.02, 5, 9);
    const W = seeded(rows, rank, 6, { lo: 0.05 });
    const H = seeded(rank, cols, 7, { lo: 0.05 });
    const mine = await backend.bind(V);
    const ref = await reference.bind(denseOf(V));
    const tol = TOLERANCE.cpu!;
    try {
      const [a, b] = [zeros(rank, cols), zeros(rank, cols)];
      await mine.WtV(W, a);
      await ref.WtV(W, b);
      assertClose(a.data, b.data, tol, 'Wᵀ·V');
      const [c, d] = [zeros(rows, rank), zeros(rows, rank)];
      await mine.VHt(H, c);
      await ref.VHt(H, d);
      assertClose(c.data, d.data, tol, 'V·Hᵀ');
      for (const side of ['W', 'H'] as const) {
        const [r, q] = side === 'W' ? [rows, rank] : [rank, cols];
        const [n1, d1, n2, d2] = [zeros(r, q), zeros(r, q), zeros(r, q), zeros(r, q)];
        await (side === 'W' ? mine.betaTermsW(W, H, 1, n1, d1) : mine.betaTermsH(W, H, 1, n1, d1));
        await (side === 'W' ? ref.betaTermsW(W, H, 1, n2, d2) : ref.betaTermsH(W, H, 1, n2, d2));
        assertClose(n1.data, n2.data, 10 * tol, `KL numerator of ${side}`);
        assertClose(d1.data, d2.data, 10 * tol, `KL denominator of ${side}`);
      }
      const got = await mine.divergences!(W, H, 1);
      const want = await ref.divergences!(W, H, 1);
      assert.ok(Math.abs(got.beta / want.beta - 1) < 1e-5, `KL loss ${got.beta} vs ${want.beta}`);
      assert.ok(Math.abs(got.frobenius / want.frobenius - 1) < 1e-4, `Frobenius loss ${got.frobenius} vs ${want.frobenius}`);
    } finally {
      await mine.dispose();
      await ref.dispose();
    }
  } finally {
    await backend.dispose();
  }
});
