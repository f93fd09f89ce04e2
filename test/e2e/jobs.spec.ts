// Live jobs: progress, a new setting superseding the running job, Cancel, a PSNR target, the rank curve.
import { commit, expect, fixture, metric, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';
import type { Page } from '@playwright/test';
import type { ServiceEvent } from '../../src-main/api/contract.js';
import { decodeWire } from '../../src-main/api/wire.js';

/** Every service event the page receives over its WebSocket, in order (reset per test). */
let events: ServiceEvent[] = [];

/** Records every value a metric element ever shows from now on (a MutationObserver in the page). */
async function recordMetric(page: Page, name: string): Promise<() => Promise<string[]>> {
  await page.evaluate((testId) => {
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    const note = () => {
      const text = document.querySelector(`[data-testid="${testId}"]`)?.textContent?.trim();
      if (text && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    note();
  }, `metric-${name}`);
  return () => page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
}

async function waitUntilRunning(page: Page): Promise<void> {
  await expect(page.getByTestId('job-status')).toHaveAttribute('data-status', 'running');
  await expect.poll(async () => Number(await page.getByTestId('progress').getAttribute('aria-valuenow'))).toBeGreaterThan(0);
}

test.beforeEach(async ({ page, server }) => {
  events = [];
  // Listen before the page opens its event socket, so that no event of the test goes unseen.
  page.on('websocket', (socket) =>
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') events.push(decodeWire<ServiceEvent>(new Uint8Array(payload)));
    }),
  );
  await openApp(page, server);
});

/** Resolves once the page has painted everything it received so far (two animation frames). */
function settled(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
}

test('a changed rank cancels the running job and starts a new one; the old result never shows', async ({ page }) => {
  // A job that would run for minutes: large rank, many iterations, no early stop.
  await setControls(page, { layout: 'global', rank: 120, maxIter: 400, tol: 0 });
  await openFile(page, fixture('images', 'astronaut.png'));
  await waitUntilRunning(page);
  const progress = page.getByTestId('progress');
  await expect(progress).toHaveAttribute('aria-valuemax', '400');
  await expect(progress).toHaveAttribute('aria-valuetext', /iteration \d+ \/ 400/);
  await expect(page.getByTestId('cancel')).toBeEnabled();
  await expect(page.getByTestId('loss-curve').locator('path')).toBeAttached();

  const running = new Set(events.flatMap((e) => (e.type === 'progress' ? [e.progress.jobId] : [])));
  expect(running.size).toBe(1);
  const [superseded] = running;

  const seen = await recordMetric(page, 'rank');
  await commit(page, 'rank-input', 3);
  expect(await waitForJob(page, 60_000)).toBe('done');
  expect(await metric(page, 'rank')).toBe(3);
  // The superseded job's last word (its cancellation, or a result had it finished first) is the event that would
  // carry the stale result: wait until the page has it and has painted, then check that none ever showed.
  await expect
    .poll(() => events.some((e) => (e.type === 'job-done' || e.type === 'job-failed') && e.jobId === superseded), { timeout: 60_000 })
    .toBe(true);
  await settled(page);
  expect(await page.getByTestId('job-status').getAttribute('data-status')).toBe('done');
  expect(await page.getByTestId('error-message').count()).toBe(0);
  expect(await metric(page, 'rank')).toBe(3);
  expect(await seen()).toEqual(['3']);
});

test('Cancel stops the running job and the window stays usable', async ({ page }) => {
  await setControls(page, { layout: 'global', rank: 120, maxIter: 400, tol: 0 });
  await openFile(page, fixture('images', 'astronaut.png'));
  await waitUntilRunning(page);
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('job-status')).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('cancel')).toBeDisabled();
  await expect(page.getByTestId('progress')).toHaveAttribute('aria-valuetext', 'Cancelled');
  await expect(page.getByTestId('error-message')).toHaveCount(0);

  await setControls(page, { layout: 'global', rank: 3, maxIter: 20 });
  expect(await waitForJob(page)).toBe('done');
  expect(await metric(page, 'rank')).toBe(3);
});

test('a PSNR target picks the rank that reaches it', async ({ page }) => {
  await setControls(page, { layout: 'global', maxIter: 40 });
  await commit(page, 'psnr-target-input', 22);
  await expect(page.getByTestId('rank-by-psnr')).toBeChecked();
  await openFile(page, fixture('images', 'chelsea.png'));
  expect(await waitForJob(page, 80_000)).toBe('done');
  expect(await metric(page, 'psnr')).toBeGreaterThanOrEqual(22);
  const rank = await metric(page, 'rank');
  await expect(page.getByTestId('chosen-rank')).toHaveText(`Target met at rank ${rank}`);

  // Typing a rank goes back to a fixed rank; in the default YCbCr mode a colour image needs one per plane, so 2
  // becomes the smallest rank it takes, 3.
  await commit(page, 'rank-input', 2);
  await expect(page.getByTestId('rank-by-rank')).toBeChecked();
  await expect(page.getByTestId('rank-input')).toHaveValue('3');
  expect(await waitForJob(page)).toBe('done');
  expect(await metric(page, 'rank')).toBe(3);
  await expect(page.getByTestId('error-message')).toHaveCount(0);
});

test('the rank curve fills in point by point; clicking a point picks its rank', async ({ page }) => {
  await setControls(page, { layout: 'global', rank: 3, maxIter: 20 });
  await openFile(page, fixture('images', 'coins.png'));
  expect(await waitForJob(page)).toBe('done');

  const curve = page.getByTestId('rank-curve');
  await curve.getByTestId('rank-curve-ranks').fill('1, 2, 5');
  await curve.getByTestId('rank-curve-start').click();
  for (const rank of [1, 2, 5]) await expect(curve.getByTestId(`rank-point-${rank}`)).toBeVisible({ timeout: 60_000 });
  await expect(curve.getByTestId('rank-curve-status')).toHaveText('3 ranks');
  // Higher rank, better fidelity: the PSNR points rise from left to right.
  const ys = await Promise.all([1, 2, 5].map((r) => curve.getByTestId(`rank-point-${r}`).getAttribute('cy').then(Number)));
  expect(ys[0]!).toBeGreaterThan(ys[2]!);

  await curve.getByTestId('rank-point-5').click();
  await expect(page.getByTestId('rank-input')).toHaveValue('5');
  expect(await waitForJob(page)).toBe('done');
  expect(await metric(page, 'rank')).toBe(5);
});
