import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { ImageResult, ImageSettings, MatrixResult, ServiceEvent } from '../../src-main/api/contract.js';
import { readNmfzHeader } from '../../src-main/codec/nmfz.js';
import { createAppService, type AppService } from '../../src-main/service/session.js';
import { fixture } from '../helpers/paths.js';

const settings: ImageSettings = {
  solver: 'hals',
  betaLoss: 'frobenius',
  init: 'nndsvd',
  maxIter: 30,
  tol: 1e-4,
  seed: 0,
  alphaW: 0,
  alphaH: 'same',
  l1Ratio: 0,
  backend: 'cpu',
  choice: { rank: 6 },
  layout: 'global',
  colorMode: 'ycbcr',
  bits: 8,
  compareJpeg: false,
};

describe('the app service', () => {
  let service: AppService;
  let dir: string;
  const events: ServiceEvent[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-service-'));
    service = createAppService({ shell: 'web', startupFiles: [], workers: 2 });
    service.subscribe((e) => events.push(e));
  });
  after(async () => {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Resolves with the first event that matches, failing after a while. */
  function waitFor<T extends ServiceEvent>(match: (e: ServiceEvent) => e is T, timeoutMs = 120_000): Promise<T> {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
      const off = service.subscribe((e) => {
        if (match(e)) {
          clearTimeout(timer);
          off();
          resolve(e);
        }
      });
    });
  }
  const doneOf = (jobId: string) => (e: ServiceEvent): e is Extract<ServiceEvent, { type: 'job-done' }> => e.type === 'job-done' && e.jobId === jobId;
  const failedOf = (jobId: string) => (e: ServiceEvent): e is Extract<ServiceEvent, { type: 'job-failed' }> => e.type === 'job-failed' && e.jobId === jobId;

  test('an image opens with its facts and an RGBA picture of itself', async () => {
    const info = await service.openPath(fixture('images', 'chelsea.png'));
    assert.equal(info.kind, 'image');
    if (info.kind !== 'image') return;
    assert.equal(info.format, 'PNG');
    assert.equal(info.width, 451);
    assert.equal(info.height, 300);
    assert.equal(info.original.rgba.length, 451 * 300 * 4);
  });

  test('compressing streams progress and ends with the CLI record, pictures and components; saving gives a real .nmfz', async () => {
    const info = await service.openPath(fixture('images', 'coins.png'));
    const jobId = await service.compressImage(info.documentId, settings);
    const done = await waitFor(doneOf(jobId));
    const result = done.result as ImageResult;
    assert.equal(result.kind, 'image');
    assert.equal(result.record.input, 'coins.png');
    assert.equal(result.record.rank, 6);
    assert.equal(result.record.status, 'ok');
    assert.ok(result.record.psnr > 15 && result.record.psnr < 60, String(result.record.psnr));
    assert.ok(result.record.ratio > 1);
    assert.equal(result.reconstruction.width, 384);
    assert.equal(result.diff.rgba.length, result.reconstruction.rgba.length);
    assert.equal(result.components.length, 6);
    for (let i = 1; i < result.components.length; i++) assert.ok(result.components[i - 1]!.energy >= result.components[i]!.energy);
    assert.ok(events.some((e) => e.type === 'progress' && e.progress.jobId === jobId));
    const saved = await service.exportResult(info.documentId, 'nmfz');
    assert.equal(saved.name, 'coins.nmfz');
    assert.deepEqual([...saved.bytes.subarray(0, 4)], [0x89, 0x4e, 0x4d, 0x46]);
    assert.equal(saved.bytes.length, result.record.compressedBytes);
    const png = await service.exportResult(info.documentId, 'png');
    assert.deepEqual([...png.bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);

    // Switching the strongest component off changes the picture; all on gives back the reconstruction.
    const all = await service.reconstructWith(info.documentId, result.components.map((c) => c.index));
    assert.deepEqual(all.rgba, result.reconstruction.rgba);
    const without = await service.reconstructWith(info.documentId, result.components.slice(1).map((c) => c.index));
    assert.notDeepEqual(without.rgba, result.reconstruction.rgba);
  });

  test("the app's automatic bits: a tiled PSNR target near 6 bits' noise floor is saved at 8 bits, a low one at 6", async () => {
    const info = await service.openPath(fixture('images', 'coffee.png'));
    for (const [psnr, bits] of [[34, 6], [46, 8]] as const) {
      const jobId = await service.compressImage(info.documentId, { ...settings, layout: 'tiled', bits: 'auto', maxIter: 50, choice: { psnr } });
      const result = (await waitFor(doneOf(jobId))).result as ImageResult;
      assert.ok(Math.abs(result.record.psnr - psnr) <= 0.3, `${psnr} dB: ${result.record.psnr}`);
      const saved = await service.exportResult(info.documentId, 'nmfz');
      assert.equal(readNmfzHeader(saved.bytes, 'coffee.nmfz').header.quantization.bits, bits, `${psnr} dB`);
    }
  });

  test('a new job on the same document cancels the old one, which never reports a result', async () => {
    const info = await service.openPath(fixture('images', 'astronaut.png'));
    const slow = await service.compressImage(info.documentId, { ...settings, maxIter: 5000, tol: 0, choice: { rank: 40 } });
    const fast = await service.compressImage(info.documentId, { ...settings, choice: { rank: 3 }, maxIter: 5 });
    const failed = await waitFor(failedOf(slow));
    assert.equal(failed.cancelled, true);
    const done = await waitFor(doneOf(fast));
    assert.equal((done.result as ImageResult).record.rank, 3);
    assert.equal(events.some((e) => e.type === 'job-done' && e.jobId === slow), false);
  });

  test('cancel stops a running job promptly', async () => {
    const info = await service.openPath(fixture('images', 'coffee.png'));
    const jobId = await service.compressImage(info.documentId, { ...settings, maxIter: 100_000, tol: 0, choice: { rank: 30 } });
    await waitFor((e): e is Extract<ServiceEvent, { type: 'progress' }> => e.type === 'progress' && e.progress.jobId === jobId && e.progress.iteration > 0);
    const t0 = Date.now();
    await service.cancel(jobId);
    const failed = await waitFor(failedOf(jobId));
    assert.equal(failed.cancelled, true);
    assert.ok(Date.now() - t0 < 5000, `cancelled in ${Date.now() - t0} ms`);
  });

  test('the rank curve arrives point by point, in ascending rank', async () => {
    const info = await service.openPath(fixture('images', 'camera.png'));
    const jobId = await service.rankCurve(info.documentId, { ...settings, maxIter: 10 }, [8, 2, 4]);
    await waitFor((e): e is Extract<ServiceEvent, { type: 'rank-curve' }> => e.type === 'rank-curve' && e.jobId === jobId && e.done);
    const points = events.filter((e): e is Extract<ServiceEvent, { type: 'rank-curve' }> => e.type === 'rank-curve' && e.jobId === jobId && !e.done).map((e) => e.point);
    assert.deepEqual(points.map((p) => p.rank), [2, 4, 8]);
    assert.ok(points[0]!.psnr < points[2]!.psnr, 'more components, better picture');
    assert.ok(points[0]!.ratio > points[2]!.ratio, 'more components, bigger file');
  });

  test('a matrix with a missing cell factorizes, and the result says what fills the hole', async () => {
    const csv = path.join(dir, 'm.csv');
    await writeFile(csv, '1,2,3\n2,4,6\n3,,9\n4,8,12\n');
    const info = await service.openPath(csv);
    assert.equal(info.kind, 'matrix');
    if (info.kind !== 'matrix') return;
    assert.equal(info.missing, 1);
    assert.deepEqual(info.valueRange, { min: 1, max: 12 });
    assert.equal(info.sparse, undefined);
    const jobId = await service.factorizeMatrix(info.documentId, { ...settings, rank: 1, solver: 'cd', maxIter: 500, tol: 0 });
    const done = await waitFor(doneOf(jobId));
    const r = done.result as MatrixResult;
    assert.equal(r.imputed.length, 1);
    assert.equal(r.imputed[0]!.row, 2);
    assert.equal(r.imputed[0]!.col, 1);
    assert.ok(Math.abs(r.imputed[0]!.value - 6) < 0.05, `rank-1 structure says 6, got ${r.imputed[0]!.value}`);
    const w = await service.exportResult(info.documentId, 'W.csv');
    assert.equal(new TextDecoder().decode(w.bytes).trim().split('\n').length, 4);
  });

  test('a sparse .mtx.gz opens sparse, with its density map, and factorizes without forming V or W·H dense', async () => {
    const rows = 3000;
    const cols = 2000;
    const entries: string[] = [];
    // two blocks of rows, each the same 20 entries in its own half of the columns: rank 2, 1 % of the cells
    for (let i = 0; i < rows; i++) for (let e = 0; e < 20; e++) entries.push(`${i + 1} ${(i < rows / 2 ? 0 : cols / 2) + e * 37 + 1} ${1 + (e % 3)}`);
    const mtx = path.join(dir, 'big.mtx.gz');
    await writeFile(mtx, gzipSync(`%%MatrixMarket matrix coordinate integer general\n${rows} ${cols} ${entries.length}\n${entries.join('\n')}\n`));
    const info = await service.openPath(mtx);
    assert.equal(info.kind, 'matrix');
    if (info.kind !== 'matrix') return;
    assert.deepEqual([info.rows, info.cols, info.format], [rows, cols, 'mtx']);
    assert.ok(info.sparse, 'the document says V is sparse');
    assert.ok(info.sparse.nnz > 0 && info.sparse.nnz <= entries.length);
    const { density } = info.sparse;
    assert.deepEqual([density.sourceRows, density.sourceCols], [rows, cols]);
    // the top-left and bottom-right quarters hold every entry; the other two none
    const quarter = (top: boolean, left: boolean) => {
      let sum = 0;
      for (let a = 0; a < density.rows; a++) {
        for (let b = 0; b < density.cols; b++) if (a < density.rows / 2 === top && b < density.cols / 2 === left) sum += density.data[a * density.cols + b]!;
      }
      return sum;
    };
    assert.ok(quarter(true, true) > 0 && quarter(false, false) > 0);
    assert.equal(quarter(true, false), 0);
    assert.equal(quarter(false, true), 0);
    const jobId = await service.factorizeMatrix(info.documentId, { ...settings, rank: 2, solver: 'cd', maxIter: 50, tol: 1e-4 });
    const r = (await waitFor(doneOf(jobId))).result as MatrixResult;
    assert.ok(r.relErr < 1e-3, `relErr ${r.relErr}`);
    assert.deepEqual([r.WH.sourceRows, r.WH.sourceCols], [rows, cols]);
    // the reconstruction's view is the block means of W·H: the empty quarters stay near zero
    const wh = (a: number, b: number) => r.WH.data[a * r.WH.cols + b]!;
    assert.ok(wh(0, 0) > 0.01, `${wh(0, 0)}`);
    assert.ok(wh(0, 0) > 100 * Math.abs(wh(0, r.WH.cols - 1)), `${wh(0, 0)} vs ${wh(0, r.WH.cols - 1)}`);
  });

  test('a mostly-zero matrix comes with its non-zero count and a density view', async () => {
    // 300×40 coordinate file, 60 non-zeros (0.5 %), all in rows 0-29 and one heavy entry far down
    const lines = ['%%MatrixMarket matrix coordinate real general', '300 40 60'];
    for (let k = 0; k < 59; k++) lines.push(`${(k % 30) + 1} ${(k % 40) + 1} 1`);
    lines.push('290 7 50');
    const mtx = path.join(dir, 'sparse.mtx');
    await writeFile(mtx, lines.join('\n') + '\n');
    const info = await service.openPath(mtx);
    assert.ok(info.kind === 'matrix' && info.sparse);
    assert.equal(info.sparse.nnz, 60);
    assert.deepEqual([info.sparse.density.rows, info.sparse.density.cols], [300, 40]);
    assert.equal(info.sparse.density.data[289 * 40 + 6], 1);
    assert.equal(info.sparse.density.data[100 * 40 + 6], 0);
    assert.deepEqual(info.valueRange, { min: 0, max: 50 });
  });

  test('a 10x Genomics matrix opens with its gene and barcode labels, and the result lists each component by them', async () => {
    const info = await service.openPath(fixture('tenx', 'filtered_feature_bc_matrix', 'matrix.mtx'));
    assert.equal(info.kind, 'matrix');
    if (info.kind !== 'matrix') return;
    const features = (await readFile(fixture('tenx', 'filtered_feature_bc_matrix', 'features.tsv'), 'utf8')).trim().split('\n');
    assert.deepEqual(info.rowLabels, features.map((l) => l.split('\t')[1]));
    assert.equal(info.colLabels?.length, 6);
    const jobId = await service.factorizeMatrix(info.documentId, { ...settings, rank: 2, solver: 'cd', maxIter: 300, top: 2 });
    const r = (await waitFor(doneOf(jobId))).result as MatrixResult;
    assert.equal(r.components.length, 2);
    const W = await service.exportResult(info.documentId, 'W.csv');
    const w = new TextDecoder().decode(W.bytes).trim().split('\n').map((l) => l.split(',').map(Number));
    // gzip-compressed, as Cell Ranger writes it, the layout is found all the same
    const gz = path.join(dir, 'filtered_feature_bc_matrix');
    await mkdir(gz);
    for (const name of ['matrix.mtx', 'features.tsv', 'barcodes.tsv']) {
      await writeFile(path.join(gz, `${name}.gz`), gzipSync(await readFile(fixture('tenx', 'filtered_feature_bc_matrix', name))));
    }
    const zipped = await service.openPath(path.join(gz, 'matrix.mtx.gz'));
    assert.deepEqual(zipped.kind === 'matrix' && [zipped.rows, zipped.cols, zipped.rowLabels, zipped.colLabels], [8, 6, info.rowLabels, info.colLabels]);
    for (const c of r.components) {
      assert.equal(c.rows.length, 2);
      assert.equal(c.cols.length, 2);
      const byWeight = w.map((cells, i) => ({ i, v: cells[c.index]! })).sort((a, b) => b.v - a.v || a.i - b.i);
      assert.deepEqual(c.rows.map((e) => e.index), [byWeight[0]!.i, byWeight[1]!.i]);
      for (const e of c.rows) assert.equal(e.label, info.rowLabels![e.index]);
      for (const e of c.cols) assert.equal(e.label, info.colLabels![e.index]);
    }
  });

  test('a batch started from the app reports each file and a summary, and writes the mirrored outputs', async () => {
    const input = path.join(dir, 'photos');
    const out = path.join(dir, 'compressed');
    await mkdir(path.join(input, 'sub'), { recursive: true });
    await sharp(fixture('images', 'coins.png')).resize(64).toFile(path.join(input, 'a.png'));
    await sharp(fixture('images', 'chelsea.png')).resize(64).toFile(path.join(input, 'sub', 'b.png'));
    const jobId = await service.startBatch({ inputs: [input], outDir: out, settings: { ...settings, choice: { rank: 3 }, maxIter: 10 }, overwrite: false });
    const done = await waitFor((e): e is Extract<ServiceEvent, { type: 'batch-done' }> => e.type === 'batch-done' && e.jobId === jobId);
    assert.equal(done.summary.ok, 2);
    assert.equal(done.summary.errors, 0);
    const files = events.filter((e): e is Extract<ServiceEvent, { type: 'batch-file' }> => e.type === 'batch-file' && e.jobId === jobId && e.status === 'ok');
    assert.deepEqual(files.map((e) => path.basename(e.path)).sort(), ['a.png', 'b.png']);
    await stat(path.join(out, 'a.nmfz'));
    await stat(path.join(out, 'sub', 'b.nmfz'));
  });

  test('uploads and .nmfz files open; bad files are refused with their name', async () => {
    const bytes = new Uint8Array(await readFile(fixture('images', 'horse.png')));
    const up = await service.openUpload('horse.png', bytes);
    assert.equal(up.kind === 'image' && up.hasAlpha, true);
    await assert.rejects(service.openUpload('fake.png', new TextEncoder().encode('hello')), /fake\.png/);
    await assert.rejects(service.openPath(fixture('images', 'truncated.jpg')), /truncated\.jpg/);
    await assert.rejects(service.openPath(path.join(dir, 'absent.png')), /absent\.png: no such file/);
    const info = await service.openPath(fixture('images', 'coins.png'));
    const jobId = await service.compressImage(info.documentId, { ...settings, maxIter: 5 });
    const { record } = (await waitFor(doneOf(jobId))).result as ImageResult;
    const nmfz = path.join(dir, 'coins.nmfz');
    await writeFile(nmfz, (await service.exportResult(info.documentId, 'nmfz')).bytes);
    const reopened = await service.openPath(nmfz);
    assert.equal(reopened.kind === 'image' && reopened.format, 'NMFZ');
    // what the file's header says of the image it was made from, and how close it came to it
    const facts = reopened.kind === 'image' ? reopened.nmfz : undefined;
    assert.ok(facts, 'an opened .nmfz says what it was made from');
    assert.deepEqual([facts.original.name, facts.original.format, facts.rank, facts.colorMode], ['coins.png', 'png', record.rank, record.colorMode]);
    assert.ok(facts.quality && Math.abs(facts.quality.psnr! - record.psnr) < 1e-4, `psnr ${facts.quality?.psnr} vs ${record.psnr}`);
    assert.equal(info.kind === 'image' && info.nmfz, undefined, 'an image opened directly has none');
  });
});
