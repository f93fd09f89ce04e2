// The tile overlay of a tiled result: each tile's rank as a heat map over the image; a click on a tile shows its
// rank, its PSNR and its components.
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from '@playwright/test';
import { expect, fixture, metric, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

/** The canvas's pixels, as distinct colours. */
async function colours(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((canvas: HTMLCanvasElement) => {
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return seen.size;
  });
}

/** Clicks the reconstruction pane at an image point (in image pixels). */
async function clickImagePoint(page: Page, x: number, y: number): Promise<void> {
  const stage = page.getByTestId('view-reconstruction');
  const box = (await stage.boundingBox())!;
  const size = await stage.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  await page.mouse.click(box.x + (x / size[0]!) * box.width, box.y + (y / size[1]!) * box.height);
}

test('the tile overlay shows each tile’s rank; a click shows a tile’s rank, PSNR and components', async ({ page, server, tmp }, testInfo) => {
  test.setTimeout(180_000);
  // 640×400: a photograph with a flat sky-like band on top, so that tiles need different ranks.
  const photo = path.join(tmp, 'scene.png');
  await sharp(fixture('images', 'chelsea.png')).resize(640, 400, { fit: 'fill' }).png().toFile(photo);

  await openApp(page, server);
  await page.getByTestId('layout-select').selectOption({ label: 'Tiles' });
  await setControls(page, { maxIter: 30 });
  await openFile(page, photo);
  expect(await waitForJob(page, 150_000)).toBe('done');

  const toggle = page.getByTestId('tile-overlay');
  await expect(toggle).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('tile-heatmap')).toHaveCount(0);
  const plain = await page.screenshot();
  await testInfo.attach('tiled reconstruction, overlay off', { body: plain, contentType: 'image/png' });

  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const heatmap = page.getByTestId('tile-heatmap');
  await expect(heatmap).toBeVisible();
  await expect(page.getByTestId('tile-legend')).toBeVisible();
  // One heat-map cell per tile: the grid covers the image (edge tiles may be smaller).
  const [tilesX, tilesY] = await heatmap.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(tilesX).toBeGreaterThan(1);
  expect(tilesY).toBeGreaterThan(1);
  expect(await colours(page, 'tile-heatmap')).toBeGreaterThan(1);
  await testInfo.attach('tile overlay', { body: await page.screenshot(), contentType: 'image/png' });

  // Two tiles, clicked one after the other (the first and the last): each shows its own figures. The encoder chose
  // the tile size; the first tile's place says it, and the grid must be that size's.
  const shown: { rank: number; psnr: number }[] = [];
  let cell = 0;
  for (const [x, y] of [[4, 4], [636, 396]] as const) {
    await clickImagePoint(page, x, y);
    const dialog = page.getByTestId('tile-dialog');
    await expect(dialog).toBeVisible();
    await expect(page.getByTestId('tile-picked')).toBeVisible();
    const rank = Number(await page.getByTestId('tile-rank').textContent());
    const psnr = Number(await page.getByTestId('tile-psnr').textContent());
    expect(Number.isInteger(rank) && rank >= 0).toBe(true);
    expect(psnr).toBeGreaterThan(10);
    // The tile's place, and its components: as many as its rank (less any the encoder left empty).
    if (!cell) {
      await expect(page.getByTestId('tile-place')).toContainText('0–');
      const place = (await page.getByTestId('tile-place').textContent()) ?? '';
      cell = Number(/^0–(\d+)/.exec(place)?.[1]) + 1;
      expect([48, 64, 96, 128]).toContain(cell);
      expect(Math.ceil(640 / cell)).toBe(tilesX);
      expect(Math.ceil(400 / cell)).toBe(tilesY);
    }
    await expect(page.getByTestId('tile-place')).toContainText(`${Math.floor(x / cell) * cell}–`);
    if (rank > 0) {
      const components = page.getByTestId('tile-components').locator('canvas');
      await expect(components.first()).toBeVisible();
      const n = await components.count();
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(rank);
    } else {
      await expect(page.getByTestId('tile-components-none')).toBeVisible();
    }
    shown.push({ rank, psnr });
    await testInfo.attach(`tile at ${x}, ${y}`, { body: await page.screenshot(), contentType: 'image/png' });
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
  }
  // Every tile's rank adds up to the record's rank, so no single tile can hold more.
  const total = await metric(page, 'rank');
  for (const s of shown) expect(s.rank).toBeLessThanOrEqual(total);

  await toggle.click();
  await expect(heatmap).toHaveCount(0);
  // With the overlay off a click picks nothing.
  await clickImagePoint(page, cell / 2, cell / 2);
  await expect(page.getByTestId('tile-dialog')).toHaveCount(0);
});

test('a result in the whole-image layout has no tile overlay', async ({ page, server }) => {
  await openApp(page, server);
  await page.getByTestId('layout-select').selectOption({ label: 'Whole image' });
  await setControls(page, { rank: 6, maxIter: 20 });
  await openFile(page, fixture('images', 'coffee.png'));
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('caption-reconstruction')).toContainText('.nmfz');
  await expect(page.getByTestId('tile-overlay')).toHaveCount(0);
});
