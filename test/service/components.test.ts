import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatComponentsCsv, topComponents } from '../../src-main/service/components.js';

test('top rows by W and top columns by H: largest first, equal weights by index, zeros and NaN left out', () => {
  // W is 5×2, H is 2×4.
  const W = { rows: 5, cols: 2, data: new Float64Array([0.5, 0, 2, 1, 0.5, 3, NaN, 0, 4, 1]) };
  const H = { rows: 2, cols: 4, data: new Float64Array([1, 3, 3, 0, 0, 0, 0, 7]) };
  const [c0, c1] = topComponents(W, H, { top: 3, rowLabels: ['a', 'b', 'c', 'd', 'e'] });
  assert.deepEqual(c0!.rows, [
    { index: 4, label: 'e', weight: 4 },
    { index: 1, label: 'b', weight: 2 },
    { index: 0, label: 'a', weight: 0.5 },
  ]);
  assert.deepEqual(c0!.cols, [
    { index: 1, label: null, weight: 3 },
    { index: 2, label: null, weight: 3 },
    { index: 0, label: null, weight: 1 },
  ]);
  // column 1 of W: 0, 1, 3, 0, 1 → the tie between rows 1 and 4 keeps index order; H row 1 has one entry above 0
  assert.deepEqual(c1!.rows.map((e) => [e.index, e.weight]), [[2, 3], [1, 1], [4, 1]]);
  assert.deepEqual(c1!.cols, [{ index: 3, label: null, weight: 7 }]);
  // asking for more than there are lists what there is
  assert.equal(topComponents(W, H, { top: 100 })[0]!.rows.length, 4);
  assert.throws(() => topComponents(W, { rows: 3, cols: 4, data: new Float64Array(12) }, { top: 1 }), RangeError);
});

test('components.csv: one line per listed row or column, labels quoted when they need it, weights as W and H write them', () => {
  const W = { rows: 2, cols: 1, data: new Float32Array([0.1, 0.7]) };
  const H = { rows: 1, cols: 2, data: new Float32Array([2, 0]) };
  const components = topComponents(W, H, { top: 5, rowLabels: ['plain', 'with, comma'], colLabels: ['say "hi"', 'unused'] });
  assert.equal(
    formatComponentsCsv(components, 'float32'),
    'component,axis,position,index,label,weight\n0,row,1,1,"with, comma",0.7\n0,row,2,0,plain,0.1\n0,col,1,0,"say ""hi""",2\n',
  );
  assert.equal(formatComponentsCsv(topComponents(W, H, { top: 1 }), 'float64'), `component,axis,position,index,label,weight\n0,row,1,1,,${Math.fround(0.7)}\n0,col,1,0,,2\n`);
});
