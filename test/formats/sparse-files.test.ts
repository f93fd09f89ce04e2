// Sparse matrix files: scipy's save_npz (CSR, CSC, COO) and numpy's savez, coordinate MatrixMarket files held
// sparse and read as they stream in (plain and .gz), and damaged archives refused in one line.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isSparse, type Matrix } from '../../src-main/engine/matrix.js';
import { denseOf } from '../../src-main/engine/sparse.js';
import { describeMatrixFile, parseMatrix, parseMatrixMarket, readMatrixFile } from '../../src-main/formats/index.js';
import { MatrixMarketStream } from '../../src-main/formats/mtx.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { assertMessage, tempDir, userError, userErrorAsync } from './helpers.js';

const formats = (name: string) => fixture('sklearn-sparse', 'formats', name);
const expected: Matrix = readNpy(formats('dense.npy'));

test('scipy save_npz files in CSR, CSC and COO (deflated or stored) load sparse with the same values', async () => {
  for (const name of ['csr.npz', 'csc.npz', 'coo.npz', 'coordinate.mtx']) {
    const r = await readMatrixFile(formats(name));
    assert.ok(isSparse(r.matrix), `${name} is held sparse`);
    assert.deepEqual(Array.from(denseOf(r.matrix).data), Array.from(expected.data), name);
    assert.equal(r.dtype, 'float64');
  }
  const csr = await readMatrixFile(formats('csr.npz'));
  assert.equal(csr.format, 'npz');
  assert.equal(csr.sourceDtype, 'csr float64');
  assert.match(describeMatrixFile(csr), /^9×7 \.npz \(csr float64, sparse: \d+ non-zeros, \d+ %\)$/);
  const f32 = await readMatrixFile(formats('csr_float32.npz'));
  assert.equal(f32.dtype, 'float32');
  assert.deepEqual(Array.from(denseOf(f32.matrix).data), Array.from(Float32Array.from(expected.data)));
});

test('a .npz held in memory (an upload) or gzip-compressed on disk reads as the file does', async () => {
  const bytes = readFileSync(formats('csc.npz'));
  const fromBytes = await parseMatrix(bytes, 'upload.npz');
  assert.ok(isSparse(fromBytes.matrix));
  assert.deepEqual(Array.from(denseOf(fromBytes.matrix).data), Array.from(expected.data));
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'm.npz.gz');
    writeFileSync(file, gzipSync(bytes));
    assert.deepEqual(Array.from(denseOf((await readMatrixFile(file)).matrix).data), Array.from(expected.data));
  } finally {
    cleanup();
  }
});

test('numpy savez with one array (C or Fortran order, stored or deflated) reads as that array', async () => {
  for (const name of ['dense_array.npz', 'dense_array_compressed.npz']) {
    const r = await readMatrixFile(formats(name));
    assert.ok(!isSparse(r.matrix));
    assert.equal(r.format, 'npz');
    assert.deepEqual(Array.from((r.matrix as Matrix).data), Array.from(expected.data), name);
  }
});

test('damaged or unusable .npz archives get one line naming the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = readFileSync(formats('csr.npz'));
    const cases: [string, Uint8Array, string][] = [
      ['cut.npz', good.subarray(0, good.length - 30), 'not a readable .npz (zip) archive: its end record is missing (the file is cut short)'],
      ['empty.npz', new Uint8Array(0), 'not a readable .npz (zip) archive: the file is empty'],
      ['text.npz', new TextEncoder().encode('this is not a zip archive at all, just text\n'), 'not a readable .npz (zip) archive: no zip signature'],
    ];
    // one byte of deflated data changed: inflate fails or the CRC-32 no longer matches
    const flipped = Uint8Array.from(good);
    flipped[70] = flipped[70]! ^ 0xff;
    cases.push(['flipped.npz', flipped, 'of the .npz (zip) archive is damaged']);
    const stored = Uint8Array.from(readFileSync(formats('csc.npz')));
    stored[120] = stored[120]! ^ 0x01;
    cases.push(['crc.npz', stored, 'is damaged: its CRC-32 does not match']);
    // the central directory lies about a member: its size, its compression method, an encryption flag
    const lie = (edit: (view: DataView, entry: number) => void): Uint8Array => {
      const bytes = Uint8Array.from(good);
      const view = new DataView(bytes.buffer);
      edit(view, view.getUint32(bytes.length - 22 + 16, true));
      return bytes;
    };
    cases.push(['size.npz', lie((v, e) => v.setUint32(e + 24, v.getUint32(e + 24, true) + 5, true)), 'member indices.npy of the .npz (zip) archive is damaged: it does not hold the 205 bytes the directory says']);
    // a size no deflate stream of that length could reach is refused before anything is allocated for it
    cases.push(['bomb.npz', lie((v, e) => v.setUint32(e + 24, 0xfff00000, true)), 'member indices.npy of the .npz (zip) archive is damaged: the directory says 96 bytes hold 4293918720, more than deflate can']);
    cases.push(['method.npz', lie((v, e) => v.setUint16(e + 10, 12, true)), 'member indices.npy of the .npz (zip) archive uses compression method 12 (only stored and deflated are supported)']);
    cases.push(['locked.npz', lie((v, e) => v.setUint16(e + 8, 1, true)), 'member indices.npy of the .npz (zip) archive is encrypted']);
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      const err = await userErrorAsync(() => readMatrixFile(file));
      assertMessage(err, `${file}: `, message);
    }
  } finally {
    cleanup();
  }
});

