// `npm test`: type-check, build, run the Node suites (node:test on the compiled tests), then the Playwright suites.
// Under Linux without a display, re-runs itself inside xvfb-run so that headless-gl (the gpu.js backend)
// and the Electron suite have an X server. Pass words to run only test files whose path contains them:
//   npm test -- formats cli
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktopSuiteSkipReason } from './electron-binary.mjs';

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

function step(label, args, extraEnv = {}) {
  console.log(`\n== ${label}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`npm test: ${label} failed`);
    process.exit(r.status ?? 1);
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

const matches = (p) => filters.length === 0 || filters.some((f) => p.includes(f));
const nodeTests = findTests(path.join(root, 'dist', 'test')).filter(matches);
if (nodeTests.length) step(`node tests (${nodeTests.length} files)`, ['--test', '--test-reporter=spec', ...nodeTests]);

const pwDirs = ['e2e', 'electron'].filter((d) => existsSync(path.join(root, 'test', d)));
const pwFilters = filters.length ? filters : [];
if (pwDirs.length && (filters.length === 0 || pwDirs.some((d) => filters.some((f) => f.includes(d) || d.includes(f))))) {
  step('playwright', [require.resolve('@playwright/test/cli'), 'test', '--config', 'test/playwright.config.ts', ...pwFilters.filter((f) => !pwDirs.includes(f))], {
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
  });
}
const skipped = existsSync(path.join(root, 'test', 'electron')) ? desktopSuiteSkipReason() : null;
if (skipped) console.log(`\nThe Electron suite was skipped: ${skipped}.`);
console.log('\nnpm test: all suites passed');
