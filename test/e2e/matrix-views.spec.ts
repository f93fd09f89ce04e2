// Matrices as pictures and as heat maps: the compare view for pixel-like matrices, colour maps, factor strips whatever their shape, density maps of sparse matrices.
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { canvasHash, commit, expect, fixture, openApp, openFile, test, waitForJob } from './fixtures.js';

/** A 2-D float64 .npy file, as numpy.save writes it. */
function writeNpy(file: string, rows: number, cols: number, value: (i: number, j: number) => number): void {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = value(i, j);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

/** A text matrix as numpy.savetxt writes it (space-separated), or a CSV. */
function writeText(file: string, rows: number, cols: number, value: (i: number, j: number) => number, separator = ' '): void {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(Array.from({ length: cols }, (_, j) => String(value(i, j))).join(separator));
  writeFileSync(file, lines.join('\n') + '\n');
}

/** A grey picture in 0–255: a diagonal gradient with a bright disc and a dark bar, a little like a photograph's shapes. */
const picture = (i: number, j: number): number => {
  const disc = (i - 40) ** 2 + (j - 80) ** 2 < 22 ** 2 ? 90 : 0;
  const bar = i > 70 && i < 82 && j > 10 && j < 110 ? -60 : 0;
  return Math.max(0, Math.min(255, Math.round(60 + i * 0.8 + j * 0.5 + disc + bar)));
};

async function pixel(page: Page, testId: string, x: number, y: number): Promise<number[]> {
  return page.getByTestId(testId).evaluate((c: HTMLCanvasElement, [px, py]) => Array.from(c.getContext('2d')!.getImageData(px!, py!, 1, 1).data), [x, y]);
}

async function stageTransform(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).evaluate((canvas) => (canvas.parentElement as HTMLElement).style.transform);
}

test('a text matrix of pixel values opens as a picture: grey, beside W·H, with zoom, split and difference', async ({ page, server, tmp }, testInfo) => {
  const file = path.join(tmp, 'image.txt');
  writeText(file, 96, 128, picture);
  await openApp(page, server);
  await openFile(page, file);

  // Shown as a picture, in grey because its values lie in 0–255: each pixel is the cell's value.
  await expect(page.getByTestId('view-original')).toBeVisible();
  await expect(page.getByTestId('colormap')).toHaveValue('grey');
  expect(await page.getByTestId('view-original').evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([128, 96]);
  const v = picture(40, 80);
  expect(await pixel(page, 'view-original', 80, 40)).toEqual([v, v, v, 255]);
  expect(await pixel(page, 'view-original', 20, 76)).toEqual([picture(76, 20), picture(76, 20), picture(76, 20), 255]);
  await expect(page.getByTestId('caption-original')).toContainText('96×128');

  await commit(page, 'rank-input', 5);
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('view-reconstruction')).toBeVisible();
  await expect(page.getByTestId('caption-reconstruction')).toContainText('rank 5');
  // A rank-5 fit of this picture is close: its grey levels near the original's.
  const [r] = await pixel(page, 'view-reconstruction', 80, 40);
  expect(Math.abs(r! - v)).toBeLessThan(40);

  // One zoom for both panes.
  await page.getByRole('button', { name: 'Zoom in' }).click();
  expect(await stageTransform(page, 'view-original')).toBe(await stageTransform(page, 'view-reconstruction'));
  await page.getByRole('button', { name: 'Fit', exact: true }).click();

  // The factors below the picture.
  await expect(page.getByTestId('heatmap-W')).toHaveAttribute('data-components', '5');
  await expect(page.getByTestId('heatmap-H')).toHaveAttribute('data-components', '5');
  await page.screenshot({ path: testInfo.outputPath('picture-side-by-side.png') });

  await page.getByTestId('mode-split').click();
  await expect(page.getByTestId('split-divider')).toBeVisible();
  await expect(page.getByTestId('view-original')).toBeVisible();
  await expect(page.getByTestId('view-reconstruction')).toBeAttached();
  // The keys that move an image's divider move this one too.
  await page.keyboard.press('1');
  await expect(page.getByTestId('split-divider')).toHaveAttribute('aria-valuenow', '0');
  await page.keyboard.press('2');
  await expect(page.getByTestId('split-divider')).toHaveAttribute('aria-valuenow', '50');
  await page.screenshot({ path: testInfo.outputPath('picture-split.png') });

  await page.getByTestId('mode-diff').click();
  await expect(page.getByTestId('view-diff')).toBeVisible();
  await expect(page.getByTestId('caption-diff')).toContainText('|V − W·H|');
  // Not all one colour: the difference shows where the fit misses.
  const distinct = await page.getByTestId('view-diff').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
    return seen.size;
  });
  expect(distinct).toBeGreaterThan(10);
  await page.screenshot({ path: testInfo.outputPath('picture-difference.png') });

  // A picture can still be read as numbers: the heat maps are one switch away.
  await page.getByTestId('show-as-picture').uncheck();
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('view-original')).toHaveCount(0);
  await page.getByTestId('show-as-picture').check();
  // back where it was: the difference view
  await expect(page.getByTestId('view-diff')).toBeVisible();
});

