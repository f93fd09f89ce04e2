// `npm run bench`: NMF Studio's backends against scikit-learn on fixed matrices; writes bench/results.json
// and bench/results.md. A benchmark, not a test: numbers depend on the machine and on what else it runs, so
// every case is measured in several rounds, scikit-learn right before us in each, and the ratios of the same
// round are what the verdicts read (their median).
//
//   node dist/bench/bench.js [--cases camera,random1024] [--backends cpu,gpu,reference] [--rounds 3]
//                            [--no-sklearn] [--no-memory]
//   node dist/bench/bench.js --render-only     # results.md again from results.json and device-results.json
//   node dist/bench/bench.js --sparse [--cases sparse20k,sparse200k,corpus]   # sparse files (bench/sparse.ts)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { providers } from '../src-main/backends/registry.js';
import { repoRoot } from '../test/helpers/paths.js';
import { CASES, loadCase, writeNpy, type BenchCase } from './cases.js';
import type { MemoryResult } from './memory.js';
import type { CaseResult } from './run-case.js';
import { runSparseBench } from './sparse.js';

interface SklearnCase {
  mu200Ms: number;
  muIterations: number;
  muRelErr: number;
  defaultMs: number;
  defaultIterations: number;
  defaultRelErr: number;
}

/** One case in one round: scikit-learn, then each backend, and the 1-minute load average around them. */
interface Round {
  case: string;
  round: number;
  load: [number, number];
  sklearn?: SklearnCase;
  ours: { backend: string; result?: CaseResult; error?: string }[];
}

/** What the table shows for one case and backend: medians over the rounds. */
interface Summary {
  case: string;
  about: string;
  rank: number;
  backend: string;
  label: string;
  rounds: number;
  initMs: number;
  mu200Ms: number;
  mu200Ratio: number | null;
  halsMs: number;
  halsIterations: number;
  halsReached: boolean;
  halsRatio: number | null;
  defaultsMs: number;
  defaultsRelErr: number;
  peakRssMiB: number;
  wasmMiB?: number;
  error?: string;
}

interface Target {
  what: 'halsToTarget' | 'mu200';
  case: string;
  backend: string;
  /** Our time ÷ scikit-learn's, at most. */
  atMost: number;
  description: string;
}

const TARGETS: readonly Target[] = [
  { what: 'halsToTarget', case: 'camera', backend: 'cpu', atMost: 1, description: 'CPU, hals to scikit-learn’s default relErr, camera 512² rank 32' },
  { what: 'halsToTarget', case: 'random1024', backend: 'cpu', atMost: 1, description: 'CPU, hals to scikit-learn’s default relErr, random 1024² rank 32' },
  { what: 'mu200', case: 'random1024', backend: 'cpu', atMost: 3, description: 'CPU, 200 MU iterations, random 1024² rank 32' },
];

interface Verdict extends Target {
  /** Per round, in order; null where the round has no ratio. */
  ratios: (number | null)[];
  median: number | null;
  met: boolean | null;
}

const PYTHON = '/usr/bin/python3';
/** The reference backend is plain TypeScript: only the smallest case, in the first round. */
const REFERENCE_CASES = new Set(['camera']);

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string' },
    backends: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'no-sklearn': { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
    // rewrites results.md from the last results.json and bench/device-results.json, measuring nothing
    'render-only': { type: 'boolean', default: false },
    // the sparse matrix files against scikit-learn instead (bench/sparse.ts)
    sparse: { type: 'boolean', default: false },
  },
});

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function runSklearn(c: BenchCase, dir: string): { version: string; result: SklearnCase } | null {
  if (args['no-sklearn'] || !existsSync(PYTHON)) return null;
  const env = { ...process.env };
  // As scikit-learn runs for its users: OpenBLAS picks its own kernels and cache sizes.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const job = { cases: [{ name: c.name, npy: path.join(dir, `${c.name}.npy`), rank: c.rank, repeats: c.repeats }] };
  const r = spawnSync(PYTHON, [path.join(repoRoot, 'bench', 'sklearn_bench.py')], { input: JSON.stringify(job), encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    log(`scikit-learn run failed: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`);
    return null;
  }
  const out = JSON.parse(r.stdout) as { sklearn: string; cases: Record<string, SklearnCase> };
  return { version: out.sklearn, result: out.cases[c.name]! };
}

function runOurs(c: BenchCase, backend: string, target: number): { result?: CaseResult; error?: string } {
  const runCase = fileURLToPath(new URL('./run-case.js', import.meta.url));
  const repeats = backend === 'reference' ? 1 : c.repeats;
  const r = spawnSync(process.execPath, [runCase, c.name, backend, String(target), String(repeats)], {
    encoding: 'utf8',
    timeout: 900_000,
    maxBuffer: 1 << 24,
  });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last) return { error: (r.stderr || String(r.error ?? r.signal)).trim().split('\n').pop() };
  return { result: JSON.parse(last) as CaseResult };
}

