// Several files opened at once: which is the matrix and which are its label files, before anything is sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tenXFolder, uploadSet } from '../../src-renderer/lib/upload-set.js';

const file = (name: string, size = 10) => ({ name, size });

test('a 10x matrix.mtx (or GEO copy) is the matrix of its set; the rest must be text files', () => {
  const [m, f, b] = [file('matrix.mtx.gz'), file('features.tsv.gz'), file('barcodes.tsv.gz')];
  assert.deepEqual(uploadSet([f, m, b]), { primary: m, companions: [f, b] });
  const geo = file('GSM1_sample_matrix.mtx');
  assert.deepEqual(uploadSet([geo, file('GSM1_sample_genes.tsv')]), { primary: geo, companions: [file('GSM1_sample_genes.tsv')] });
  assert.ok('error' in uploadSet([m, f, file('photo.png')]));
});

test('without a 10x name: the one file that is not text, else the largest text file', () => {
  const npy = file('counts.npy', 5);
  assert.deepEqual(uploadSet([file('rows.txt', 50), npy, file('cols.txt', 40)]), { primary: npy, companions: [file('rows.txt', 50), file('cols.txt', 40)] });
  const big = file('table.csv', 5000);
  assert.deepEqual(uploadSet([file('rows.txt', 50), big]), { primary: big, companions: [file('rows.txt', 50)] });
  // two images, or two binary matrices, are not one matrix with its labels
  assert.ok('error' in uploadSet([file('a.png'), file('b.png')]));
  assert.ok('error' in uploadSet([file('a.npy'), file('b.mtx'), file('rows.txt')]));
});

test('a dropped folder opens only as a 10x folder, leaving out what does not label it', () => {
  const [m, f, b] = [file('matrix.mtx.gz'), file('features.tsv.gz'), file('barcodes.tsv.gz')];
  assert.deepEqual(tenXFolder([file('README.txt'), b, m, file('web_summary.html'), f]), { primary: m, companions: [b, f] });
  assert.equal(tenXFolder([file('a.png'), file('b.csv')]), null);
});
