// One benchmark case on one backend, in a process of its own so that its peak memory is its own. Prints JSON.
//
//   node dist/bench/run-case.js <case> <backend> <sklearn default relErr> [repeats]

import type { Backend } from '../src-main/engine/backends/backend.js';
import { factorize, initialize } from '../src-main/engine/factorize.js';
import type { Matrix } from '../src-main/engine/matrix.js';
import type { FactorizeOptions } from '../src-main/engine/options.js';
import { providers } from '../src-main/backends/registry.js';
import { CpuBackend } from '../src-main/backends/cpu/index.js';
import { CASES, loadCase } from './cases.js';

export interface Timed {
  ms: number;
  iterations: number;
  relErr: number;
}

export interface CaseResult {
  backend: string;
  label: string;
  /** nndsvda start alone (the SVD), best of the repeats. */
  initMs: number;
  /** factorize with solver 'mu', tol 0, 200 iterations, nndsvda start included. */
  mu200: Timed;
  /** hals from the nndsvda start until relErr ≤ scikit-learn's default-settings relErr. */
  halsToTarget: Timed & { reached: boolean };
  /** scikit-learn's default settings (cd, nndsvda, 200 iterations at most, tol 1e-4). */
  defaults: Timed;
  /** Peak resident set of this process (Node itself included). */
  peakRssMiB: number;
  /** CPU backend: the WebAssembly memory it reserved (V in float32, factors, tiles). */
  wasmMiB?: number;
}

async function best(repeats: number, run: () => Promise<Timed>): Promise<Timed> {
  let out: Timed | null = null;
  for (let r = 0; r < repeats; r++) {
    const t = await run();
    if (!out || t.ms < out.ms) out = t;
  }
  return out!;
}

async function timeFactorize(V: Matrix, options: FactorizeOptions): Promise<Timed> {
  const t0 = performance.now();
  const res = await factorize(V, options);
  return { ms: performance.now() - t0, iterations: res.iterations, relErr: res.relErr };
}

async function main(): Promise<void> {
  const [caseName, backendName, target, repeatsArg] = process.argv.slice(2);
  const c = CASES.find((x) => x.name === caseName);
  const provider = providers.find((p) => p.name === backendName);
  if (!c || !provider || !target) throw new Error('usage: run-case <case> <backend> <target relErr> [repeats]');
  const targetRelErr = Number(target);
  const repeats = Number(repeatsArg ?? c.repeats);
  const V = await loadCase(c);
  const backend: Backend = await provider.create();
  try {
    // One untimed run first: compiles the kernels to their optimised tier, as a second run in the app would find them.
    await factorize(V, { rank: c.rank, solver: 'mu', maxIter: 2, tol: 0, backend });
    const base = { rank: c.rank, init: 'nndsvda' as const, backend };
    const init = await best(repeats, async () => {
      const t0 = performance.now();
      await initialize(V, c.rank, 'nndsvda', 0, backend);
      return { ms: performance.now() - t0, iterations: 0, relErr: NaN };
    });
    const mu200 = await best(repeats, () => timeFactorize(V, { ...base, solver: 'mu', maxIter: 200, tol: 0 }));
    const halsToTarget = await best(repeats, () => timeFactorize(V, { ...base, solver: 'hals', maxIter: 2000, tol: 0, targetRelErr }));
    const defaults = await best(repeats, () => timeFactorize(V, { ...base, solver: 'cd', maxIter: 200, tol: 1e-4 }));
    const result: CaseResult = {
      backend: backend.name,
      label: backend.label,
      initMs: init.ms,
      mu200,
      halsToTarget: { ...halsToTarget, reached: halsToTarget.relErr <= targetRelErr },
      defaults,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    if (backend instanceof CpuBackend) result.wasmMiB = backend.pool.memory.buffer.byteLength / 2 ** 20;
    console.log(JSON.stringify(result));
  } finally {
    await backend.dispose();
  }
}

await main();
