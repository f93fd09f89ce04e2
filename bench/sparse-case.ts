// One sparse benchmark run in a process of its own (so that its peak memory is its own): the MatrixMarket file
// read through the app's reader, then factorize on the CPU backend. Prints one JSON object.
//
//   node dist/bench/sparse-case.js <file.mtx> <rank> <solver> <maxIter> <tol> [targetRelErr] [terms.txt]
//
// With a terms file (one term per column), each component's top terms come back too.

import { readFileSync } from 'node:fs';
import { CpuBackend } from '../src-main/backends/cpu/index.js';
import { factorize } from '../src-main/engine/factorize.js';
import { isSparse } from '../src-main/engine/matrix.js';
import type { Solver } from '../src-main/engine/options.js';
import { readMatrixFile } from '../src-main/formats/index.js';

export interface SparseCaseResult {
  rows: number;
  cols: number;
  nnz: number;
  sparse: boolean;
  label: string;
  loadMs: number;
  /** factorize alone (the nndsvda start included), as scikit-learn's fit_transform is timed. */
  fitMs: number;
  iterations: number;
  relErr: number;
  stopReason: string;
  peakRssMiB: number;
  topTerms?: string[][];
}

async function main(): Promise<void> {
  const [file, rankArg, solver, maxIter, tol, target, termsFile] = process.argv.slice(2);
  if (!file || !rankArg || !solver || !maxIter || !tol) throw new Error('usage: sparse-case <file.mtx> <rank> <solver> <maxIter> <tol> [targetRelErr] [terms.txt]');
  const backend = await CpuBackend.create();
  try {
    const t0 = performance.now();
    const { matrix: V } = await readMatrixFile(file);
    const loadMs = performance.now() - t0;
    const targetRelErr = target && target !== '-' ? Number(target) : undefined;
    const t1 = performance.now();
    const r = await factorize(V, { rank: Number(rankArg), solver: solver as Solver, maxIter: Number(maxIter), tol: Number(tol), targetRelErr, backend });
    const fitMs = performance.now() - t1;
    const result: SparseCaseResult = {
      rows: V.rows,
      cols: V.cols,
      nnz: isSparse(V) ? V.indptr[V.rows]! : V.rows * V.cols,
      sparse: isSparse(V),
      label: backend.label,
      loadMs,
      fitMs,
      iterations: r.iterations,
      relErr: r.relErr,
      stopReason: r.stopReason,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    if (termsFile) {
      const terms = readFileSync(termsFile, 'utf8').trimEnd().split('\n');
      const { H } = r;
      result.topTerms = [];
      for (let t = 0; t < H.rows; t++) {
        const order = Array.from({ length: H.cols }, (_, j) => j).sort((a, b) => H.data[t * H.cols + b]! - H.data[t * H.cols + a]!);
        result.topTerms.push(order.slice(0, 8).map((j) => terms[j]!));
      }
    }
    console.log(JSON.stringify(result));
  } finally {
    await backend.dispose();
  }
}

await main();
