import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const scanner = path.join(path.dirname(require.resolve('@doyensec/electronegativity/package.json')), 'dist', 'index.js');
const electronVersion = (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;

interface Finding {
  check: string;
  severity: string;
  file: string;
  location: string;
}

/** Runs Electronegativity on a folder and returns its findings (from its CSV report). */
function scan(input: string): Finding[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-scan-'));
  try {
    const report = path.join(dir, 'report.csv');
    const r = spawnSync(process.execPath, [scanner, '-i', input, '-o', report, '-r', '-v', 'false', '-e', electronVersion], { encoding: 'utf8', timeout: 300_000 });
    assert.ok(existsSync(report), `the scanner wrote no report: ${r.stderr}`);
    const lines = readFileSync(report, 'utf8').trim().split('\n').slice(1);
    return lines.map((line) => {
      const cells = line.split(',').map((c) => c.replace(/^"|"$/g, ''));
      return { check: cells[0]!, severity: cells[1]!, file: cells[3]!, location: cells[4]! };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Electronegativity finds no high-severity issue in the desktop shell and the renderer', () => {
  // One scan over both, as the app ships them: its global checks (navigation limits, CSP) look for the
  // main process's handlers and the page's policy across the whole application.
  const app = mkdtempSync(path.join(os.tmpdir(), 'nmf-app-'));
  try {
    for (const folder of ['src-main/electron', 'src-renderer']) {
      const from = path.join(repoRoot, folder);
      if (existsSync(from)) cpSync(from, path.join(app, folder), { recursive: true, filter: (p) => !p.includes('node_modules') });
    }
    const high = scan(app).filter((f) => f.severity === 'HIGH');
    assert.deepEqual(high, [], high.map((f) => `${f.check} at ${f.file}:${f.location}`).join('; '));
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test('the scan does catch an insecure window (so a clean result means something)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-insecure-'));
  try {
    writeFileSync(
      path.join(dir, 'main.js'),
      "const { BrowserWindow } = require('electron');\nnew BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false } });\n",
    );
    const high = scan(dir).filter((f) => f.severity === 'HIGH');
    assert.ok(high.some((f) => f.check === 'CONTEXT_ISOLATION_JS_CHECK'), JSON.stringify(high));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
