// `nmf-studio compress` as a real process: JSON records, outputs, skip/--overwrite, every bad input, usage errors, rank choices.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { badInputs, hashTree, listFiles, smallImage, tempDir } from '../batch/tree.js';

const RECORD_FIELDS = [
  'input', 'output', 'status', 'error', 'width', 'height', 'channels', 'bitDepth', 'colorMode', 'rank', 'originalFileBytes',
  'rawBytes', 'compressedBytes', 'ratio', 'fileRatio', 'factorRatio', 'psnr', 'ssim', 'relErr', 'iterations', 'backend', 'ms',
];
const JPEG_FIELDS = ['jpegQuality', 'jpegBytes', 'jpegPsnr', 'jpegSsim'];

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('nmf-studio compress', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let image: string;
  let bad: Awaited<ReturnType<typeof badInputs>>;

  before(async () => {
    ({ dir, cleanup } = await tempDir('nmf-cli-compress-'));
    image = path.join(dir, 'in', 'coffee cup.png');
    await smallImage(image, 'coffee.png', 64, 48);
    bad = await badInputs(path.join(dir, 'bad'));
  });
  after(() => cleanup());

  it('--json: one record with every documented field, then the summary; writes <name>.nmfz and the preview', async () => {
    const out = path.join(dir, 'out');
    const before = await hashTree(path.join(dir, 'in'));
    const r = await runCli(['compress', image, '--out', out, '--rank', '4', '--preview', '--compare-jpeg', '--json', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    const [record, summary, ...rest] = jsonLines(r.stdout);
    assert.equal(rest.length, 0);
    for (const f of [...RECORD_FIELDS, ...JPEG_FIELDS]) assert.ok(f in record!, `missing ${f}`);
    assert.equal(record!.status, 'ok');
    assert.equal(record!.error, null);
    assert.equal(record!.input, image);
    assert.equal(record!.output, path.join(out, 'coffee cup.nmfz'));
    assert.deepEqual([record!.width, record!.height, record!.channels, record!.bitDepth, record!.rank], [64, 48, 3, 8, 4]);
    assert.equal(record!.backend, 'cpu');
    const written = await stat(path.join(out, 'coffee cup.nmfz'));
    assert.equal(record!.compressedBytes, written.size);
    assert.ok((record!.psnr as number) > 10 && (record!.ssim as number) > 0 && (record!.ssim as number) <= 1);
    assert.ok((record!.jpegBytes as number) > 0 && (record!.jpegQuality as number) >= 1);
    assert.deepEqual(Object.keys(summary!), ['summary']);
    const s = summary!.summary as Record<string, number>;
    assert.deepEqual([s.ok, s.errors, s.skipped], [1, 0, 0]);
    assert.equal(s.outputBytes, written.size);
    assert.ok(s.inputBytes > 0 && s.ms > 0);
    assert.deepEqual(await listFiles(out), ['coffee cup.nmfz', 'coffee cup.preview.png'], 'no reports for single files');
    const preview = await sharp(path.join(out, 'coffee cup.preview.png')).metadata();
    assert.deepEqual([preview.width, preview.height], [64, 48]);
    assert.deepEqual(await hashTree(path.join(dir, 'in')), before);
    assert.ok(!r.stdout.includes('\r') && !r.stdout.includes('\x1b'), 'no live line when stdout is not a terminal');
  });

  it('an existing output is skipped (exit 0) and only replaced with --overwrite', async () => {
    const out = path.join(dir, 'out-exists');
    assert.equal((await runCli(['compress', image, '--out', out, '--rank', '3', '--backend', 'cpu'])).code, 0);
    const target = path.join(out, 'coffee cup.nmfz');
    const first = await readFile(target);
    const again = await runCli(['compress', image, '--out', out, '--rank', '5', '--json', '--backend', 'cpu']);
    assert.equal(again.code, 0, again.stderr);
    const [record] = jsonLines(again.stdout);
    assert.equal(record!.status, 'skipped');
    assert.match(record!.error as string, /already exists/);
    assert.deepEqual(await readFile(target), first);
    const forced = await runCli(['compress', image, '--out', out, '--rank', '5', '--json', '--overwrite', '--backend', 'cpu']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(jsonLines(forced.stdout)[0]!.rank, 5);
    assert.notDeepEqual(await readFile(target), first);
    assert.deepEqual(await listFiles(out), ['coffee cup.nmfz']);
  });

  it('every bad input: one line naming the file and the reason, exit 1, no output; good inputs beside them are still done', async () => {
    const out = path.join(dir, 'out-bad');
    const inputs = [bad.empty, bad.text, bad.truncatedJpeg, bad.truncatedPng, bad.huge, bad.unsupported, image];
    const r = await runCli(['compress', ...inputs, '--out', out, '--rank', '3', '--backend', 'cpu']);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 6, r.stderr);
    const reasons: [string, RegExp][] = [
      [bad.empty, /empty file/],
      [bad.text, /not an image in a supported format/],
      [bad.truncatedJpeg, /truncated or corrupt/],
      [bad.truncatedPng, /truncated or corrupt/],
      [bad.huge, /200000×200000 is 40000\.0 megapixels, over the limit/],
      [bad.unsupported, /SVG images are not supported|not an image in a supported format/],
    ];
    for (const [file, reason] of reasons) {
      const line = lines.find((l) => l.includes(file));
      assert.ok(line, `no line names ${file}`);
      assert.match(line, reason);
      assert.doesNotMatch(line, /\bat \w+ \(|Error:/, 'no stack trace');
    }
    assert.deepEqual(await listFiles(out), ['coffee cup.nmfz']);
  });

  it('a single bad file alone: exit 1 and exactly one line', async () => {
    const out = path.join(dir, 'out-huge');
    const r = await runCli(['compress', bad.huge, '--out', out, '--backend', 'cpu']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^nmf-studio: ${bad.huge.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    assert.deepEqual(await listFiles(out), []);
    const limited = await runCli(['compress', image, '--out', out, '--max-pixels', '1000', '--backend', 'cpu']);
    assert.equal(limited.code, 1);
    assert.match(limited.stderr, /coffee cup\.png: 64×48 .* over the limit/);
    assert.deepEqual(await listFiles(out), []);
  });

  it('--psnr and --ratio choose the rank', async () => {
    const out = path.join(dir, 'out-choice');
    const byPsnr = await runCli(['compress', image, '--out', path.join(out, 'psnr'), '--psnr', '24', '--json', '--backend', 'cpu']);
    assert.equal(byPsnr.code, 0, byPsnr.stderr);
    const p = jsonLines(byPsnr.stdout)[0]!;
    assert.ok((p.psnr as number) >= 24, `psnr ${p.psnr}`);
    const byRatio = await runCli(['compress', image, '--out', path.join(out, 'ratio'), '--ratio', '8', '--json', '--backend', 'cpu']);
    assert.equal(byRatio.code, 0, byRatio.stderr);
    const q = jsonLines(byRatio.stdout)[0]!;
    assert.ok((q.ratio as number) >= 8, `ratio ${q.ratio}`);
    assert.notEqual(p.rank, q.rank);
  });

  it('bad usage exits with 2 and writes nothing', async () => {
    const out = path.join(dir, 'out-usage');
    const cases: string[][] = [
      ['compress', image, '--out', out, '--rank', '3', '--psnr', '30'],
      ['compress', image],
      ['compress', '--out', out],
      ['compress', image, '--out', out, '--bits', '7'],
      ['compress', image, '--out', out, '--color', 'rgb'],
      ['compress', image, '--out', out, '--shard', '2/2'],
      ['compress', image, '--out', out, '--jobs', '0'],
      ['compress', image, '--out', out, '--rank', 'three'],
      ['compress', image, '--out', out, '--include', '*.{png'],
      ['compress', image, '--out', out, '--frobnicate'],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, /^nmf-studio: .+\nTry 'nmf-studio compress --help'\.\n$/);
    }
    assert.equal(await stat(out).then(() => true, () => false), false);
    const help = await runCli(['compress', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--shard I\/N/);
  });
});
