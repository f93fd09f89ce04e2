// The compare view: an image beside its reconstruction, captions and figures, modes, synchronised zoom and pan.
import { canvasHash, expect, fixture, metric, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';
import type { Page } from '@playwright/test';

/** The CSS transform of the layer that holds a canvas: equal transforms mean the panes are in step. */
async function stageTransform(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).evaluate((canvas) => (canvas.parentElement as HTMLElement).style.transform);
}

async function zoomPercent(page: Page): Promise<number> {
  return Number(await page.getByTestId('zoom-input').inputValue());
}

test.beforeEach(async ({ page, server }) => {
  await openApp(page, server);
  await setControls(page, { layout: 'global', rank: 6, maxIter: 30 });
});

test('an image opens beside its reconstruction, with its bytes and the figures of compress --json', async ({ page }) => {
  await openFile(page, fixture('images', 'chelsea.png'));
  await expect(page.getByTestId('view-original')).toBeVisible();
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('view-reconstruction')).toBeVisible();

  const size = await page.getByTestId('view-original').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(size).toEqual([451, 300]);
  await expect(page.getByTestId('caption-original')).toContainText('PNG');
  await expect(page.getByTestId('caption-original')).toContainText('451×300');
  await expect(page.getByTestId('caption-reconstruction')).toContainText('.nmfz');
  await expect(page.getByTestId('caption-reconstruction')).toContainText('rank 6');

  expect(await metric(page, 'rank')).toBe(6);
  // The loss curve of the finished run stays in view.
  await expect(page.getByTestId('loss-curve').locator('path')).toBeAttached();
  await expect(page.getByTestId('loss-curve').locator('figcaption')).not.toContainText('–');
  const psnr = await metric(page, 'psnr');
  expect(psnr).toBeGreaterThan(12);
  expect(psnr).toBeLessThan(60);
  const ssim = await metric(page, 'ssim');
  expect(ssim).toBeGreaterThan(0);
  expect(ssim).toBeLessThanOrEqual(1);
  const relErr = await metric(page, 'rel-err');
  expect(relErr).toBeGreaterThan(0);
  expect(relErr).toBeLessThan(1);
  const bytes = await metric(page, 'bytes');
  const raw = await metric(page, 'raw-bytes');
  const fileBytes = await metric(page, 'file-bytes');
  expect(bytes).toBeGreaterThan(0);
  // The ratios shown are the record's, and the record's follow from its byte counts.
  expect(Math.abs((await metric(page, 'ratio')) / (raw / bytes) - 1)).toBeLessThan(0.01);
  expect(Math.abs((await metric(page, 'file-ratio')) / (fileBytes / bytes) - 1)).toBeLessThan(0.01);
  expect(await metric(page, 'factor-ratio')).toBeGreaterThan(1);

  // The pixels on screen are the pixels measured: PSNR recomputed from the two canvases matches the figure.
  const shownPsnr = await page.evaluate(() => {
    const pixels = (id: string) => {
      const c = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`)!;
      return c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    };
    const a = pixels('view-original');
    const b = pixels('view-reconstruction');
    let sum = 0;
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      if (i % 4 === 3) continue;
      sum += (a[i]! - b[i]!) ** 2;
      n++;
    }
    return 10 * Math.log10((255 * 255) / (sum / n));
  });
  expect(Math.abs(shownPsnr - psnr)).toBeLessThan(0.05);

  const backend = (await page.getByTestId('metric-backend').textContent())!.trim();
  await expect(page.getByTestId('backend-chip')).toContainText(backend);
});

test('side by side, split with a divider moved by drag and by 1 2 3, and the difference map', async ({ page }) => {
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page)).toBe('done');

  await page.getByTestId('mode-split').click();
  await expect(page.getByTestId('mode-split')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('view-original')).toBeVisible();
  await expect(page.getByTestId('view-reconstruction')).toBeAttached();
  const divider = page.getByTestId('split-divider');
  await expect(divider).toHaveAttribute('aria-valuenow', '50');
  await page.keyboard.press('1');
  await expect(divider).toHaveAttribute('aria-valuenow', '0');
  await page.keyboard.press('3');
  await expect(divider).toHaveAttribute('aria-valuenow', '100');
  await page.keyboard.press('2');
  await expect(divider).toHaveAttribute('aria-valuenow', '50');
  // The reconstruction is clipped to the right of the divider.
  const clip = () => page.getByTestId('view-reconstruction').evaluate((c) => (c.parentElement!.parentElement as HTMLElement).style.clipPath);
  expect(await clip()).toBe('inset(0px 0px 0px 50%)');

  const pane = await divider.locator('..').boundingBox();
  const handle = await divider.boundingBox();
  expect(pane && handle).toBeTruthy();
  await page.mouse.move(handle!.x + handle!.width / 2, handle!.y + handle!.height / 2);
  await page.mouse.down();
  await page.mouse.move(pane!.x + pane!.width * 0.25, handle!.y + handle!.height / 2, { steps: 5 });
  await page.mouse.up();
  const at = Number(await divider.getAttribute('aria-valuenow'));
  expect(at).toBeGreaterThan(20);
  expect(at).toBeLessThan(30);

  await page.getByTestId('mode-diff').click();
  await expect(page.getByTestId('view-diff')).toBeVisible();
  await expect(page.getByTestId('view-original')).toHaveCount(0);
  const diffSize = await page.getByTestId('view-diff').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(diffSize).toEqual([451, 300]);

  await page.getByTestId('mode-side-by-side').click();
  await expect(page.getByTestId('view-original')).toBeVisible();
  await expect(page.getByTestId('view-reconstruction')).toBeVisible();
});

test('zoom by keys, by the zoom field and by the wheel, and pan by drag, stay in step across panes', async ({ page }) => {
  await openFile(page, fixture('images', 'coffee.png'));
  expect(await waitForJob(page)).toBe('done');
  const original = page.getByTestId('view-original');

  const fit = await zoomPercent(page);
  expect(fit).toBeGreaterThan(0);
  expect(fit).toBeLessThan(100);
  await expect(original).toHaveCSS('image-rendering', 'auto');

  // Keys act on the view when no text field has the focus.
  await original.click();
  await page.keyboard.press('+');
  expect(await zoomPercent(page)).toBeCloseTo(fit * 1.25, 0);
  await page.keyboard.press('-');
  expect(await zoomPercent(page)).toBeCloseTo(fit, 0);

  const field = page.getByTestId('zoom-input');
  await field.fill('400');
  await field.press('Enter');
  await expect(field).toHaveValue('400');
  // Magnified pixels stay crisp.
  await expect(original).toHaveCSS('image-rendering', 'pixelated');
  await expect(page.getByTestId('view-reconstruction')).toHaveCSS('image-rendering', 'pixelated');
  expect(await stageTransform(page, 'view-original')).toContain('scale(4, 4)');
  expect(await stageTransform(page, 'view-reconstruction')).toBe(await stageTransform(page, 'view-original'));

  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('0');
  expect(await zoomPercent(page)).toBeCloseTo(fit, 0);

  // Wheel over the reconstruction zooms both panes about the pointer.
  const box = (await page.getByTestId('view-reconstruction').locator('../..').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -400);
  await expect.poll(() => zoomPercent(page)).toBeGreaterThan(fit * 1.5);
  expect(await stageTransform(page, 'view-original')).toBe(await stageTransform(page, 'view-reconstruction'));

  // Dragging one pane pans both.
  const before = await stageTransform(page, 'view-original');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 60, box.y + box.height / 2 - 30, { steps: 4 });
  await page.mouse.up();
  const after = await stageTransform(page, 'view-original');
  expect(after).not.toBe(before);
  expect(await stageTransform(page, 'view-reconstruction')).toBe(after);
  const shift = (t: string) => /translate\(([-\d.]+)px, ([-\d.]+)px\)/.exec(t)!.slice(1).map(Number);
  const [x0, y0] = shift(before);
  const [x1, y1] = shift(after);
  expect(x1! - x0!).toBeCloseTo(-60, 0);
  expect(y1! - y0!).toBeCloseTo(-30, 0);
});

test('components switched off change the reconstruction, switched on restore it; one opens large', async ({ page }) => {
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page)).toBe('done');
  const gallery = page.getByTestId('components-gallery');
  await expect(gallery).toBeVisible();
  const toggles = gallery.locator('input[type=checkbox]');
  await expect(toggles).toHaveCount(6);
  const full = await canvasHash(page, 'view-reconstruction');

  await toggles.first().uncheck();
  await expect(page.getByTestId('caption-reconstruction')).toContainText('5 of 6 components');
  await expect.poll(() => canvasHash(page, 'view-reconstruction')).not.toBe(full);

  await page.getByTestId('components-none').click();
  await expect(page.getByTestId('caption-reconstruction')).toContainText('0 of 6 components');

  await page.getByTestId('components-all').click();
  await expect(page.getByTestId('caption-reconstruction')).toContainText('Reconstruction');
  await expect.poll(() => canvasHash(page, 'view-reconstruction')).toBe(full);

  await gallery.locator('button.thumb').first().click();
  const dialog = page.getByTestId('component-dialog');
  await expect(dialog).toBeVisible();
  await expect
    .poll(() => dialog.locator('canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height]))
    .toEqual([451, 300]);
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});

test('with JPEG comparison on, the JPEG of the same size is a third view with its own figures', async ({ page }) => {
  await page.getByTestId('compare-jpeg').check();
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('view-jpeg')).toBeVisible();
  await expect(page.getByTestId('caption-jpeg')).toContainText('JPEG');
  const jpegPsnr = await metric(page, 'jpeg-psnr');
  expect(jpegPsnr).toBeGreaterThan(10);
  const jpegSsim = await metric(page, 'jpeg-ssim');
  expect(jpegSsim).toBeGreaterThan(0);
  expect(jpegSsim).toBeLessThanOrEqual(1);
  // "Of the same size": no larger than the .nmfz it is compared with.
  expect(await metric(page, 'jpeg-bytes')).toBeLessThanOrEqual(await metric(page, 'bytes'));
  // Three panes, one zoom.
  await page.getByTestId('view-original').click();
  await page.keyboard.press('+');
  const transform = (id: string) => page.getByTestId(id).evaluate((c) => (c.parentElement as HTMLElement).style.transform);
  expect(await transform('view-jpeg')).toBe(await transform('view-original'));
});

test('the backend chip names the backend that ran and, after a fallback, why', async ({ page }) => {
  await openFile(page, fixture('images', 'coins.png'));
  expect(await waitForJob(page)).toBe('done');
  const chip = page.getByTestId('backend-chip');
  const backend = (await page.getByTestId('metric-backend').textContent())!.trim();
  await expect(chip).toContainText(backend);
  // The record's reason for passing over better backends (empty where the first choice ran) is on the chip.
  const reason = (await page.getByTestId('metric-backend').getAttribute('title')) ?? '';
  if (reason) {
    await expect(chip).toContainText(reason.slice(0, 20));
    await expect(chip).toHaveAttribute('title', `${backend}: ${reason}`);
  } else {
    await expect(chip).toHaveAttribute('title', `Computed on ${backend}`);
  }
});

test('asking for the GPU gets the GPU, or a message in the window saying why not', async ({ page }) => {
  await page.getByTestId('backend-select').selectOption('gpu');
  await openFile(page, fixture('images', 'coins.png'));
  const status = await waitForJob(page);
  if (status === 'done') expect((await page.getByTestId('metric-backend').textContent())!.trim()).toBe('gpu');
  else {
    expect(status).toBe('failed');
    await expect(page.getByTestId('error-message')).toContainText(/gpu|webgpu|webgl/i);
    // The window stays usable: back to automatic, and it computes.
    await page.getByTestId('backend-select').selectOption('auto');
    expect(await waitForJob(page)).toBe('done');
  }
});
