// Batched tile fits on the gpu backend (headless-gl, software renderer accepted, under Xvfb) against a float64 host
// implementation of the same iteration, which is itself checked against the engine's fitBlock.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { blockSpectrum, fitBlock, nndsvdStart } from '../../src-main/engine/block-fit.js';
import { createGpuBackend, GpuUnavailableError, type GpuBackend } from '../../src-main/backends/gpu/index.js';
import { fitPacked, fitTilesBatched, groupTiles, packedLength, packTiles, sweepsFor, type BatchFit, type BatchTile } from '../../src-main/backends/gpu/tile-batch.js';
import { seeded } from './support.js';
import sharp from 'sharp';
import { decodeImage } from '../../src-main/codec/image-io.js';
import { decodeNmfz, decodePixels } from '../../src-main/codec/nmfz.js';
import { TiledEncoder } from '../../src-main/codec/tiled-encoder.js';
import type { TileBatchFitter, TiledSettings } from '../../src-main/codec/tiled-encoder.js';
import { BLOCK_FIT_DEFAULTS } from '../../src-main/engine/block-fit.js';
import { fixture } from '../helpers/paths.js';

/**
 * fitBlock's iteration for a fixed count, in float64: W's columns swept against V·Hᵀ and H·Hᵀ, then H's rows against
 * Wᵀ·V and Wᵀ·W, each `sweeps` times per product, clipped at 0; the error ‖V − W·H‖² at the end.
 */
function halsOnHost(V: ArrayLike<number>, rows: number, cols: number, k: number, W0: ArrayLike<number>, H0: ArrayLike<number>, maxIter: number, innerSweeps: number) {
  const W = Float64Array.from(W0);
  const H = Float64Array.from(H0);
  const sweeps = sweepsFor(rows, cols, k, innerSweeps);
  const A = new Float64Array(rows * k);
  const C = new Float64Array(k * cols);
  const B = new Float64Array(k * k);
  for (let it = 0; it < maxIter; it++) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) {
      let s = 0;
      for (let l = 0; l < cols; l++) s += V[i * cols + l]! * H[j * cols + l]!;
      A[i * k + j] = s;
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      let s = 0;
      for (let l = 0; l < cols; l++) s += H[a * cols + l]! * H[b * cols + l]!;
      B[a * k + b] = s;
    }
    for (let s = 0; s < sweeps; s++) {
      for (let j = 0; j < k; j++) {
        const d = B[j * k + j]!;
        if (!(d > 0)) continue;
        for (let i = 0; i < rows; i++) {
          let r = A[i * k + j]!;
          for (let t = 0; t < k; t++) r -= W[i * k + t]! * B[t * k + j]!;
          W[i * k + j] = Math.max(0, W[i * k + j]! + r / d);
        }
      }
    }
    for (let j = 0; j < k; j++) for (let l = 0; l < cols; l++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += W[i * k + j]! * V[i * cols + l]!;
      C[j * cols + l] = s;
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += W[i * k + a]! * W[i * k + b]!;
      B[a * k + b] = s;
    }
    for (let s = 0; s < sweeps; s++) {
      for (let j = 0; j < k; j++) {
        const d = B[j * k + j]!;
        if (!(d > 0)) continue;
        for (let l = 0; l < cols; l++) {
          let r = C[j * cols + l]!;
          for (let t = 0; t < k; t++) r -= B[j * k + t]! * H[t * cols + l]!;
          H[j * cols + l] = Math.max(0, H[j * cols + l]! + r / d);
        }
      }
    }
  }
  let error = 0;
  for (let i = 0; i < rows; i++) for (let l = 0; l < cols; l++) {
    let wh = 0;
    for (let t = 0; t < k; t++) wh += W[i * k + t]! * H[t * cols + l]!;
    error += (V[i * cols + l]! - wh) ** 2;
  }
  return { W, H, error };
}

/** rows, cols, rank: full tiles, edge tiles, a single pixel, ranks 1–7 (never all a multiple of 4). */
const SHAPES: [number, number, number][] = [
  [128, 128, 7],
  [37, 128, 3],
  [128, 5, 2],
  [1, 1, 1],
  [64, 64, 4],
  [20, 33, 5],
  [9, 9, 6],
  [128, 17, 1],
  [50, 128, 7],
  [12, 40, 3],
];
const OPTIONS = { maxIter: 4, innerSweeps: 10 };

