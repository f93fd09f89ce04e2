import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findTenXLabels, parseLabels, readLabelledMatrix, readLabels } from '../../src-main/formats/index.js';
import { fixture } from '../helpers/paths.js';
import { tempDir, userError, userErrorAsync } from './helpers.js';

const TEN_X = fixture('tenx', 'filtered_feature_bc_matrix');
const fixtureLines = (name: string) => readFileSync(path.join(TEN_X, name), 'utf8').trim().split('\n');
const GENE_NAMES = fixtureLines('features.tsv').map((l) => l.split('\t')[1]!);
const BARCODES = fixtureLines('barcodes.tsv');

/** A copy of the 10x fixture in `dir`, each file gzipped or not as asked, under `prefix` + its usual name. */
function copyTenX(dir: string, options: { gzip: boolean; prefix?: string; features?: string }): string {
  mkdirSync(dir, { recursive: true });
  const prefix = options.prefix ?? '';
  const put = (from: string, to: string) => {
    const target = path.join(dir, prefix + to + (options.gzip ? '.gz' : ''));
    if (options.gzip) writeFileSync(target, gzipSync(readFileSync(path.join(TEN_X, from))));
    else copyFileSync(path.join(TEN_X, from), target);
    return target;
  };
  put('features.tsv', options.features ?? 'features.tsv');
  put('barcodes.tsv', 'barcodes.tsv');
  return put('matrix.mtx', 'matrix.mtx');
}

test('a label file: one label per line, or the first cell of a tab-separated line', () => {
  assert.deepEqual(parseLabels('apple\nbanana\ncherry\n', 'l.txt'), ['apple', 'banana', 'cherry']);
  // CRLF, a byte-order mark, no final newline, blank lines at the end
  assert.deepEqual(parseLabels('\ufeffapple\r\nbanana\r\ncherry\r\n\r\n\n', 'l.txt'), ['apple', 'banana', 'cherry']);
  // a blank line inside is an empty label: every line is one row
  assert.deepEqual(parseLabels('a\n\nc', 'l.txt'), ['a', '', 'c']);
  // a TSV: its first cell, or for 10x features its second (the gene name) when there is one
  const tsv = 'ENSG1\tCD19\tGene Expression\nENSG2\tMS4A1\tGene Expression\n';
  assert.deepEqual(parseLabels(tsv, 'f.tsv'), ['ENSG1', 'ENSG2']);
  assert.deepEqual(parseLabels(tsv, 'f.tsv', 'name'), ['CD19', 'MS4A1']);
  assert.deepEqual(parseLabels('ENSG1\nENSG2\n', 'f.tsv', 'name'), ['ENSG1', 'ENSG2']);
  // quoted as R's write.table leaves them; spaces inside a label are kept
  assert.deepEqual(parseLabels('"gene one"\n"say ""hi"""\n', 'l.txt'), ['gene one', 'say "hi"']);
  // UTF-8 names
  assert.deepEqual(parseLabels(new TextEncoder().encode('café\nnaïve\n'), 'l.txt'), ['café', 'naïve']);
  // a binary file is refused by name
  assert.match(userError(() => parseLabels(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]), 'x.png')).message, /^x\.png: not a text file: it looks like a PNG image$/);
});

test('readLabels reads .gz through zlib and refuses a count that is not the matrix size, naming file, found and expected', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const plain = path.join(dir, 'terms.txt');
    writeFileSync(plain, 'alpha\nbeta\ngamma\n');
    assert.deepEqual(await readLabels({ path: plain, column: 'first' }, 3, 'row'), ['alpha', 'beta', 'gamma']);
    const gz = path.join(dir, 'terms.txt.gz');
    writeFileSync(gz, gzipSync('alpha\nbeta\ngamma\n'));
    assert.deepEqual(await readLabels({ path: gz, column: 'first' }, 3, 'row'), ['alpha', 'beta', 'gamma']);

    const short = await userErrorAsync(() => readLabels({ path: plain, column: 'first' }, 4, 'row'));
    assert.equal(short.message, `${plain}: 3 labels (one per line), but the matrix has 4 rows`);
    const long = await userErrorAsync(() => readLabels({ path: gz, column: 'first' }, 1, 'column'));
    assert.equal(long.message, `${gz}: 3 labels (one per line), but the matrix has 1 column`);

    const damaged = path.join(dir, 'bad.tsv.gz');
    writeFileSync(damaged, 'not gzip at all\n');
    assert.match((await userErrorAsync(() => readLabels({ path: damaged, column: 'first' }, 1, 'row'))).message, /bad\.tsv\.gz: cannot decompress: not valid gzip data/);
    const missing = path.join(dir, 'nowhere.txt');
    assert.equal((await userErrorAsync(() => readLabels({ path: missing, column: 'first' }, 1, 'row'))).message, `${missing}: cannot read: no such file or folder`);
  } finally {
    cleanup();
  }
});

