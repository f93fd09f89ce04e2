// The example this project grew from, through the real CLI: a picture saved with np.savetxt, factorized as
// `NMF(n_components=5, init='random', random_state=0)` does, against scikit-learn's own result.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { relDiff } from '../engine/support.js';

interface Founding {
  name: string;
  n_iter: number;
  reconstruction_err: number;
  rel_err: number;
}

const founding = (JSON.parse(await readFile(fixture('random-state', 'manifest.json'), 'utf8')) as { cases: Founding[] }).cases.find(
  (c) => c.name === 'founding',
)!;

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-founding-'));
  await copyFile(fixture('random-state', 'founding', 'image.txt'), path.join(dir, 'image.txt'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('nmf-studio factor image.txt --rank 5 --init random --seed 0 gives scikit-learn’s W, H and iteration count', async () => {
  const run = await runCli(['factor', 'image.txt', '--rank', '5', '--init', 'random', '--seed', '0', '--json', '--out', 'factors'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { rows: number; cols: number; iterations: number; loss: number; relErr: number; backend: string; backendReason: string };
  assert.deepEqual([summary.rows, summary.cols], [64, 64]);
  assert.equal(summary.iterations, founding.n_iter);
  // A small float64 matrix runs in float64 under the default backend, as scikit-learn computes.
  assert.equal(summary.backend, 'reference');
  assert.match(summary.backendReason, /float64/);
  assert.ok(Math.abs(summary.relErr / founding.rel_err - 1) <= 1e-9, `relErr ${summary.relErr} vs ${founding.rel_err}`);
  // scikit-learn's reconstruction_err_ is ‖V − WH‖_F = sqrt(2 · loss).
  const err = Math.sqrt(2 * summary.loss);
  assert.ok(Math.abs(err / founding.reconstruction_err - 1) <= 1e-9, `reconstruction error ${err} vs ${founding.reconstruction_err}`);

  const W = readNpy(path.join(dir, 'factors', 'W.npy'));
  const H = readNpy(path.join(dir, 'factors', 'H.npy'));
  assert.ok(W.data instanceof Float64Array && H.data instanceof Float64Array, 'float64 in, float64 out');
  const dW = relDiff(W, readNpy(fixture('random-state', 'founding', 'W.npy')));
  const dH = relDiff(H, readNpy(fixture('random-state', 'founding', 'H.npy')));
  assert.ok(dW <= 1e-6, `W differs by ${dW}`);
  assert.ok(dH <= 1e-6, `H differs by ${dH}`);
});

test('factor --help says where the random start comes from and when auto stays in float64', async () => {
  const help = await runCli(['factor', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /NumPy's RandomState\(S\)/);
  assert.match(help.stdout, /rows x cols x rank <= 131072 runs in float64/);
});

test('the same start on the float32 CPU backend lands within float32’s reach of scikit-learn', async () => {
  const run = await runCli(['factor', 'image.txt', '--rank', '5', '--init', 'random', '--seed', '0', '--backend', 'cpu', '--json', '--out', 'cpu'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { relErr: number; backend: string };
  assert.equal(summary.backend, 'cpu');
  assert.ok(Math.abs(summary.relErr / founding.rel_err - 1) <= 1e-5, `relErr ${summary.relErr} vs ${founding.rel_err}`);
  const dW = relDiff(readNpy(path.join(dir, 'cpu', 'W.npy')), readNpy(fixture('random-state', 'founding', 'W.npy')));
  assert.ok(dW <= 1e-4, `W differs by ${dW}`);
});
