// The desktop shell itself, driven through Playwright's Electron support. It needs Electron's binary,
// which `npm install` fetches lazily from GitHub; where it is absent the suite reports itself skipped.
import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktopSuiteSkipReason, electronBinary } from '../../scripts/electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const images = path.join(root, 'test', 'fixtures', 'images');

const binary = electronBinary();
const skipReason = desktopSuiteSkipReason();
test.skip(skipReason !== null, skipReason ?? '');

let userData: string;
let app: ElectronApplication | undefined;

test.beforeEach(() => {
  userData = mkdtempSync(path.join(os.tmpdir(), 'nmf-electron-'));
});
test.afterEach(async () => {
  await app?.close();
  app = undefined;
  rmSync(userData, { recursive: true, force: true });
});

async function launch(...files: string[]): Promise<ElectronApplication> {
  app = await electron.launch({
    executablePath: binary!,
    args: [root, ...files],
    env: { ...process.env, NMF_STUDIO_USER_DATA: userData },
  });
  return app;
}

test('launches with a file from the command line and shows its name in the title', async () => {
  const a = await launch(path.join(images, 'camera.png'));
  const win = await a.firstWindow();
  await expect.poll(() => win.title(), { timeout: 30_000 }).toContain('camera.png');
  await expect(win.getByTestId('view-original')).toBeVisible();
  // The window is sandboxed: no Node in the page, only the narrow bridge.
  expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
  expect(await win.evaluate(() => typeof (globalThis as { nmf?: { openPath?: unknown } }).nmf?.openPath)).toBe('function');
});

test('a second instance forwards its file to the first window and exits', async () => {
  const a = await launch(path.join(images, 'camera.png'));
  const win = await a.firstWindow();
  await expect.poll(() => win.title(), { timeout: 30_000 }).toContain('camera.png');
  const second = spawn(binary!, [root, path.join(images, 'coins.png')], { env: { ...process.env, NMF_STUDIO_USER_DATA: userData } });
  const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
  expect(code).toBe(0);
  await expect.poll(() => win.title(), { timeout: 30_000 }).toContain('coins.png');
});

test('a bad file shows an error in the window and the app stays usable', async () => {
  const bad = path.join(userData, 'not-really.png');
  writeFileSync(bad, 'this is text, not a PNG');
  const a = await launch(bad);
  const win = await a.firstWindow();
  await expect(win.getByTestId('error-message')).toBeVisible({ timeout: 30_000 });
  await expect(win.getByTestId('error-message')).toContainText('not-really.png');
  await win.getByTestId('open-input').setInputFiles(path.join(images, 'coins.png'));
  await expect.poll(() => win.title(), { timeout: 30_000 }).toContain('coins.png');
});
