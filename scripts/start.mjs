// `npm start`: the desktop app; where the desktop shell cannot start (no Electron binary, no display),
// one line says why and the web mode starts instead, opening the sample image, with its URL printed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (!existsSync(path.join(root, 'dist', 'src-main', 'cli', 'main.js')) || !existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** The Electron executable, or why there is none. Electron fetches its binary on first use. */
function electronBinary() {
  const dir = path.join(root, 'node_modules', 'electron');
  if (!existsSync(dir)) return { reason: 'Electron is not installed (run npm install)' };
  const binary = () => {
    const p = path.join(dir, 'path.txt');
    if (!existsSync(p)) return null;
    const full = path.join(dir, 'dist', readFileSync(p, 'utf8'));
    return existsSync(full) ? full : null;
  };
  let bin = binary();
  if (!bin) {
    const r = spawnSync(process.execPath, [path.join(dir, 'install.js')], { encoding: 'utf8', timeout: 180_000 });
    bin = binary();
    if (!bin) {
      const detail = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').find((l) => /error|fail|ENOTFOUND|ECONN|timed? ?out/i.test(l));
      return { reason: `Electron's binary could not be downloaded${detail ? ` (${detail.trim().slice(0, 120)})` : ''}` };
    }
  }
  return { bin };
}

function displayProblem() {
  if (process.platform !== 'linux') return null;
  if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return null;
  return 'no display (DISPLAY and WAYLAND_DISPLAY are unset)';
}

const electron = electronBinary();
const reason = electron.reason ?? displayProblem();
if (!reason) {
  const child = spawn(electron.bin, [root, ...args], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
} else {
  console.log(`NMF Studio: the desktop shell cannot start here: ${reason}; starting the web mode instead.`);
  const files = args.length ? args : [path.join(root, 'assets', 'sample.png')];
  const child = spawn(process.execPath, [path.join(root, 'bin', 'nmf-studio.js'), 'serve', ...files.flatMap((f) => ['--open', path.resolve(f)])], {
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
}
