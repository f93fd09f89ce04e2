// Builds everything `npm start`, `npx nmf-studio` and the tests run: the Node side with tsc, the renderer with Vite.
// Runs from `prepare`, so a fresh `npm install` / `npm ci` leaves a working CLI and app.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const only = process.argv[2]; // 'main' | 'renderer' | undefined (both)

function run(label, bin, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${label} failed`);
    process.exit(r.status ?? 1);
  }
}

if (only !== 'renderer') {
  rmSync(path.join(root, 'dist', 'src-main'), { recursive: true, force: true });
  rmSync(path.join(root, 'dist', 'test'), { recursive: true, force: true });
  run('tsc', require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json']);
}
if (only !== 'main' && existsSync(path.join(root, 'src-renderer', 'index.html'))) {
  // vite's package exports do not list its bin; find it beside its package.json.
  const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  run('vite', vite, ['build', '--config', 'src-renderer/vite.config.ts', '--logLevel', 'warn']);
}
