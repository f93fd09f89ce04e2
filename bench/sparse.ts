// `npm run bench -- --sparse`: sparse matrix files against scikit-learn on the same files in the same run.
// Writes bench/sparse-results.md (and .json) and prints the table.
//
//   node dist/bench/bench.js --sparse [--cases sparse20k,sparse200k,corpus] [--no-sklearn]
//
// - sparse20k: 20000×5000 with 200 000 non-zeros (0.2 %), rank 20. scikit-learn runs its defaults (cd, nndsvda,
//   tol 1e-4); we run cd and hals from the same start until relErr reaches scikit-learn's, and our own defaults.
// - sparse200k: 200000×50000 with 10⁶ non-zeros, rank 50, both with default settings but 30 iterations at most: it
//   must finish with a peak resident memory under 1 GiB.
// - corpus: a term–document matrix of this machine's licence and copyright texts (bench/corpus.ts), rank 10,
//   with each component's top terms.

import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../test/helpers/paths.js';
import { xorshift } from '../test/helpers/random.js';
import { writeCorpus, type Corpus } from './corpus.js';
import type { SparseCaseResult } from './sparse-case.js';

const PYTHON = '/usr/bin/python3';
const GiB_MiB = 1024;
/** The large case's iteration cap, the same for both: enough to measure an iteration's cost and memory, short enough to run. */
const BIG_ITERATIONS = 30;

