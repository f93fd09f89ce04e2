// `nmf-studio factor` on sparse files, as a user runs it: coordinate .mtx (plain and .gz) and scipy .npz fitted
// in sparse form, and each kind of bad sparse input refused in one line naming the file, with exit code 1.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runCli } from '../helpers/cli.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-cli-sparse-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, content: string | Uint8Array) => {
  const p = path.join(dir, name);
  await writeFile(p, content);
  return p;
};

/** Exit code 1 and exactly one line on stderr that starts with the file name and holds every part. */
async function refused(file: string, ...parts: string[]): Promise<void> {
  const run = await runCli(['factor', file, '--rank', '2']);
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${run.stderr}`);
  assert.ok(lines[0]!.startsWith(`nmf-studio: ${file}: `), lines[0]);
  for (const part of parts) assert.ok(lines[0]!.includes(part), `'${part}' missing from: ${lines[0]}`);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

describe('nmf-studio factor on sparse files', () => {
  test('a scipy CSR .npz and the same matrix as .mtx.gz give the same fit, held sparse', async () => {
    const npz = fixture('sklearn-sparse', 'cd_fro_seed1', 'V.npz');
    const a = await runCli(['factor', npz, '--rank', '4', '--json', '--backend', 'reference', '--out', path.join(dir, 'a')]);
    assert.equal(a.code, 0, a.stderr);
    const ja = JSON.parse(a.stdout);
    assert.deepEqual([ja.rows, ja.cols, ja.solver, ja.init], [54, 40, 'cd', 'nndsvda']);
    const W = readNpy(path.join(dir, 'a', 'W.npy'));
    assert.deepEqual([W.rows, W.cols], [54, 4]);

    // the same matrix written as a coordinate file by hand from the dense fixture
    const V = readNpy(fixture('sklearn-sparse', 'formats', 'dense.npy'));
    const entries: string[] = [];
    for (let i = 0; i < V.rows; i++) for (let j = 0; j < V.cols; j++) if (V.data[i * V.cols + j] !== 0) entries.push(`${i + 1} ${j + 1} ${V.data[i * V.cols + j]}`);
    const mtx = await write('v.mtx.gz', gzipSync(`%%MatrixMarket matrix coordinate real general\n${V.rows} ${V.cols} ${entries.length}\n${entries.join('\n')}\n`));
    const viaMtx = JSON.parse((await runCli(['factor', mtx, '--rank', '3', '--json', '--backend', 'reference'])).stdout);
    const viaNpz = JSON.parse((await runCli(['factor', fixture('sklearn-sparse', 'formats', 'csr.npz'), '--rank', '3', '--json', '--backend', 'reference'])).stdout);
    assert.equal(viaMtx.iterations, viaNpz.iterations);
    assert.equal(viaMtx.relErr, viaNpz.relErr);
  });

  test('a coordinate entry outside the declared size names the file and the line', async () => {
    const file = await write('outside.mtx', '%%MatrixMarket matrix coordinate real general\n4 3 2\n1 1 1\n2 7 1\n');
    await refused(file, 'line 4: column index 7 is out of range 1..3');
  });

  test('a non-zero count that does not match the size line', async () => {
    await refused(await write('short.mtx', '%%MatrixMarket matrix coordinate real general\n4 3 5\n1 1 1\n2 2 1\n'), 'the size line announces 5 entries but only 2 follow');
    await refused(await write('long.mtx', '%%MatrixMarket matrix coordinate real general\n4 3 1\n1 1 1\n2 2 1\n'), 'line 4: more entries than the 1 the size line announces');
  });

  test('a corrupt .npz (zip) archive', async () => {
    const good = readFileSync(fixture('sklearn-sparse', 'formats', 'csr.npz'));
    await refused(await write('cut.npz', good.subarray(0, 200)), 'not a readable .npz (zip) archive');
    const flipped = Uint8Array.from(good);
    flipped[90] = flipped[90]! ^ 0x5a;
    await refused(await write('flipped.npz', flipped), 'of the .npz (zip) archive is damaged');
  });

  test('Itakura-Saito on a sparse matrix with zeros is refused as scikit-learn refuses it', async () => {
    const run = await runCli(['factor', fixture('sklearn-sparse', 'formats', 'csr.npz'), '--rank', '2', '--solver', 'mu', '--beta-loss', 'itakura-saito']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^nmf-studio: \S+csr\.npz: the matrix is sparse with 45 zero entries; betaLoss itakura-saito needs positive data \(the solver may diverge\)/);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1);
  });
});
