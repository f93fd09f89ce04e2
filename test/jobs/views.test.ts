import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromArray } from '../../src-main/engine/matrix.js';
import { denseNonZeros, matrixView, sparseView, SPARSE_MAX_DENSITY, valueRange, viewGrid } from '../../src-main/jobs/views.js';

describe('matrix views for display', () => {
  test('a small matrix is shown cell for cell', () => {
    const m = fromArray(2, 3, [1, 2, 3, 4, 5, 6]);
    const v = matrixView(m);
    assert.deepEqual([v.rows, v.cols, v.sourceRows, v.sourceCols], [2, 3, 2, 3]);
    assert.deepEqual([...v.data], [1, 2, 3, 4, 5, 6]);
  });

  test('blocks are reduced by their mean, or by their largest entry for factors; missing cells are left out', () => {
    // 4×2 into blocks of 2 rows: rows (1, NaN | 3, 8) and (0, 0 | 5, 1)
    const m = fromArray(4, 2, [1, 3, NaN, 8, 0, 5, 0, 1]);
    const mean = matrixView(m, 2);
    assert.deepEqual([mean.rows, mean.cols], [2, 2]);
    assert.deepEqual([...mean.data], [1, 5.5, 0, 3]);
    const max = matrixView(m, 2, 'max');
    assert.deepEqual([...max.data], [1, 8, 0, 5]);
    // A tall factor keeps a single heavy row visible where the mean would wash it out.
    const w = fromArray(1000, 1, Array.from({ length: 1000 }, (_, i) => (i === 517 ? 9 : 0.01)));
    const wv = matrixView(w, 10, 'max');
    assert.equal(wv.rows, 10);
    assert.equal(wv.data[5], 9);
    assert.ok(Math.abs(matrixView(w, 10).data[5]! - (9 + 99 * 0.01) / 100) < 1e-6);
  });

  test('the grid never exceeds the side asked for, and covers the matrix', () => {
    for (const [r, c] of [
      [20000, 4],
      [4, 5000],
      [1025, 1024],
      [1, 1],
    ] as const) {
      const g = viewGrid(r, c);
      assert.ok(g.rows <= 1024 && g.cols <= 1024, `${r}×${c}`);
      assert.ok(g.rows * g.fr >= r && (g.rows - 1) * g.fr < r);
      assert.ok(g.cols * g.fc >= c && (g.cols - 1) * g.fc < c);
    }
  });

  test('a mostly-zero matrix gets its non-zero count and per-block density; a dense one none', () => {
    // 5×4 with 2 non-zeros (10 %), one NaN that counts as no entry
    const data = new Array(20).fill(0);
    data[0] = 3;
    data[19] = 0.5;
    data[7] = NaN;
    const m = fromArray(5, 4, data);
    const cell = sparseView(5, 4, denseNonZeros(m));
    assert.ok(cell);
    assert.equal(cell.nnz, 2);
    assert.deepEqual([...cell.density.data].map((d) => d), [1, ...new Array(18).fill(0), 1]);
    // At most 3 per side: blocks of 2×2 (the last row of blocks is one row high, cut by the edge)
    const blocks = sparseView(5, 4, denseNonZeros(m), 3);
    assert.ok(blocks);
    assert.deepEqual([blocks.density.rows, blocks.density.cols], [3, 2]);
    assert.deepEqual([...blocks.density.data], [0.25, 0, 0, 0, 0, 0.5]);
    // Above the threshold: not sparse
    const dense = fromArray(2, 2, [1, 0, 0, 0]);
    assert.ok(0.25 > SPARSE_MAX_DENSITY);
    assert.equal(sparseView(2, 2, denseNonZeros(dense)), undefined);
  });

  test('the value range skips missing cells', () => {
    assert.deepEqual(valueRange(fromArray(1, 4, [NaN, 3, -1, 255])), { min: -1, max: 255 });
    assert.deepEqual(valueRange(fromArray(1, 1, [NaN])), { min: 0, max: 0 });
  });
});