test('a coordinate file larger than memory could hold dense is read sparse; its size grows with the entries', () => {
  const r = parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n200000 50000 3\n1 1 1.5\n200000 50000 2\n7 3 4\n', 'big.mtx');
  assert.ok(isSparse(r.matrix));
  assert.deepEqual([r.matrix.rows, r.matrix.cols], [200000, 50000]);
  assert.deepEqual(Array.from(r.matrix.indices), [0, 2, 49999]);
  assert.deepEqual(Array.from(r.matrix.values), [1.5, 4, 2]);
  assert.equal(r.matrix.indptr.length, 200001);
});

test('symmetric, skew-symmetric and pattern coordinate files held sparse match their dense reading', () => {
  const sym = parseMatrixMarket('%%MatrixMarket matrix coordinate pattern symmetric\n40 40 3\n1 1\n5 2\n40 3\n', 's.mtx');
  assert.ok(isSparse(sym.matrix));
  const d = denseOf(sym.matrix);
  assert.deepEqual([d.data[0], d.data[4 * 40 + 1], d.data[1 * 40 + 4], d.data[39 * 40 + 2], d.data[2 * 40 + 39]], [1, 1, 1, 1, 1]);
  assert.equal(sym.matrix.indptr[40], 5);
  assertMessage(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real skew-symmetric\n30 30 1\n3 1 2\n', 'k.mtx')),
    'k.mtx: row 1, column 3: negative value -(2) mirrored from row 3, column 1',
  );
});

test('NaN entries make a coordinate file dense (missing values are a dense notion)', () => {
  const r = parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n30 30 2\n1 1 nan\n2 2 3\n', 'n.mtx');
  assert.ok(!isSparse(r.matrix));
  assert.equal(r.missing, 1);
  assertMessage(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n100000 100000 1\n1 1 nan\n', 'n.mtx')),
    'n.mtx: 1 missing (NaN) value in a 100,000×100,000 matrix: missing values need the dense form',
  );
});

test('read in chunks of any size, a MatrixMarket file gives what it gives whole', () => {
  const text = '%%MatrixMarket matrix coordinate real general\r\n% comment\n\n6 5 6\n1 1 1.5\n2 3 2e-3\r\n6 5 7\n  4   2   0.25\n3 3 1\n1 1 1\n';
  const whole = parseMatrixMarket(text, 'm.mtx');
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 3, 7, 16, 1000]) {
    const stream = new MatrixMarketStream('m.mtx', bytes.length);
    for (let at = 0; at < bytes.length; at += size) stream.push(bytes.subarray(at, at + size));
    const r = stream.end();
    assert.deepEqual(Array.from(denseOf(r.matrix).data), Array.from(denseOf(whole.matrix).data), `chunks of ${size}`);
  }
  // the last line without its newline still counts, and errors still name their line
  const stream = new MatrixMarketStream('m.mtx', Infinity);
  stream.push(new TextEncoder().encode('%%MatrixMarket matrix coordinate real general\n2 2 1\n2 1 5'));
  assert.deepEqual(Array.from(denseOf(stream.end().matrix).data), [0, 0, 5, 0]);
  const bad = new MatrixMarketStream('m.mtx', Infinity);
  bad.push(new TextEncoder().encode('%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n3 '));
  assert.equal(userError(() => { bad.push(new TextEncoder().encode('1 1\n')); }).message, 'm.mtx: line 4: row index 3 is out of range 1..2 (the matrix has 2 rows)');
});

test('.mtx.gz streams through gunzip; a damaged one is refused in one line', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lines = ['%%MatrixMarket matrix coordinate integer general', '3000 2000 4000'];
    const want = new Map<number, number>();
    for (let e = 0; e < 4000; e++) {
      const i = (e * 7919) % 3000;
      const j = (e * 104729) % 2000;
      lines.push(`${i + 1} ${j + 1} ${e + 1}`);
      want.set(i * 2000 + j, (want.get(i * 2000 + j) ?? 0) + e + 1);
    }
    const file = path.join(dir, 'matrix.mtx.gz');
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const r = await readMatrixFile(file);
    assert.ok(isSparse(r.matrix));
    const d = denseOf(r.matrix);
    let nonzero = 0;
    for (let k = 0; k < d.data.length; k++) if (d.data[k] !== 0) nonzero++;
    assert.equal(nonzero, want.size);
    for (const [k, v] of want) assert.equal(d.data[k], v);
    const damaged = gzipSync(lines.join('\n'));
    damaged[damaged.length - 20] ^= 0xff;
    writeFileSync(path.join(dir, 'bad.mtx.gz'), damaged);
    assertMessage(await userErrorAsync(() => readMatrixFile(path.join(dir, 'bad.mtx.gz'))), 'bad.mtx.gz: ');
  } finally {
    cleanup();
  }
});
