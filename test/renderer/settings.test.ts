// The controls' defaults: what compress uses when nothing is given, and what is remembered across sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPRESS_DEFAULTS } from '../../src-main/api/contract.js';
import { DEFAULT_MAX_ITER } from '../../src-main/codec/encoder.js';
import { TILE_MAX_ITER } from '../../src-main/codec/tiled-encoder.js';
import { BLOCK_FIT_DEFAULTS } from '../../src-main/engine/block-fit.js';
import { IMAGE_DEFAULTS, imageSettings, loadControls, maxIterFor, saveControls, withLayout } from '../../src-renderer/lib/settings.js';

test("the app's iteration cap is the one compress takes for the layout when --max-iter is not given", () => {
  // A tile's fit with the app's default must not be capped below the command line's (it once was: 20 against 100).
  assert.equal(IMAGE_DEFAULTS.layout, COMPRESS_DEFAULTS.layout);
  assert.equal(imageSettings(IMAGE_DEFAULTS).maxIter, TILE_MAX_ITER);
  assert.equal(TILE_MAX_ITER, BLOCK_FIT_DEFAULTS.maxIter);
  assert.equal(maxIterFor('tiled'), TILE_MAX_ITER);
  assert.equal(maxIterFor('auto'), TILE_MAX_ITER);
  assert.equal(maxIterFor('global'), DEFAULT_MAX_ITER);
});

test('a change of layout brings its own cap along, unless the person set one', () => {
  assert.deepEqual(withLayout({ layout: 'tiled', maxIter: TILE_MAX_ITER }, 'global'), { layout: 'global', maxIter: DEFAULT_MAX_ITER });
  assert.deepEqual(withLayout({ layout: 'global', maxIter: DEFAULT_MAX_ITER }, 'auto'), { layout: 'auto', maxIter: TILE_MAX_ITER });
  assert.deepEqual(withLayout({ layout: 'tiled', maxIter: 30 }, 'global'), { layout: 'global', maxIter: 30 });
});

test('only the values a person changed are remembered, so a later default reaches everyone else', () => {
  const store = new Map<string, string>();
  const localStorage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  Object.assign(globalThis, { localStorage });
  try {
    const { image, matrix } = loadControls();
    assert.deepEqual(image, IMAGE_DEFAULTS);
    // the whole-image layout's cap comes with it, and is its default there: not remembered as a choice
    saveControls({ ...image, psnr: 41, ...withLayout(image, 'global') }, matrix);
    const saved = JSON.parse([...store.values()][0]!) as { image: object; matrix: object };
    assert.deepEqual(saved, { image: { psnr: 41, layout: 'global' }, matrix: {} });
    assert.deepEqual(loadControls().image, { ...IMAGE_DEFAULTS, psnr: 41, layout: 'global', maxIter: DEFAULT_MAX_ITER });
    // a cap the person set is kept, in any layout
    saveControls({ ...loadControls().image, maxIter: 30 }, matrix);
    assert.deepEqual(loadControls().image, { ...IMAGE_DEFAULTS, psnr: 41, layout: 'global', maxIter: 30 });
  } finally {
    delete (globalThis as { localStorage?: unknown }).localStorage;
  }
});
