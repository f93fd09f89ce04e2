// The Batch view on a real folder: a live table of files, a summary of the space saved, the .nmfz files on disk.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { commit, expect, fixture, openApp, test } from './fixtures.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

test('a folder of images is compressed file by file into the output folder', async ({ page, server, tmp }) => {
  const input = path.join(tmp, 'photos');
  const out = path.join(tmp, 'out');
  mkdirSync(path.join(input, 'nested'), { recursive: true });
  // Small images keep the batch quick on two cores.
  await sharp(fixture('images', 'chelsea.png')).resize(90, 60).png().toFile(path.join(input, 'cat.png'));
  await sharp(fixture('images', 'coffee.png')).resize(72, 48).jpeg({ quality: 90 }).toFile(path.join(input, 'cup.jpg'));
  await sharp(fixture('images', 'coins.png')).resize(64, 50).png().toFile(path.join(input, 'nested', 'coins.png'));
  writeFileSync(path.join(input, 'broken.png'), 'not a picture');

  await openApp(page, server);
  await page.getByTestId('tab-batch').click();
  await expect(page.getByTestId('batch-start')).toBeDisabled();
  await page.getByTestId('batch-folder-path').fill(input);
  await page.getByTestId('batch-add-folder').click();
  await expect(page.getByTestId('batch-inputs')).toContainText(input);
  await page.getByTestId('batch-out').fill(out);
  // a fixed rank (the default is a PSNR target) keeps these tiny images quick
  await page.getByTestId('batch-rank-by').selectOption('rank');
  await commit(page, 'batch-rank', 3);
  await commit(page, 'batch-max-iter', 10);
  await expect(page.getByTestId('batch-start')).toBeEnabled();
  await page.getByTestId('batch-start').click();

  const summary = page.getByTestId('batch-summary');
  await expect(summary).toBeVisible({ timeout: 60_000 });
  await expect(summary).toContainText('3 compressed, 1 failed');
  await expect(page.getByTestId('batch-output-path')).toHaveText(out);
  await expect(page.getByTestId('batch-cancel')).toBeDisabled();
  await expect(page.getByTestId('batch-count')).toHaveText('4 / 4');
  await expect(page.getByTestId('batch-progress')).toHaveAttribute('aria-valuenow', '4');

  const table = page.getByTestId('batch-table');
  await expect(table.locator('tbody tr')).toHaveCount(4);
  await expect(table.locator('tr[data-status="ok"]')).toHaveCount(3);
  const broken = table.locator('tr[data-status="error"]');
  await expect(broken).toHaveCount(1);
  await expect(broken).toContainText('broken.png');
  for (const cell of await table.locator('tr[data-status="ok"] [data-testid="batch-ratio"]').all()) {
    expect(Number(await cell.textContent())).toBeGreaterThan(0);
  }
  for (const cell of await table.locator('tr[data-status="ok"] [data-testid="batch-psnr"]').all()) {
    expect(Number(await cell.textContent())).toBeGreaterThan(5);
  }
  // each compressed file's layout, and its time per megapixel as its time and size give it
  for (const row of await table.locator('tr[data-status="ok"]').all()) {
    expect(['global', 'tiled']).toContain((await row.getByTestId('batch-layout').textContent())?.trim());
    expect(Number(await row.getByTestId('batch-seconds-per-mp').textContent())).toBeGreaterThan(0);
  }
  await expect(broken.getByTestId('batch-layout')).toHaveText('');
  await expect(page.getByTestId('batch-saved')).toContainText(/saved|larger/);
  // file name, ratio and PSNR as each row of a status shows them
  const figures = async (status: string): Promise<string[]> => {
    const out: string[] = [];
    for (const row of await table.locator(`tr[data-status="${status}"]`).all()) {
      out.push(`${await row.locator('td.file').textContent()} ${await row.getByTestId('batch-ratio').textContent()} ${await row.getByTestId('batch-psnr').textContent()}`);
    }
    return out.sort();
  };
  const compressed = await figures('ok');

  const written = filesUnder(out).filter((f) => f.endsWith('.nmfz'));
  expect(written).toHaveLength(3);

  // The same batch again resumes: every image is skipped, and its row shows the ratio and PSNR that its file's
  // header keeps from the first run.
  await page.getByTestId('batch-start').click();
  await expect(summary).toContainText('0 compressed, 1 failed, 3 skipped', { timeout: 60_000 });
  await expect(table.locator('tr[data-status="skipped"]')).toHaveCount(3);
  expect(await figures('skipped')).toEqual(compressed);
  // The originals are untouched.
  expect(filesUnder(input).sort()).toEqual(
    ['broken.png', 'cat.png', 'cup.jpg', path.join('nested', 'coins.png')].map((f) => path.join(input, f)).sort(),
  );
});

test('Cancel stops a running batch: the files done so far stay, the rest are not written', async ({ page, server, tmp }) => {
  const input = path.join(tmp, 'many');
  const out = path.join(tmp, 'out');
  mkdirSync(input);
  for (let i = 0; i < 6; i++) {
    await sharp(fixture('images', 'astronaut.png'))
      .extract({ left: i * 40, top: i * 30, width: 256, height: 256 })
      .png()
      .toFile(path.join(input, `part${i}.png`));
  }
  await openApp(page, server);
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('batch-folder-path').fill(input);
  await page.getByTestId('batch-add-folder').click();
  await page.getByTestId('batch-out').fill(out);
  // Slow on purpose: a high rank and many iterations per file.
  await page.getByTestId('batch-rank-by').selectOption('rank');
  await commit(page, 'batch-rank', 60);
  await commit(page, 'batch-max-iter', 3000);
  await page.getByTestId('batch-start').click();
  await expect(page.getByTestId('batch-table').locator('tr[data-status="running"]').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('batch-cancel')).toBeEnabled();
  await page.getByTestId('batch-cancel').click();
  await expect(page.getByTestId('batch-progress')).toHaveAttribute('aria-valuetext', /^cancelled/, { timeout: 30_000 });
  await expect(page.getByTestId('batch-cancel')).toBeDisabled();
  await expect(page.getByTestId('batch-start')).toBeEnabled();
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  const ok = await page.getByTestId('batch-table').locator('tr[data-status="ok"]').count();
  expect(ok).toBeLessThan(6);
  const written = existsSync(out) ? filesUnder(out).filter((f) => f.endsWith('.nmfz')) : [];
  expect(written.length).toBe(ok);
});

test('a folder that does not exist is reported in the table with its path, and the view stays usable', async ({ page, server, tmp }) => {
  await openApp(page, server);
  await page.getByTestId('tab-batch').click();
  const missing = path.join(tmp, 'no-such-folder');
  await page.getByTestId('batch-folder-path').fill(missing);
  await page.getByTestId('batch-folder-path').press('Enter');
  await page.getByTestId('batch-out').fill(path.join(tmp, 'out'));
  await page.getByTestId('batch-start').click();
  await expect(page.getByTestId('batch-summary')).toContainText('0 compressed, 1 failed');
  const row = page.getByTestId('batch-table').locator('tr[data-status="error"]');
  await expect(row).toContainText(missing);
  await expect(page.getByTestId('batch-start')).toBeEnabled();

  // A relative path is refused before it reaches the service.
  await page.getByTestId('batch-folder-path').fill('photos');
  await page.getByTestId('batch-add-folder').click();
  await expect(page.getByTestId('error-message')).toContainText('"photos" is not a full path');
});
