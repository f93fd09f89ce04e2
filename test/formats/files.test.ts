import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { denseOf } from '../../src-main/engine/sparse.js';
import { gzipSync } from 'node:zlib';
import { describeMatrixFile, encodeNpy, formatFromName, MATRIX_EXTENSIONS, readMatrixFile, writeMatrixFile } from '../../src-main/formats/index.js';
import { fixture } from '../helpers/paths.js';
import { permissionCheckSkip, withoutRoot } from '../helpers/unprivileged.js';
import { assertMessage, tempDir, userErrorAsync } from './helpers.js';

test('readMatrixFile picks the reader from the file name and reports format, dtype and missing cells', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = path.join(dir, 'data.csv');
    writeFileSync(csv, 'a,b\n1,\n3,4\n');
    const r = await readMatrixFile(csv);
    assert.equal(r.format, 'csv');
    assert.equal(r.dtype, 'float64');
    assert.equal(r.missing, 1);
    assert.deepEqual([r.matrix.rows, r.matrix.cols], [2, 2]);

    assert.equal(describeMatrixFile(r), '2×2 CSV (comma-separated, header row), 1 missing cell');
    const tsv = path.join(dir, 'DATA.TSV');
    writeFileSync(tsv, '1\t2\n');
    assert.equal((await readMatrixFile(tsv)).delimiter, '\t');

    const txt = path.join(dir, 'saved.txt');
    writeFileSync(txt, '1.000000000000000000e+00 2.500000000000000000e-01\n');
    assert.deepEqual(Array.from(denseOf((await readMatrixFile(txt)).matrix).data), [1, 0.25]);

    const mtx = path.join(dir, 'm.mtx');
    writeFileSync(mtx, '%%MatrixMarket matrix coordinate real general\n2 2 1\n2 1 5\n');
    const m = await readMatrixFile(mtx);
    assert.equal(m.format, 'mtx');
    assert.deepEqual(Array.from(denseOf(m.matrix).data), [0, 0, 5, 0]);

    const npy = path.join(dir, 'V.npy');
    copyFileSync(fixture('sklearn', 'mu_frobenius', 'V.npy'), npy);
    const v = await readMatrixFile(npy);
    assert.equal(v.format, 'npy');
    assert.equal(v.sourceDtype, 'float64');
    assert.deepEqual([v.matrix.rows, v.matrix.cols], [31, 23]);
    assert.equal(describeMatrixFile(v), '31×23 .npy (float64)');
    assert.equal(describeMatrixFile(m), '2×2 MatrixMarket (real, sparse: 1 non-zero, 25 %)');
  } finally {
    cleanup();
  }
});

test('gzip-compressed files (.csv.gz, .mtx.gz, .npy.gz) are read', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(path.join(dir, 'a.csv.gz'), gzipSync('1,2\n3,4\n'));
    assert.deepEqual(Array.from(denseOf((await readMatrixFile(path.join(dir, 'a.csv.gz'))).matrix).data), [1, 2, 3, 4]);
    writeFileSync(path.join(dir, 'matrix.mtx.gz'), gzipSync('%%MatrixMarket matrix coordinate integer general\n1 2 1\n1 2 9\n'));
    assert.deepEqual(Array.from(denseOf((await readMatrixFile(path.join(dir, 'matrix.mtx.gz'))).matrix).data), [0, 9]);
    const m = { rows: 1, cols: 2, data: new Float32Array([0.5, 2]) };
    writeFileSync(path.join(dir, 'x.npy.gz'), gzipSync(encodeNpy(m)));
    assert.equal((await readMatrixFile(path.join(dir, 'x.npy.gz'))).dtype, 'float32');
    writeFileSync(path.join(dir, 'bad.csv.gz'), '1,2\n');
    const err = await userErrorAsync(() => readMatrixFile(path.join(dir, 'bad.csv.gz')));
    assertMessage(err, 'bad.csv.gz: cannot decompress: not valid gzip data');
  } finally {
    cleanup();
  }
});

test('unknown endings are refused with the list of supported ones', async () => {
  const err = await userErrorAsync(() => readMatrixFile('table.xlsx'));
  assert.equal(err.message, `table.xlsx: files ending in '.xlsx' are not matrix files; supported: ${MATRIX_EXTENSIONS.join(', ')} (optionally gzip-compressed, ending in .gz)`);
  assertMessage(await userErrorAsync(() => readMatrixFile('README')), 'README: the name has no ending');
  assert.deepEqual(formatFromName('a/b.c/M.MTX.GZ'), { format: 'mtx', gzip: true });
  assert.equal(formatFromName('dir.csv/file'), undefined);
});

