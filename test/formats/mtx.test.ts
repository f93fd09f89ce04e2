import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denseOf } from '../../src-main/engine/sparse.js';
import { parseMatrixMarket } from '../../src-main/formats/index.js';
import { assertMessage, userError } from './helpers.js';

const dense = (text: string, options = {}) => {
  const r = parseMatrixMarket(text, 'm.mtx', options);
  const rows: number[][] = [];
  for (let i = 0; i < r.matrix.rows; i++) rows.push(Array.from(denseOf(r.matrix).data.subarray(i * r.matrix.cols, (i + 1) * r.matrix.cols)));
  return rows;
};

test('coordinate real general: 1-based indices, comments, blank lines, zeros elsewhere', () => {
  const text = `%%MatrixMarket matrix coordinate real general
% a comment
%another

3 4 4
1 1 1.5
3 4 2e-3
2 2 7
  1   4   0.25
`;
  const r = parseMatrixMarket(text, 'm.mtx');
  assert.equal(r.format, 'mtx');
  assert.equal(r.dtype, 'float64');
  assert.equal(r.sourceDtype, 'real');
  assert.equal(r.missing, 0);
  assert.deepEqual(dense(text), [
    [1.5, 0, 0, 0.25],
    [0, 7, 0, 0],
    [0, 0, 0, 0.002],
  ]);
});

test('repeated coordinate entries are summed, as scipy does', () => {
  assert.deepEqual(dense('%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 1\n1 1 2\n2 2 5\n'), [
    [3, 0],
    [0, 5],
  ]);
});

test('pattern and integer fields; case-insensitive banner; CRLF', () => {
  assert.deepEqual(dense('%%MatrixMarket matrix coordinate pattern general\r\n2 3 2\r\n1 3\r\n2 1\r\n'), [
    [0, 0, 1],
    [1, 0, 0],
  ]);
  const r = parseMatrixMarket('%%matrixmarket MATRIX Coordinate Integer General\n1 2 1\n1 2 42\n', 'm.mtx');
  assert.equal(r.sourceDtype, 'integer');
  assert.deepEqual(Array.from(denseOf(r.matrix).data), [0, 42]);
});

test('symmetric coordinate files are mirrored', () => {
  assert.deepEqual(dense('%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 1\n2 1 2\n3 1 3\n3 3 9\n'), [
    [1, 2, 3],
    [2, 0, 0],
    [3, 0, 9],
  ]);
});

test('array files are column-major; symmetric arrays hold the lower triangle', () => {
  assert.deepEqual(dense('%%MatrixMarket matrix array real general\n% comment\n2 3\n1\n4\n2\n5\n3\n6\n'), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(dense('%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n'), [
    [1, 2, 3],
    [2, 4, 5],
    [3, 5, 6],
  ]);
  // skew-symmetric stores the strict lower triangle; the mirror is negated, so only zeros are non-negative
  assert.deepEqual(dense('%%MatrixMarket matrix array real skew-symmetric\n2 2\n0\n'), [
    [0, 0],
    [0, 0],
  ]);
  const skew = userError(() => parseMatrixMarket('%%MatrixMarket matrix array real skew-symmetric\n2 2\n3\n', 'k.mtx'));
  assertMessage(skew, 'k.mtx: row 1, column 2: negative value -(3) mirrored from row 2, column 1');
});

test('NaN values are missing cells', () => {
  const r = parseMatrixMarket('%%MatrixMarket matrix array real general\n2 1\nnan\n1\n', 'm.mtx');
  assert.equal(r.missing, 1);
  assert.ok(Number.isNaN(denseOf(r.matrix).data[0]));
});

test('negative and infinite values name row, column, value and line; clipping counts', () => {
  const text = '%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n3 2 -0.5\n';
  assert.equal(
    userError(() => parseMatrixMarket(text, 'data.mtx')).message,
    'data.mtx: row 3, column 2: negative value -0.5 (line 4; use --clip-negative to set negatives to 0)',
  );
  const r = parseMatrixMarket(text, 'data.mtx', { clipNegative: true });
  assert.equal(r.clipped, 1);
  assert.equal(denseOf(r.matrix).data[7], 0);
  assertMessage(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n1 2\n1\ninf\n', 'data.mtx')),
    'data.mtx: row 1, column 2: infinite value inf (line 4',
  );
});

test('entries out of range and wrong entry counts', () => {
  assert.equal(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n', 'm.mtx')).message,
    'm.mtx: line 3: row index 3 is out of range 1..2 (the matrix has 2 rows)',
  );
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 0 1\n', 'm.mtx')), 'line 3: column index 0 is out of range 1..2');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1.5 1 1\n', 'm.mtx')), 'line 3: expected a row index, found "1.5"');
  assert.equal(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n2 2 1\n', 'm.mtx')).message,
    'm.mtx: the size line announces 3 entries but only 2 follow',
  );
  assert.equal(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 1\n', 'm.mtx')).message,
    'm.mtx: line 4: more entries than the 1 the size line announces',
  );
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n', 'm.mtx')), 'announces 4 values but only 3 follow');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n1 1\n1\n2\n', 'm.mtx')), 'line 4: more values than the 1');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n', 'm.mtx')), 'line 3: expected a number, found the end of the line');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 x\n', 'm.mtx')), 'line 3: expected a number, found "x"');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1 9\n', 'm.mtx')), 'line 3: unexpected "9" after the entry');
});

test('unsupported MatrixMarket fields and headers each get their own line', () => {
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n', 'c.mtx')), "c.mtx: MatrixMarket field 'complex' is not supported");
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real hermitian\n1 1 1\n1 1 1\n', 'h.mtx')), "h.mtx: MatrixMarket symmetry 'hermitian' is not supported");
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket vector coordinate real general\n', 'v.mtx')), "MatrixMarket object 'vector' is not supported");
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix array pattern general\n1 1\n', 'p.mtx')), "'pattern' is only valid with the 'coordinate' format");
  assertMessage(userError(() => parseMatrixMarket('1 2 3\n', 'x.mtx')), 'x.mtx: not a MatrixMarket file');
  assert.equal(userError(() => parseMatrixMarket('', 'e.mtx')).message, 'e.mtx: the file is empty');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n% only comments\n', 'm.mtx')), 'ends before the size line');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2\n', 'm.mtx')), "line 2: expected the size line 'rows columns entries'");
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1\n', 'm.mtx')), 'must be square');
});

test('absurd sizes are refused before allocating', () => {
  assertMessage(
    userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n100000 5000000000 1\n1 1 1\n', 'big.mtx')),
    'big.mtx: the size line claims 100,000×5,000,000,000, more than the 4,294,967,295 rows and columns supported',
  );
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n40000 40000\n1\n', 'big.mtx')), 'more than the file could hold');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n10 10 500\n1 1 1\n', 'm.mtx')), 'claims 500 entries, more than a 10×10 matrix holds');
  assertMessage(userError(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n1000 1000 900000\n1 1 1\n', 'm.mtx')), 'more than the file could hold');
});
