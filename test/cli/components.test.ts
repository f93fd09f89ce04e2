import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { MatrixComponent } from '../../src-main/api/contract.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { runCli } from '../helpers/cli.js';
import { readNpy } from '../helpers/npy.js';
import { fixture } from '../helpers/paths.js';
import { DOCS, expectedTop, TERMS, termDocumentCsv } from '../helpers/term-document.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nmf-cli-components-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Row {
  component: number;
  axis: string;
  position: number;
  index: number;
  label: string;
  weight: string;
}

function readComponentsCsv(text: string): Row[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  assert.equal(header, 'component,axis,position,index,label,weight');
  return lines.map((line) => {
    const cells = line.split(',');
    assert.equal(cells.length, 6, line);
    return { component: Number(cells[0]), axis: cells[1]!, position: Number(cells[2]), index: Number(cells[3]), label: cells[4]!, weight: cells[5]! };
  });
}

const column = (m: Matrix, k: number) => Array.from({ length: m.rows }, (_, i) => m.data[i * m.cols + k]!);
const row = (m: Matrix, k: number) => Array.from(m.data.subarray(k * m.cols, (k + 1) * m.cols));

/** Checks components.csv and the --json components against W and H as written. */
function checkAgainstFactors(rows: Row[], json: MatrixComponent[], W: Matrix, H: Matrix, top: number, rowLabels: string[], colLabels: string[]): void {
  assert.equal(json.length, W.cols);
  for (let k = 0; k < W.cols; k++) {
    for (const [axis, values, labels, listed] of [
      ['row', column(W, k), rowLabels, json[k]!.rows],
      ['col', row(H, k), colLabels, json[k]!.cols],
    ] as const) {
      const expected = expectedTop(values, top);
      assert.ok(expected.length > 0, `component ${k} has ${axis}s above 0`);
      const written = rows.filter((r) => r.component === k && r.axis === axis);
      assert.deepEqual(written.map((r) => r.position), expected.map((_, n) => n + 1));
      assert.deepEqual(written.map((r) => r.index), expected.map((e) => e.index), `component ${k}, top ${axis}s`);
      assert.deepEqual(written.map((r) => r.label), expected.map((e) => labels[e.index]));
      // The weight reads back as the very entry of W (or H).
      assert.deepEqual(written.map((r) => Number(r.weight)), expected.map((e) => e.weight));
      assert.deepEqual(listed, expected.map((e) => ({ index: e.index, label: labels[e.index], weight: e.weight })));
    }
  }
}

