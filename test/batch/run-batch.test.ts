// runBatch on a real folder tree: mirroring, untouched originals, resume, --overwrite, reports, shards, stale temporaries, cancel.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchRequest } from '../../src-main/api/contract.js';
import { decodeNmfz, decodePixels } from '../../src-main/codec/nmfz.js';
import { CancelledError, UserError } from '../../src-main/engine/errors.js';
import { BatchInterrupted, runBatch, type BatchFileEvent, type BatchSpec } from '../../src-main/jobs/batch/index.js';
import { disposeBackends } from '../../src-main/jobs/backends.js';
import { hashTree, listFiles, parseCsv, photoTree, smallImage, tempDir, TREE_BAD, TREE_IMAGES } from './tree.js';

const stem = (rel: string) => rel.slice(0, rel.length - path.extname(rel).length);

async function decodes(file: string): Promise<void> {
  const pixels = decodePixels(decodeNmfz(await readFile(file), file));
  assert.ok(pixels.width > 0 && pixels.height > 0, file);
}

describe('runBatch', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let photos: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('nmf-batch-'));
    photos = await photoTree(path.join(root, 'photos'));
  });
  after(async () => {
    await disposeBackends();
    await cleanup();
  });

  const spec = (out: string, extra: Partial<BatchSpec> = {}): BatchSpec => ({
    inputs: [photos],
    outDir: out,
    settings: { choice: { rank: 3 }, maxIter: 30, backend: 'cpu' },
    jobs: 2,
    ...extra,
  });

  it('mirrors the tree, leaves originals byte-identical, reports every input; a re-run skips; --overwrite redoes', async () => {
    const out = path.join(root, 'out-main');
    const before = await hashTree(photos);
    const events: BatchFileEvent[] = [];
    const first = await runBatch(spec(out), { onFile: (e) => events.push(e) });

    assert.equal(first.ok, TREE_IMAGES.length);
    assert.equal(first.errors, TREE_BAD.length);
    assert.equal(first.skipped, 1, 'the link loop');
    assert.equal(first.total, TREE_IMAGES.length + TREE_BAD.length + 1);
    assert.deepEqual(await hashTree(photos), before, 'originals untouched');

    const files = await listFiles(out);
    for (const rel of TREE_IMAGES) {
      assert.ok(files.includes(`${stem(rel)}.nmfz`), `${rel} mirrored`);
      assert.ok(files.includes(`report-thumbs/${stem(rel)}.original.webp`) && files.includes(`report-thumbs/${stem(rel)}.nmf.webp`));
      await decodes(path.join(out, `${stem(rel)}.nmfz`));
    }
    assert.ok(!files.some((f) => f.includes('hidden') || f.includes('notes') || f.startsWith('bad/')), files.join('\n'));
    assert.ok(!files.some((f) => f.endsWith('.tmp')));
    assert.deepEqual(files.filter((f) => f.startsWith('report.')), ['report.csv', 'report.html', 'report.json']);

    const done = events.filter((e) => e.status !== 'running');
    assert.equal(done.length, first.total);
    assert.deepEqual(done.map((e) => e.done), done.map((_, i) => i + 1));
    assert.ok(done.every((e) => e.total === first.total && e.totalKnown));

    // JSON: every input once, in walk order, with the summary.
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    assert.deepEqual(report.summary, { ok: 6, errors: 3, skipped: 1, inputBytes: first.inputBytes, outputBytes: first.outputBytes, ms: first.ms, interrupted: false });
    const inputs = report.files.map((f: { input: string }) => path.relative(photos, f.input));
    assert.deepEqual(inputs, [
      'bad/empty.png', 'bad/text.png', 'bad/truncated.jpg', 'cam.png', 'holiday 2023/beach day.jpg',
      'holiday 2023/été/café crème.webp', 'holiday 2023/été/日本の猫.png', 'work/scans/coins.tif',
      'work/scans/deep/er/horse.png', 'work/scans/loop',
    ]);
    const byInput = new Map(report.files.map((f: { input: string }) => [path.relative(photos, f.input), f]));
    const cam = byInput.get('cam.png') as Record<string, unknown>;
    assert.equal(cam.status, 'ok');
    assert.equal(cam.rank, 3);
    assert.ok((cam.psnr as number) > 5 && (cam.ratio as number) > 1);
    // the layout the file got, and the time per megapixel, derived from the time and the size
    assert.ok(cam.layout === 'global' || cam.layout === 'tiled', String(cam.layout));
    const camMegapixels = ((cam.width as number) * (cam.height as number)) / 1e6;
    assert.ok((cam.ms as number) > 0);
    assert.ok(Math.abs((cam.secondsPerMegapixel as number) - (cam.ms as number) / 1000 / camMegapixels) < 1e-9);
    const empty = byInput.get('bad/empty.png') as Record<string, unknown>;
    assert.equal(empty.status, 'error');
    assert.match(empty.error as string, /empty\.png: empty file/);
    assert.equal(empty.psnr, null);
    assert.match((byInput.get('bad/text.png') as { error: string }).error, /text\.png: not an image/);
    assert.match((byInput.get('bad/truncated.jpg') as { error: string }).error, /truncated\.jpg: the image data is truncated or corrupt/);
    assert.match((byInput.get('work/scans/loop') as { error: string }).error, /symbolic-link loop/);

    // CSV: a header and one row per input, names with spaces and non-ASCII letters intact.
    const csv = parseCsv(await readFile(path.join(out, 'report.csv'), 'utf8'));
    assert.deepEqual(csv[0]!.slice(0, 10), ['path', 'status', 'error', 'rank', 'ratio', 'fileRatio', 'psnr', 'ssim', 'compressedBytes', 'ms']);
    assert.equal(csv.length, 1 + first.total);
    assert.deepEqual(csv.slice(1).map((r) => path.relative(photos, r[0]!)), inputs);
    const camRow = csv.find((r) => r[0]!.endsWith('cam.png'))!;
    assert.equal(camRow[1], 'ok');
    assert.equal(Number(camRow[3]), 3);
    assert.ok(Math.abs(Number(camRow[6]) - (cam.psnr as number)) < 1e-3);
    assert.equal(camRow[csv[0]!.indexOf('layout')], cam.layout);
    assert.ok(Math.abs(Number(camRow[csv[0]!.indexOf('secondsPerMegapixel')]) / (cam.secondsPerMegapixel as number) - 1) < 1e-6);

    // HTML: every input named (escaped), thumbnails present for the compressed ones.
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    for (const rel of inputs) assert.ok(html.includes(path.join(photos, rel).replaceAll('&', '&amp;')), rel);
    assert.equal((html.match(/<tr><td/g) ?? []).length, first.total);
    assert.equal((html.match(/<img /g) ?? []).length, 2 * TREE_IMAGES.length);
    assert.ok(html.includes('src="report-thumbs/holiday%202023/%C3%A9t%C3%A9/caf%C3%A9%20cr%C3%A8me.original.webp"'));
    assert.ok(html.includes('<th>layout</th>'));
    assert.ok(html.includes(`${(cam.secondsPerMegapixel as number).toFixed(2)} s/MP`), 'the HTML shows the time per megapixel');

    // Re-run: nothing is redone.
    const camOut = path.join(out, 'cam.nmfz');
    const camBytes = await readFile(camOut);
    const mtime = (await stat(camOut)).mtimeMs;
    const second = await runBatch(spec(out));
    assert.equal(second.ok, 0);
    assert.equal(second.skipped, TREE_IMAGES.length + 1);
    assert.equal(second.errors, TREE_BAD.length);
    assert.equal((await stat(camOut)).mtimeMs, mtime);
    const again = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    const skippedCam = again.files.find((f: { input: string }) => f.input.endsWith('cam.png'));
    assert.equal(skippedCam.status, 'skipped');
    assert.equal(skippedCam.rank, 3, 'filled from the existing file');
    assert.equal(skippedCam.compressedBytes, camBytes.length);
    // quality as the first run measured it, from the file's header (rounded as stored); timing is not carried
    assert.ok(Math.abs(skippedCam.psnr - (cam.psnr as number)) < 1e-4, `psnr ${skippedCam.psnr} vs ${String(cam.psnr)}`);
    // SSIM is stored to 6 decimals, or as few as 2 where more would make the file larger than the size compared
    assert.ok(Math.abs(skippedCam.ssim - (cam.ssim as number)) <= 0.005, `ssim ${skippedCam.ssim} vs ${String(cam.ssim)}`);
    assert.ok(Math.abs(skippedCam.relErr - (cam.relErr as number)) < 1e-5 * (cam.relErr as number), `relErr ${skippedCam.relErr} vs ${String(cam.relErr)}`);
    assert.equal(skippedCam.iterations, cam.iterations);
    assert.equal(skippedCam.ms, null, 'not timed now');
    assert.equal(skippedCam.secondsPerMegapixel, null, 'not timed now');
    const againCsv = parseCsv(await readFile(path.join(out, 'report.csv'), 'utf8'));
    assert.ok(Math.abs(Number(againCsv.find((r) => r[0]!.endsWith('cam.png'))![6]) - (cam.psnr as number)) < 1e-3, 'the CSV has it too');
    const againHtml = await readFile(path.join(out, 'report.html'), 'utf8');
    assert.ok(againHtml.includes(`${(cam.psnr as number).toFixed(2)} dB`), 'the HTML has it too');

    // --overwrite: everything is done again, and the files are rewritten.
    const third = await runBatch(spec(out, { overwrite: true, settings: { choice: { rank: 4 }, maxIter: 30, backend: 'cpu' } }));
    assert.equal(third.ok, TREE_IMAGES.length);
    assert.equal(third.skipped, 1);
    assert.notDeepEqual(await readFile(camOut), camBytes);
    assert.deepEqual(await hashTree(photos), before, 'originals still untouched');
  });

  it('N shards together cover every input exactly once, each with its own report', async () => {
    const out = path.join(root, 'out-shards');
    const n = 3;
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = await runBatch(spec(out, { shard: `${i}/${n}` }), {
        onFile: (e) => {
          if (e.status !== 'running') seen.set(e.rel, (seen.get(e.rel) ?? 0) + 1);
        },
      });
      assert.equal(r.reports.length, 3);
      for (const p of r.reports) assert.match(path.basename(p), new RegExp(`^report-${i}-of-${n}\\.(json|csv|html)$`));
    }
    const all = [...TREE_IMAGES, ...TREE_BAD, 'work/scans/loop'].sort();
    assert.deepEqual([...seen.keys()].sort(), all);
    assert.ok([...seen.values()].every((count) => count === 1));
    const files = await listFiles(out);
    for (const rel of TREE_IMAGES) assert.ok(files.includes(`${stem(rel)}.nmfz`), rel);
    assert.ok(!files.includes('report.json'), 'no shared report');
    let rows = 0;
    for (let i = 0; i < n; i++) rows += JSON.parse(await readFile(path.join(out, `report-${i}-of-${n}.json`), 'utf8')).files.length;
    assert.equal(rows, all.length);
  });

  it('a re-run removes the temporaries a crash left; a shard removes only its own', async () => {
    const out = path.join(root, 'out-stale');
    const { dir: src, cleanup: done } = await tempDir('nmf-stale-');
    try {
      for (const name of ['a', 'b', 'c', 'd']) await smallImage(path.join(src, 'sub', `${name}.png`), 'coins.png', 32, 24);
      await mkdir(path.join(out, 'sub'), { recursive: true });
      const stale = (name: string) => path.join(out, 'sub', `.${name}.nmfz.0123456789ab.tmp`);
      for (const name of ['a', 'b', 'c', 'd', 'gone']) await writeFile(stale(name), 'half a file');
      const unrelated = path.join(out, 'sub', '.keep-me.tmp');
      await writeFile(unrelated, 'not ours');

      // Shard 0/2 owns some of a–d: it removes theirs and leaves the rest (another shard may be writing them).
      const owned = new Set<string>();
      await runBatch({ ...spec(out, { shard: '0/2', reports: false }), inputs: [src] }, { onFile: (e) => e.status === 'ok' && owned.add(path.basename(e.rel, '.png')) });
      for (const name of ['a', 'b', 'c', 'd']) assert.equal(await stat(stale(name)).then(() => true, () => false), !owned.has(name), name);
      assert.ok(await stat(stale('gone')).then(() => true, () => false), 'not a target of this shard');

      // The whole batch (one writer) removes every stale temporary in the folders it writes to.
      const r = await runBatch({ ...spec(out, { reports: false }), inputs: [src] });
      assert.equal(r.ok + r.skipped, 4);
      assert.equal(r.staleRemoved, 4 - owned.size + 1);
      assert.deepEqual((await listFiles(out)).filter((f) => f.endsWith('.tmp')), ['sub/.keep-me.tmp']);
    } finally {
      await done();
    }
  });

  it('two inputs that would share an output name: the second is reported, not written over the first', async () => {
    const { dir: src, cleanup: done } = await tempDir('nmf-clash-');
    try {
      await smallImage(path.join(src, 'pic.jpg'), 'camera.png', 32, 24);
      await smallImage(path.join(src, 'pic.png'), 'horse.png', 32, 24);
      const out = path.join(src, 'out');
      const r = await runBatch({ ...spec(out, { reports: false }), inputs: [src] });
      assert.equal(r.ok, 1);
      assert.equal(r.errors, 1);
      assert.deepEqual(await listFiles(out), ['pic.nmfz']);

      // The same file twice (here through the app's request shape): compressed once, the repeat skipped.
      const request: BatchRequest = {
        inputs: [path.join(src, 'pic.png'), path.join(src, 'pic.png')],
        outDir: path.join(src, 'out-twice'),
        settings: {
          choice: { rank: 3 }, layout: 'global', colorMode: 'ycbcr', bits: 8, compareJpeg: false, solver: 'hals', betaLoss: 'frobenius', init: 'nndsvd',
          maxIter: 30, tol: 1e-4, seed: 0, alphaW: 0, alphaH: 'same', l1Ratio: 0, backend: 'cpu',
        },
        overwrite: false,
      };
      const events: string[] = [];
      const twice = await runBatch(request, { onFile: (e) => e.record && events.push(`${e.status}: ${e.record.error ?? ''}`) });
      assert.deepEqual([twice.ok, twice.skipped, twice.errors], [1, 1, 0]);
      assert.ok(events.some((e) => /^skipped: .*given more than once/.test(e)), events.join('\n'));
    } finally {
      await done();
    }
  });

  it('--preview on a re-run adds the previews the first run did not write', async () => {
    const { dir: src, cleanup: done } = await tempDir('nmf-preview-');
    try {
      await smallImage(path.join(src, 'x.png'), 'chelsea.png', 40, 30);
      const out = path.join(src, 'out');
      await runBatch({ ...spec(out, { reports: false }), inputs: [src] });
      const r = await runBatch({ ...spec(out, { reports: false }), inputs: [src], settings: { choice: { rank: 3 }, preview: true, backend: 'cpu' } });
      assert.equal(r.skipped, 1);
      assert.deepEqual(await listFiles(out), ['x.nmfz', 'x.preview.png']);
      const { default: sharp } = await import('sharp');
      const meta = await sharp(path.join(out, 'x.preview.png')).metadata();
      assert.deepEqual([meta.width, meta.height], [40, 30]);
    } finally {
      await done();
    }
  });

  it('usage problems are refused before anything is written', async () => {
    const out = path.join(root, 'never');
    await assert.rejects(runBatch({ ...spec(out), inputs: [] }), (e: unknown) => e instanceof UserError && e.kind === 'usage');
    await assert.rejects(runBatch(spec(out, { shard: '3/3' })), (e: unknown) => e instanceof UserError && e.kind === 'usage');
    await assert.rejects(runBatch(spec(out, { include: ['*.{png'] })), (e: unknown) => e instanceof UserError && e.kind === 'usage');
    await assert.rejects(runBatch({ ...spec(out), settings: { choice: { rank: 0 } } }), (e: unknown) => e instanceof UserError && e.kind === 'usage');
    await assert.rejects(runBatch({ ...spec(photos) }), (e: unknown) => e instanceof UserError && /input folder/.test(e.message));
    assert.equal(await stat(out).then(() => true, () => false), false);
  });

  it('on this thread with one shared backend (as with a GPU): the same outputs, and cancellation', async () => {
    const out = path.join(root, 'out-in-process');
    const r = await runBatch(spec(out, { inProcess: true, reports: false }));
    assert.deepEqual([r.ok, r.errors, r.skipped], [TREE_IMAGES.length, TREE_BAD.length, 1]);
    assert.match(r.backendReason, /2 files at a time sharing it/);
    for (const rel of TREE_IMAGES) await decodes(path.join(out, `${stem(rel)}.nmfz`));

    const controller = new AbortController();
    const cancelled = runBatch(spec(path.join(root, 'out-in-process-cancel'), { inProcess: true, reports: false }), {
      signal: controller.signal,
      onFile: (e) => e.status === 'ok' && controller.abort(),
    });
    await assert.rejects(cancelled, BatchInterrupted);
    const files = await listFiles(path.join(root, 'out-in-process-cancel'));
    assert.ok(!files.some((f) => path.basename(f).startsWith('.')), files.join('\n'));
    for (const f of files) await decodes(path.join(root, 'out-in-process-cancel', f));
  });

  it('cancelled: stops, keeps only complete outputs, no temporaries, reports what was done', async () => {
    const out = path.join(root, 'out-cancel');
    const controller = new AbortController();
    let oks = 0;
    const run = runBatch(spec(out, { jobs: 1, settings: { choice: { rank: 3 }, maxIter: 30, backend: 'cpu' } }), {
      signal: controller.signal,
      onFile: (e) => {
        if (e.status === 'ok' && ++oks === 2) controller.abort();
      },
    });
    await assert.rejects(run, (e: unknown) => e instanceof BatchInterrupted && e instanceof CancelledError && e.result.ok >= 2 && e.result.ok < TREE_IMAGES.length);
    const files = await listFiles(out);
    assert.ok(!files.some((f) => f.endsWith('.tmp') || path.basename(f).startsWith('.')), files.join('\n'));
    const outputs = files.filter((f) => f.endsWith('.nmfz'));
    assert.ok(outputs.length >= 2 && outputs.length < TREE_IMAGES.length, outputs.join(', '));
    for (const f of outputs) await decodes(path.join(out, f));
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    assert.equal(report.summary.interrupted, true);
    assert.equal(report.files.filter((f: { status: string }) => f.status === 'ok').length, outputs.length);
  });
});
