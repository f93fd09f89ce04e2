// Type-checks each runtime against its own tsconfig: the pure engine (no node, no DOM), the Node side, the renderer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const checks = [
  ['engine (pure)', tsc, ['-p', 'src-main/engine/tsconfig.json']],
  ['node side', tsc, ['-p', 'tsconfig.json', '--noEmit']],
];
if (existsSync(path.join(root, 'src-renderer', 'tsconfig.json'))) {
  checks.push(['renderer', require.resolve('svelte-check/bin/svelte-check'), ['--tsconfig', 'src-renderer/tsconfig.json', '--fail-on-warnings']]);
}
for (const suite of ['e2e', 'electron']) {
  if (existsSync(path.join(root, 'test', suite, 'tsconfig.json'))) {
    checks.push([`playwright ${suite} suite`, tsc, ['-p', `test/${suite}/tsconfig.json`]]);
  }
}
let failed = 0;
for (const [label, bin, args] of checks) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`typecheck: ${label} failed`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
