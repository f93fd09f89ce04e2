// Where Electron's executable is, and why the desktop shell cannot start when it cannot: shared by
// `npm start`, `npm test` and the Electron test suite so they all tell the same story.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');

/** The executable if it has been fetched, else null (Electron fetches its binary on first use). */
export function electronBinary() {
  const pathFile = path.join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = path.join(electronDir, 'dist', readFileSync(pathFile, 'utf8'));
  return existsSync(bin) ? bin : null;
}

export function electronInstaller() {
  return existsSync(electronDir) ? path.join(electronDir, 'install.js') : null;
}

/** Why no window can be shown here, or null when there is a display. */
export function displayProblem() {
  if (process.platform !== 'linux') return null;
  if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return null;
  return 'no display (DISPLAY and WAYLAND_DISPLAY are unset)';
}

/** Why the Electron test suite cannot run here, or null when it can. */
export function desktopSuiteSkipReason() {
  if (!electronBinary()) {
    return "Electron's binary is not installed (node_modules/electron/dist): npm fetches it from GitHub on first use, and this machine cannot reach GitHub";
  }
  const display = displayProblem();
  return display ? `${display}; run the tests under xvfb-run` : null;
}
