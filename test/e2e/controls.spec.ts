// The controls' defaults: what compress would take, and what the app remembers across sessions.
import { COMPRESS_DEFAULTS } from '../../src-main/api/contract.js';
import { expect, fixture, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

const TILED = String(COMPRESS_DEFAULTS.tiledMaxIter);
const GLOBAL = String(COMPRESS_DEFAULTS.globalMaxIter);

test('the iteration cap is the layout’s own until it is set, and only what was set is remembered', async ({ page, server }) => {
  await openApp(page, server);
  const maxIter = page.getByTestId('max-iter-input');
  // What compress takes without --max-iter: the tiles' cap (they stop earlier by themselves), the whole image's.
  await expect(maxIter).toHaveValue(TILED);
  await page.getByTestId('layout-select').selectOption('global');
  await expect(maxIter).toHaveValue(GLOBAL);
  await page.getByTestId('layout-select').selectOption('tiled');
  await expect(maxIter).toHaveValue(TILED);
  await setControls(page, { maxIter: 30 });
  await page.getByTestId('layout-select').selectOption('global');
  await expect(maxIter).toHaveValue('30');
  await page.reload();
  await expect(page.getByTestId('layout-select')).toHaveValue('global');
  await expect(maxIter).toHaveValue('30');
  const stored = await page.evaluate(() => localStorage.getItem('nmf-studio.controls.v2'));
  expect(JSON.parse(stored!).image).toEqual({ layout: 'global', maxIter: 30 });
});

test('the rank is chosen as compress chooses it without a target: tiles at 38 dB, SSIM kept at 0.90 or more', async ({ page, server }) => {
  await openApp(page, server);
  await expect(page.getByTestId('rank-by-auto')).toBeChecked();
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('chosen-rank')).toContainText(/^The default chose rank \d+/);
  const psnr = Number(await page.getByTestId('metric-psnr').getAttribute('title'));
  const ssim = Number(await page.getByTestId('metric-ssim').getAttribute('title'));
  expect(psnr).toBeGreaterThanOrEqual(COMPRESS_DEFAULTS.tiledPsnr - 0.3);
  expect(ssim).toBeGreaterThanOrEqual(COMPRESS_DEFAULTS.tiledSsimFloor);
});