describe('nmf-studio factor: components and labels', () => {
  test('a labelled term–document CSV: components.csv and --json list each component’s top terms and documents as W and H say', async () => {
    const input = path.join(dir, 'terms.csv');
    writeFileSync(input, termDocumentCsv());
    const out = path.join(dir, 'out-terms');
    const r = await runCli(['factor', input, '--rank', '3', '--top', '3', '--out', out, '--json', '--max-iter', '500']);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { components: MatrixComponent[]; rowLabelsFrom: string; colLabelsFrom: string; outputs: string[] };
    assert.equal(o.rowLabelsFrom, `${input} (first column)`);
    assert.equal(o.colLabelsFrom, `${input} (header row)`);
    assert.deepEqual((await readdir(out)).sort(), ['H.npy', 'W.npy', 'components.csv']);
    assert.deepEqual(o.outputs, ['W.npy', 'H.npy', 'components.csv'].map((n) => path.join(out, n)));
    const W = readNpy(path.join(out, 'W.npy'));
    const H = readNpy(path.join(out, 'H.npy'));
    const rows = readComponentsCsv(await readFile(path.join(out, 'components.csv'), 'utf8'));
    checkAgainstFactors(rows, o.components, W, H, 3, TERMS, DOCS);
    // The three topics come out as three components: each one's first two documents are of one topic.
    const topics = o.components.map((c) => c.cols.slice(0, 2).map((e) => e.label!.split('-')[0]).join(' ')).sort();
    assert.deepEqual(topics, ['food food', 'politics politics', 'sport sport']);

    // Without --json, a line per component names its first rows and columns.
    const text = await runCli(['factor', input, '--rank', '3', '--max-iter', '500']);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n').filter((l) => l.startsWith('component '));
    assert.equal(lines.length, 3);
    o.components.forEach((c, k) => {
      const names = c.rows.map((e) => e.label).join(', ');
      assert.ok(lines[k]!.startsWith(`component ${k}: rows ${names}`), `${lines[k]} starts with the top rows ${names}`);
    });
  });

  test('--top defaults to 10, and a matrix without labels lists indices with empty labels', async () => {
    const input = path.join(dir, 'plain.csv');
    // 14×12 numbers, no names: more rows and columns than the default lists.
    const lines = Array.from({ length: 14 }, (_, i) => Array.from({ length: 12 }, (_, j) => ((i + 1) * (j + 2)) % 17 + (i % 3) * j).join(','));
    writeFileSync(input, lines.join('\n') + '\n');
    const out = path.join(dir, 'out-plain');
    const r = await runCli(['factor', input, '--rank', '2', '--out', out, '--format', 'csv', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { components: MatrixComponent[]; rowLabelsFrom: null; colLabelsFrom: null };
    assert.equal(o.rowLabelsFrom, null);
    assert.equal(o.colLabelsFrom, null);
    const read = (name: string): Matrix => {
      const textLines = readFileSync(path.join(out, name), 'utf8').trim().split('\n');
      const data = new Float64Array(textLines.flatMap((l) => l.split(',').map(Number)));
      return { rows: textLines.length, cols: data.length / textLines.length, data };
    };
    const W = read('W.csv');
    const H = read('H.csv');
    const rows = readComponentsCsv(await readFile(path.join(out, 'components.csv'), 'utf8'));
    assert.equal(rows.filter((x) => x.component === 0 && x.axis === 'row').length, 10);
    const blank = (n: number) => Array.from({ length: n }, () => '');
    checkAgainstFactors(
      rows,
      o.components.map((c) => ({ ...c, rows: c.rows.map((e) => ({ ...e, label: e.label ?? '' })), cols: c.cols.map((e) => ({ ...e, label: e.label ?? '' })) })),
      W,
      H,
      10,
      blank(W.rows),
      blank(H.cols),
    );
    assert.ok(o.components.every((c) => c.rows.every((e) => e.label === null)), 'labels are null in JSON');
  });

  test('a gzip-compressed 10x Genomics folder: genes and barcodes label the components', async () => {
    const tenX = path.join(dir, 'sample');
    mkdirSync(tenX);
    for (const name of ['matrix.mtx', 'features.tsv', 'barcodes.tsv']) {
      writeFileSync(path.join(tenX, `${name}.gz`), gzipSync(readFileSync(fixture('tenx', 'filtered_feature_bc_matrix', name))));
    }
    const genes = readFileSync(fixture('tenx', 'filtered_feature_bc_matrix', 'features.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t')[1]!);
    const barcodes = readFileSync(fixture('tenx', 'filtered_feature_bc_matrix', 'barcodes.tsv'), 'utf8').trim().split('\n');
    const out = path.join(dir, 'out-10x');
    const r = await runCli(['factor', path.join(tenX, 'matrix.mtx.gz'), '--rank', '2', '--top', '4', '--out', out, '--json', '--max-iter', '500']);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { components: MatrixComponent[]; rowLabelsFrom: string; colLabelsFrom: string };
    assert.equal(o.rowLabelsFrom, path.join(tenX, 'features.tsv.gz'));
    assert.equal(o.colLabelsFrom, path.join(tenX, 'barcodes.tsv.gz'));
    const W = readNpy(path.join(out, 'W.npy'));
    const H = readNpy(path.join(out, 'H.npy'));
    checkAgainstFactors(readComponentsCsv(await readFile(path.join(out, 'components.csv'), 'utf8')), o.components, W, H, 4, genes, barcodes);
    // The B-cell and T-cell programs the fixture is made of, one per component.
    const programs = o.components.map((c) => c.rows.map((e) => e.label).sort().join(' ')).sort();
    assert.deepEqual(programs, ['CD19 CD79A CD79B MS4A1', 'CD3D CD3E CD4 CD8A']);
  });

  test('a label file with the wrong number of lines: exit code 1, one line naming it with the counts, nothing written', async () => {
    const input = path.join(dir, 'counted.csv');
    writeFileSync(input, '1,2,3\n4,5,6\n7,8,10\n');
    const labels = path.join(dir, 'rows.txt');
    writeFileSync(labels, 'first\nsecond\n');
    const out = path.join(dir, 'out-mismatch');
    const r = await runCli(['factor', input, '--rank', '1', '--row-labels', labels, '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `nmf-studio: ${labels}: 2 labels (one per line), but the matrix has 3 rows\n`);
    await assert.rejects(readdir(out), 'nothing is written');

    const cols = path.join(dir, 'cols.tsv.gz');
    writeFileSync(cols, gzipSync('a\tx\nb\ty\nc\tz\nd\tw\n'));
    const c = await runCli(['factor', input, '--rank', '1', '--col-labels', cols]);
    assert.equal(c.code, 1);
    assert.equal(c.stderr, `nmf-studio: ${cols}: 4 labels (one per line), but the matrix has 3 columns\n`);

    // the right count is taken, a TSV by its first cell
    writeFileSync(cols, gzipSync('a\tx\nb\ty\nc\tz\n'));
    const ok = await runCli(['factor', input, '--rank', '1', '--col-labels', cols, '--top', '1', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(['a', 'b', 'c'].includes((JSON.parse(ok.stdout) as { components: MatrixComponent[] }).components[0]!.cols[0]!.label!));

    // a 10x barcodes file one short
    const tenX = path.join(dir, 'short-10x');
    mkdirSync(tenX);
    for (const name of ['matrix.mtx', 'features.tsv']) copyFileSync(fixture('tenx', 'filtered_feature_bc_matrix', name), path.join(tenX, name));
    writeFileSync(path.join(tenX, 'barcodes.tsv'), 'A-1\nB-1\nC-1\n');
    const t = await runCli(['factor', path.join(tenX, 'matrix.mtx'), '--rank', '2']);
    assert.equal(t.code, 1);
    assert.equal(t.stderr, `nmf-studio: ${path.join(tenX, 'barcodes.tsv')}: 3 labels (one per line), but the matrix has 6 columns\n`);
  });

  test('--help documents the labels, --top and what a weight is', async () => {
    const help = await runCli(['factor', '--help']);
    assert.equal(help.code, 0);
    for (const words of ['--row-labels FILE', '--col-labels FILE', '--top N', 'default 10', 'largest W[row, k]', 'largest H[k, col]', 'components.csv', 'features.tsv', 'barcodes.tsv']) {
      assert.ok(help.stdout.includes(words), `--help mentions ${words}`);
    }
  });

  test('--top must be a whole number from 1: exit code 2', async () => {
    const input = path.join(dir, 'top.csv');
    writeFileSync(input, '1,2\n3,4\n');
    for (const [value, pattern] of [
      ['0', /--top: 0 is too small/],
      ['2.5', /--top: '2\.5' is not a whole number/],
    ] as const) {
      const r = await runCli(['factor', input, '--rank', '1', '--top', value]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
    }
  });
});