/** Image-like tiles (values in [0, 1) with a smooth part, so that low ranks fit them) and their NNDSVD starts. */
function makeTiles(): { tile: BatchTile; start: { W: Float64Array; H: Float64Array } }[] {
  return SHAPES.map(([rows, cols, k], n) => {
    const noise = seeded(rows, cols, 100 + n);
    const V = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let l = 0; l < cols; l++) V[i * cols + l] = 0.5 + 0.3 * Math.sin((i + n) / 9) * Math.cos(l / 13) + 0.2 * noise.data[i * cols + l]!;
    }
    const start = nndsvdStart(blockSpectrum(V, rows, cols, k), k);
    return { tile: { V, rows, cols, k, W0: Float32Array.from(start.W), H0: Float32Array.from(start.H) }, start };
  });
}

let backend: GpuBackend | null = null;
let unavailable = 'no GPU mode was tried';
before(async () => {
  try {
    backend = await createGpuBackend({ modes: ['headlessgl'], allowSoftware: true });
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    unavailable = e.message;
  }
});
after(() => backend?.dispose());

function device(t: TestContext): GpuBackend | null {
  if (!backend) {
    if (process.env.NMF_TEST_REQUIRE_GPU === '1') assert.fail(`the gpu backend cannot run: ${unavailable}`);
    t.skip(`no GPU mode loads here: ${unavailable}`);
  }
  return backend;
}

test('the host iteration is fitBlock’s: the same W, H and error when fitBlock runs all its iterations', () => {
  for (const { tile, start } of makeTiles()) {
    const { V, rows, cols, k } = tile;
    const sp = blockSpectrum(V, rows, cols, k);
    // gapShare −∞: no early stop on gain; only a tile that reaches its spectrum's bound stops early
    const want = fitBlock(V, sp, k, { maxIter: OPTIONS.maxIter, gapShare: -Infinity, innerSweeps: OPTIONS.innerSweeps });
    if (want.iterations !== OPTIONS.maxIter) continue;
    const got = halsOnHost(V, rows, cols, k, start.W, start.H, OPTIONS.maxIter, OPTIONS.innerSweeps);
    const what = `${rows}×${cols} rank ${k}`;
    for (let c = 0; c < got.W.length; c++) assert.ok(Math.abs(got.W[c]! - want.W[c]!) <= 1e-9 * (1 + Math.abs(want.W[c]!)), `${what}: W[${c}]`);
    for (let c = 0; c < got.H.length; c++) assert.ok(Math.abs(got.H[c]! - want.H[c]!) <= 1e-9 * (1 + Math.abs(want.H[c]!)), `${what}: H[${c}]`);
    assert.ok(Math.abs(got.error - want.error) <= 1e-9 * sp.energy, `${what}: error ${got.error} vs ${want.error}`);
  }
});

test('a batch of ten tiles of mixed sizes and ranks fits as the host does, tile by tile', async (t) => {
  const b = device(t);
  if (!b) return;
  const tiles = makeTiles();
  const got = await fitTilesBatched(tiles.map((x) => x.tile), { ...OPTIONS, backend: b });
  assert.equal(got.length, tiles.length);
  // a second batch of the same shapes compiles nothing and gives the same numbers
  const compiled = b.kernels.compiled;
  const again = await fitTilesBatched(tiles.map((x) => x.tile), { ...OPTIONS, backend: b });
  assert.equal(b.kernels.compiled, compiled);
  assert.deepEqual(again.map((f) => f.error), got.map((f) => f.error));
  tiles.forEach(({ tile }, n) => assertFitsAsHost(tile, got[n]!, `tile ${n}`));
});

