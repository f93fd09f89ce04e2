// Saving from the web mode: .nmfz by button and by Ctrl+S, the reconstruction as PNG, the factors as .npy and .csv.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Download, Page } from '@playwright/test';
import { NMFZ_MAGIC } from '../../src-main/codec/container.js';
import { expect, fixture, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

async function download(page: Page, act: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const arrived: Promise<Download> = page.waitForEvent('download');
  await act();
  const d = await arrived;
  const file = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(file) };
}

test('Save .nmfz downloads the compressed file; Ctrl+S does the same; PNG, W and H export', async ({ page, server }) => {
  await openApp(page, server);
  await expect(page.getByTestId('save-nmfz')).toBeDisabled();
  await setControls(page, { rank: 5, maxIter: 20 });
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page)).toBe('done');

  const byButton = await download(page, () => page.getByTestId('save-nmfz').click());
  expect(byButton.name).toBe('chelsea.nmfz');
  expect([...byButton.bytes.subarray(0, NMFZ_MAGIC.length)]).toEqual([...NMFZ_MAGIC]);
  expect(byButton.bytes.length).toBe(Number(await page.getByTestId('metric-bytes').textContent()));
  await expect(page.getByTestId('notice')).toContainText('chelsea.nmfz');

  const byKey = await download(page, () => page.keyboard.press('Control+s'));
  expect(byKey.bytes.equals(byButton.bytes)).toBe(true);

  const png = await download(page, async () => {
    await page.getByTestId('export-menu').click();
    await page.getByTestId('save-png').click();
  });
  expect(png.name).toMatch(/\.png$/);
  const meta = await sharp(png.bytes).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 451, 300]);

  const w = await download(page, async () => {
    await page.getByTestId('export-menu').click();
    await page.getByTestId('save-W.npy').click();
  });
  expect(w.name).toMatch(/\.npy$/);
  expect(w.bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');

  const h = await download(page, async () => {
    await page.getByTestId('export-menu').click();
    await page.getByTestId('save-H.csv').click();
  });
  expect(h.name).toMatch(/\.csv$/);
  const rows = h.bytes.toString('utf8').trim().split(/\r?\n/);
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) for (const cell of row.split(',')) expect(Number.isFinite(Number(cell))).toBe(true);
});
