// Opening a 4-MP photograph: a coarse reconstruction shows while the real one is computed, then the final one.
// The times are measured and logged (speed is the benchmark's business: `npm run bench -- --photos`), not asserted.
import path from 'node:path';
import sharp from 'sharp';
import {
  finalReconstructionShown,
  readReconstructionTimes,
  RECORD_RECONSTRUCTION_TIMES,
} from '../helpers/first-reconstruction.js';
import { expect, fixture, openApp, openFile, setControls, test } from './fixtures.js';

test('a 4-MP photograph shows a coarse reconstruction first, then the final one', async ({ page, server, tmp }, testInfo) => {
  test.setTimeout(240_000);
  // 2560×1600 from a fixture photograph, with fine grain as a camera leaves it, saved as a camera would.
  const photo = path.join(tmp, 'photo-4mp.jpg');
  const { data, info } = await sharp(fixture('images', 'astronaut.png')).resize(2560, 1600, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  let seed = 1;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = Math.max(0, Math.min(255, data[i]! + ((seed >>> 16) % 9) - 4));
  }
  await sharp(data, { raw: info }).jpeg({ quality: 90 }).toFile(photo);

  await page.addInitScript(RECORD_RECONSTRUCTION_TIMES);
  await openApp(page, server);
  // A fixed rank and a short fit keep the final reconstruction quick on two shared cores; the first one does not
  // depend on them.
  await setControls(page, { rank: 16, maxIter: 20 });
  await openFile(page, photo);

  await page.waitForFunction(() => (globalThis as unknown as { __reconstructionTimes: { firstReconstruction: number | null } }).__reconstructionTimes.firstReconstruction !== null, undefined, { timeout: 60_000 });
  await testInfo.attach('first reconstruction', { body: await page.screenshot(), contentType: 'image/png' });
  await page.waitForFunction(finalReconstructionShown, undefined, { timeout: 200_000, polling: 100 });
  const times = await page.evaluate(readReconstructionTimes);

  const first = times.firstReconstruction! - times.original!;
  const final = times.final! - times.original!;
  console.log(`2560×1600 JPEG: first reconstruction ${first.toFixed(0)} ms after the original, final ${final.toFixed(0)} ms after it (${times.firstCaption})`);
  testInfo.annotations.push({ type: 'time to first reconstruction', description: `${first.toFixed(0)} ms` }, { type: 'time to final reconstruction', description: `${final.toFixed(0)} ms` });
  // The order is what the app promises: a reconstruction while the job still runs, before the final one.
  expect(times.original).not.toBeNull();
  expect(first).toBeGreaterThanOrEqual(0);
  expect(final).toBeGreaterThan(first);
  // coarse first: the first reconstruction is a low-rank fit of the image shrunk, said so in its caption
  expect(times.firstCaption).toMatch(/coarse preview: rank \d+ at \d+×\d+/);
  // The final reconstruction is the full image, and the caption says what it is.
  const size = await page.getByTestId('view-reconstruction').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(size).toEqual([2560, 1600]);
  await expect(page.getByTestId('caption-reconstruction')).toContainText('.nmfz');
  await testInfo.attach('final reconstruction', { body: await page.screenshot(), contentType: 'image/png' });
});
