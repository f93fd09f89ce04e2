// Folders through the real CLI: exit codes, --json lines and summary, filters, and Ctrl-C / kill in the middle of a batch.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeNmfz, decodePixels } from '../../src-main/codec/nmfz.js';
import { runCli } from '../helpers/cli.js';
import { cliBin } from '../helpers/paths.js';
import { hashTree, listFiles, photoTree, smallImage, tempDir, TREE_BAD, TREE_IMAGES } from '../batch/tree.js';

/** Starts the CLI and sends `signal` once `ready(stdout)` holds; resolves with the exit code and output. */
function interrupt(args: string[], ready: (stdout: string) => boolean, signal: NodeJS.Signals): Promise<{ code: number | null; killedBy: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args]);
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!sent && ready(stdout)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out\n${stderr}`));
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      if (!sent) reject(new Error(`finished before the signal could be sent\n${stdout}\n${stderr}`));
      else resolve({ code, killedBy, stdout, stderr });
    });
  });
}

async function assertCleanAndDecodable(out: string): Promise<string[]> {
  const files = await listFiles(out);
  assert.deepEqual(files.filter((f) => f.endsWith('.tmp') || path.basename(f).startsWith('.')), [], 'no temporaries');
  const outputs = files.filter((f) => f.endsWith('.nmfz'));
  for (const f of outputs) {
    const p = path.join(out, f);
    const pixels = decodePixels(decodeNmfz(await readFile(p), p));
    assert.ok(pixels.width > 0, f);
  }
  return outputs;
}

describe('nmf-studio compress/batch on folders', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let photos: string;
  let many: string;
  const MANY = 14;

  before(async () => {
    ({ dir, cleanup } = await tempDir('nmf-cli-batch-'));
    photos = await photoTree(path.join(dir, 'photos'));
    many = path.join(dir, 'many');
    const sources = ['camera.png', 'astronaut.png', 'coffee.png', 'chelsea.png', 'coins.png', 'horse.png'];
    for (let i = 0; i < MANY; i++) await smallImage(path.join(many, `set ${i % 3}`, `img ${String(i).padStart(2, '0')}.png`), sources[i % 6]!, 80, 64);
  });
  after(() => cleanup());

  it('batch --json: a line per input, the summary last, exit 1 for the bad files, reports; originals untouched', async () => {
    const out = path.join(dir, 'out');
    const before = await hashTree(photos);
    const r = await runCli(['batch', photos, '--out', out, '--rank', '3', '--max-iter', '40', '--json', '--jobs', '2', '--backend', 'cpu']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop()!;
    assert.deepEqual(Object.keys(summary), ['summary']);
    const s = summary.summary as Record<string, number>;
    assert.deepEqual([s.ok, s.errors, s.skipped], [TREE_IMAGES.length, TREE_BAD.length, 1]);
    assert.deepEqual(Object.keys(s), ['ok', 'errors', 'skipped', 'inputBytes', 'outputBytes', 'ms']);
    assert.equal(lines.length, TREE_IMAGES.length + TREE_BAD.length + 1);
    const inputs = lines.map((l) => path.relative(photos, l.input as string)).sort();
    assert.deepEqual(inputs, [...TREE_IMAGES, ...TREE_BAD, 'work/scans/loop'].sort());
    assert.equal(s.outputBytes, lines.reduce((sum, l) => sum + ((l.compressedBytes as number | null) ?? 0), 0));
    assert.equal(r.stderr.trim().split('\n').length, TREE_BAD.length, r.stderr);
    const files = await listFiles(out);
    for (const f of ['report.json', 'report.csv', 'report.html']) assert.ok(files.includes(f), f);
    assert.deepEqual(await hashTree(photos), before);

    // Nothing left to do except the bad files: still exit 1; plain lines say what was skipped.
    const again = await runCli(['compress', photos, '--out', out, '--rank', '3', '--backend', 'cpu']);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /^0 compressed, 7 skipped, 3 failed/m);
  });

  it('exit 0 when every input is compressed or skipped; --include/--exclude pick the files', async () => {
    const out = path.join(dir, 'out-filter');
    const r = await runCli(['compress', photos, '--out', out, '--rank', '3', '--max-iter', '40', '--include', '*.png', '--include', '*.{jpg,tif}', '--exclude', 'bad/', '--exclude', 'deep', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await listFiles(out)).filter((f) => f.endsWith('.nmfz')), ['cam.nmfz', 'holiday 2023/beach day.nmfz', 'holiday 2023/été/日本の猫.nmfz', 'work/scans/coins.nmfz']);
    assert.match(r.stdout, /^4 compressed, 1 skipped, 0 failed/m, 'the link loop is skipped');
    assert.ok(!r.stdout.includes('\x1b'));
    const again = await runCli(['compress', photos, '--out', out, '--rank', '3', '--include', '*.png', '--include', '*.{jpg,tif}', '--exclude', 'bad/', '--exclude', 'deep', '--backend', 'cpu']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^0 compressed, 5 skipped, 0 failed/m);
  });

  it('Ctrl-C mid-batch: exit 130, only complete decodable outputs, no temporaries, a report; the same command resumes', async () => {
    const out = path.join(dir, 'out-sigint');
    const args = ['compress', many, '--out', out, '--rank', '3', '--max-iter', '60', '--jobs', '2', '--json', '--backend', 'cpu'];
    const r = await interrupt(args, (stdout) => stdout.split('\n').filter((l) => l.includes('"status":"ok"')).length >= 2, 'SIGINT');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { summary: { ok: number; interrupted: boolean } };
    assert.equal(summary.summary.interrupted, true);
    const outputs = await assertCleanAndDecodable(out);
    assert.ok(outputs.length >= 2 && outputs.length < MANY, `${outputs.length} outputs`);
    assert.equal(summary.summary.ok, outputs.length, 'every finished file is counted, none half-done');
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { summary: { interrupted: boolean; ok: number } };
    assert.deepEqual([report.summary.interrupted, report.summary.ok], [true, outputs.length]);

    const resumed = await runCli(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    const s = (JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { summary: { ok: number; skipped: number } }).summary;
    assert.deepEqual([s.skipped, s.ok], [outputs.length, MANY - outputs.length]);
    assert.equal((await assertCleanAndDecodable(out)).length, MANY);
  });

  it('a reader that goes away (`… | head -1`): the batch stops quietly with 130, no stack trace, no partial files', async () => {
    const out = path.join(dir, 'out-epipe');
    const args = ['batch', many, '--out', out, '--rank', '3', '--max-iter', '60', '--jobs', '2', '--json', '--backend', 'cpu'];
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cliBin, ...args]);
      let stderr = '';
      let seen = '';
      child.stdout.on('data', (c: Buffer) => {
        seen += c.toString();
        if (seen.includes('\n')) child.stdout.destroy(); // as `head -1` exits after its line
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`timed out\n${stderr}`))), 120_000);
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr })));
    });
    assert.equal(r.code, 130, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|internal error|\n\s+at /);
    const outputs = await assertCleanAndDecodable(out);
    assert.ok(outputs.length < MANY, `${outputs.length} outputs: the batch went on`);
  });

  it('SIGTERM and a kill: no partial files; a re-run finishes the batch and leaves no temporaries', async () => {
    const out = path.join(dir, 'out-kill');
    const args = ['batch', many, '--out', out, '--rank', '3', '--max-iter', '60', '--jobs', '2', '--json', '--backend', 'cpu'];
    const term = await interrupt(args, (stdout) => stdout.includes('"status":"ok"'), 'SIGTERM');
    assert.equal(term.code, 130, term.stderr);
    assert.match(term.stderr, /terminated/);
    await assertCleanAndDecodable(out);
    const killed = await interrupt(args, (stdout) => stdout.includes('"status":"ok"'), 'SIGKILL');
    assert.equal(killed.killedBy, 'SIGKILL');
    const resumed = await runCli(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await assertCleanAndDecodable(out)).length, MANY);
  });
});
