// `npm run bench`: builds the Node side, then runs the benchmark (bench/bench.ts) with any arguments given:
//   npm run bench -- --cases camera,random1024 --backends cpu
//   npm run bench -- --photos [--quick]      (real photographs: bench/photos.ts)
//   npm run bench -- --gpu-tiles [--tiles 750 --allow-software]   (batched tile fits on the GPU: bench/gpu-tiles.ts)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), 'main'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const args = process.argv.slice(2);
const tiles = args.includes('--gpu-tiles');
const script = tiles ? 'gpu-tiles.js' : args.includes('--photos') ? 'photos.js' : 'bench.js';
const rest = tiles ? args.filter((a) => a !== '--gpu-tiles') : args;
const r = spawnSync(process.execPath, [path.join(root, 'dist', 'bench', script), ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
