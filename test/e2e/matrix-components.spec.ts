// The Components panel of a matrix: each component's top row and column labels, in the order W and H give them.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Download, Page } from '@playwright/test';
import { DOCS, expectedTop, TERMS, termDocumentCsv } from '../helpers/term-document.js';
import { commit, expect, openApp, openFile, test, waitForJob } from './fixtures.js';

async function downloadCsv(page: Page, kind: 'W.csv' | 'H.csv'): Promise<number[][]> {
  const arrived: Promise<Download> = page.waitForEvent('download');
  await page.getByTestId('export-menu').click();
  await page.getByTestId(`save-${kind}`).click();
  const file = await (await arrived).path();
  return readFileSync(file, 'utf8').trim().split(/\r?\n/).map((line) => line.split(',').map(Number));
}

const topLabels = (values: number[], labels: string[], top: number): string[] => expectedTop(values, top).map((e) => labels[e.index]!);

test('a labelled term–document CSV: the Components panel lists each component’s top terms and documents as W and H rank them', async ({ page, server, tmp }) => {
  const file = path.join(tmp, 'terms.csv');
  writeFileSync(file, termDocumentCsv());
  await openApp(page, server);
  await openFile(page, file);
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('metric-dimensions')).toHaveText(`${TERMS.length}×${DOCS.length}`);
  await commit(page, 'rank-input', 3);
  await commit(page, 'max-iter-input', 500);
  expect(await waitForJob(page)).toBe('done');
  await expect(page.getByTestId('metric-rank')).toHaveText('3');

  const panel = page.getByTestId('matrix-components');
  await expect(panel).toBeVisible();
  await expect(panel.locator('[data-testid^="matrix-component-"][data-testid$="-rows"]')).toHaveCount(3);

  const W = await downloadCsv(page, 'W.csv');
  const H = await downloadCsv(page, 'H.csv');
  expect(W).toHaveLength(TERMS.length);
  expect(H).toHaveLength(3);
  for (let k = 0; k < 3; k++) {
    const rows = panel.getByTestId(`matrix-component-${k}-rows`).getByTestId('component-entry-label');
    const cols = panel.getByTestId(`matrix-component-${k}-cols`).getByTestId('component-entry-label');
    await expect(rows).toHaveText(topLabels(W.map((r) => r[k]!), TERMS, 10));
    await expect(cols).toHaveText(topLabels(H[k]!, DOCS, 10));
  }

  // Each component gathers one topic: its first two documents share their topic, and so do its first two terms.
  const firstDocs = await Promise.all(
    [0, 1, 2].map(async (k) => (await panel.getByTestId(`matrix-component-${k}-cols`).getByTestId('component-entry-label').allTextContents()).slice(0, 2)),
  );
  expect(firstDocs.map((d) => d.map((name) => name.split('-')[0]).join(' ')).sort()).toEqual(['food food', 'politics politics', 'sport sport']);

  // The bars are drawn against the component's largest weight: the first is full, the others shorter.
  const widths = await panel
    .getByTestId('matrix-component-0-rows')
    .locator('.bar')
    .evaluateAll((bars) => bars.map((b) => (b as HTMLElement).getBoundingClientRect().width));
  expect(widths.length).toBeGreaterThan(1);
  for (let n = 1; n < widths.length; n++) expect(widths[n]!).toBeLessThanOrEqual(widths[n - 1]! + 0.5);
  expect(widths[widths.length - 1]!).toBeLessThan(widths[0]!);

  await page.screenshot({ path: test.info().outputPath('matrix-components.png') });
});
