// Peak memory of a large run on the CPU backend, in a process of its own: an 8000×6000 float32 V at rank 64,
// the nndsvda start and a few iterations of each Frobenius solver. Prints one JSON object.
//
//   node dist/bench/memory.js [rows cols rank iterations]

import { CpuBackend } from '../src-main/backends/cpu/index.js';
import { factorize } from '../src-main/engine/factorize.js';
import type { Solver } from '../src-main/engine/options.js';
import { randomMatrix } from './random.js';

export interface MemoryResult {
  rows: number;
  cols: number;
  rank: number;
  iterations: number;
  label: string;
  /** The float32 size of V. */
  vMiB: number;
  /** W and H in float32. */
  factorsMiB: number;
  /** Resident set with Node, the modules and the backend's threads started, before V exists. */
  baselineRssMiB: number;
  /** Peak resident set of the whole process. */
  peakRssMiB: number;
  /** The WebAssembly memory the CPU backend reserved (its copy of V, factors, tiles). */
  wasmMiB: number;
  /** 3 × V + the factors. */
  budgetMiB: number;
  /** Per solver: seconds and the relErr reached. */
  runs: { solver: Solver; ms: number; relErr: number }[];
}

const MiB = 2 ** 20;

async function main(): Promise<void> {
  const [rows, cols, rank, iterations] = (process.argv.length > 2 ? process.argv.slice(2) : ['8000', '6000', '64', '3']).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const backend = await CpuBackend.create();
  try {
    const baselineRssMiB = process.memoryUsage().rss / MiB;
    const V = randomMatrix(rows, cols, 8000);
    const runs: MemoryResult['runs'] = [];
    for (const solver of ['mu', 'cd', 'hals'] as const) {
      const t0 = performance.now();
      const r = await factorize(V, { rank, solver, init: 'nndsvda', maxIter: iterations, tol: 0, backend });
      runs.push({ solver, ms: performance.now() - t0, relErr: r.relErr });
    }
    const vMiB = (4 * rows * cols) / MiB;
    const factorsMiB = (4 * rank * (rows + cols)) / MiB;
    const result: MemoryResult = {
      rows,
      cols,
      rank,
      iterations,
      label: backend.label,
      vMiB,
      factorsMiB,
      baselineRssMiB,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      wasmMiB: backend.pool.memory.buffer.byteLength / MiB,
      budgetMiB: 3 * vMiB + factorsMiB,
      runs,
    };
    console.log(JSON.stringify(result));
  } finally {
    await backend.dispose();
  }
}

await main();