test('the 10x Genomics layout is found beside matrix.mtx: gene names label the rows, barcodes the columns', async () => {
  const found = await findTenXLabels(path.join(TEN_X, 'matrix.mtx'));
  assert.deepEqual(found, {
    rows: { path: path.join(TEN_X, 'features.tsv'), column: 'name' },
    cols: { path: path.join(TEN_X, 'barcodes.tsv'), column: 'first' },
  });
  const m = await readLabelledMatrix(path.join(TEN_X, 'matrix.mtx'));
  assert.deepEqual([m.matrix.rows, m.matrix.cols], [8, 6]);
  assert.deepEqual(m.rowLabels?.names, GENE_NAMES);
  assert.equal(m.rowLabels?.names[0], 'CD19');
  assert.equal(m.rowLabels?.source, path.join(TEN_X, 'features.tsv'));
  assert.deepEqual(m.colLabels?.names, BARCODES);
  // a matrix under another name is not the 10x layout, whatever lies beside it
  const { dir, cleanup } = tempDir();
  try {
    const other = path.join(dir, 'counts.mtx');
    copyFileSync(path.join(TEN_X, 'matrix.mtx'), other);
    copyFileSync(path.join(TEN_X, 'features.tsv'), path.join(dir, 'features.tsv'));
    assert.deepEqual(await findTenXLabels(other), {});
    const plain = await readLabelledMatrix(other);
    assert.equal(plain.rowLabels, undefined);
    assert.equal(plain.colLabels, undefined);
  } finally {
    cleanup();
  }
});

test('the gzip-compressed 10x layout, GEO-style prefixed names and the older genes.tsv are read too', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const gz = copyTenX(path.join(dir, 'gz'), { gzip: true });
    assert.ok(gz.endsWith('matrix.mtx.gz'));
    const m = await readLabelledMatrix(gz);
    assert.deepEqual([m.matrix.rows, m.matrix.cols], [8, 6]);
    assert.deepEqual(m.rowLabels?.names, GENE_NAMES);
    assert.deepEqual(m.colLabels?.names, BARCODES);
    assert.equal(m.rowLabels?.source, path.join(dir, 'gz', 'features.tsv.gz'));

    const geo = copyTenX(path.join(dir, 'geo'), { gzip: true, prefix: 'GSM1234_sample_' });
    const g = await readLabelledMatrix(geo);
    assert.deepEqual(g.rowLabels?.names, GENE_NAMES);
    assert.deepEqual(g.colLabels?.names, BARCODES);

    const old = copyTenX(path.join(dir, 'old'), { gzip: false, features: 'genes.tsv' });
    const o = await readLabelledMatrix(old);
    assert.deepEqual(o.rowLabels?.names, GENE_NAMES);
    assert.equal(o.rowLabels?.source, path.join(dir, 'old', 'genes.tsv'));
  } finally {
    cleanup();
  }
});

test('a 10x barcodes file one line short is refused, naming it with the count found and expected', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const matrix = copyTenX(dir, { gzip: true });
    const barcodes = path.join(dir, 'barcodes.tsv.gz');
    writeFileSync(barcodes, gzipSync(BARCODES.slice(0, 5).join('\n') + '\n'));
    const err = await userErrorAsync(() => readLabelledMatrix(matrix));
    assert.equal(err.message, `${barcodes}: 5 labels (one per line), but the matrix has 6 columns`);
  } finally {
    cleanup();
  }
});

