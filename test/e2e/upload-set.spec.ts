// Several files uploaded at once in the web mode: a 10x Genomics matrix.mtx with its features.tsv and
// barcodes.tsv opens labelled as it does on the desktop; a label file of the wrong length is refused in one line.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commit, dropFiles, expect, fixture, openApp, test, waitForJob } from './fixtures.js';

const TEN_X = fixture('tenx', 'filtered_feature_bc_matrix');
const lines = (name: string): string[] => readFileSync(path.join(TEN_X, name), 'utf8').trim().split('\n');
const GENE_NAMES = lines('features.tsv').map((l) => l.split('\t')[1]!);
const BARCODES = lines('barcodes.tsv');

test('matrix.mtx uploaded with features.tsv and barcodes.tsv: the Components panel names genes and barcodes', async ({ page, server }) => {
  await openApp(page, server);
  await page.getByTestId('open-input').setInputFiles(['features.tsv', 'matrix.mtx', 'barcodes.tsv'].map((name) => path.join(TEN_X, name)));
  await expect(page.getByTestId('heatmap-V')).toBeVisible();
  await expect(page.getByTestId('document-name')).toHaveText('matrix.mtx');
  await expect(page.getByTestId('metric-dimensions')).toHaveText('8×6');
  await commit(page, 'rank-input', 2);
  expect(await waitForJob(page)).toBe('done');

  const panel = page.getByTestId('matrix-components');
  await expect(panel).toBeVisible();
  for (const k of [0, 1]) {
    const rows = await panel.getByTestId(`matrix-component-${k}-rows`).getByTestId('component-entry-label').allTextContents();
    const cols = await panel.getByTestId(`matrix-component-${k}-cols`).getByTestId('component-entry-label').allTextContents();
    // the gene names (features.tsv's second column), not the Ensembl ids, and the barcodes
    expect(rows.length).toBeGreaterThan(0);
    expect(cols.length).toBeGreaterThan(0);
    for (const label of rows) expect(GENE_NAMES).toContain(label.trim());
    for (const label of cols) expect(BARCODES).toContain(label.trim());
  }
  // the B-cell genes (CD19, MS4A1, CD79A, CD79B) and the T-cell genes (CD3D, CD3E, CD4, CD8A) lead one component each
  const leaders = await Promise.all(
    [0, 1].map(async (k) => (await panel.getByTestId(`matrix-component-${k}-rows`).getByTestId('component-entry-label').first().textContent())!.trim()),
  );
  expect(leaders.map((g) => (['CD19', 'MS4A1', 'CD79A', 'CD79B'].includes(g) ? 'B' : 'T')).sort()).toEqual(['B', 'T']);
});

test('a barcodes.tsv one line short, uploaded with its matrix, is refused in one line naming it', async ({ page, server, tmp }) => {
  for (const name of ['matrix.mtx', 'features.tsv']) copyFileSync(path.join(TEN_X, name), path.join(tmp, name));
  writeFileSync(path.join(tmp, 'barcodes.tsv'), BARCODES.slice(0, 5).join('\n') + '\n');
  await openApp(page, server);
  await page.getByTestId('open-input').setInputFiles(['matrix.mtx', 'features.tsv', 'barcodes.tsv'].map((name) => path.join(tmp, name)));
  const message = page.getByTestId('error-message');
  await expect(message).toHaveText('barcodes.tsv: 5 labels (one per line), but the matrix has 6 columns');
  // nothing half-open: the empty state still invites a file
  await expect(page.getByRole('button', { name: 'Open a file…' })).toBeVisible();
});

test('the three 10x files dropped together on the window open as one labelled matrix', async ({ page, server }) => {
  await openApp(page, server);
  await dropFiles(
    page.getByTestId('controls'),
    ['barcodes.tsv', 'features.tsv', 'matrix.mtx'].map((name) => ({ path: path.join(TEN_X, name) })),
  );
  await expect(page.getByTestId('document-name')).toHaveText('matrix.mtx');
  await commit(page, 'rank-input', 2);
  expect(await waitForJob(page)).toBe('done');
  const cols = await page.getByTestId('matrix-component-0-cols').getByTestId('component-entry-label').allTextContents();
  expect(cols.length).toBeGreaterThan(0);
  for (const label of cols) expect(BARCODES).toContain(label.trim());
});
