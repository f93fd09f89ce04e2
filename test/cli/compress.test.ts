// `nmf-studio compress` as a real process: JSON records, outputs, skip/--overwrite, every bad input, usage errors, rank choices.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
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

  it('a black image, a fully transparent one and a one-pixel one: compressed exactly, or one plain line saying why not', async () => {
    const edge = path.join(dir, 'edge');
    const out = path.join(dir, 'out-edge');
    const black = path.join(edge, 'black.png');
    const clear = path.join(edge, 'clear.png');
    const dot = path.join(edge, 'dot.png');
    await mkdir(edge, { recursive: true });
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#000000' } }).png().toFile(black);
    await sharp({ create: { width: 96, height: 72, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(clear);
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ff8000' } }).png().toFile(dot);
    for (const choice of [[], ['--rank', '5'], ['--psnr', '30']]) {
      const r = await runCli(['compress', black, clear, '--out', out, '--overwrite', '--json', '--backend', 'cpu', ...choice]);
      assert.equal(r.code, 0, `${choice.join(' ')}: ${r.stderr}`);
      const records = jsonLines(r.stdout).slice(0, 2);
      for (const rec of records) {
        assert.equal(rec.status, 'ok', `${choice.join(' ')}: ${String(rec.error)}`);
        assert.equal(rec.psnr, null, 'decoded exactly: PSNR is infinite');
        assert.equal(rec.relErr, 0);
        assert.equal(rec.ssim, 1);
      }
      const decoded = await runCli(['decompress', ...records.map((rec) => rec.output as string), '--out', path.join(out, 'png'), '--overwrite']);
      assert.equal(decoded.code, 0, decoded.stderr);
      for (const name of ['black.png', 'clear.png']) {
        const px = await sharp(path.join(out, 'png', name)).raw().toBuffer();
        assert.ok(px.every((v) => v === 0), `${name}: every sample 0`);
      }
    }
    // One pixel: no rank compresses it, and the line says so once, with the file's path.
    const refused = await runCli(['compress', dot, '--out', out, '--backend', 'cpu']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `nmf-studio: ${dot}: even the tiles' least ranks make a file larger than the input (${(await stat(dot)).size} bytes), which the default does not write: ask for a PSNR, ratio, rank or size to have one\n`);
    // A thumbnail, whose header alone outweighs a twentieth of its pixels: the whole-image layout's default ratio is
    // out of reach, so the defaults give it the tiled layout's (its one tile at 38 dB, smaller than the input); a
    // ratio asked for is refused.
    const thumb = path.join(edge, 'thumb.png');
    await sharp(image).resize(40, 30).png().toFile(thumb);
    const byDefault = await runCli(['compress', thumb, '--out', out, '--json', '--backend', 'cpu']);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    const t = jsonLines(byDefault.stdout)[0]!;
    assert.equal(t.layout, 'tiled');
    assert.ok(Math.abs((t.psnr as number) - 38) < 0.5 && (t.compressedBytes as number) < (await stat(thumb)).size, JSON.stringify(t));
    const strict = await runCli(['compress', thumb, '--out', out, '--overwrite', '--ratio', '20', '--backend', 'cpu']);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /thumb\.png: cannot reach ratio 20 \(rank 3 already gives ratio [\d.]+\)\n$/);
    // A black 1×100000 strip's PNG is a few hundred bytes, less than any .nmfz of it: by default (never larger than
    // the input) none is written, and the line says why; with a target it is compressed, exactly.
    const strip = path.join(edge, 'strip.png');
    await sharp({ create: { width: 100_000, height: 1, channels: 3, background: '#000000' } }).png().toFile(strip);
    const stripBytes = (await stat(strip)).size;
    const small = await runCli(['compress', strip, '--out', out, '--backend', 'cpu']);
    assert.equal(small.code, 1);
    assert.equal(small.stderr, `nmf-studio: ${strip}: even the tiles' least ranks make a file larger than the input (${stripBytes} bytes), which the default does not write: ask for a PSNR, ratio, rank or size to have one\n`);
    const asked = await runCli(['compress', strip, '--out', out, '--psnr', '38', '--json', '--backend', 'cpu']);
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(jsonLines(asked.stdout)[0]!.psnr, null, 'black: decoded exactly');
    // At a fixed rank it is stored exactly; SSIM, undefined under 7 pixels, is shown as '–' and is null in JSON.
    const kept = await runCli(['compress', dot, '--out', out, '--rank', '3', '--overwrite', '--backend', 'cpu']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /1×1, rank 3, .* \(0\.\d+× of the file, 0\.\d+× of the pixels\), PSNR lossless, SSIM –, /);
    const json = await runCli(['compress', dot, '--out', out, '--rank', '3', '--overwrite', '--json', '--backend', 'cpu']);
    assert.equal(jsonLines(json.stdout)[0]!.ssim, null);
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