test('the colour map applies to V, W·H and the factors; values in 0–1 are grey too, others viridis', async ({ page, server, tmp }, testInfo) => {
  const unit = path.join(tmp, 'unit.npy');
  writeNpy(unit, 48, 64, (i, j) => picture(i * 2, j * 2) / 255);
  await openApp(page, server);
  await openFile(page, unit);
  await expect(page.getByTestId('colormap')).toHaveValue('grey');
  expect(await waitForJob(page)).toBe('done');
  const v = picture(40, 80);
  const grey = await pixel(page, 'view-original', 40, 20);
  expect(grey).toEqual([v, v, v, 255]);

  const before = {
    V: await canvasHash(page, 'view-original'),
    WH: await canvasHash(page, 'view-reconstruction'),
    W: await canvasHash(page, 'factor-canvas-W'),
    H: await canvasHash(page, 'factor-canvas-H'),
  };
  await page.getByTestId('colormap').selectOption('viridis');
  const viridis = await pixel(page, 'view-original', 40, 20);
  // viridis's own colour for this level: matplotlib's table, entry floor(t·256), to the nearest 8-bit level.
  const table = JSON.parse(readFileSync(fixture('colormaps', 'colormaps.json'), 'utf8')) as Record<string, number[][]>;
  const entry = (name: string, t: number) => [...table[name]![Math.min(255, Math.floor(t * 256))]!.map((c) => Math.round(c * 255)), 255];
  expect(viridis).toEqual(entry('viridis', v / 255));
  for (const [name, id] of [
    ['V', 'view-original'],
    ['WH', 'view-reconstruction'],
    ['W', 'factor-canvas-W'],
    ['H', 'factor-canvas-H'],
  ] as const) {
    expect(await canvasHash(page, id), `${name} changes with the colour map`).not.toBe(before[name]);
  }
  await page.getByTestId('colormap').selectOption('magma');
  const magma = await pixel(page, 'view-original', 40, 20);
  expect(magma).toEqual(entry('magma', v / 255));
  await page.screenshot({ path: testInfo.outputPath('colormap-magma.png') });

  // A matrix of other values opens in viridis, as heat maps.
  const counts = path.join(tmp, 'counts.csv');
  writeText(counts, 30, 20, (i, j) => (i * 37 + j * 11) % 1000, ',');
  await openFile(page, counts);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('colormap')).toHaveValue('viridis');
  await expect(page.getByTestId('view-original')).toHaveCount(0);
});

/** Opens a matrix, factorizes it at rank 4, and checks W and H are drawn as four strips of readable width. */
async function checkStrips(page: Page, file: string): Promise<void> {
  await openFile(page, file);
  // The previous matrix's finished job must not pass for this one's.
  await expect(page.getByTestId('document-name')).toHaveText(path.basename(file));
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  expect(await waitForJob(page)).toBe('done');
  for (const name of ['W', 'H']) {
    const map = page.getByTestId(`heatmap-${name}`);
    await expect(map).toHaveAttribute('data-components', '4');
    expect(Number(await map.getAttribute('data-strip')), `${name}'s strips are readable`).toBeGreaterThanOrEqual(12);
    await expect(page.getByTestId(`components-axis-${name}`)).toHaveText(/0\s*1\s*2\s*3/);
  }
}

