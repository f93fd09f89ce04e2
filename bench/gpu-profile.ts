// Where the gpu backend's time goes: each product with V and each factor-sized product of one Frobenius MU
// iteration, timed alone on a bound V, the floor of one tiny dispatch with its readback, and iterations of the
// resident MU path that the solver uses instead where it can, read back every iteration and every tenth.
//
//   node dist/bench/gpu-profile.js [--size 4096] [--rank 64] [--repeats 10] [--allow-software]

import { parseArgs } from 'node:util';
import { GpuUnavailableError, createGpuBackend } from '../src-main/backends/gpu/index.js';
import { allocate } from '../src-main/engine/matrix.js';
import { randomMatrix } from './random.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '4096' },
    rank: { type: 'string', default: '64' },
    repeats: { type: 'string', default: '10' },
    'allow-software': { type: 'boolean', default: false },
  },
});
const size = Number(args.size);
const rank = Number(args.rank);
const repeats = Number(args.repeats);

/** Mean time of op after a warm-up, divided by `per` (the operations that one call of op does). */
async function time(what: string, op: () => Promise<unknown>, per = 1): Promise<void> {
  await op(); // compiles the kernel
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await op();
  const ms = (performance.now() - started) / repeats / per;
  console.log(`${what.padEnd(52)} ${ms.toFixed(3)} ms`);
}

const gpu = await createGpuBackend({ allowSoftware: args['allow-software'] }).catch((e: unknown) => {
  console.log(`no GPU to profile: ${e instanceof GpuUnavailableError ? e.reasons.join('; ') : String(e)}`);
  process.exit(3);
});
console.log(`${gpu.label}; V ${size}×${size}, rank ${rank}, mean of ${repeats} calls after one warm-up`);
const V = randomMatrix(size, size, 1);
const W = randomMatrix(size, rank, 2);
const H = randomMatrix(rank, size, 3);
let started = performance.now();
const bound = await gpu.bind(V);
console.log(`${'bind (upload V)'.padEnd(52)} ${(performance.now() - started).toFixed(3)} ms`);
const tiny = randomMatrix(8, 8, 4);
const tinyOut = allocate(8, 8, 'float32');
await time('tiny 8×8 product, dispatch + readback', () => gpu.kernels.product('NN', { ...tiny, data: tiny.data as Float32Array }, { ...tiny, data: tiny.data as Float32Array }).then((r) => tinyOut.data.set(r)));
await time(`WᵀV (${rank}×${size})`, () => bound.WtV(W, allocate(rank, size, 'float32')));
await time(`V·Hᵀ (${size}×${rank})`, () => bound.VHt(H, allocate(size, rank, 'float32')));
await time(`WᵀW (${rank}×${rank})`, () => bound.WtW(W, allocate(rank, rank, 'float32')));
await time(`H·Hᵀ (${rank}×${rank})`, () => bound.HHt(H, allocate(rank, rank, 'float32')));
const small = randomMatrix(rank, rank, 5);
await time(`W·(HHᵀ) (${size}×${rank}·${rank}×${rank})`, () => gpu.matmul(W, small, false, false, allocate(size, rank, 'float32')));
await time(`(WᵀW)·H (${rank}×${rank}·${rank}×${size})`, () => gpu.matmul(small, H, false, false, allocate(rank, size, 'float32')));
await time('½‖V−WH‖² (loss pass over V)', () => bound.betaDivergence(W, H, 2));
if (bound.muFrobenius) {
  // what the MU solver runs per iteration on this backend: W and H stay on the device between calls; an iteration
  // that is watched reads W, H and the loss terms back, one that is not is only queued
  let resume = false;
  const iterate = async (read: boolean): Promise<void> => {
    const ran = await bound.muFrobenius!(W, H, 1, resume, read);
    if (!ran) throw new Error('the resident MU path declined');
    resume = true;
  };
  await time('one resident MU iteration, read back (watched)', () => iterate(true));
  await time('resident MU iteration, every tenth read back', async () => {
    for (let it = 1; it <= 10; it++) await iterate(it === 10);
  }, 10);
}
started = performance.now();
await bound.dispose();
await gpu.dispose();
console.log(`${'dispose'.padEnd(52)} ${(performance.now() - started).toFixed(3)} ms`);
