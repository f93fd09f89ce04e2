// Playwright fixtures: the real `nmf-studio serve` as a process per worker, and a page that fails its test on any console or page error.
import { expect, test as base, type Locator, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliBin = path.join(repoRoot, 'bin', 'nmf-studio.js');
export const fixture = (...parts: string[]): string => path.join(repoRoot, 'test', 'fixtures', ...parts);

export interface Server {
  /** The page address with its token, exactly as the server printed it. */
  url: string;
  token: string;
  /** Everything the server wrote, for failure reports. */
  output: string[];
}

const LISTENING = /^Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=(\S+))\s*$/;

async function startServer(): Promise<{ server: Server; child: ChildProcess }> {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} is missing`);
  const child = spawn(process.execPath, [cliBin, 'serve', '--port', '0'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const output: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const url = await new Promise<RegExpExecArray>((resolve, reject) => {
    let buffered = '';
    let first = true;
    const timer = setTimeout(() => reject(new Error(`the server printed no address within 30 s:\n${output.join('')}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output.push(chunk);
      if (!first) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      first = false;
      clearTimeout(timer);
      const line = buffered.slice(0, newline);
      const match = LISTENING.exec(line);
      if (match) resolve(match);
      else reject(new Error(`unexpected first line from the server: ${JSON.stringify(line)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${output.join('')}`));
    });
  });
  return { server: { url: url[1]!, token: url[2]!, output }, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

interface WorkerFixtures {
  server: Server;
}

interface TestFixtures {
  /** A temporary directory for this test, removed afterwards. */
  tmp: string;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    async ({}, use) => {
      const { server, child } = await startServer();
      try {
        await use(server);
      } finally {
        await stopServer(child);
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],

  tmp: async ({}, use) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-e2e-'));
    try {
      await use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  // Every test's page is watched: a console error or an uncaught exception fails the test.
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    await use(page);
    expect(errors, 'console errors and page errors during the test').toEqual([]);
  },
});

export { expect };

/** Loads the app and waits until it is ready to take a file. */
export async function openApp(page: Page, server: Server): Promise<void> {
  await page.goto(server.url);
  await expect(page.getByTestId('open-input')).toBeAttached();
  await expect(page.getByTestId('backend-chip')).toBeVisible();
}

export interface Controls {
  /** 'global' for what only one factorization of the whole image has: its rank as asked, components, rank curve. */
  layout?: 'global' | 'tiled' | 'auto';
  rank?: number;
  maxIter?: number;
  tol?: number;
}

/** Sets controls before (or after) a document is open; each commit is an Enter in its field. */
export async function setControls(page: Page, controls: Controls): Promise<void> {
  if (controls.layout !== undefined) await page.getByTestId('layout-select').selectOption(controls.layout);
  if (controls.maxIter !== undefined) await commit(page, 'max-iter-input', controls.maxIter);
  if (controls.tol !== undefined) await commit(page, 'tol-input', controls.tol);
  if (controls.rank !== undefined) await commit(page, 'rank-input', controls.rank);
}

export async function commit(page: Page, testId: string, value: number | string): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await input.press('Enter');
}

export async function openFile(page: Page, file: string): Promise<void> {
  await page.getByTestId('open-input').setInputFiles(file);
}

/** Drops files on an element as a file manager would: dragenter, dragover, drop, with the files in the transfer. */
export async function dropFiles(target: Locator, files: { path: string; type?: string }[]): Promise<void> {
  const list = files.map((f) => ({ name: path.basename(f.path), type: f.type ?? '', bytes: [...readFileSync(f.path)] }));
  const transfer = await target.page().evaluateHandle((items) => {
    const t = new DataTransfer();
    for (const { name, type, bytes } of items) t.items.add(new File([new Uint8Array(bytes)], name, { type }));
    return t;
  }, list);
  for (const type of ['dragenter', 'dragover', 'drop']) await target.dispatchEvent(type, { dataTransfer: transfer });
}

/** Waits for the current job to finish and returns the final status. */
export async function waitForJob(page: Page, timeout = 60_000): Promise<string> {
  const status = page.getByTestId('job-status');
  await expect(status).toHaveAttribute('data-status', /^(done|failed|cancelled)$/, { timeout });
  return (await status.getAttribute('data-status')) ?? '';
}

/** A number from a metric element (which holds just the number). */
export async function metric(page: Page, name: string): Promise<number> {
  const text = (await page.getByTestId(`metric-${name}`).textContent()) ?? '';
  const value = Number(text.trim());
  expect(Number.isFinite(value), `metric-${name} holds a number, not ${JSON.stringify(text)}`).toBe(true);
  return value;
}

/** A fingerprint of what a canvas shows (FNV-1a over its pixels). */
export async function canvasHash(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).evaluate((canvas: HTMLCanvasElement) => {
    const context = canvas.getContext('2d');
    if (!context) return 'no-context';
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let h = 0x811c9dc5;
    for (let i = 0; i < data.length; i++) {
      h ^= data[i]!;
      h = Math.imul(h, 0x01000193);
    }
    return `${canvas.width}x${canvas.height}:${(h >>> 0).toString(16)}`;
  });
}