test('missing and folder paths say so in words', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const missing = path.join(dir, 'nope.csv');
    assert.equal((await userErrorAsync(() => readMatrixFile(missing))).message, `${missing}: cannot read: no such file or folder`);
    const folder = path.join(dir, 'folder.csv');
    mkdirSync(folder);
    assert.equal((await userErrorAsync(() => readMatrixFile(folder))).message, `${folder}: cannot read: it is a folder, not a file`);
  } finally {
    cleanup();
  }
});

test('an unreadable file says permission denied', { skip: permissionCheckSkip() }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const locked = path.join(dir, 'locked.csv');
    writeFileSync(locked, '1\n');
    chmodSync(locked, 0o000);
    const err = await withoutRoot(() => userErrorAsync(() => readMatrixFile(locked)), [dir]);
    assert.equal(err.message, `${locked}: cannot read: permission denied`);
  } finally {
    cleanup();
  }
});

test('errors inside a file name the path as given', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'data.csv');
    writeFileSync(file, 'x,y\n1,2\n3,-0.5\n');
    const err = await userErrorAsync(() => readMatrixFile(file));
    assert.equal(err.message, `${file}: row 3, column 2: negative value -0.5 (use --clip-negative to set negatives to 0)`);
    const clipped = await readMatrixFile(file, { clipNegative: true });
    assert.equal(clipped.clipped, 1);
  } finally {
    cleanup();
  }
});

test('writeMatrixFile: .npy and CSV round trips keep precision; existing files need overwrite', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const m64 = { rows: 2, cols: 3, data: new Float64Array([0.1, 0.2, 0.3, 1 / 3, NaN, 1e-300]) };
    const m32 = { rows: 2, cols: 2, data: new Float32Array([0.1, 0.2, 1 / 3, 7]) };
    await writeMatrixFile(path.join(dir, 'a.npy'), m64, 'npy');
    await writeMatrixFile(path.join(dir, 'b.npy'), m32, 'npy');
    await writeMatrixFile(path.join(dir, 'c.npy'), m64, 'npy', { dtype: 'float32' });
    await writeMatrixFile(path.join(dir, 'a.csv'), m64, 'csv');
    await writeMatrixFile(path.join(dir, 'b.csv'), m32, 'csv');
    await writeMatrixFile(path.join(dir, 'b.tsv'), m32, 'tsv', { columnNames: ['x', 'y'], rowNames: ['r1', 'r2'] });

    const a = await readMatrixFile(path.join(dir, 'a.npy'));
    assert.equal(a.dtype, 'float64');
    assert.deepEqual(denseOf(a.matrix).data, m64.data);
    assert.equal(a.missing, 1);
    const b = await readMatrixFile(path.join(dir, 'b.npy'));
    assert.equal(b.dtype, 'float32');
    assert.deepEqual(denseOf(b.matrix).data, m32.data);
    assert.deepEqual(denseOf((await readMatrixFile(path.join(dir, 'c.npy'))).matrix).data, Float32Array.from(m64.data));
    assert.deepEqual(denseOf((await readMatrixFile(path.join(dir, 'a.csv'))).matrix).data, m64.data);
    assert.equal(readFileSync(path.join(dir, 'b.csv'), 'utf8'), '0.1,0.2\n0.33333334,7\n');
    const tsv = await readMatrixFile(path.join(dir, 'b.tsv'));
    assert.deepEqual(tsv.columnNames, ['x', 'y']);
    assert.deepEqual(tsv.rowNames, ['r1', 'r2']);

    const before = readFileSync(path.join(dir, 'a.npy'));
    const err = await userErrorAsync(() => writeMatrixFile(path.join(dir, 'a.npy'), m32, 'npy'));
    assertMessage(err, 'a.npy already exists; pass --overwrite to replace it');
    assert.deepEqual(readFileSync(path.join(dir, 'a.npy')), before);
    await writeMatrixFile(path.join(dir, 'a.npy'), m32, 'npy', { overwrite: true });
    assert.equal((await readMatrixFile(path.join(dir, 'a.npy'))).dtype, 'float32');
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
  } finally {
    cleanup();
  }
});