/** A batch fit against halsOnHost from the same start: W and H entry by entry, the error, to float32 rounding. */
function assertFitsAsHost(tile: BatchTile, fit: BatchFit, name: string): void {
  const { V, rows, cols, k, W0, H0 } = tile;
  const want = halsOnHost(V, rows, cols, k, W0, H0, OPTIONS.maxIter, OPTIONS.innerSweeps);
  const what = `${name} (${rows}×${cols} rank ${k})`;
  assert.equal(fit.iterations, OPTIONS.maxIter, `${what}: iterations`);
  assert.equal(fit.W.length, rows * k);
  assert.equal(fit.H.length, k * cols);
  // float32 against float64: each entry within 1e-4 of its factor's largest
  const close = (g: ArrayLike<number>, w: ArrayLike<number>, factor: string) => {
    let scale = 0;
    for (let c = 0; c < w.length; c++) scale = Math.max(scale, Math.abs(w[c]!));
    for (let c = 0; c < w.length; c++) {
      assert.ok(Math.abs(g[c]! - w[c]!) <= 1e-4 * scale, `${what}: ${factor}[${c}] is ${g[c]}, expected ${w[c]} (scale ${scale})`);
    }
  };
  close(fit.W, want.W, 'W');
  close(fit.H, want.H, 'H');
  let energy = 0;
  for (let c = 0; c < V.length; c++) energy += V[c]! * V[c]!;
  assert.ok(Math.abs(fit.error - want.error) <= 1e-5 * energy, `${what}: error ${fit.error}, expected ${want.error}`);
}

test('the comparison catches a packing fault: two tiles’ H offsets swapped make their fits fail it', async (t) => {
  const b = device(t);
  if (!b) return;
  const tiles = makeTiles().map((x) => x.tile);
  const which = [1, 4, 5];
  const p = packTiles(tiles, which, OPTIONS.innerSweeps);
  const fits = await fitPacked(b, p, OPTIONS.maxIter);
  which.forEach((n, t) => assertFitsAsHost(tiles[n]!, fits[t]!, `tile ${n}`));
  // tile 1 (37×128, rank 3) and tile 4 (64×64, rank 4) read each other's H
  const H_OFFSET = 5;
  const [a, c] = [p.meta[0 * 9 + H_OFFSET]!, p.meta[1 * 9 + H_OFFSET]!];
  p.meta[0 * 9 + H_OFFSET] = c;
  p.meta[1 * 9 + H_OFFSET] = a;
  const broken = await fitPacked(b, p, OPTIONS.maxIter);
  assert.throws(() => assertFitsAsHost(tiles[1]!, broken[0]!, 'tile 1'), /is .*, expected/);
  assert.throws(() => assertFitsAsHost(tiles[4]!, broken[1]!, 'tile 4'), /is .*, expected/);
  // the third tile's offsets were left alone
  assertFitsAsHost(tiles[5]!, broken[2]!, 'tile 5');
});

test('an all-zero tile comes back as zeros after no iterations, as from fitBlock, beside a real one', async (t) => {
  const b = device(t);
  if (!b) return;
  const [one] = makeTiles();
  const zero: BatchTile = { V: new Float32Array(6 * 7), rows: 6, cols: 7, k: 2, W0: new Float32Array(12).fill(0.3), H0: new Float32Array(14).fill(0.2) };
  const [z, f] = await fitTilesBatched([zero, one!.tile], { maxIter: 1, innerSweeps: 2, backend: b });
  assert.deepEqual([z!.iterations, z!.error, Math.max(...z!.W), Math.max(...z!.H)], [0, 0, 0, 0]);
  assert.equal(f!.iterations, 1);
  assert.ok(f!.error > 0);
});

