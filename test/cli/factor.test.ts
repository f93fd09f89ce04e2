import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { relDiff } from '../engine/support.js';
import { runCli } from '../helpers/cli.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-cli-factor-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string) => {
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
};

/** A 6×5 non-negative matrix of rank 2. */
function lowRankValues(): number[][] {
  const u = [[1, 0], [2, 1], [0, 3], [1, 1], [4, 0], [0, 2]];
  const v = [[1, 2, 0, 1, 3], [0, 1, 2, 2, 1]];
  return u.map((ui) => v[0]!.map((_, j) => ui[0]! * v[0]![j]! + ui[1]! * v[1]![j]!));
}

/** lowRankValues() as CSV text with a header row. */
function lowRankCsv(missing = false): string {
  const rows = lowRankValues().map((row, i) => row.map((x, j) => (missing && i === 2 && j === 3 ? '' : String(x))).join(','));
  return ['a,b,c,d,e', ...rows].join('\n') + '\n';
}

describe('nmf-studio factor', () => {
  test('--help and --version answer with exit code 0', async () => {
    const help = await runCli(['factor', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: nmf-studio factor <file> --rank K/);
    assert.match(help.stdout, /--beta-loss/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /factor/);
  });

  test('--json prints one object with the documented fields, and W/H are written as float64 .npy', async () => {
    const input = await write('low-rank.csv', lowRankCsv());
    const out = path.join(dir, 'out-json');
    const r = await runCli(['factor', input, '--rank', '2', '--json', '--out', out, '--max-iter', '500', '--tol', '1e-10']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const key of ['rows', 'cols', 'rank', 'solver', 'betaLoss', 'init', 'iterations', 'loss', 'relErr', 'backend', 'backendReason', 'ms']) {
      assert.ok(key in o, `missing ${key}`);
    }
    assert.equal(o.rows, 6);
    assert.equal(o.cols, 5);
    assert.equal(o.solver, 'cd');
    assert.equal(o.betaLoss, 'frobenius');
    assert.equal(o.init, 'nndsvda');
    assert.ok((o.relErr as number) < 1e-3, `an exact rank-2 matrix fits: relErr ${String(o.relErr)}`);
    assert.deepEqual((await readdir(out)).sort(), ['H.npy', 'W.npy', 'components.csv']);
    const w = await readFile(path.join(out, 'W.npy'));
    assert.equal(w.subarray(0, 6).toString('latin1'), '\x93NUMPY');
    assert.match(w.toString('latin1', 10, 80), /'descr': '<f8'.*'shape': \(6, 2\)/);
    // The written factors are the fit the figures describe: W·H reproduces the rank-2 input, and loss and relErr
    // are ½‖V − WH‖² and ‖V − WH‖/‖V‖ of exactly these factors.
    const W = readNpy(path.join(out, 'W.npy'));
    const H = readNpy(path.join(out, 'H.npy'));
    assert.deepEqual([W.rows, W.cols, H.rows, H.cols], [6, 2, 2, 5]);
    assert.ok([...W.data, ...H.data].every((x) => x >= 0), 'non-negative factors');
    const V = lowRankValues();
    let residual = 0, norm = 0;
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 5; j++) {
        const wh = W.data[i * 2]! * H.data[j]! + W.data[i * 2 + 1]! * H.data[5 + j]!;
        residual += (V[i]![j]! - wh) ** 2;
        norm += V[i]![j]! ** 2;
      }
    }
    const loss = o.loss as number, relErr = o.relErr as number;
    // The fit is near exact, so both are tiny differences of large sums: compared on the scale of ½‖V‖².
    assert.ok(Math.abs(loss - residual / 2) <= 1e-12 * (norm / 2), `loss ${loss} vs ½‖V − WH‖² ${residual / 2}`);
    assert.ok(Math.abs(relErr ** 2 - residual / norm) <= 1e-12, `relErr ${relErr} vs ${Math.sqrt(residual / norm)}`);
  });

  test('existing outputs are kept unless --overwrite', async () => {
    const input = await write('again.csv', lowRankCsv());
    const out = path.join(dir, 'out-again');
    assert.equal((await runCli(['factor', input, '--rank', '2', '--out', out])).code, 0);
    const before = await readFile(path.join(out, 'W.npy'));
    const refused = await runCli(['factor', input, '--rank', '2', '--out', out, '--seed', '3', '--init', 'random']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /W\.npy: already exists \(pass --overwrite/);
    assert.deepEqual(await readFile(path.join(out, 'W.npy')), before);
    const replaced = await runCli(['factor', input, '--rank', '2', '--out', out, '--overwrite', '--format', 'csv']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.ok((await readdir(out)).includes('W.csv'));
  });

  test('missing cells are ignored by the fit and counted', async () => {
    const input = await write('missing.csv', lowRankCsv(true));
    const r = await runCli(['factor', input, '--rank', '2', '--json', '--max-iter', '1000', '--tol', '0']);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { relErr: number; missing: number };
    assert.equal(o.missing, 1);
    assert.ok(o.relErr < 1e-2, `observed cells fit: ${o.relErr}`);
  });

  test('the sklearn fixture factorizes from a .npy file with mu and kullback-leibler to scikit-learn\'s W, H and loss', async () => {
    const manifest = JSON.parse(await readFile(fixture('sklearn', 'manifest.json'), 'utf8')) as {
      cases: { name: string; max_iter: number; n_iter: number; objective: number; rel_err: number }[];
    };
    const c = manifest.cases.find((k) => k.name === 'mu_kl')!;
    const out = path.join(dir, 'out-kl');
    const r = await runCli([
      'factor', fixture('sklearn', 'mu_kl', 'V.npy'), '--rank', '5', '--beta-loss', 'kullback-leibler', '--json',
      '--init', 'custom', '--w0', fixture('sklearn', 'mu_kl', 'W0.npy'), '--h0', fixture('sklearn', 'mu_kl', 'H0.npy'),
      '--max-iter', String(c.max_iter), '--tol', '0', '--backend', 'reference', '--out', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { solver: string; betaLoss: string; iterations: number; loss: number; relErr: number };
    assert.equal(o.solver, 'mu');
    assert.equal(o.betaLoss, 'kullback-leibler');
    assert.equal(o.iterations, c.n_iter);
    // float64 end to end, as in the engine's parity suite (scikit-learn is matched to about 1e-14 there)
    assert.ok(Math.abs(o.loss - c.objective) <= 1e-9 * c.objective, `loss ${o.loss} vs scikit-learn's ${c.objective}`);
    assert.ok(Math.abs(o.relErr - c.rel_err) <= 1e-9 * c.rel_err, `relErr ${o.relErr} vs scikit-learn's ${c.rel_err}`);
    for (const name of ['W', 'H']) {
      const got = readNpy(path.join(out, `${name}.npy`));
      const want = readNpy(fixture('sklearn', 'mu_kl', `${name}.npy`));
      assert.ok(got.data instanceof Float64Array, `${name}.npy is float64`);
      assert.ok(relDiff(got, want) <= 1e-9, `${name} differs from scikit-learn's by ${relDiff(got, want)}`);
    }
  });

  test('a file that cannot be used: exit code 1, one line naming the file, row, column and value, nothing written', async () => {
    const cases: [string, string, RegExp][] = [
      ['negative.csv', '1,2\n3,-0.5\n', /negative\.csv: .*row 2.*column 2.*-0\.5/],
      ['text.csv', '1,2\n3,abc\n', /text\.csv: .*row 2.*column 2.*abc/],
      ['ragged.csv', '1,2,3\n4,5\n', /ragged\.csv: .*row 2/],
      ['empty.csv', '', /empty\.csv: /],
      ['inf.csv', '1,inf\n2,3\n', /inf\.csv: .*row 1.*column 2/],
    ];
    for (const [name, text, pattern] of cases) {
      const input = await write(name, text);
      const out = path.join(dir, `out-${name}`);
      const r = await runCli(['factor', input, '--rank', '1', '--out', out]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line, got ${r.stderr}`);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      await assert.rejects(readdir(out), 'nothing is written');
    }
    const bad = await write('bad.npy', 'not numpy at all');
    const r = await runCli(['factor', bad, '--rank', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.npy: /);
  });

  test('--clip-negative turns negatives into zeros instead of refusing', async () => {
    const input = await write('clip.csv', '1,2\n3,-0.5\n');
    const r = await runCli(['factor', input, '--rank', '1', '--clip-negative', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('invalid options: exit code 2 and a usage hint', async () => {
    const input = await write('ok.csv', lowRankCsv());
    const cases: [string[], RegExp][] = [
      [['factor', input, '--rank', '2', '--bogus'], /Unknown option '--bogus'/],
      [['factor', input, '--rank', '0'], /--rank: 0 is too small/],
      [['factor', input, '--rank', 'abc'], /--rank: 'abc' is not a number/],
      [['factor', input], /--rank K is required/],
      [['factor', input, '--rank', '9', '--init', 'nndsvd'], /rank/],
      [['factor', input, '--rank', '2', '--solver', 'cd', '--beta-loss', 'itakura-saito'], /needs --solver mu/],
      [['factor', input, '--rank', '2', '--max-iter', '1.5'], /--max-iter: '1\.5' is not a whole number/],
      [['factor', input, '--rank', '2', '--backend', 'quantum'], /--backend: 'quantum' is not one of/],
      [['nonsense'], /unknown command 'nonsense'/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /Try 'nmf-studio .*--help'/);
    }
  });
});