interface SklearnResult {
  ms: number;
  iterations: number;
  relErr: number;
  peakRssMiB: number;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** rows×cols with `perRow` distinct random columns per row, integer counts 1…9: the same file on every machine. */
async function writeRandomMtx(file: string, rows: number, cols: number, perRow: number, seed: number): Promise<void> {
  const next = xorshift(seed);
  const out = createWriteStream(file);
  out.write(`%%MatrixMarket matrix coordinate integer general\n% ${perRow} random entries per row\n${rows} ${cols} ${rows * perRow}\n`);
  let chunk: string[] = [];
  for (let i = 0; i < rows; i++) {
    const taken = new Set<number>();
    while (taken.size < perRow) taken.add(Math.floor(next() * cols));
    for (const j of taken) chunk.push(`${i + 1} ${j + 1} ${1 + Math.floor(next() * 9)}`);
    if (chunk.length >= 50000) {
      if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = [];
    }
  }
  out.write(chunk.join('\n') + (chunk.length ? '\n' : ''));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function sklearn(name: string, mtx: string, rank: number, skip: boolean, maxIter = 200): SklearnResult | null {
  if (skip) return null;
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(PYTHON, [path.join(repoRoot, 'bench', 'sklearn_sparse.py')], {
    input: JSON.stringify({ cases: [{ name, mtx, rank, max_iter: maxIter }] }),
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    log(`scikit-learn run failed: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`);
    return null;
  }
  return (JSON.parse(r.stdout) as { cases: Record<string, SklearnResult> }).cases[name]!;
}

function ours(mtx: string, rank: number, solver: string, maxIter: number, tol: number, target?: number, terms?: string): SparseCaseResult | { error: string } {
  const script = fileURLToPath(new URL('./sparse-case.js', import.meta.url));
  const args = [script, mtx, String(rank), solver, String(maxIter), String(tol), target === undefined ? '-' : String(target), ...(terms ? [terms] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 1 << 24 });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last) return { error: (r.stderr || String(r.error ?? r.signal)).trim().split('\n').pop() ?? 'failed' };
  return JSON.parse(last) as SparseCaseResult;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export async function runSparseBench(options: { cases?: string[]; noSklearn: boolean }): Promise<void> {
  const want = (name: string) => !options.cases || options.cases.includes(name);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-sparse-bench-'));
  const lines: string[] = [];
  const json: Record<string, unknown> = { machine: { cpu: os.cpus()[0]?.model.trim(), cores: os.availableParallelism(), load: os.loadavg()[0] } };
  const say = (line = '') => {
    lines.push(line);
    log(line);
  };
  try {
    say(`# Sparse benchmark (\`npm run bench -- --sparse\`)`);
    say();
    say(`${os.cpus()[0]?.model.trim()}, ${os.availableParallelism()} cores, 1-minute load ${os.loadavg()[0]!.toFixed(1)} at the start. Ours: CPU backend; fit times exclude reading the file (reported apart), as scikit-learn's exclude scipy's mmread.`);
    say();
    if (want('sparse20k')) {
      const mtx = path.join(dir, 'sparse20k.mtx');
      await writeRandomMtx(mtx, 20000, 5000, 10, 20);
      log('sparse20k: scikit-learn…');
      const sk = sklearn('sparse20k', mtx, 20, options.noSklearn);
      const target = sk?.relErr;
      log('sparse20k: ours…');
      const cd = target === undefined ? null : ours(mtx, 20, 'cd', 2000, 0, target);
      const hals = target === undefined ? null : ours(mtx, 20, 'hals', 2000, 0, target);
      const defaults = ours(mtx, 20, 'cd', 200, 1e-4);
      json.sparse20k = { sklearn: sk, cd, hals, defaults };
      say(`## 20000×5000, 200 000 non-zeros (0.2 %), rank 20`);
      say();
      say('| run | fit | iterations | relErr | vs scikit-learn | peak memory |');
      say('|---|---|---|---|---|---|');
      if (sk) say(`| scikit-learn ${'defaults'} (cd, nndsvda, tol 1e-4) | ${s(sk.ms)} | ${sk.iterations} | ${sk.relErr.toFixed(5)} | 1 | ${sk.peakRssMiB.toFixed(0)} MiB |`);
      for (const [name, r] of [['ours, cd to scikit-learn’s relErr', cd], ['ours, hals to scikit-learn’s relErr', hals], ['ours, defaults (cd, tol 1e-4)', defaults]] as const) {
        if (!r) continue;
        if ('error' in r) say(`| ${name} | failed: ${r.error} | | | | |`);
        else say(`| ${name} | ${s(r.fitMs)} (read ${s(r.loadMs)}) | ${r.iterations} | ${r.relErr.toFixed(5)} | ${sk ? `${(r.fitMs / sk.ms).toFixed(2)}×` : '–'} | ${r.peakRssMiB.toFixed(0)} MiB |`);
      }
      const reached = [cd, hals].filter((r): r is SparseCaseResult => !!r && !('error' in r) && r.relErr <= target!);
      if (sk && reached.length) {
        const best = reached.reduce((a, b) => (a.fitMs <= b.fitMs ? a : b));
        const ratio = best.fitMs / sk.ms;
        say();
        say(`Target: time to scikit-learn’s default relErr ≤ 1.0× its time: **${ratio.toFixed(2)}×** (${best === cd ? 'cd' : 'hals'}) — ${ratio <= 1 ? 'met' : 'not met'}.`);
      }
      say();
    }
    if (want('sparse200k')) {
      const mtx = path.join(dir, 'sparse200k.mtx');
      await writeRandomMtx(mtx, 200000, 50000, 5, 200);
      log('sparse200k: scikit-learn…');
      const sk = sklearn('sparse200k', mtx, 50, options.noSklearn, BIG_ITERATIONS);
      log('sparse200k: ours…');
      const r = ours(mtx, 50, 'cd', BIG_ITERATIONS, 1e-4);
      json.sparse200k = { sklearn: sk, ours: r };
      say(`## 200000×50000, 10⁶ non-zeros, rank 50, default settings (cd, nndsvda, tol 1e-4) but at most ${BIG_ITERATIONS} iterations`);
      say();
      say('| run | fit | iterations | relErr | peak memory |');
      say('|---|---|---|---|---|');
      if (sk) say(`| scikit-learn | ${s(sk.ms)} | ${sk.iterations} | ${sk.relErr.toFixed(5)} | ${sk.peakRssMiB.toFixed(0)} MiB |`);
      if ('error' in r) say(`| ours | failed: ${r.error} | | | |`);
      else {
        say(`| ours (${r.sparse ? 'held sparse' : 'dense'}) | ${s(r.fitMs)} (read ${s(r.loadMs)}) | ${r.iterations} | ${r.relErr.toFixed(5)} | ${r.peakRssMiB.toFixed(0)} MiB |`);
        say();
        say(`Target: finishes with peak memory under 1 GiB: **${r.peakRssMiB.toFixed(0)} MiB** — ${r.peakRssMiB < GiB_MiB ? 'met' : 'not met'}${sk ? `; time ${(r.fitMs / sk.ms).toFixed(2)}× scikit-learn’s` : ''}.`);
      }
      say();
    }
    if (want('corpus')) {
      const mtx = path.join(dir, 'corpus.mtx');
      const terms = path.join(dir, 'terms.txt');
      const corpus: Corpus = await writeCorpus(mtx, terms);
      log('corpus: ours…');
      const r = ours(mtx, 10, 'cd', 200, 1e-4, undefined, terms);
      const sk = sklearn('corpus', mtx, 10, options.noSklearn);
      json.corpus = { corpus, ours: r, sklearn: sk };
      say(`## A real corpus: ${corpus.documents} paragraphs × ${corpus.terms} terms (${corpus.nnz} non-zeros, tf-idf) from ${corpus.sources} licence and copyright files on this machine, rank 10`);
      say();
      if ('error' in r) say(`ours failed: ${r.error}`);
      else {
        say(`Ours: ${s(r.fitMs)}, ${r.iterations} iterations, relErr ${r.relErr.toFixed(4)}${sk ? `; scikit-learn: ${s(sk.ms)}, ${sk.iterations} iterations, relErr ${sk.relErr.toFixed(4)}` : ''}. Top terms per component:`);
        say();
        r.topTerms!.forEach((t, c) => say(`${c + 1}. ${t.join(', ')}`));
      }
      say();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(path.join(repoRoot, 'bench', 'sparse-results.md'), lines.join('\n') + '\n');
  writeFileSync(path.join(repoRoot, 'bench', 'sparse-results.json'), JSON.stringify(json, null, 1) + '\n');
  log('wrote bench/sparse-results.md and bench/sparse-results.json');
}