test('W and H are strips of readable width whatever their shape: 20000×4, 4×5000 and square', async ({ page, server, tmp }, testInfo) => {
  await openApp(page, server);
  await commit(page, 'rank-input', 4);

  // A tall matrix: W is 20000×4; its rows are binned to the pixels there are, each pixel the largest entry.
  const tall = path.join(tmp, 'tall.npy');
  writeNpy(tall, 20000, 8, (i, j) => 300 + ((i * 7 + j * 13) % 500) + (i > 15000 && j < 2 ? 800 : 0));
  await checkStrips(page, tall);
  const w = page.getByTestId('heatmap-W');
  await expect(w).toContainText('20000×4');
  await expect(w).toContainText('rows binned, largest shown');
  await expect(w).toContainText('15000');
  const canvas = page.getByTestId('factor-canvas-W');
  const box = (await canvas.boundingBox())!;
  expect(box.height).toBeGreaterThan(150);
  await page.mouse.move(box.x + 4, box.y + box.height * 0.9);
  await expect(page.getByTestId('heatmap-readout-W')).toHaveText(/^component 0, rows \d+–\d+: max /);
  await page.screenshot({ path: testInfo.outputPath('strips-tall.png') });

  // A wide matrix: H is 4×5000, lying strips with column ticks.
  const wide = path.join(tmp, 'wide.npy');
  writeNpy(wide, 8, 5000, (i, j) => 300 + ((i * 13 + j * 7) % 500) + (j > 4000 && i < 2 ? 800 : 0));
  await checkStrips(page, wide);
  await expect(page.getByTestId('heatmap-H')).toContainText('4×5000');
  await expect(page.getByTestId('heatmap-H')).toContainText('4000');
  const hBox = (await page.getByTestId('factor-canvas-H').boundingBox())!;
  expect(hBox.width).toBeGreaterThan(250);
  await page.screenshot({ path: testInfo.outputPath('strips-wide.png') });

  // Square: 300×300.
  const square = path.join(tmp, 'square.npy');
  writeNpy(square, 300, 300, (i, j) => 300 + ((i * 3 + j * 5) % 400) + (i < 150 && j > 150 ? 500 : 0));
  await checkStrips(page, square);
  await page.screenshot({ path: testInfo.outputPath('strips-square.png') });
});

test('a sparse matrix is drawn as a density map with its non-zero count and density', async ({ page, server, tmp }, testInfo) => {
  // 2000×500, a band along the diagonal (5 entries per row) and nothing elsewhere: 10000 non-zeros, 1 %.
  const rows = 2000;
  const cols = 500;
  const lines = ['%%MatrixMarket matrix coordinate real general', `${rows} ${cols} ${rows * 5}`];
  for (let i = 0; i < rows; i++) {
    const centre = Math.floor((i * cols) / rows);
    for (let k = 0; k < 5; k++) lines.push(`${i + 1} ${Math.min(cols - 5, centre) + k + 1} ${1 + ((i + k) % 9)}`);
  }
  const file = path.join(tmp, 'band.mtx');
  writeFileSync(file, lines.join('\n') + '\n');
  await openApp(page, server);
  await openFile(page, file);
  const v = page.getByTestId('heatmap-V');
  await expect(v).toHaveAttribute('data-kind', 'spy');
  await expect(page.getByTestId('sparsity-V')).toHaveText('10,000 non-zeros · density 1.00 %');
  // Counts from 1 to 9 lie in 0–255, but a mostly-zero table is no picture: viridis, as heat maps.
  await expect(page.getByTestId('colormap')).toHaveValue('viridis');
  await expect(page.getByTestId('view-original')).toHaveCount(0);
  // Empty blocks are white; blocks on the band are inked.
  const size = await v.locator('canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(size).toEqual([500, 1000]);
  expect(await v.locator('canvas').evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(400, 100, 1, 1).data))).toEqual([255, 255, 255, 255]);
  const band = await v.locator('canvas').evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(251, 500, 1, 1).data));
  expect(band[0]!).toBeLessThan(200);
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('heatmap-WH')).toBeVisible();
  // Hovering a block reads its density (once the result's panels are laid out).
  const box = (await v.locator('canvas').boundingBox())!;
  await page.mouse.move(box.x + (box.width * 251.5) / 500, box.y + (box.height * 500.5) / 1000);
  await expect(page.getByTestId('heatmap-readout-V')).toHaveText('rows 1000–1001, col 251: density 100.00 % · mean 3.5');
  await page.screenshot({ path: testInfo.outputPath('spy.png') });
});

