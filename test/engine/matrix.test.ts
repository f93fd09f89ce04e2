import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convert, dtypeOf, fromArray, transpose } from '../../src-main/engine/matrix.js';

test('transpose swaps rows and columns of a row-major matrix', () => {
  const m = fromArray(2, 3, [1, 2, 3, 4, 5, 6]);
  const t = transpose(m);
  assert.equal(t.rows, 3);
  assert.equal(t.cols, 2);
  assert.deepEqual(Array.from(t.data), [1, 4, 2, 5, 3, 6]);
});

test('convert changes precision and copies', () => {
  const m = fromArray(1, 2, [0.1, 2], 'float64');
  const f = convert(m, 'float32');
  assert.equal(dtypeOf(f), 'float32');
  assert.ok(Math.abs(f.data[0]! - 0.1) < 1e-7);
  f.data[1] = 7;
  assert.equal(m.data[1], 2);
});

test('fromArray refuses a value count that does not fit the shape', () => {
  assert.throws(() => fromArray(2, 2, [1, 2, 3]), /expected 4 values/);
});
