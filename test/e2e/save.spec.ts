// Saving from the web mode: .nmfz by button and by Ctrl+S, the reconstruction as PNG, the factors as .npy and .csv.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Download, Page } from '@playwright/test';
import { NMFZ_MAGIC } from '../../src-main/codec/container.js';
import { commit, expect, fixture, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

async function download(page: Page, act: () => Promise<void>): Promise<{ name: string; bytes: Buffer; file: string }> {
  const arrived: Promise<Download> = page.waitForEvent('download');
  await act();
  const d = await arrived;
  const file = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(file), file };
}

test('Save .nmfz downloads the compressed file, Ctrl+S does the same, and the reconstruction exports as PNG', async ({ page, server, tmp }) => {
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
  const psnr = await page.getByTestId('metric-psnr').textContent();

  const png = await download(page, async () => {
    await page.getByTestId('export-menu').click();
    await page.getByTestId('save-png').click();
  });
  expect(png.name).toMatch(/\.png$/);
  const meta = await sharp(png.bytes).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 451, 300]);
  // The PNG holds exactly the pixels shown as the reconstruction.
  const decoded = await sharp(png.bytes).ensureAlpha().raw().toBuffer();
  const shown = await page.getByTestId('view-reconstruction').evaluate((c: HTMLCanvasElement) => [...c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data]);
  expect(decoded.equals(Buffer.from(shown))).toBe(true);

  // W and H belong to matrix results; an image's are not offered.
  await page.getByTestId('export-menu').click();
  await expect(page.getByTestId('save-W.npy')).toBeDisabled();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('save-W.npy')).toBeHidden();

  // The saved .nmfz opens again as the picture it holds: the reconstruction, pixel for pixel.
  const saved = path.join(tmp, 'chelsea.nmfz');
  writeFileSync(saved, byButton.bytes);
  await openFile(page, saved);
  await expect(page.getByTestId('document-name')).toHaveText('chelsea.nmfz');
  const reopened = await page.getByTestId('view-original').evaluate((c: HTMLCanvasElement) => [...c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data]);
  expect(Buffer.from(reopened).equals(decoded)).toBe(true);
  // Its caption says, from the file's header, what it was made from and how close it came to it.
  const caption = page.getByTestId('caption-original');
  await expect(caption).toContainText('made from chelsea.png');
  const stored = /vs chelsea\.png: PSNR ([\d.]+) dB · SSIM 0\.\d{4}/.exec((await caption.textContent()) ?? '');
  expect(stored, 'PSNR and SSIM in the caption').not.toBeNull();
  // (2 decimals of the stored 4 against 2 of the measured value: a rounding step apart at most)
  expect(Math.abs(Number(stored![1]) - Number(psnr))).toBeLessThanOrEqual(0.011);
});

test('a matrix result exports W as .npy and H as .csv; Ctrl+S offers them', async ({ page, server, tmp }) => {
  const file = path.join(tmp, 'm.csv');
  writeFileSync(file, '1,2,3\n2,4,6\n3,6,9.5\n4,8,12\n');
  await openApp(page, server);
  await openFile(page, file);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await commit(page, 'rank-input', 2);
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('metric-rank')).toHaveText('2');
  await expect(page.getByTestId('save-nmfz')).toBeDisabled();

  // Ctrl+S on a matrix opens the Export menu, since a matrix has no .nmfz.
  await page.locator('body').click({ position: { x: 600, y: 500 } });
  await page.keyboard.press('Control+s');
  await expect(page.getByTestId('save-W.npy')).toBeVisible();
  const w = await download(page, () => page.getByTestId('save-W.npy').click());
  expect(w.name).toBe('m.W.npy');
  expect(w.bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  // The header states W's shape: 4 rows, rank 2.
  expect(w.bytes.toString('latin1', 10, 10 + w.bytes.readUInt16LE(8))).toMatch(/'shape': \(4, 2\)/);

  const h = await download(page, async () => {
    await page.getByTestId('export-menu').click();
    await page.getByTestId('save-H.csv').click();
  });
  expect(h.name).toBe('m.H.csv');
  const rows = h.bytes.toString('utf8').trim().split(/\r?\n/);
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    const cells = row.split(',');
    expect(cells).toHaveLength(3);
    for (const cell of cells) expect(Number.isFinite(Number(cell))).toBe(true);
  }
});
