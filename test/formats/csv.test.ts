import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCsv, parseCsv } from '../../src-main/formats/index.js';
import { assertMessage, random, userError } from './helpers.js';

const values = (text: string | Uint8Array, options = {}) => Array.from(parseCsv(text, 'data.csv', options).matrix.data);

test('comma-separated numbers without a header', () => {
  const r = parseCsv('1,2,3\n4,5,6\n', 'data.csv');
  assert.equal(r.matrix.rows, 2);
  assert.equal(r.matrix.cols, 3);
  assert.ok(r.matrix.data instanceof Float64Array);
  assert.deepEqual(Array.from(r.matrix.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(r.format, 'csv');
  assert.equal(r.dtype, 'float64');
  assert.equal(r.sourceDtype, 'text');
  assert.equal(r.delimiter, ',');
  assert.equal(r.missing, 0);
  assert.equal(r.columnNames, undefined);
  assert.equal(r.rowNames, undefined);
});

test('a header row of names is detected and kept as column names', () => {
  const r = parseCsv('alpha,beta\n0.5,1.5\n2,3\n', 'data.csv');
  assert.deepEqual(r.columnNames, ['alpha', 'beta']);
  assert.deepEqual(Array.from(r.matrix.data), [0.5, 1.5, 2, 3]);
  // whole-number names (years) are names too
  assert.deepEqual(parseCsv('id2019,2020\n1.5,2\n', 'data.csv').columnNames, ['id2019', '2020']);
});

test('a first row with decimals and one bad cell is data with an error, not a header', () => {
  const err = userError(() => parseCsv('1.5,2x,3\n1,2,3\n', 'data.csv'));
  assert.equal(err.message, 'data.csv: row 1, column 2: not a number: "2x"');
});

test('header can be forced either way', () => {
  assert.deepEqual(parseCsv('1,2\n3,4\n', 'data.csv', { header: true }).columnNames, ['1', '2']);
  const err = userError(() => parseCsv('a,b\n3,4\n', 'data.csv', { header: false }));
  assertMessage(err, 'row 1, column 1', '"a"');
});

test('delimiters are detected: tab, semicolon, whitespace runs, comma with spaces', () => {
  assert.equal(parseCsv('1\t2\n3\t4\n', 'd.tsv').delimiter, '\t');
  assert.deepEqual(values('1\t2\n3\t4\n'), [1, 2, 3, 4]);
  assert.equal(parseCsv('1;2\n3;4\n', 'd.csv').delimiter, ';');
  assert.deepEqual(values('1;2\n3;4\n'), [1, 2, 3, 4]);
  const spaced = parseCsv('  1   2\t3\n4 5    6  \n', 'd.txt');
  assert.equal(spaced.delimiter, ' ');
  assert.deepEqual(Array.from(spaced.matrix.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(values('1, 2 ,3\n 4,5, 6\n'), [1, 2, 3, 4, 5, 6]);
  // a single column has no delimiter at all
  const column = parseCsv('1\n2\n3\n', 'd.csv');
  assert.equal(column.matrix.cols, 1);
  assert.deepEqual(Array.from(column.matrix.data), [1, 2, 3]);
});

test('the delimiter can be given instead of detected', () => {
  const r = parseCsv('1;2,5\n3;4\n', 'd.csv', { delimiter: ';' });
  assert.deepEqual(Array.from(r.matrix.data), [1, 2.5, 3, 4]);
});

test('semicolon files with decimal commas (European spreadsheets)', () => {
  const r = parseCsv('a;b\n1,5;2\n3;4,25\n', 'd.csv');
  assert.equal(r.delimiter, ';');
  assert.deepEqual(Array.from(r.matrix.data), [1.5, 2, 3, 4.25]);
});

test('numpy.savetxt output: %.18e, spaces, # header lines', () => {
  const rows = [
    [0.1, 2.5e-7, 3],
    [1e20, 0.333333333333333315, 7.25],
  ];
  const text = '# a b c\n' + rows.map((r) => r.map((v) => v.toExponential(18)).join(' ')).join('\n') + '\n';
  const r = parseCsv(text, 'x.txt');
  assert.equal(r.delimiter, ' ');
  assert.deepEqual(Array.from(r.matrix.data), rows.flat());
});

test('CRLF, lone CR, UTF-8 BOM and a missing final newline', () => {
  assert.deepEqual(values('a,b\r\n1,2\r\n3,4'), [1, 2, 3, 4]);
  assert.deepEqual(values('1,2\r3,4\r'), [1, 2, 3, 4]);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('x,y\n1,2\n')]);
  const r = parseCsv(bom, 'd.csv');
  assert.deepEqual(r.columnNames, ['x', 'y']);
  assert.deepEqual(Array.from(r.matrix.data), [1, 2]);
  assert.deepEqual(values('\uFEFF1,2\n'), [1, 2]);
});

test("UTF-16 with a byte-order mark (Excel's Unicode text) is converted", () => {
  const text = 'name\tvalue\u00e9\r\nr1\t1.5\r\nr2\t2\r\n';
  const le = new Uint8Array(2 + text.length * 2);
  le[0] = 0xff;
  le[1] = 0xfe;
  for (let k = 0; k < text.length; k++) {
    le[2 + 2 * k] = text.charCodeAt(k) & 0xff;
    le[3 + 2 * k] = text.charCodeAt(k) >> 8;
  }
  const r = parseCsv(le, 'd.txt');
  assert.equal(r.delimiter, '\t');
  assert.deepEqual(r.rowNames, ['r1', 'r2']);
  assert.deepEqual(r.columnNames, ['value\u00e9']);
  assert.deepEqual(Array.from(r.matrix.data), [1.5, 2]);
});

test('quoted cells: numbers, names with delimiters, escaped quotes, newlines inside quotes', () => {
  const r = parseCsv('"label","a,1","say ""hi"""\n"row\none","1.5", 2\n"row two",3,"4"\n', 'd.csv');
  assert.deepEqual(r.columnNames, ['a,1', 'say "hi"']);
  assert.deepEqual(r.rowNames, ['row\none', 'row two']);
  assert.deepEqual(Array.from(r.matrix.data), [1.5, 2, 3, 4]);
});

test('missing cells: empty, NaN, nan, NA (and a few more spellings) become NaN and are counted', () => {
  const r = parseCsv('1,,3\nNaN,nan,NA\n7,N/A,\n', 'd.csv');
  assert.equal(r.missing, 6);
  const d = Array.from(r.matrix.data);
  assert.deepEqual(
    d.map((v) => (Number.isNaN(v) ? null : v)),
    [1, null, 3, null, null, null, 7, null, null],
  );
  // tab-separated: consecutive tabs are empty cells, not one delimiter
  const t = parseCsv('1\t\t3\n4\t5\t6\n', 'd.tsv');
  assert.equal(t.missing, 1);
  assert.equal(t.matrix.cols, 3);
});

test('a first column of text labels becomes row names', () => {
  const r = parseCsv('gene,s1,s2\nBRCA1,1,2\nTP53,3,4\n', 'd.csv');
  assert.deepEqual(r.rowNames, ['BRCA1', 'TP53']);
  assert.deepEqual(r.columnNames, ['s1', 's2']);
  assert.equal(r.matrix.cols, 2);
  const noHeader = parseCsv('x,1,2\ny,3,4\n', 'd.csv');
  assert.deepEqual(noHeader.rowNames, ['x', 'y']);
  assert.equal(noHeader.columnNames, undefined);
  assert.deepEqual(Array.from(noHeader.matrix.data), [1, 2, 3, 4]);
});

test('a first column of names stays names when some of them read as numbers or as missing', () => {
  // Terms and genes such as "2020", "NA" or "1" among words: the words are all in the first column.
  const terms = parseCsv('term,d1,d2\napple,1,2\n2020,3,4\nNA,5,6\n', 'terms.csv');
  assert.deepEqual(terms.rowNames, ['apple', '2020', 'NA']);
  assert.deepEqual(terms.columnNames, ['d1', 'd2']);
  assert.deepEqual(Array.from(terms.matrix.data), [1, 2, 3, 4, 5, 6]);
  const noHeader = parseCsv('apple,1,2\n2020,3,4\ncovid,5,6\n', 'terms.csv');
  assert.deepEqual(noHeader.rowNames, ['apple', '2020', 'covid']);
  assert.equal(noHeader.matrix.cols, 2);
  // Text in another column too: the file is not a labelled table, and the stray word is reported.
  assert.equal(userError(() => parseCsv('a,b\n1,x\ny,2\n', 'bad.csv')).message, 'bad.csv: row 2, column 2: not a number: "x"');
});

test("pandas' to_csv (index column, numeric column names) and R's write.csv / write.table", () => {
  const pandas = parseCsv(',0,1,2\n0,0.5,1.0,2.0\n1,3.0,4.0,5.0\n', 'df.csv');
  assert.deepEqual(pandas.rowNames, ['0', '1']);
  assert.deepEqual(pandas.columnNames, ['0', '1', '2']);
  assert.deepEqual(Array.from(pandas.matrix.data), [0.5, 1, 2, 3, 4, 5]);
  const noIndex = parseCsv('0,1,2\n0.5,1.0,2.0\n3.0,4.0,5.0\n', 'df.csv');
  assert.deepEqual(noIndex.columnNames, ['0', '1', '2']);
  assert.equal(noIndex.matrix.rows, 2);
  // but a first row of counts above counts is data
  assert.equal(parseCsv('0,1,2\n3,4,5\n', 'counts.csv').matrix.rows, 2);
  assert.equal(parseCsv('0,1,2\n3,4,5\n', 'counts.csv').columnNames, undefined);
  const rCsv = parseCsv('"","V1","V2"\n"1",0.5,1\n"2",2,3\n', 'r.csv');
  assert.deepEqual(rCsv.rowNames, ['1', '2']);
  assert.deepEqual(rCsv.columnNames, ['V1', 'V2']);
  const rTable = parseCsv('"V1" "V2"\n"1" 0.5 1\n"2" 2 3\n', 'r.txt');
  assert.deepEqual(rTable.columnNames, ['V1', 'V2']);
  assert.deepEqual(rTable.rowNames, ['1', '2']);
  assert.deepEqual(Array.from(rTable.matrix.data), [0.5, 1, 2, 3]);
});

test('Excel\'s "sep=" first line sets the delimiter', () => {
  const r = parseCsv('sep=;\na;b\n1;2\n', 'x.csv');
  assert.equal(r.delimiter, ';');
  assert.deepEqual(r.columnNames, ['a', 'b']);
  assert.deepEqual(Array.from(r.matrix.data), [1, 2]);
});

test('blank lines and # comments are skipped but still counted in row numbers', () => {
  const r = parseCsv('1,2\n\n# note\n3,4\n\n', 'd.csv');
  assert.deepEqual(Array.from(r.matrix.data), [1, 2, 3, 4]);
  const err = userError(() => parseCsv('1,2\n\n# note\n3,-1\n', 'd.csv'));
  assertMessage(err, 'd.csv: row 4, column 2: negative value -1');
});

test('numbers in every common notation parse exactly as Number() does', () => {
  const texts = ['0', '-0', '+1', '.5', '5.', '1e3', '1E-3', '2.5e+10', '0.1', '123456789012345678', '1.7976931348623157e308', '5e-324', '0000.0001000', '4.9406564584124654e-324'];
  const r = parseCsv(texts.join(',') + '\n', 'n.csv', { clipNegative: true });
  assert.deepEqual(Array.from(r.matrix.data), texts.map((t) => (Number(t) < 0 ? 0 : Number(t))));
});

test('negative values are refused with row, column and value, or clipped to 0 and counted', () => {
  const err = userError(() => parseCsv('a,b\n1,2\n3,-0.5\n', 'data.csv'));
  assert.equal(err.message, 'data.csv: row 3, column 2: negative value -0.5 (use --clip-negative to set negatives to 0)');
  const r = parseCsv('a,b\n1,-2\n-3,-0.5\n', 'data.csv', { clipNegative: true });
  assert.equal(r.clipped, 3);
  assert.deepEqual(Array.from(r.matrix.data), [1, 0, 0, 0]);
  // columns count as in the file, labels included
  assertMessage(userError(() => parseCsv('x,1,2\ny,3,-4\n', 'data.csv')), 'row 2, column 3: negative value -4');
  assertMessage(userError(() => parseCsv('1,"-2"\n', 'data.csv')), 'row 1, column 2: negative value -2');
});

test('non-numeric cells are refused with row, column and the text', () => {
  const err = userError(() => parseCsv('a,b\n1,2\n3,abc\n', 'data.csv'));
  assert.equal(err.message, 'data.csv: row 3, column 2: not a number: "abc"');
  assertMessage(userError(() => parseCsv('1,2\n3,4 5\n', 'data.csv')), 'row 2, column 2', '"4 5"');
  assertMessage(userError(() => parseCsv('1,2\n3,1.2.3\n', 'data.csv')), 'row 2, column 2', '"1.2.3"');
  // a long cell is shortened in the message
  const long = 'x'.repeat(500);
  const msg = userError(() => parseCsv(`1,2\n3,${long}\n`, 'data.csv')).message;
  assert.ok(msg.length < 120, msg);
});

test('infinite values are refused with row, column and value', () => {
  for (const inf of ['inf', '-inf', 'Infinity', '-Infinity', 'INF', '1e999']) {
    const err = userError(() => parseCsv(`1,2\n3,${inf}\n`, 'data.csv', { clipNegative: true }));
    assert.equal(err.message, `data.csv: row 2, column 2: infinite value ${inf} (values must be finite numbers)`);
  }
});

test('ragged rows are refused naming the row and both widths', () => {
  assert.equal(userError(() => parseCsv('1,2,3\n4,5\n', 'data.csv')).message, 'data.csv: row 2 has 2 columns, but row 1 has 3');
  assert.equal(userError(() => parseCsv('1,2\n3,4\n5,6,7\n', 'data.csv')).message, 'data.csv: row 3 has 3 columns, but row 1 has 2');
  assertMessage(userError(() => parseCsv('a,b,c\n1,2\n', 'data.csv')), 'row 1 (the header) has 3 columns, but row 2 has 2');
});

test('empty and data-less files are refused', () => {
  assert.equal(userError(() => parseCsv('', 'data.csv')).message, 'data.csv: the file is empty');
  assert.equal(userError(() => parseCsv(new Uint8Array(0), 'data.csv')).message, 'data.csv: the file is empty');
  assert.equal(userError(() => parseCsv(' \n\r\n\t\n', 'data.csv')).message, 'data.csv: the file is empty');
  assertMessage(userError(() => parseCsv('# only a comment\n', 'data.csv')), 'no data rows');
  assertMessage(userError(() => parseCsv('a,b,c\n', 'data.csv')), 'header row but no data rows');
});

test('broken quoting and binary files are refused', () => {
  assertMessage(userError(() => parseCsv('1,2\n3,"4\n', 'data.csv')), 'row 2, column 2', 'never closed');
  assertMessage(userError(() => parseCsv('1,2\n3,"4"x\n', 'data.csv')), 'row 2, column 2', 'after a closing quote');
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  assert.equal(userError(() => parseCsv(png, 'photo.csv')).message, 'photo.csv: not a text file: it looks like a PNG image');
});

test('float64 matrices survive CSV → text → CSV bit for bit', () => {
  const rnd = random(7);
  const n = 3000;
  const data = new Float64Array(n);
  for (let k = 0; k < n; k++) data[k] = rnd() * 10 ** Math.floor(rnd() * 40 - 20);
  data[0] = 0;
  data[1] = 5e-324;
  data[2] = 1.7976931348623157e308;
  data[3] = 0.1;
  const m = { rows: 60, cols: 50, data };
  const back = parseCsv(formatCsv(m), 'x.csv').matrix;
  assert.equal(back.rows, 60);
  assert.deepEqual(back.data, data);
});

test('float32 matrices are written with the fewest digits that read back to the same float32', () => {
  const rnd = random(11);
  const data = new Float32Array(2000);
  for (let k = 0; k < data.length; k++) data[k] = rnd() * 10 ** Math.floor(rnd() * 20 - 10);
  data[0] = 0.1;
  data[1] = 1 / 3;
  data[2] = 16777216;
  const text = formatCsv({ rows: 40, cols: 50, data });
  assert.ok(text.startsWith('0.1,0.33333334,16777216,'), text.slice(0, 40));
  const back = parseCsv(text, 'x.csv').matrix.data;
  for (let k = 0; k < data.length; k++) assert.equal(Math.fround(back[k]!), data[k], `entry ${k}`);
  for (const cell of text.split(/[,\n]/).filter(Boolean)) {
    const digits = cell.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '');
    assert.ok(digits.length <= 9, cell);
  }
});

test('NaN is written as an empty cell and names are quoted where needed', () => {
  const m = { rows: 2, cols: 2, data: new Float64Array([1, NaN, 0.5, 2]) };
  const text = formatCsv(m, { columnNames: ['a', 'b,c'], rowNames: ['r "1"', 'r2'] });
  assert.equal(text, ',a,"b,c"\n"r ""1""",1,\nr2,0.5,2\n');
  const back = parseCsv(text, 'x.csv');
  assert.equal(back.missing, 1);
  assert.deepEqual(back.columnNames, ['a', 'b,c']);
  assert.deepEqual(back.rowNames, ['r "1"', 'r2']);
  assert.equal(formatCsv(m, { delimiter: '\t' }), '1\t\n0.5\t2\n');
});

test('a large table parses into the exact values (no per-cell strings involved)', () => {
  const rnd = random(3);
  const rows = 300;
  const cols = 200;
  const data = new Float64Array(rows * cols).map(() => rnd());
  const text = formatCsv({ rows, cols, data });
  const r = parseCsv(new TextEncoder().encode(text), 'big.csv');
  assert.equal(r.matrix.rows, rows);
  assert.equal(r.matrix.cols, cols);
  assert.deepEqual(r.matrix.data, data);
});
