// Times a photograph's worth of tile fits (HALS from NNDSVD, a fixed number of iterations) batched on the gpu
// backend against the engine's fitBlock one tile at a time on one host thread, on the same tiles and starts, and
// says how far the two results are apart.
//
//   node dist/bench/gpu-tiles.js [--tiles 750] [--size 128] [--ranks 2-12] [--iter 20] [--sweeps 10] [--batch 0]
//                                [--allow-software] [--out DIR]
//
// --batch N fits N tiles per call (0: all in one call). The host side is one thread: the tiled encoder spreads its
// tiles over worker threads, so divide its time by the threads it has to compare with the encoder.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { blockSpectrum, fitBlock, nndsvdStart } from '../src-main/engine/block-fit.js';
import { GpuUnavailableError, createGpuBackend } from '../src-main/backends/gpu/index.js';
import { fitTilesBatched, type BatchTile } from '../src-main/backends/gpu/tile-batch.js';
import { randomMatrix } from './random.js';

const { values: args } = parseArgs({
  options: {
    tiles: { type: 'string', default: '750' },
    size: { type: 'string', default: '128' },
    ranks: { type: 'string', default: '2-12' },
    iter: { type: 'string', default: '20' },
    sweeps: { type: 'string', default: '10' },
    batch: { type: 'string', default: '0' },
    'allow-software': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const count = Number(args.tiles);
const size = Number(args.size);
const [rankLo, rankHi] = args.ranks.split('-').map(Number) as [number, number];
const maxIter = Number(args.iter);
const innerSweeps = Number(args.sweeps);
const batch = Number(args.batch) || count;

/** Image-like tiles: a smooth field with a little noise (low ranks fit them, as photographs' tiles), ranks cycling. */
function makeTiles(): { tiles: BatchTile[]; spectra: ReturnType<typeof blockSpectrum>[] } {
  const tiles: BatchTile[] = [];
  const spectra: ReturnType<typeof blockSpectrum>[] = [];
  for (let n = 0; n < count; n++) {
    const noise = randomMatrix(size, size, 1000 + n).data;
    const V = new Float32Array(size * size);
    const [fx, fy, phase] = [1 + (n % 7), 1 + ((n * 3) % 5), n / 10];
    for (let i = 0; i < size; i++) {
      for (let l = 0; l < size; l++) {
        V[i * size + l] = 0.5 + 0.25 * Math.sin((fx * i) / size + phase) * Math.cos((fy * l) / size) + 0.15 * Math.sin((i + l) / 17) + 0.05 * noise[i * size + l]!;
      }
    }
    const k = rankLo + (n % (rankHi - rankLo + 1));
    const sp = blockSpectrum(V, size, size, k);
    const start = nndsvdStart(sp, k);
    spectra.push(sp);
    tiles.push({ V, rows: size, cols: size, k, W0: Float32Array.from(start.W), H0: Float32Array.from(start.H) });
  }
  return { tiles, spectra };
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

async function main(): Promise<void> {
  console.log(`${count} tiles ${size}×${size}, ranks ${rankLo}–${rankHi}, ${maxIter} HALS iterations, up to ${innerSweeps} sweeps per product`);
  const { tiles, spectra } = makeTiles();
  const result: Record<string, unknown> = { tiles: count, size, ranks: [rankLo, rankHi], maxIter, innerSweeps, batch, host: { cpu: os.cpus()[0]?.model ?? 'unknown', threads: os.availableParallelism() } };

  // the host: fitBlock tile by tile on this thread, no early stop (the batch runs every iteration too)
  let started = performance.now();
  const hostErrors: number[] = [];
  for (let n = 0; n < count; n++) {
    const t = tiles[n]!;
    hostErrors.push(fitBlock(t.V, spectra[n]!, t.k, { maxIter, gapShare: -Infinity, innerSweeps }).error);
  }
  const hostSeconds = (performance.now() - started) / 1000;
  console.log(`host fitBlock, one thread: ${hostSeconds.toFixed(2)} s (${((1000 * hostSeconds) / count).toFixed(2)} ms a tile)`);
  result.hostSeconds = hostSeconds;

  try {
    const gpu = await createGpuBackend({ allowSoftware: args['allow-software'] });
    console.log(`gpu: ${gpu.label}`);
    result.gpuLabel = gpu.label;
    try {
      const run = async () => {
        const out = [];
        for (let from = 0; from < count; from += batch) out.push(...(await fitTilesBatched(tiles.slice(from, from + batch), { maxIter, innerSweeps, backend: gpu })));
        return out;
      };
      // the first run compiles the kernels for these shapes (kept for later batches); the second is the one timed
      started = performance.now();
      await run();
      const firstSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      const fits = await run();
      const gpuSeconds = (performance.now() - started) / 1000;
      // fitBlock stops a tile that reaches its spectrum's bound early; compare the tiles that ran every iteration
      let worst = 0;
      for (let n = 0; n < count; n++) worst = Math.max(worst, Math.abs(fits[n]!.error - hostErrors[n]!) / spectra[n]!.energy);
      console.log(`gpu batched: ${gpuSeconds.toFixed(2)} s (first run, compiling: ${firstSeconds.toFixed(2)} s); ${(hostSeconds / gpuSeconds).toFixed(2)}× the host thread`);
      console.log(`largest |error difference| / ‖V‖²: ${worst.toExponential(2)}`);
      Object.assign(result, { gpuSeconds, gpuFirstSeconds: firstSeconds, speedupOverOneThread: hostSeconds / gpuSeconds, worstErrorDifference: worst });
    } finally {
      await gpu.dispose();
    }
  } catch (e) {
    const reason = e instanceof GpuUnavailableError ? e.reasons.join('; ') : message(e);
    console.log(`gpu: not run (${reason})`);
    result.gpuError = reason;
  }

  if (args.out) {
    const dir = path.resolve(args.out);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'gpu-tiles.json'), `${JSON.stringify(result, null, 2)}\n`);
  }
}

await main();