test('packing puts each tile at its own offsets; groups stay within the texture limit', () => {
  const tiles = makeTiles().map((x) => x.tile);
  const p = packTiles(tiles, [1, 3], 10);
  // tile 1 (37×128, rank 3) first, then tile 3 (1×1, rank 1)
  assert.deepEqual(Array.from(p.meta.subarray(9, 18)), [1, 1, 1, 37 * 128, 37 * 3, 3 * 128, 9, 2, 37]);
  assert.equal(p.v[37 * 128], tiles[3]!.V[0]);
  assert.deepEqual([p.wOwner[37 * 3 - 1], p.wOwner[37 * 3], p.gOwner[8], p.gOwner[9]], [0, 1, 0, 1]);
  // padded to shared lengths (V: 37·128 + 1 = 4737 → 5120, in steps of 512 between 4096 and 8192), owned by no tile
  assert.deepEqual([p.v.length, p.wOwner.length, p.gOwner.length, p.gOwner[10]], [5120, 112, 64, -1]);
  assert.deepEqual([packedLength(1), packedLength(64), packedLength(65), packedLength(1000), packedLength(1024), packedLength(2 ** 24 + 5)], [64, 64, 72, 1024, 1024, 2 ** 24 - 1]);
  // 37×128 at rank 3 takes 5 sweeps, the single pixel 2: rank 3 for every sweep
  assert.deepEqual(packTiles(tiles, [1, 3], 10).columnsInSweep, [3, 3, 3, 3, 3]);
  // rank 7 at 128×128 takes 5 sweeps (10 at most), rank 1 at 128×17 takes 8
  assert.deepEqual(packTiles(tiles, [0, 7], 10).columnsInSweep, [7, 7, 7, 7, 7, 1, 1, 1]);
  const limit = 128 * 128 + 64 * 64;
  const groups = groupTiles(tiles, limit);
  assert.deepEqual(groups.flat(), tiles.map((_, n) => n));
  assert.ok(groups.length >= 3);
  for (const g of groups) assert.ok(packTiles(tiles, g, 10).v.length <= limit, `group ${g.join(',')}`);
  assert.throws(() => groupTiles(tiles, 100), /tile 0 \(128×128, rank 7\) is too large/);
});

test('the tiled encoder on the GPU backend: its tiles fitted in batches land where the tile threads do, at the same ranks', async (t) => {
  const gpu = device(t);
  if (!gpu) return;
  // 300×200: tiles of the size the encoder chooses, the last column and row smaller
  const bytes = await sharp(fixture('images', 'chelsea.png')).resize(300, 200, { fit: 'fill' }).png().toBuffer();
  const source = await decodeImage(bytes, 'cat.png');
  const maxIter = 12;
  const nmf: TiledSettings['nmf'] = { solver: 'hals', init: 'nndsvd', betaLoss: 'frobenius', maxIter, tol: 0, seed: 0, alphaW: 0, alphaH: 'same', l1Ratio: 0, iterations: 0, backend: 'gpu' };
  const encode = async (fitTiles?: TileBatchFitter) => {
    // gapShare −∞: the tile threads run every iteration, as a batch does
    const encoder = new TiledEncoder(source, { colorMode: 'ycbcr', bits: 6, nmf, fit: { maxIter, gapShare: -Infinity }, ...(fitTiles ? { fitTiles } : {}) });
    try {
      return await encoder.encode({ rank: 20 });
    } finally {
      await encoder.close();
    }
  };
  let batched = 0;
  const onGpu: TileBatchFitter = (tiles, iterations) => {
    batched += tiles.length;
    return fitTilesBatched(tiles, { maxIter: iterations, innerSweeps: BLOCK_FIT_DEFAULTS.innerSweeps, backend: gpu });
  };
  // what the fits start from: a fitter that hands the starts back
  const unfitted: TileBatchFitter = async (tiles) => tiles.map((x) => ({ W: x.W0, H: x.H0, iterations: 0 }));
  const [cpu, viaGpu, starts] = [await encode(), await encode(onGpu), await encode(unfitted)];
  assert.equal(batched, 3 * viaGpu.tiles.tilesX * viaGpu.tiles.tilesY, 'every tile of the three planes went through the batch');
  assert.deepEqual(viaGpu.tiles.planes.map((p) => p.ranks), cpu.tiles.planes.map((p) => p.ranks), 'the same ranks');
  const gap = Math.abs(viaGpu.psnr - cpu.psnr);
  assert.ok(gap <= 0.05, `GPU ${viaGpu.psnr} dB against the tile threads' ${cpu.psnr} dB`);
  // and the fitting shows: the starts alone are far further off
  assert.ok(cpu.psnr - starts.psnr > 10 * gap + 0.1, `the starts reach ${starts.psnr} dB, the fits ${cpu.psnr} dB`);
  assert.equal(decodePixels(decodeNmfz(viaGpu.bytes, 'cat.nmfz')).width, 300);
});
