// `nmf-studio decompress` as a real process: every format, the decoded pixels, skip/--overwrite, bad files, usage errors.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { hashTree, listFiles, smallImage, tempDir } from '../batch/tree.js';

describe('nmf-studio decompress', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let nmfz: string;
  let preview: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('nmf-cli-decompress-'));
    const image = path.join(dir, 'in', 'chat noir.png');
    await smallImage(image, 'chelsea.png', 64, 48);
    const r = await runCli(['compress', image, '--out', path.join(dir, 'z'), '--rank', '4', '--preview', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    nmfz = path.join(dir, 'z', 'chat noir.nmfz');
    preview = path.join(dir, 'z', 'chat noir.preview.png');
  });
  after(() => cleanup());

  it('writes PNG (the exact decoded pixels), JPEG, WebP and TIFF; the .nmfz is untouched', async () => {
    const before = await hashTree(path.join(dir, 'z'));
    const expected = await sharp(preview).raw().toBuffer();
    for (const [format, ext] of [['png', 'png'], ['jpeg', 'jpg'], ['webp', 'webp'], ['tiff', 'tif']] as const) {
      const out = path.join(dir, `out-${format}`);
      const r = await runCli(['decompress', nmfz, '--out', out, '--format', format, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const record = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
      const file = path.join(out, `chat noir.${ext}`);
      assert.deepEqual(
        { status: record.status, output: record.output, format: record.format, width: record.width, height: record.height, bytes: record.bytes },
        { status: 'ok', output: file, format, width: 64, height: 48, bytes: (await stat(file)).size },
      );
      const meta = await sharp(file).metadata();
      assert.deepEqual([meta.format === 'heif' ? 'avif' : meta.format, meta.width, meta.height], [format, 64, 48]);
      const pixels = await sharp(file).removeAlpha().raw().toBuffer();
      if (format !== 'jpeg') assert.deepEqual(pixels, expected, `${format} is lossless`);
      assert.deepEqual(await listFiles(out), [`chat noir.${ext}`]);
    }
    assert.deepEqual(await hashTree(path.join(dir, 'z')), before);
  });

  it('an existing image is skipped (exit 0) unless --overwrite', async () => {
    const out = path.join(dir, 'out-exists');
    assert.equal((await runCli(['decompress', nmfz, '--out', out])).code, 0);
    const file = path.join(out, 'chat noir.png');
    await writeFile(file, 'mine');
    const again = await runCli(['decompress', nmfz, '--out', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /skipped .*already exists/);
    assert.equal(await readFile(file, 'utf8'), 'mine');
    const forced = await runCli(['decompress', nmfz, '--out', out, '--overwrite']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await sharp(file).metadata()).width, 64);
  });

  it('bad files: one line each naming the file, exit 1, no output; the good one is still decoded', async () => {
    const text = path.join(dir, 'bad', 'text.nmfz');
    const truncated = path.join(dir, 'bad', 'cut.nmfz');
    const empty = path.join(dir, 'bad', 'empty.nmfz');
    const png = path.join(dir, 'in', 'chat noir.png');
    await smallImage(path.join(dir, 'bad', 'x.png'), 'coins.png', 8, 8);
    await writeFile(text, 'not a container at all\n');
    const bytes = await readFile(nmfz);
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await writeFile(empty, '');
    const missing = path.join(dir, 'bad', 'missing.nmfz');
    const out = path.join(dir, 'out-bad');
    const r = await runCli(['decompress', text, truncated, empty, png, missing, nmfz, '--out', out]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 5, r.stderr);
    for (const f of [text, truncated, empty, png, missing]) assert.ok(lines.some((l) => l.startsWith(`nmf-studio: ${f}`)), `${f}\n${r.stderr}`);
    assert.deepEqual(await listFiles(out), ['chat noir.png']);
  });

  it('bad usage exits with 2', async () => {
    for (const args of [['decompress', nmfz, '--out', path.join(dir, 'u'), '--format', 'gif'], ['decompress', nmfz], ['decompress', '--out', dir]]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
