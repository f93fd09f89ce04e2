// Matrix files: V, W·H, W and H as heat maps; a missing cell is marked and its imputed value read on hover.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { commit, expect, metric, openApp, openFile, test, waitForJob } from './fixtures.js';

test('a CSV with a missing cell: heat maps of V, W·H, W and H, and the imputed value on hover', async ({ page, server, tmp }) => {
  // 6×5, rank-2 structure, one empty cell at row 2, col 3.
  const rows = [
    [1, 2, 3, 4, 5],
    [2, 4, 6, 8, 10],
    [1, 1, 1, null, 1],
    [3, 5, 7, 9, 11],
    [0.5, 1, 1.5, 2, 2.5],
    [4, 4, 4, 4, 4],
  ];
  const file = path.join(tmp, 'small.csv');
  writeFileSync(file, rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n') + '\n');

  await openApp(page, server);
  await openFile(page, file);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('metric-missing')).toHaveText('1');
  await expect(page.getByTestId('metric-dimensions')).toHaveText('6×5');
  await commit(page, 'rank-input', 2);
  await commit(page, 'max-iter-input', 500);
  expect(await waitForJob(page)).toBe('done');
  expect(await metric(page, 'rank')).toBe(2);
  expect(await metric(page, 'rel-err')).toBeLessThan(0.2);
  // The loss curve ends at the result's loss, also when the fit stopped on tol between two progress events.
  const iterations = await metric(page, 'iterations');
  expect(iterations).toBeLessThan(500);
  const finalLoss = ((await page.getByTestId('metric-loss').textContent()) ?? '').trim();
  await expect(page.getByTestId('loss-curve')).toContainText(`→ ${finalLoss}`);
  for (const name of ['V', 'WH', 'W', 'H']) await expect(page.getByTestId(`heatmap-${name}`)).toBeVisible();

  // V is drawn one pixel per cell; W (6×2) and H (2×5) as one strip per component.
  const cells = (name: string) => page.getByTestId(`heatmap-${name}`).locator('canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(await cells('V')).toEqual([5, 6]);
  await expect(page.getByTestId('heatmap-W')).toHaveAttribute('data-components', '2');
  await expect(page.getByTestId('heatmap-H')).toHaveAttribute('data-components', '2');

  // The missing cell is drawn in the "missing" colour, which the legend names.
  await expect(page.getByTestId('heatmap-V')).toContainText('missing');
  const missingPixel = await page
    .getByTestId('heatmap-V')
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(3, 2, 1, 1).data));
  const normalPixel = await page
    .getByTestId('heatmap-V')
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(2, 2, 1, 1).data));
  expect(missingPixel).not.toEqual(normalPixel);

  // Hover the centre of cell (row 2, col 3).
  const canvas = page.getByTestId('heatmap-V').locator('canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + (box.width * 3.5) / 5, box.y + (box.height * 2.5) / 6);
  const readout = page.getByTestId('heatmap-readout-V');
  await expect(readout).toContainText('row 2, col 3: missing · imputed ');
  const imputedText = /imputed (\S+)/.exec((await readout.textContent())!)![1]!;
  const shown = Number(imputedText);
  // Rows 0-2 of V are nearly proportional to (1, 1, 1, ·, 1): W·H fills in close to 1.
  expect(shown).toBeGreaterThan(0.5);
  expect(shown).toBeLessThan(1.6);
  // The same value the list of imputed cells gives.
  await page.getByTestId('imputed-list').locator('summary').click();
  await expect(page.getByTestId('imputed-list')).toContainText(`row 2, col 3: ${imputedText}`);

  // An observed cell reads its value.
  await page.mouse.move(box.x + (box.width * 4.5) / 5, box.y + (box.height * 3.5) / 6);
  await expect(readout).toHaveText('row 3, col 4: 11');
});
