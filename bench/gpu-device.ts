// Times multiplicative-update NMF (Frobenius) on the gpu backend and on the cpu backend of the same machine, and
// writes what ran and how fast to a folder: results.json and summary.txt.
//
//   node dist/bench/gpu-device.js --out DIR [--size 4096] [--rank 64] [--iter 200] [--budget 120] [--allow-software] [--card NAME]

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend, BackendProvider } from '../src-main/engine/backends/backend.js';
import { createReferenceBackend } from '../src-main/engine/backends/reference.js';
import { factorize } from '../src-main/engine/factorize.js';
import type { Matrix } from '../src-main/engine/matrix.js';
import { GpuUnavailableError, createGpuBackend } from '../src-main/backends/gpu/index.js';
import { randomMatrix } from './random.js';

interface Run {
  backend: string;
  label?: string;
  ok: boolean;
  reason?: string;
  /** Seconds for the whole factorize call of `iterations`: bind (upload), initialisation and every iteration. */
  seconds?: number;
  /** Seconds per iteration, fixed costs taken off (see timeRun). */
  secondsPerIteration?: number;
  iterations?: number;
  loss?: number;
  relErr?: number;
  /** True when fewer than the asked-for iterations ran, to stay within the time budget. */
  stoppedByBudget?: boolean;
}

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    size: { type: 'string', default: '4096' },
    rank: { type: 'string', default: '64' },
    iter: { type: 'string', default: '200' },
    budget: { type: 'string', default: '120' },
    'allow-software': { type: 'boolean', default: false },
    reference: { type: 'boolean', default: false },
    card: { type: 'string' },
  },
});

const size = Number(args.size);
const rank = Number(args.rank);
const maxIter = Number(args.iter);
const budgetSeconds = Number(args.budget);
const outDir = path.resolve(args.out ?? path.join(os.tmpdir(), `nmf-bench-${process.pid}`));
mkdirSync(outDir, { recursive: true });

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** Iterations of the short run whose time is taken off the long one's (bind, start, compilation, final readback). */
const SHORT = 10;