/** A coordinate .mtx of about 100 MB: 2.4 million rows × 4 columns, 3 entries a row on average (7.2 million). */
function writeLargeMtx(file: string): { bytes: number; rows: number; cols: number } {
  const rows = 2_400_000;
  const cols = 4;
  let nnz = 0;
  for (let i = 0; i < rows; i++) nnz += 2 + (i % 3);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `%%MatrixMarket matrix coordinate integer general\n${rows} ${cols} ${nnz}\n`);
    let text = '';
    for (let i = 1; i <= rows; i++) {
      const k = 2 + ((i - 1) % 3);
      for (let j = 1; j <= k; j++) text += `${i} ${j} ${1 + ((i * 31 + j * 17) % 999)}\n`;
      if (text.length > 1 << 20) {
        writeSync(fd, text);
        text = '';
      }
    }
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return { bytes: statSync(file).size, rows, cols };
}

test('a 100 MB .mtx uploads as a stream with its progress shown, the page responsive, and opens', async ({ page, server, tmp }) => {
  test.setTimeout(240_000);
  const file = path.join(tmp, 'large.mtx');
  const { bytes, rows, cols } = writeLargeMtx(file);
  expect(bytes).toBeGreaterThan(95e6);
  await openApp(page, server);
  // Every value the upload's progress bar takes, as the page shows it, when the whole file was sent, and the
  // longest wait between two frames the page drew meanwhile (reported, not asserted: speed is the benchmarks' job).
  await page.evaluate(() => {
    const watch = { seen: [] as number[], firstAt: 0, sentAt: 0, longestFrameMs: 0, last: performance.now() };
    (window as unknown as { upload: typeof watch }).upload = watch;
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid="open-progress"]');
      const now = Number(bar?.getAttribute('aria-valuenow'));
      if (bar && watch.seen.at(-1) !== now) watch.seen.push(now);
      if (bar && !watch.firstAt) watch.firstAt = performance.now();
      if (bar && now === Number(bar.getAttribute('aria-valuemax')) && !watch.sentAt) watch.sentAt = performance.now();
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    const frame = (t: number): void => {
      watch.longestFrameMs = Math.max(watch.longestFrameMs, t - watch.last);
      watch.last = t;
      if (!document.querySelector('[data-testid="document-name"]')) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const started = Date.now();
  await openFile(page, file);
  await expect(page.getByTestId('open-status')).toBeVisible();
  // The page answers while the file travels and is read: a frame is drawn, a button responds.
  expect(await page.evaluate(() => new Promise<boolean>((resolve) => requestAnimationFrame(() => resolve(true))))).toBe(true);
  await page.getByTestId('tab-batch').click();
  await expect(page.getByTestId('tab-batch')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('tab-studio').click();
  // Sent: now the server reads it, and says so.
  await expect(page.getByTestId('open-status')).toHaveAttribute('data-stage', 'reading');
  await expect(page.getByTestId('open-status')).toContainText('Reading the file…');

  await expect(page.getByTestId('document-name')).toHaveText('large.mtx', { timeout: 180_000 });
  await expect(page.getByTestId('metric-dimensions')).toHaveText(`${rows}×${cols}`);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('open-status')).toHaveCount(0);
  const openedMs = Date.now() - started;
  const watch = await page.evaluate(
    () => (window as unknown as { upload: { seen: number[]; firstAt: number; sentAt: number; longestFrameMs: number } }).upload,
  );
  const progress = watch.seen;
  console.log(
    `${(bytes / 1e6).toFixed(1)} MB .mtx: sent in ${((watch.sentAt - watch.firstAt) / 1000).toFixed(1)} s, opened ${(openedMs / 1000).toFixed(1)} s ` +
      `after choosing it; ${progress.length} progress values shown; ` +
      `longest gap between two frames while it loaded ${Math.round(watch.longestFrameMs)} ms`,
  );
  expect(progress.at(-1), 'the bar reached the whole file').toBe(bytes);
  expect(progress.some((v) => v > 0 && v < bytes), `progress on the way (seen: ${progress.join(', ')})`).toBe(true);
  // No need to wait for the fit of 9.6 million cells that opening started.
  const cancel = page.getByTestId('cancel');
  if (await cancel.isEnabled()) await cancel.click();
});
