// Habits of a desktop window: drop anywhere, Ctrl+O, themes that follow the OS, controls reachable by keyboard.
import { dropFiles, expect, fixture, openApp, setControls, test, waitForJob } from './fixtures.js';

test('an image dropped anywhere on the window opens', async ({ page, server }) => {
  await openApp(page, server);
  await setControls(page, { rank: 3, maxIter: 10 });
  // Drop on the side bar, not on a drop zone: anywhere will do.
  await dropFiles(page.getByTestId('controls'), [{ path: fixture('images', 'coins.png'), type: 'image/png' }]);
  await expect(page.getByTestId('document-name')).toHaveText('coins.png');
  expect(await waitForJob(page)).toBe('done');
  const size = await page.getByTestId('view-original').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(size).toEqual([384, 303]);
});

test('Ctrl+O shows the file chooser, and the chosen file opens', async ({ page, server }) => {
  await openApp(page, server);
  await setControls(page, { rank: 3, maxIter: 10 });
  await page.locator('body').click({ position: { x: 600, y: 400 } });
  const chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Control+o');
  await (await chooser).setFiles(fixture('images', 'chelsea.png'));
  await expect(page.getByTestId('document-name')).toHaveText('chelsea.png');
  expect(await waitForJob(page)).toBe('done');
});

test('light and dark themes follow the OS setting', async ({ page, server }) => {
  const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  await openApp(page, server);
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background();
  expect(light).not.toBe(dark);
  const luminance = (css: string) => {
    const [r, g, b] = css.match(/\d+/g)!.map(Number);
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  expect(luminance(light)).toBeGreaterThan(200);
  expect(luminance(dark)).toBeLessThan(60);
});

test('the controls are reachable with Tab and show where the focus is', async ({ page, server }) => {
  await openApp(page, server);
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'rank-input');
  }
  expect(reached).toBe(true);
  const outline = await page.getByTestId('rank-input').evaluate((e) => getComputedStyle(e).outlineStyle);
  expect(outline).not.toBe('none');
  await expect(page.getByLabel('PSNR target', { exact: true })).toHaveAttribute('data-testid', 'psnr-target-input');
});
