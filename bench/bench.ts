// `npm run bench`: NMF Studio's backends against scikit-learn on fixed matrices; writes bench/results.json
// and bench/results.md. A benchmark, not a test: numbers depend on the machine and on what else it runs.
//
//   node dist/bench/bench.js [--cases camera,random1024] [--backends cpu,gpu,reference] [--no-sklearn]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { providers } from '../src-main/backends/registry.js';
import { repoRoot } from '../test/helpers/paths.js';
import { CASES, loadCase, writeNpy, type BenchCase } from './cases.js';
import type { CaseResult } from './run-case.js';

interface SklearnCase {
  mu200Ms: number;
  muIterations: number;
  muRelErr: number;
  defaultMs: number;
  defaultIterations: number;
  defaultRelErr: number;
}

interface Row {
  case: string;
  about: string;
  rank: number;
  result?: CaseResult;
  error?: string;
}

const PYTHON = '/usr/bin/python3';
/** The reference backend is plain TypeScript: only the smallest case, once, in reasonable time. */
const REFERENCE_CASES = new Set(['camera']);

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string' },
    backends: { type: 'string' },
    'no-sklearn': { type: 'boolean', default: false },
  },
});

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function runSklearn(cases: BenchCase[], dir: string): { version: string; cases: Record<string, SklearnCase> } | null {
  if (args['no-sklearn'] || !existsSync(PYTHON)) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const env = { ...process.env };
  // As scikit-learn runs for its users: OpenBLAS picks its own kernels and cache sizes.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const job = { cases: cases.map((c) => ({ name: c.name, npy: path.join(dir, `${c.name}.npy`), rank: c.rank, repeats: c.repeats })) };
  log(`scikit-learn: ${cases.map((c) => c.name).join(', ')} …`);
  const r = spawnSync(PYTHON, [path.join(repoRoot, 'bench', 'sklearn_bench.py')], { input: JSON.stringify(job), encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    log(`scikit-learn run failed: ${r.stderr.trim().split('\n').pop()}`);
    return null;
  }
  const out = JSON.parse(r.stdout) as { sklearn: string; cases: Record<string, SklearnCase> };
  return { version: out.sklearn, cases: out.cases };
}

function cpuModel(): string {
  return os.cpus()[0]?.model.trim() ?? 'unknown CPU';
}

const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const ratio = (ours: number, theirs: number | undefined): string => (theirs ? `${(ours / theirs).toFixed(2)}×` : '–');

async function main(): Promise<void> {
  const cases = CASES.filter((c) => !args.cases || args.cases.split(',').includes(c.name));
  const wanted = args.backends?.split(',') ?? ['gpu', 'cpu', 'reference'];
  const available: string[] = [];
  for (const p of providers) {
    if (!wanted.includes(p.name)) continue;
    const probe = await p.probe();
    if (probe.ok) available.push(p.name);
    else log(`${p.name}: not available here (${probe.reason})`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-bench-'));
  try {
    for (const c of cases) writeNpy(path.join(dir, `${c.name}.npy`), await loadCase(c));
    const skCases: Record<string, SklearnCase> = {};
    let skVersion = '';
    const rows: Row[] = [];
    const runCase = fileURLToPath(new URL('./run-case.js', import.meta.url));
    for (const c of cases) {
      // scikit-learn right before our runs of the same case, so that both meet the machine in the same state.
      const one = runSklearn([c], dir);
      if (one) {
        skVersion = one.version;
        Object.assign(skCases, one.cases);
      }
      else log(`scikit-learn: not run for ${c.name}; the target is our own default-settings relErr`);
      // Without scikit-learn, the target is what our own default settings reach.
      let target = skCases[c.name]?.defaultRelErr;
      for (const backend of available) {
        if (backend === 'reference' && !REFERENCE_CASES.has(c.name)) continue;
        log(`${c.name} on ${backend} …`);
        const repeats = backend === 'reference' ? 1 : c.repeats;
        const r = spawnSync(process.execPath, [runCase, c.name, backend, String(target ?? 0), String(repeats)], {
          encoding: 'utf8',
          timeout: 600_000,
          maxBuffer: 1 << 24,
        });
        const last = r.stdout?.trim().split('\n').pop();
        if (r.status !== 0 || !last) {
          rows.push({ case: c.name, about: c.about, rank: c.rank, error: (r.stderr || String(r.error ?? r.signal)).trim().split('\n').pop() });
          continue;
        }
        const result = JSON.parse(last) as CaseResult;
        if (target === undefined) target = result.defaults.relErr;
        rows.push({ case: c.name, about: c.about, rank: c.rank, result });
      }
    }
    const machine = { cpu: cpuModel(), cores: os.availableParallelism(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
    const sk = skVersion ? { version: skVersion, cases: skCases } : null;
    const results = { date: new Date().toISOString(), machine, sklearn: sk, rows };
    writeFileSync(path.join(repoRoot, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(repoRoot, 'bench', 'results.md'), markdown(cases, rows, sk, machine));
    log('wrote bench/results.json and bench/results.md');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(
  cases: readonly BenchCase[],
  rows: Row[],
  sk: { version: string; cases: Record<string, SklearnCase> } | null,
  machine: { cpu: string; cores: number; memoryGiB: number; node: string },
): string {
  const lines: string[] = [];
  lines.push(`Measured on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}` +
    (sk ? `, against scikit-learn ${sk.version} (OpenBLAS, float32)` : '') +
    '. Times are the best of a few runs and include the nndsvda start (also shown alone); scikit-learn runs just before each case.');
  lines.push('');
  lines.push('| matrix | rank | runs on | 200 MU iterations | vs scikit-learn | to scikit-learn’s relErr (hals) | vs scikit-learn | default settings (cd) | nndsvda start | peak memory |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const s = sk?.cases[c.name];
    if (s) {
      lines.push(`| ${c.about} | ${c.rank} | scikit-learn | ${ms(s.mu200Ms)} | | ${ms(s.defaultMs)} (cd, ${s.defaultIterations} it.) | | ${ms(s.defaultMs)}, relErr ${s.defaultRelErr.toFixed(4)} | | |`);
    }
    for (const row of rows.filter((r) => r.case === c.name)) {
      if (!row.result) {
        lines.push(`| ${c.about} | ${c.rank} | (failed: ${row.error}) | | | | | | | |`);
        continue;
      }
      const r = row.result;
      const hals = r.halsToTarget.reached ? `${ms(r.halsToTarget.ms)} (${r.halsToTarget.iterations} it.)` : `not reached in ${r.halsToTarget.iterations} it. (${r.halsToTarget.relErr.toFixed(4)})`;
      const memory = `${r.peakRssMiB.toFixed(0)} MiB RSS` + (r.wasmMiB !== undefined ? ` (wasm ${r.wasmMiB.toFixed(0)} MiB)` : '');
      lines.push(
        `| ${c.about} | ${c.rank} | ${r.label} | ${ms(r.mu200.ms)} | ${ratio(r.mu200.ms, s?.mu200Ms)} | ${hals} | ${r.halsToTarget.reached ? ratio(r.halsToTarget.ms, s?.defaultMs) : '–'} | ${ms(r.defaults.ms)}, relErr ${r.defaults.relErr.toFixed(4)} | ${ms(r.initMs)} | ${memory} |`,
      );
    }
  }
  lines.push('');
  lines.push('“vs scikit-learn”: our time ÷ scikit-learn’s (below 1 is faster). “to scikit-learn’s relErr”: accelerated HALS from the same start until ‖V−WH‖/‖V‖ is at most what scikit-learn’s default settings end at, compared with the time those default settings take. Peak memory: the peak resident set of the benchmark process for that case (Node itself is about 50 MiB of it); for the CPU backend also the WebAssembly memory it reserved (V in float32, the factors and tiles).');
  lines.push('');
  return lines.join('\n');
}

await main();