function runMemory(): MemoryResult | { error: string } {
  const script = fileURLToPath(new URL('./memory.js', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 24 });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last) return { error: (r.stderr || String(r.error ?? r.signal)).trim().split('\n').pop() ?? 'failed' };
  return JSON.parse(last) as MemoryResult;
}

function cpuModel(): string {
  return os.cpus()[0]?.model.trim() ?? 'unknown CPU';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of per-round ratios; a round where ours failed or never reached the target counts as Infinity. */
function medianRatio(ratios: (number | null)[]): number | null {
  const known = ratios.filter((r): r is number => r !== null);
  return known.length ? median(known) : null;
}

const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const times = (x: number | null): string => (x === null ? '–' : Number.isFinite(x) ? `${x.toFixed(2)}×` : '∞');

function roundRatio(round: Round, backend: string, what: Target['what']): number | null {
  const sk = round.sklearn;
  const ours = round.ours.find((o) => o.backend === backend);
  if (!sk || !ours) return null;
  if (!ours.result) return Infinity;
  if (what === 'mu200') return ours.result.mu200.ms / sk.mu200Ms;
  return ours.result.halsToTarget.reached ? ours.result.halsToTarget.ms / sk.defaultMs : Infinity;
}

function summarise(c: BenchCase, backend: string, rounds: Round[]): Summary | null {
  const mine = rounds.filter((r) => r.case === c.name).map((r) => ({ round: r, ours: r.ours.find((o) => o.backend === backend) }));
  const ran = mine.filter((m) => m.ours);
  if (!ran.length) return null;
  const ok = ran.filter((m) => m.ours!.result).map((m) => m.ours!.result!);
  const base = { case: c.name, about: c.about, rank: c.rank, backend, rounds: ran.length };
  if (!ok.length) {
    return { ...base, label: backend, initMs: NaN, mu200Ms: NaN, mu200Ratio: null, halsMs: NaN, halsIterations: 0, halsReached: false, halsRatio: null, defaultsMs: NaN, defaultsRelErr: NaN, peakRssMiB: NaN, error: ran[0]!.ours!.error };
  }
  const reached = ok.filter((r) => r.halsToTarget.reached);
  return {
    ...base,
    label: ok[0]!.label,
    initMs: median(ok.map((r) => r.initMs)),
    mu200Ms: median(ok.map((r) => r.mu200.ms)),
    mu200Ratio: medianRatio(ran.map((m) => roundRatio(m.round, backend, 'mu200'))),
    halsMs: reached.length ? median(reached.map((r) => r.halsToTarget.ms)) : NaN,
    halsIterations: median(ok.map((r) => r.halsToTarget.iterations)),
    halsReached: reached.length === ok.length,
    halsRatio: medianRatio(ran.map((m) => roundRatio(m.round, backend, 'halsToTarget'))),
    defaultsMs: median(ok.map((r) => r.defaults.ms)),
    defaultsRelErr: median(ok.map((r) => r.defaults.relErr)),
    peakRssMiB: Math.max(...ok.map((r) => r.peakRssMiB)),
    wasmMiB: ok[0]!.wasmMiB,
  };
}

function verdicts(rounds: Round[]): Verdict[] {
  return TARGETS.map((t) => {
    const ratios = rounds.filter((r) => r.case === t.case).map((r) => roundRatio(r, t.backend, t.what));
    const measured = ratios.filter((r) => r !== null);
    const med = medianRatio(ratios);
    return { ...t, ratios, median: med, met: measured.length && med !== null ? med <= t.atMost : null };
  });
}

/** results.md again from results.json as the last full run wrote it, e.g. after new device results came in. */
function renderOnly(): void {
  const saved = JSON.parse(readFileSync(path.join(repoRoot, 'bench', 'results.json'), 'utf8')) as {
    machine: Parameters<typeof markdown>[6];
    load: Parameters<typeof markdown>[7];
    sklearn: Parameters<typeof markdown>[5];
    rounds: Round[];
    summaries: Summary[];
    targets: Parameters<typeof markdown>[3];
    memory: Parameters<typeof markdown>[4];
  };
  const cases = CASES.filter((c) => saved.rounds.some((r) => r.case === c.name));
  const roundsWanted = Math.max(1, ...saved.rounds.map((r) => r.round));
  writeFileSync(
    path.join(repoRoot, 'bench', 'results.md'),
    markdown(cases, saved.rounds, saved.summaries, saved.targets, saved.memory, saved.sklearn, saved.machine, saved.load, roundsWanted),
  );
  log('wrote bench/results.md from bench/results.json and bench/device-results.json');
}

async function main(): Promise<void> {
  if (args['render-only']) return renderOnly();
  if (args.sparse) return runSparseBench({ cases: args.cases?.split(','), noSklearn: args['no-sklearn'] });
  const cases = CASES.filter((c) => !args.cases || args.cases.split(',').includes(c.name));
  const wanted = args.backends?.split(',') ?? ['gpu', 'cpu', 'reference'];
  const roundsWanted = Math.max(1, Math.floor(Number(args.rounds)) || 1);
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
    let skVersion = '';
    const rounds: Round[] = [];
    for (const c of cases) {
      for (let round = 1; round <= roundsWanted; round++) {
        const before = os.loadavg()[0]!;
        // scikit-learn right before our runs of the same case, so that both meet the machine in the same state.
        log(`${c.name}, round ${round}/${roundsWanted}: scikit-learn …`);
        const sk = runSklearn(c, dir);
        if (sk) skVersion = sk.version;
        else log(`scikit-learn: not run for ${c.name}; the target is our own default-settings relErr`);
        // Without scikit-learn, the target is what our own default settings reach.
        let target = sk?.result.defaultRelErr;
        const ours: Round['ours'] = [];
        for (const backend of available) {
          if (backend === 'reference' && (!REFERENCE_CASES.has(c.name) || round > 1)) continue;
          log(`${c.name}, round ${round}/${roundsWanted}: ${backend} …`);
          const r = runOurs(c, backend, target ?? 0);
          if (target === undefined && r.result) target = r.result.defaults.relErr;
          ours.push({ backend, ...r });
        }
        rounds.push({ case: c.name, round, load: [before, os.loadavg()[0]!], sklearn: sk?.result, ours });
      }
    }
    let memory: MemoryResult | { error: string } | null = null;
    if (!args['no-memory'] && available.includes('cpu')) {
      log('peak memory of an 8000×6000 float32 V at rank 64 on the CPU backend …');
      memory = runMemory();
    }
    const summaries = cases.flatMap((c) => available.map((b) => summarise(c, b, rounds)).filter((s): s is Summary => s !== null));
    const judged = verdicts(rounds);
    const loads = rounds.flatMap((r) => r.load);
    const load = loads.length ? { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) } : null;
    const machine = { cpu: cpuModel(), cores: os.availableParallelism(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
    const sk = skVersion ? { version: skVersion } : null;
    const results = { date: new Date().toISOString(), machine, load, sklearn: sk, rounds, summaries, targets: judged, memory };
    writeFileSync(path.join(repoRoot, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(repoRoot, 'bench', 'results.md'), markdown(cases, rounds, summaries, judged, memory, sk, machine, load, roundsWanted));
    for (const line of verdictLines(judged)) log(line);
    if (memory) log(memoryLine(memory));
    log('wrote bench/results.json and bench/results.md');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function verdictLines(judged: Verdict[]): string[] {
  return judged.map((v) => {
    const per = v.ratios.map(times).join(', ');
    const state = v.met === null ? 'not measured' : v.met ? 'met' : 'NOT met';
    return `target: ${v.description}: ${times(v.median)} of scikit-learn’s time (median; rounds ${per || '–'}), at most ${v.atMost.toFixed(1)}× wanted: ${state}`;
  });
}

function memoryLine(m: MemoryResult | { error: string }): string {
  if ('error' in m) return `memory: the measurement failed (${m.error})`;
  const state = m.peakRssMiB <= m.budgetMiB ? 'within' : 'OVER';
  return (
    `memory: ${m.rows}×${m.cols} float32 V (${m.vMiB.toFixed(0)} MiB), rank ${m.rank}, ${m.label}, nndsvda and ${m.iterations} iterations each of ` +
    `${m.runs.map((r) => r.solver).join(', ')}: peak RSS ${m.peakRssMiB.toFixed(0)} MiB (${m.baselineRssMiB.toFixed(0)} MiB of it Node, the ` +
    `modules and the worker threads before V existed; WebAssembly memory ${m.wasmMiB.toFixed(0)} MiB) against 3 × V + factors = ` +
    `${m.budgetMiB.toFixed(0)} MiB: ${state}`
  );
}

function markdown(
  cases: readonly BenchCase[],
  rounds: Round[],
  summaries: Summary[],
  judged: Verdict[],
  memory: MemoryResult | { error: string } | null,
  sk: { version: string } | null,
  machine: { cpu: string; cores: number; memoryGiB: number; node: string },
  load: { min: number; median: number; max: number } | null,
  roundsWanted: number,
): string {
  const lines: string[] = [];
  lines.push(
    `Measured on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}` +
      (sk ? `, against scikit-learn ${sk.version} (OpenBLAS, float32)` : '') +
      `; ${roundsWanted} round${roundsWanted === 1 ? '' : 's'} per case, scikit-learn just before us in each` +
      (load ? `; 1-minute load average ${load.min.toFixed(1)}–${load.max.toFixed(1)} (median ${load.median.toFixed(1)}) on ${machine.cores} cores` : '') +
      '. Times are medians over the rounds of the best of a few runs each and include the nndsvda start (also shown alone); “vs scikit-learn” is the median of the ratios of the same round.',
  );
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  for (const line of verdictLines(judged)) lines.push(`- ${line.replace(/^target: /, '')}`);
  if (memory) lines.push(`- ${memoryLine(memory).replace(/^memory: /, 'Peak memory: ')}`);
  lines.push('');
  lines.push('## All cases');
  lines.push('');
  lines.push('| matrix | rank | runs on | 200 MU iterations | vs scikit-learn | to scikit-learn’s relErr (hals) | vs scikit-learn | default settings (cd) | nndsvda start | peak memory |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const skRounds = rounds.filter((r) => r.case === c.name && r.sklearn).map((r) => r.sklearn!);
    if (skRounds.length) {
      const mu = median(skRounds.map((s) => s.mu200Ms));
      const cd = median(skRounds.map((s) => s.defaultMs));
      const its = median(skRounds.map((s) => s.defaultIterations));
      const err = median(skRounds.map((s) => s.defaultRelErr));
      lines.push(`| ${c.about} | ${c.rank} | scikit-learn | ${ms(mu)} | | ${ms(cd)} (cd, ${its} it.) | | ${ms(cd)}, relErr ${err.toFixed(4)} | | |`);
    }
    for (const s of summaries.filter((x) => x.case === c.name)) {
      if (s.error) {
        lines.push(`| ${c.about} | ${c.rank} | ${s.backend} (failed: ${s.error}) | | | | | | | |`);
        continue;
      }
      const hals = s.halsReached ? `${ms(s.halsMs)} (${s.halsIterations} it.)` : `not reached in every round (${s.halsIterations} it.)`;
      const mem = `${s.peakRssMiB.toFixed(0)} MiB RSS` + (s.wasmMiB !== undefined ? ` (wasm ${s.wasmMiB.toFixed(0)} MiB)` : '');
      const label = s.rounds === 1 && roundsWanted > 1 ? `${s.label}, 1 round` : s.label;
      lines.push(
        `| ${c.about} | ${c.rank} | ${label} | ${ms(s.mu200Ms)} | ${times(s.mu200Ratio)} | ${hals} | ${times(s.halsRatio)} | ${ms(s.defaultsMs)}, relErr ${s.defaultsRelErr.toFixed(4)} | ${ms(s.initMs)} | ${mem} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '“vs scikit-learn”: our time ÷ scikit-learn’s (below 1 is faster). “to scikit-learn’s relErr”: accelerated HALS from our nndsvda start until ‖V−WH‖/‖V‖ is at most what scikit-learn’s default settings (cd, nndsvda, tol 1e-4) end at in that round, compared with the time those default settings take. Peak memory: the peak resident set of the benchmark process for that case (Node itself is about 50 MiB of it); for the CPU backend also the WebAssembly memory it reserved (V in float32, the factors and tiles).',
  );
  lines.push('');
  lines.push(...deviceSection());
  return lines.join('\n');
}

/** The GPU against the CPU backend on a machine with a real GPU, from bench/device.sh's last results (committed). */
function deviceSection(): string[] {
  const file = path.join(repoRoot, 'bench', 'device-results.json');
  const lines = ['## GPU on a real card', ''];
  if (!existsSync(file)) {
    lines.push('Not measured: no machine with a GPU has run `bench/device.sh` yet (this machine has none). The script is ready: `bash bench/device-pack.sh` here, then `OUT=dir bash bench/device.sh` there; it writes results.json, which goes to `bench/device-results.json`.', '');
    return lines;
  }
  const d = JSON.parse(readFileSync(file, 'utf8')) as DeviceResults;
  const p = d.problem;
  lines.push(
    `Measured by \`bench/device.sh\` on ${d.machine.card ?? 'an unnamed card'} with ${d.machine.cpus} CPU cores (${d.machine.cpuModel}), Node ${d.machine.node}${d.date ? `, ${d.date.slice(0, 10)}` : ''}: random ${p.rows}×${p.cols} float32 V, rank ${p.rank}, ${p.maxIter} MU iterations (Frobenius) from the same random start on each backend.`,
    '',
    '| backend | total | per iteration | iterations | relErr |',
    '|---|---|---|---|---|',
  );
  for (const r of d.runs) {
    lines.push(
      r.ok
        ? `| ${r.label ?? r.backend} | ${r.seconds!.toFixed(2)} s | ${(r.secondsPerIteration! * 1000).toFixed(2)} ms | ${r.iterations} | ${r.relErr!.toFixed(5)} |`
        : `| ${r.backend} | not run: ${r.reason} | | | |`,
    );
  }
  lines.push('');
  if (d.speedupPerIteration !== null) {
    const met = d.speedupPerIteration >= 20 ? 'met' : 'NOT met';
    lines.push(`GPU speed per iteration over the CPU backend's on the same machine: ${d.speedupPerIteration.toFixed(2)}× (at least 20× wanted: ${met}).`, '');
  }
  if (d.timing) lines.push(`Timing: ${d.timing}.`, '');
  if (d.note) lines.push(d.note, '');
  return lines;
}

interface DeviceResults {
  date?: string;
  /** What a reader needs to know about this run, written by whoever committed it. */
  note?: string;
  /** How the time per iteration was taken. */
  timing?: string;
  problem: { rows: number; cols: number; rank: number; maxIter: number };
  machine: { node: string; cpus: number; cpuModel: string; card?: string };
  runs: { backend: string; label?: string; ok: boolean; reason?: string; seconds?: number; secondsPerIteration?: number; iterations?: number; relErr?: number }[];
  speedupPerIteration: number | null;
}

await main();