/** One unwatched factorize run of `iterations`, cancelled at `deadline` (performance.now() ms). */
async function timedFactorize(backend: Backend, V: Matrix, iterations: number, deadline: number): Promise<{ seconds: number; loss: number; relErr: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - performance.now()));
  const started = performance.now();
  try {
    // no onProgress: a watched run reads W and H back after every iteration, and a GPU would wait for each
    const result = await factorize(V, { rank, solver: 'mu', betaLoss: 'frobenius', init: 'random', seed: 0, maxIter: iterations, tol: 0, backend, signal: controller.signal });
    return { seconds: (performance.now() - started) / 1000, loss: result.loss, relErr: result.relErr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Times a backend within the budget: a warm-up run of SHORT iterations (compiles kernels, warms caches), a timed one
 * of SHORT, then a timed one of maxIter, or of fewer where the short run says maxIter would not fit. The time per
 * iteration is the difference of the two timed runs over the difference of their iterations, so binding V, the
 * start and the final readback, which both runs have, cancel out.
 */
async function timeRun(name: string, backend: Backend, V: Matrix): Promise<Run> {
  const deadline = performance.now() + budgetSeconds * 1000;
  try {
    await timedFactorize(backend, V, SHORT, deadline);
    const short = await timedFactorize(backend, V, SHORT, deadline);
    const left = (deadline - performance.now()) / 1000;
    // short.seconds / SHORT overstates an iteration (it carries the fixed costs), so this errs on the safe side
    const iterations = Math.min(maxIter, Math.max(SHORT + 1, Math.floor((0.8 * left) / (short.seconds / SHORT))));
    const long = await timedFactorize(backend, V, iterations, deadline);
    const secondsPerIteration = (long.seconds - short.seconds) / (iterations - SHORT);
    return { backend: name, label: backend.label, ok: true, seconds: long.seconds, secondsPerIteration, iterations, loss: long.loss, relErr: long.relErr, stoppedByBudget: iterations < maxIter };
  } catch (e) {
    const reason = performance.now() >= deadline ? `the time budget of ${budgetSeconds} s ran out (${message(e)})` : message(e);
    return { backend: name, label: backend.label, ok: false, reason };
  }
}

async function openCpu(): Promise<Backend | string> {
  // the cpu backend is another part of the project; a computed specifier keeps this bench building without it
  const where = pathToFileURL(path.join(import.meta.dirname, '..', 'src-main', 'backends', 'cpu', 'index.js')).href;
  try {
    const module = (await import(where)) as { cpuProvider?: BackendProvider };
    if (!module.cpuProvider) return 'the cpu module has no cpuProvider';
    const probe = await module.cpuProvider.probe();
    if (!probe.ok) return probe.reason;
    return await module.cpuProvider.create();
  } catch (e) {
    return `cpu backend did not load (${message(e)})`;
  }
}

async function main(): Promise<void> {
  const V = randomMatrix(size, size, 12345);
  const runs: Run[] = [];
  console.log(`V ${size}×${size} float32, rank ${rank}, ${maxIter} MU iterations (Frobenius), budget ${budgetSeconds} s per backend`);

  try {
    const gpu = await createGpuBackend({ allowSoftware: args['allow-software'] });
    console.log(`gpu: ${gpu.label}${gpu.reasons.length ? ` (passed over: ${gpu.reasons.join('; ')})` : ''}`);
    try {
      runs.push(await timeRun('gpu', gpu, V));
    } finally {
      await gpu.dispose();
    }
  } catch (e) {
    runs.push({ backend: 'gpu', ok: false, reason: e instanceof GpuUnavailableError ? e.reasons.join('; ') : message(e) });
  }

  const cpu = await openCpu();
  if (typeof cpu === 'string') {
    runs.push({ backend: 'cpu', ok: false, reason: cpu });
  } else {
    console.log(`cpu: ${cpu.label}`);
    try {
      runs.push(await timeRun('cpu', cpu, V));
    } finally {
      await cpu.dispose();
    }
  }

  if (args.reference) runs.push(await timeRun('reference', createReferenceBackend(), V));

  const gpuRun = runs.find((r) => r.backend === 'gpu' && r.ok);
  const cpuRun = runs.find((r) => r.backend === 'cpu' && r.ok);
  const speedup = gpuRun?.secondsPerIteration && cpuRun?.secondsPerIteration ? cpuRun.secondsPerIteration / gpuRun.secondsPerIteration : null;
  const results = {
    problem: { rows: size, cols: size, rank, maxIter, solver: 'mu', betaLoss: 'frobenius', init: 'random', dtype: 'float32' },
    date: new Date().toISOString(),
    machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', card: args.card },
    timing: `per iteration: the time of an unwatched factorize call of the iterations shown less that of one of ${SHORT}, over the difference, after a warm-up call of ${SHORT}`,
    runs,
    speedupPerIteration: speedup,
  };
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = runs.map((r) =>
    r.ok
      ? `${r.backend.padEnd(9)} ${r.label}: ${r.seconds!.toFixed(2)} s total, ${(r.secondsPerIteration! * 1000).toFixed(1)} ms/iteration over ${r.iterations} iterations${r.stoppedByBudget ? ' (fewer, to fit the time budget)' : ''}, loss ${r.loss!.toExponential(4)}, relErr ${r.relErr!.toFixed(5)}`
      : `${r.backend.padEnd(9)} not run: ${r.reason}`,
  );
  if (speedup !== null) lines.push(`gpu/cpu speed-up per iteration: ${speedup.toFixed(2)}×`);
  writeFileSync(path.join(outDir, 'summary.txt'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
  console.log(`results in ${outDir}`);
}

await main();
