// `npm test`: type-check, build, run the Node suites (node:test on the compiled tests), then the Playwright suites,
// and end with what ran: the tests that failed, each skipped test or suite with its reason, and one last line
// `N passed, N failed, N skipped` across all suites (exit code 1 when anything failed).
// Under Linux without a display, re-runs itself inside xvfb-run so that headless-gl (the gpu.js backend)
// and the Electron suite have an X server. Pass words to run only test files whose path contains them:
//   npm test -- formats cli
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const filters = process.argv.slice(2);

if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.NMF_NO_XVFB) {
  const xvfb = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).stdout.trim();
  if (xvfb) {
    const r = spawnSync(xvfb, ['-a', '-s', '-screen 0 1280x1024x24', process.execPath, fileURLToPath(import.meta.url), ...filters], {
      stdio: 'inherit',
      env: { ...process.env, NMF_NO_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
}

function spawnStep(label, args, extraEnv = {}) {
  console.log(`\n== ${label}`);
  return spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } }).status ?? 1;
}

/** A step without which no test can run: stop at once when it fails. */
function step(label, args, extraEnv = {}) {
  const status = spawnStep(label, args, extraEnv);
  if (status !== 0) {
    console.error(`npm test: ${label} failed`);
    process.exit(status);
  }
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

step('typecheck', [path.join(root, 'scripts', 'typecheck.mjs')]);
step('build', [path.join(root, 'scripts', 'build.mjs')]);

/** Every test that finished: { status: 'passed' | 'failed' | 'skipped', name, file, reason, suite }. */
const outcomes = [];
const reports = mkdtempSync(path.join(os.tmpdir(), 'nmf-test-reports-'));
process.on('exit', () => rmSync(reports, { recursive: true, force: true }));

const matches = (p) => filters.length === 0 || filters.some((f) => p.includes(f));
const nodeTests = findTests(path.join(root, 'dist', 'test')).filter(matches);
if (nodeTests.length) {
  const report = path.join(reports, 'node.jsonl');
  const reporter = pathToFileURL(path.join(root, 'scripts', 'test-outcomes.mjs')).href;
  const status = spawnStep(`node tests (${nodeTests.length} files)`, [
    '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`, `--test-reporter-destination=${report}`,
    ...nodeTests,
  ]);
  const lines = existsSync(report) ? readFileSync(report, 'utf8').split('\n').filter(Boolean) : [];
  for (const line of lines) outcomes.push({ runner: 'node tests', ...JSON.parse(line) });
  noteUnexplained('node tests', status);
}

const pwDirs = ['e2e', 'electron'].filter((d) => existsSync(path.join(root, 'test', d)));
const pwFilters = filters.length ? filters : [];
if (pwDirs.length && (filters.length === 0 || pwDirs.some((d) => filters.some((f) => f.includes(d) || d.includes(f))))) {
  const report = path.join(reports, 'playwright.json');
  const args = [require.resolve('@playwright/test/cli'), 'test', '--config', 'test/playwright.config.ts', ...pwFilters.filter((f) => !pwDirs.includes(f))];
  // words meant for the Node suites alone select no spec: not a failure
  if (filters.length) args.push('--pass-with-no-tests');
  const status = spawnStep('playwright', args, {
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
    NMF_PLAYWRIGHT_JSON: report,
  });
  if (existsSync(report)) playwrightOutcomes(JSON.parse(readFileSync(report, 'utf8')));
  noteUnexplained('playwright', status);
}

/** A runner that failed without a failed test to show for it (a crash, a broken config) still counts as a failure. */
function noteUnexplained(runner, status) {
  if (status !== 0 && !outcomes.some((o) => o.runner === runner && o.status === 'failed')) {
    outcomes.push({ runner, status: 'failed', name: `${runner} exited with status ${status}` });
  }
}

/** Playwright's JSON report: suites nest, each spec has one test per project, skip reasons are annotations. */
function playwrightOutcomes(report) {
  const STATUS = { expected: 'passed', flaky: 'passed', unexpected: 'failed', skipped: 'skipped' };
  const visit = (suite, titles) => {
    const here = suite.title && !suite.title.endsWith('.ts') ? [...titles, suite.title] : titles;
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        const status = STATUS[t.status] ?? 'failed';
        const annotations = [...(t.annotations ?? []), ...(t.results ?? []).flatMap((r) => r.annotations ?? [])];
        const skip = annotations.find((a) => a.type === 'skip' || a.type === 'fixme');
        outcomes.push({
          runner: 'playwright',
          status,
          name: [...here, spec.title].join(' › '),
          file: path.join('test', spec.file ?? suite.file ?? ''),
          reason: status === 'skipped' ? skip?.description || 'no reason given' : undefined,
        });
      }
    }
    for (const child of suite.suites ?? []) visit(child, here);
  };
  for (const suite of report.suites ?? []) visit(suite, []);
  for (const error of report.errors ?? []) outcomes.push({ runner: 'playwright', status: 'failed', name: (error.message ?? 'an error outside the tests').split('\n')[0] });
}

const count = (status) => outcomes.filter((o) => o.status === status);
const [passed, failed, skipped] = [count('passed'), count('failed'), count('skipped')];
if (failed.length) {
  console.log('\nFailed:');
  for (const o of failed) console.log(`  ${o.file ? `${o.file} › ` : ''}${o.name}`);
}
if (skipped.length) {
  // one line per file and reason: a suite skipped as a whole (the Electron one without its binary) is one line
  console.log('\nSkipped:');
  const groups = new Map();
  for (const o of skipped) {
    const key = `${o.file ?? ''}\u0000${o.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  for (const group of groups.values()) {
    const [{ file, reason }] = group;
    const what = group.length === 1 ? `${file ? `${file} › ` : ''}${group[0].name}${group[0].suite ? ' (suite)' : ''}` : `${file}: ${group.length} tests`;
    console.log(`  ${what}: ${reason}`);
  }
}
console.log(`\n${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped`);
process.exit(failed.length ? 1 : 0);