test('label files given by name take the place of a CSV’s own names and of the 10x files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = path.join(dir, 'terms.csv');
    writeFileSync(csv, 'term,doc1,doc2\napple,1,0\n2020,0,2\nNA,3,1\n');
    const own = await readLabelledMatrix(csv);
    assert.deepEqual(own.rowLabels, { names: ['apple', '2020', 'NA'], source: `${csv} (first column)` });
    assert.deepEqual(own.colLabels, { names: ['doc1', 'doc2'], source: `${csv} (header row)` });

    const rows = path.join(dir, 'rows.txt');
    writeFileSync(rows, 'r1\nr2\nr3\n');
    const cols = path.join(dir, 'cols.tsv');
    writeFileSync(cols, 'c1\tfirst document\nc2\tsecond document\n');
    const given = await readLabelledMatrix(csv, { rowLabels: rows, colLabels: cols });
    assert.deepEqual(given.rowLabels, { names: ['r1', 'r2', 'r3'], source: rows });
    assert.deepEqual(given.colLabels, { names: ['c1', 'c2'], source: cols });

    const tenX = await readLabelledMatrix(path.join(TEN_X, 'matrix.mtx'), { colLabels: path.join(TEN_X, 'barcodes.tsv'), rowLabels: path.join(TEN_X, 'features.tsv') });
    // given by name, a TSV's first cell is the label: the gene ids
    assert.deepEqual(tenX.rowLabels?.names, fixtureLines('features.tsv').map((l) => l.split('\t')[0]!));

    const err = await userErrorAsync(() => readLabelledMatrix(csv, { colLabels: rows }));
    assert.equal(err.message, `${rows}: 3 labels (one per line), but the matrix has 2 columns`);
  } finally {
    cleanup();
  }
});

test('companion files (uploaded with the matrix) label the axis whose count they match; the 10x ones stay 10x', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const write = (name: string, text: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const csv = write('m.csv', 'term,d1,d2\na,1,0\nb,0,2\nc,3,1\n');
    const words = write('words.txt', 'w1\nw2\nw3\n');
    const docs = write('docs.txt.gz', '');
    writeFileSync(docs, gzipSync('x\ny\n'));
    // by count, in place of the CSV's own names, in whichever order they come
    const m = await readLabelledMatrix(csv, { companions: [docs, words] });
    assert.deepEqual(m.rowLabels, { names: ['w1', 'w2', 'w3'], source: words });
    assert.deepEqual(m.colLabels, { names: ['x', 'y'], source: docs });
    // one axis only: the other keeps the CSV's own
    assert.deepEqual((await readLabelledMatrix(csv, { companions: [docs] })).rowLabels?.names, ['a', 'b', 'c']);

    // a square matrix: the rows first, unless a name says columns
    const square = write('sq.mtx', '%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 1\n2 2 3\n');
    const cells = write('cells.txt', 'c1\nc2\n');
    const genes = write('genes.txt', 'g1\ng2\n');
    const sq = await readLabelledMatrix(square, { companions: [cells, genes] });
    assert.deepEqual([sq.rowLabels?.names, sq.colLabels?.names], [['g1', 'g2'], ['c1', 'c2']]);

    // the wrong count, and an axis given twice, are refused in one line naming the file
    const four = write('four.txt', '1\n2\n3\n4\n');
    assert.equal((await userErrorAsync(() => readLabelledMatrix(csv, { companions: [four] }))).message, `${four}: 4 labels (one per line), but the matrix has 3 rows and 2 columns`);
    const again = write('again.txt', 'v1\nv2\nv3\n');
    assert.equal(
      (await userErrorAsync(() => readLabelledMatrix(csv, { companions: [words, again] }))).message,
      `${again}: 3 labels (one per line) for the rows, which words.txt already labels; give one label file per axis`,
    );

    // beside a 10x matrix.mtx its features and barcodes are read as 10x files (gene names), not again by count
    const tenX = copyTenX(path.join(dir, 'tenx'), { gzip: false });
    const t = await readLabelledMatrix(tenX, { companions: [path.join(dir, 'tenx', 'features.tsv'), path.join(dir, 'tenx', 'barcodes.tsv')] });
    assert.deepEqual([t.rowLabels?.names, t.colLabels?.names], [GENE_NAMES, BARCODES]);
  } finally {
    cleanup();
  }
});
