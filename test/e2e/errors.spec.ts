// Bad input: the message shows in the window, the window stays usable, and what was open stays open.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, fixture, metric, openApp, openFile, setControls, test, waitForJob } from './fixtures.js';

test('a truncated JPEG is refused with a message naming it; the app still opens the next file', async ({ page, server }) => {
  await openApp(page, server);
  await setControls(page, { layout: 'global', rank: 3, maxIter: 15 });
  await openFile(page, fixture('images', 'truncated.jpg'));
  const message = page.getByTestId('error-message');
  await expect(message).toBeVisible();
  await expect(message).toContainText('truncated.jpg');
  // One line for people, not a stack trace.
  expect(await message.textContent()).not.toMatch(/\n\s+at |Error:/);
  // Nothing half-open: the empty state still invites a file.
  await expect(page.getByRole('button', { name: 'Open a file…' })).toBeVisible();

  await openFile(page, fixture('images', 'coins.png'));
  expect(await waitForJob(page)).toBe('done');
  await expect(message).toHaveCount(0);
  expect(await metric(page, 'rank')).toBe(3);
});

test('a text file named .png, opened over a good image, leaves the image and its result in place', async ({ page, server, tmp }) => {
  await openApp(page, server);
  await setControls(page, { layout: 'global', rank: 3, maxIter: 15 });
  await openFile(page, fixture('images', 'coins.png'));
  expect(await waitForJob(page)).toBe('done');

  const fake = path.join(tmp, 'notes.png');
  writeFileSync(fake, 'these are notes, not pixels\n');
  await openFile(page, fake);
  await expect(page.getByTestId('error-message')).toContainText('notes.png');
  await expect(page.getByTestId('view-original')).toBeVisible();
  await expect(page.getByTestId('document-name')).toHaveText('coins.png');
  expect(await metric(page, 'rank')).toBe(3);

  // Dismissed, it goes; the controls still drive jobs.
  await page.getByRole('button', { name: 'Dismiss the error' }).click();
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  await setControls(page, { rank: 4 });
  expect(await waitForJob(page)).toBe('done');
  expect(await metric(page, 'rank')).toBe(4);
});

test('a CSV with a ragged row is refused with the row named', async ({ page, server, tmp }) => {
  const file = path.join(tmp, 'ragged.csv');
  writeFileSync(file, '1,2,3\n4,5\n7,8,9\n');
  await openApp(page, server);
  await openFile(page, file);
  const message = page.getByTestId('error-message');
  await expect(message).toContainText('ragged.csv');
  await expect(message).toContainText(/row 2|line 2/);
});
