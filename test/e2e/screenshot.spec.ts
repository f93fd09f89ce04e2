// The main view as people first see it after opening a photo; attached to the report, and written to
// docs/screenshot.png for the README when NMF_UPDATE_SCREENSHOT=1 (with settings worth showing, which take longer).
import path from 'node:path';
import { commit, expect, fixture, openApp, openFile, repoRoot, setControls, test, waitForJob } from './fixtures.js';

const forDocs = process.env.NMF_UPDATE_SCREENSHOT === '1';

test('main view screenshot', async ({ page, server }, testInfo) => {
  test.setTimeout(forDocs ? 600_000 : 90_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await openApp(page, server);
  await setControls(page, forDocs ? { layout: 'global', rank: 64, maxIter: 200 } : { layout: 'global', rank: 12, maxIter: 30 });
  if (forDocs) await page.getByTestId('compare-jpeg').check();
  await openFile(page, fixture('images', 'astronaut.png'));
  expect(await waitForJob(page, forDocs ? 300_000 : 60_000)).toBe('done');
  const ranks = forDocs ? [8, 16, 32, 64, 96] : [4, 8, 12];
  await commit(page, 'rank-curve-ranks', ranks.join(', '));
  await page.getByTestId('rank-curve-start').click();
  await expect(page.getByTestId('rank-curve-status')).toHaveText(`${ranks.length} ranks`, { timeout: forDocs ? 300_000 : 60_000 });
  await page.getByTestId('mode-split').click();
  await page.mouse.move(0, 0);
  // Everything the main view promises is on screen.
  for (const id of ['view-original', 'view-reconstruction', 'split-divider', 'components-gallery', 'rank-curve-chart', 'loss-curve', 'backend-chip']) {
    await expect(page.getByTestId(id)).toBeVisible();
  }

  const shot = await page.screenshot();
  await testInfo.attach('main view', { body: shot, contentType: 'image/png' });
  if (forDocs) await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshot.png') });
});
