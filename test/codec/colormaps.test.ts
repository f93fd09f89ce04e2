import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { colormapIndex, colormapTable, COLORMAPS } from '../../src-main/codec/colormaps.js';
import { fixture } from '../helpers/paths.js';

// matplotlib's own tables, written by test/fixtures/colormaps/make.py.
const reference = JSON.parse(readFileSync(fixture('colormaps', 'colormaps.json'), 'utf8')) as Record<'viridis' | 'magma', number[][]>;

describe('colour maps', () => {
  for (const name of ['viridis', 'magma'] as const) {
    test(`${name} is matplotlib's 256-entry table to the nearest 8-bit level`, () => {
      const table = colormapTable(name);
      assert.equal(table.length, 768);
      let worst = 0;
      for (let i = 0; i < 256; i++) {
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(table[i * 3 + c]! / 255 - reference[name][i]![c]!));
      }
      assert.ok(worst <= 0.5 / 255 + 1e-6, `largest difference ${(worst * 255).toFixed(3)} levels`);
    });
  }

  test('grey runs from black to white, one level per entry', () => {
    const grey = colormapTable('grey');
    for (const i of [0, 1, 128, 255]) assert.deepEqual([...grey.subarray(i * 3, i * 3 + 3)], [i, i, i]);
  });

  test('entries are picked as matplotlib picks them: floor(t·256), the ends clamped', () => {
    assert.deepEqual(
      [-1, 0, 0.5 / 256, 1 / 256, 0.5, 255.5 / 256, 1, 2, NaN].map(colormapIndex),
      [0, 0, 0, 1, 128, 255, 255, 255, 0],
    );
    assert.deepEqual(COLORMAPS, ['grey', 'viridis', 'magma']);
  });
});
