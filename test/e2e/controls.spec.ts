// The controls' defaults: what compress would take, and what the app remembers across sessions.
import { expect, openApp, setControls, test } from './fixtures.js';

test('the iteration cap is the layout’s own until it is set, and only what was set is remembered', async ({ page, server }) => {
  await openApp(page, server);
  const maxIter = page.getByTestId('max-iter-input');
  // What compress takes without --max-iter: 100 for tiles (they stop earlier by themselves), 200 for the whole image.
  await expect(maxIter).toHaveValue('100');
  await page.getByTestId('layout-select').selectOption('global');
  await expect(maxIter).toHaveValue('200');
  await page.getByTestId('layout-select').selectOption('tiled');
  await expect(maxIter).toHaveValue('100');
  await setControls(page, { maxIter: 30 });
  await page.getByTestId('layout-select').selectOption('global');
  await expect(maxIter).toHaveValue('30');
  await page.reload();
  await expect(page.getByTestId('layout-select')).toHaveValue('global');
  await expect(maxIter).toHaveValue('30');
  const stored = await page.evaluate(() => localStorage.getItem('nmf-studio.controls.v2'));
  expect(JSON.parse(stored!).image).toEqual({ layout: 'global', maxIter: 30 });
});
