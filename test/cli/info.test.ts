// `nmf-studio info` as a real process: the header as JSON, agreeing with what compress reported; bad files and usage.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { smallImage, tempDir } from '../batch/tree.js';

describe('nmf-studio info', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let nmfz: string;
  let record: Record<string, unknown>;

  before(async () => {
    ({ dir, cleanup } = await tempDir('nmf-cli-info-'));
    const image = path.join(dir, 'horse.png');
    await smallImage(image, 'horse.png', 48, 40);
    const r = await runCli(['compress', image, '--out', dir, '--rank', '3', '--bits', '12', '--color', 'channels', '--json', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    record = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>;
    nmfz = path.join(dir, 'horse.nmfz');
  });
  after(() => cleanup());

  it('prints the header as JSON, matching the compress record', async () => {
    const r = await runCli(['info', nmfz]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['width', 'height', 'channels', 'bitDepth', 'colorMode', 'rank', 'compressedBytes', 'rawBytes', 'ratio', 'fileRatio', 'factorRatio']) {
      assert.deepEqual(info[key], record[key], key);
    }
    assert.equal(info.file, nmfz);
    assert.equal(info.colorMode, 'channels');
    assert.equal((info.quantization as { bits: number }).bits, 12);
    assert.equal((info.planes as unknown[]).length, 3);
    assert.equal((info.original as { name: string }).name, 'horse.png');
    assert.equal(typeof info.formatVersion, 'number');
  });

  it('several files: one JSON object per line; a bad one is named on one line and gives exit 1', async () => {
    const bad = path.join(dir, 'bad.nmfz');
    await writeFile(bad, 'NMFZ? no.');
    const r = await runCli(['info', nmfz, bad, nmfz]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.equal((JSON.parse(l) as { rank: number }).rank, record.rank);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, new RegExp(`^nmf-studio: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });

  it('a missing file is an input error (1); no file is a usage error (2)', async () => {
    const missing = await runCli(['info', path.join(dir, 'nope.nmfz')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.nmfz: no such file/);
    assert.equal((await runCli(['info'])).code, 2);
  });
});
