// `npm start`: the desktop app; where the desktop shell cannot start (no Electron binary, no display),
// one line says why and the web mode starts instead, opening the sample image, with its URL printed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { displayProblem, electronBinary, electronInstaller, root } from './electron-binary.mjs';

const args = process.argv.slice(2);

if (!existsSync(path.join(root, 'dist', 'src-main', 'cli', 'main.js')) || !existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** The Electron executable, fetched now if need be, or why there is none. */
function fetchElectron() {
  let bin = electronBinary();
  if (bin) return { bin };
  const installer = electronInstaller();
  if (!installer) return { reason: 'Electron is not installed (run npm install)' };
  const r = spawnSync(process.execPath, [installer], { encoding: 'utf8', timeout: 180_000 });
  bin = electronBinary();
  if (bin) return { bin };
  const detail = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').find((l) => /error|fail|ENOTFOUND|ECONN|timed? ?out/i.test(l));
  return { reason: `Electron's binary could not be downloaded${detail ? ` (${detail.trim().slice(0, 120)})` : ''}` };
}

const electron = fetchElectron();
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
