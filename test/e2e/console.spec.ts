// A walk through the window that fails on any console error or uncaught page error, CSP violations included.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { commit, expect, fixture, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

test('no console errors and no page errors across the main flows', async ({ page, server, tmp }) => {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

  await openApp(page, server);
  await setControls(page, { layout: 'global', rank: 4, maxIter: 15 });
  await openFile(page, fixture('images', 'horse.png'));
  expect(await waitForJob(page)).toBe('done');
  for (const mode of ['split', 'diff', 'side-by-side']) await page.getByTestId(`mode-${mode}`).click();
  await page.keyboard.press('+');
  await page.keyboard.press('0');
  await page.getByTestId('components-gallery').locator('input[type=checkbox]').first().uncheck();
  await expect(page.getByTestId('caption-reconstruction')).toContainText('3 of 4 components');
  await commit(page, 'rank-input', 2);
  expect(await waitForJob(page)).toBe('done');

  const csv = path.join(tmp, 'm.csv');
  writeFileSync(csv, '1,2\n3,\n5,6\n');
  await openFile(page, csv);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  expect(await waitForJob(page)).toBe('done');
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('tab-studio').click();

  expect(problems).toEqual([]);
});
