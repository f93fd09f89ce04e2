// The sparse products alone on the CPU backend, against the reference backend's (the engine's TypeScript
// loops, one thread) on the same sparse V in the same run: V·Hᵀ, Wᵀ·V, the KL terms (W·H at the non-zeros,
// then a sparse product) and the KL loss. A benchmark, not a test; prints a table and the load average.
//
//   node dist/bench/sparse-products.js [--rows 20000] [--cols 5000] [--per-row 10] [--rank 20] [--repeats 7]

import os from 'node:os';
import { parseArgs } from 'node:util';
import { CpuBackend } from '../src-main/backends/cpu/index.js';
import type { Backend, BoundV } from '../src-main/engine/backends/backend.js';
import { createReferenceBackend } from '../src-main/engine/backends/reference.js';
import type { Matrix, SparseMatrix } from '../src-main/engine/matrix.js';
import { xorshift } from '../test/helpers/random.js';
import { randomMatrix } from './random.js';

/** rows×cols with `perRow` distinct random columns per row, values 1…9 (xorshift: the same V everywhere). */
function randomCsr(rows: number, cols: number, perRow: number, seed: number): SparseMatrix {
  const next = xorshift(seed);
  const per = Math.min(perRow, cols);
  const indptr = new Uint32Array(rows + 1);
  const indices = new Uint32Array(rows * per);
  const values = new Float32Array(rows * per);
  for (let i = 0; i < rows; i++) {
    const taken = new Set<number>();
    while (taken.size < per) taken.add(Math.floor(next() * cols));
    const sorted = [...taken].sort((a, b) => a - b);
    for (let q = 0; q < per; q++) {
      indices[i * per + q] = sorted[q]!;
      values[i * per + q] = 1 + Math.floor(next() * 9);
    }
    indptr[i + 1] = (i + 1) * per;
  }
  return { format: 'csr', rows, cols, indptr, indices, values };
}

/** A factor with entries in [0.05, 1.05): no zeros, so that KL's ratios stay finite. */
function randomFactor(rows: number, cols: number, seed: number): Matrix {
  const m = randomMatrix(rows, cols, seed);
  for (let p = 0; p < m.data.length; p++) m.data[p]! += 0.05;
  return m;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeOps(bound: BoundV, W: Matrix, H: Matrix, repeats: number): Promise<Record<string, number>> {
  const k = W.cols;
  const out = (r: number, c: number): Matrix => ({ rows: r, cols: c, data: new Float32Array(r * c) });
  const VHt = out(W.rows, k);
  const WtV = out(k, H.cols);
  const [nw, dw, nh, dh] = [out(W.rows, k), out(W.rows, k), out(k, H.cols), out(k, H.cols)];
  const ops: Record<string, () => Promise<unknown>> = {
    'V·Hᵀ': () => bound.VHt(H, VHt),
    'Wᵀ·V': () => bound.WtV(W, WtV),
    'KL terms of W': () => bound.betaTermsW(W, H, 1, nw, dw),
    'KL terms of H': () => bound.betaTermsH(W, H, 1, nh, dh),
    'KL loss': () => bound.divergences!(W, H, 1),
  };
  const result: Record<string, number> = {};
  for (const [name, op] of Object.entries(ops)) {
    await op(); // warm: the CSC copy, buffers, JIT
    const ms: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await op();
      ms.push(performance.now() - t0);
    }
    result[name] = median(ms);
  }
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '20000' },
      cols: { type: 'string', default: '5000' },
      'per-row': { type: 'string', default: '10' },
      rank: { type: 'string', default: '20' },
      repeats: { type: 'string', default: '7' },
    },
  });
  const [rows, cols, perRow, rank, repeats] = [values.rows, values.cols, values['per-row'], values.rank, values.repeats].map(Number) as [number, number, number, number, number];
  const V = randomCsr(rows, cols, perRow, 7);
  const W = randomFactor(rows, rank, 3);
  const H = randomFactor(rank, cols, 4);
  const cpu = await CpuBackend.create();
  const reference: Backend = createReferenceBackend();
  const load0 = os.loadavg()[0]!;
  try {
    const times: Record<string, Record<string, number>> = {};
    for (const backend of [reference, cpu] as Backend[]) {
      const bound = await backend.bind(V);
      try {
        times[backend.name] = await timeOps(bound, W, H, repeats);
      } finally {
        await bound.dispose();
      }
    }
    const nnz = V.indptr[rows]!;
    console.log(`${rows}×${cols}, ${nnz.toLocaleString('en-US')} non-zeros, rank ${rank}; ${cpu.label}; median of ${repeats}; 1-minute load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`);
    console.log('| product | reference (TypeScript, 1 thread) | CPU backend | speed-up |');
    console.log('|---|---|---|---|');
    for (const name of Object.keys(times.reference!)) {
      const ref = times.reference![name]!;
      const mine = times.cpu![name]!;
      console.log(`| ${name} | ${ref.toFixed(2)} ms | ${mine.toFixed(2)} ms | ${(ref / mine).toFixed(2)}× |`);
    }
  } finally {
    await cpu.dispose();
  }
}

await main();
