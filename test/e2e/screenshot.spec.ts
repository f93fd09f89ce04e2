// The main view as people first see it after opening a photo; attached to the report, and written to
// docs/screenshot.png for the README when NMF_UPDATE_SCREENSHOT=1.
import path from 'node:path';
import { commit, expect, fixture, openApp, openFile, repoRoot, setControls, test, waitForJob } from './fixtures.js';

test('main view screenshot', async ({ page, server }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await openApp(page, server);
  await setControls(page, { rank: 24, maxIter: 60 });
  await openFile(page, fixture('images', 'astronaut.png'));
  expect(await waitForJob(page, 80_000)).toBe('done');
  await commit(page, 'rank-curve-ranks', '4, 8, 16, 24, 32');
  await page.getByTestId('rank-curve-start').click();
  await expect(page.getByTestId('rank-curve-status')).toHaveText('5 ranks', { timeout: 80_000 });
  await page.getByTestId('mode-split').click();
  await page.mouse.move(0, 0);

  const shot = await page.screenshot();
  await testInfo.attach('main view', { body: shot, contentType: 'image/png' });
  if (process.env.NMF_UPDATE_SCREENSHOT === '1') {
    await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshot.png') });
  }
});
