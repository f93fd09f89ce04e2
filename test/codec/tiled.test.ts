// The tiled layout: version 4 files (and version 3's) round-trip and refuse corruption, ranks are allocated by equal slope to their
// targets, the spectra match the exact SVD, seams do not show, and awkward images still work.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { allocateRanks } from '../../src-main/codec/allocate.js';
import { imageToPlanes } from '../../src-main/codec/colour.js';
import type { BlockCurve } from '../../src-main/codec/allocate.js';
import { decodeImage } from '../../src-main/codec/image-io.js';
import type { SourceImage } from '../../src-main/codec/image-io.js';
import { psnr, ssim } from '../../src-main/codec/metrics.js';
import { decodeNmfz, decodePixels, encodeNmfz, readNmfzHeader } from '../../src-main/codec/nmfz.js';
import type { NmfzContent } from '../../src-main/codec/nmfz.js';
import { TiledEncoder } from '../../src-main/codec/tiled-encoder.js';
import { dequantizePlane, quantizePlane, reconstructRow } from '../../src-main/codec/quantize.js';
import { prestartTileThreads } from '../../src-main/codec/tile-work.js';
import { BandDeblocker, BorderStrips, chooseDeblockThreshold, DEBLOCK_CANDIDATES, deblockPlane, reconstructTiles, SEAM_JUMP_ALLOWANCE, tileGrid, tileRect } from '../../src-main/codec/tiles.js';
import type { TiledSettings, TiledTarget } from '../../src-main/codec/tiled-encoder.js';
import type { ImagePixels } from '../../src-main/codec/types.js';
import { blockSpectrum, fitBlock } from '../../src-main/engine/block-fit.js';
import { BlockKernel } from '../../src-main/backends/cpu/block-kernel.js';
import { denseTriplets } from '../../src-main/engine/svd.js';
import { UserError } from '../../src-main/engine/errors.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';

const work = mkdtempSync(path.join(tmpdir(), 'nmf-tiled-'));
after(() => rmSync(work, { recursive: true, force: true }));

const NMF: TiledSettings['nmf'] = {
  solver: 'hals', init: 'nndsvd', betaLoss: 'frobenius', maxIter: 30, tol: 0, seed: 0, alphaW: 0, alphaH: 'same', l1Ratio: 0, iterations: 0, backend: 'cpu',
};

async function source(name: string, bytes: Buffer): Promise<SourceImage> {
  return decodeImage(bytes, name);
}

/** A fixture photograph resized to width × height, as PNG bytes. */
async function photo(name: string, width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  let img = sharp(fixture('images', name)).resize(width, height, { fit: 'fill' });
  img = channels === 4 ? img.ensureAlpha() : img.removeAlpha();
  return img.png().toBuffer();
}

async function encode(src: SourceImage, target: TiledTarget, extra: Partial<TiledSettings> = {}) {
  const encoder = new TiledEncoder(src, { colorMode: 'ycbcr', bits: 6, nmf: NMF, brotliQuality: 9, ...extra });
  try {
    return await encoder.encode(target);
  } finally {
    await encoder.close();
  }
}

/** Mean |jump| between the samples on either side of every tile border, over all channels. */
function borderJump(img: ImagePixels, tileSize: number): number {
  const { width: w, height: h, channels: C, data } = img;
  let sum = 0;
  let n = 0;
  for (let x0 = tileSize; x0 < w; x0 += tileSize) {
    for (let y = 0; y < h; y++) for (let c = 0; c < Math.min(C, 3); c++) (sum += Math.abs(data[(y * w + x0) * C + c]! - data[(y * w + x0 - 1) * C + c]!)), n++;
  }
  for (let y0 = tileSize; y0 < h; y0 += tileSize) {
    for (let x = 0; x < w; x++) for (let c = 0; c < Math.min(C, 3); c++) (sum += Math.abs(data[(y0 * w + x) * C + c]! - data[((y0 - 1) * w + x) * C + c]!)), n++;
  }
  return sum / n;
}

/** The same content with its codes Brotli'd with the rest of the payload: a version 3 file. */
function asVersion3(content: NmfzContent): Buffer {
  const h = content.header;
  return encodeNmfz({ ...content, header: { ...h, quantization: { ...h.quantization, coding: 'delta-zigzag' } } }, { quality: 9 });
}

test('a tiled file is version 4, and reading its bytes back gives exactly the pixels and tile map the encoder measured; as version 3 too', async () => {
  const src = await source('astronaut.png', await photo('astronaut.png', 300, 200));
  const e = await encode(src, { psnr: 30 });
  const { formatVersion, header } = readNmfzHeader(e.bytes, 'a.nmfz');
  assert.equal(formatVersion, 4);
  assert.equal(header.layout, 'tiled');
  assert.ok([48, 64, 96, 128].includes(header.tileSize!), `tile size ${header.tileSize}`);
  assert.equal(header.quantization.coding, 'adaptive-range');
  const content = decodeNmfz(e.bytes, 'a.nmfz');
  assert.deepEqual(decodePixels(content).data, e.decoded.data);
  // The codes Brotli'd instead (version 3, as files were written before version 4): the same tiles, the same pixels.
  const v3 = asVersion3(content);
  assert.equal(readNmfzHeader(v3, 'a3.nmfz').formatVersion, 3);
  const back = decodeNmfz(v3, 'a3.nmfz');
  assert.deepEqual(back.tiles, content.tiles);
  assert.deepEqual(decodePixels(back).data, e.decoded.data);
  assert.equal(e.tiles.tileSize, header.tileSize);
  assert.equal(e.tiles.tilesX, Math.ceil(300 / header.tileSize!));
  assert.equal(e.tiles.tilesY, Math.ceil(200 / header.tileSize!));
  assert.deepEqual(e.tiles.planes.map((p) => p.name), ['y', 'cb', 'cr']);
  for (const [i, p] of e.tiles.planes.entries()) {
    assert.equal(p.ranks.length, e.tiles.tilesX * e.tiles.tilesY);
    assert.deepEqual(p.ranks, content.tiles![i]!.map((q) => q.rank));
    assert.equal(p.ranks.reduce((s, k) => s + k, 0), header.planes[i]!.rank);
    assert.ok(p.ranks.every((k) => k >= 1), 'every tile keeps at least its mean');
    assert.ok(p.psnr.every((v) => v > 15 && v <= 100), `tile PSNRs ${p.psnr}`);
  }
  assert.equal(e.rank, header.rank);
  assert.ok(Math.abs(psnr(src.pixels, e.decoded) - e.psnr) < 1e-9);
});

test('the PSNR target is met within 0.3 dB, and a size target within 5 % without going over', async () => {
  const src = await source('coffee.png', await photo('coffee.png', 384, 256));
  for (const target of [28, 31]) {
    const e = await encode(src, { psnr: target });
    assert.ok(Math.abs(e.psnr - target) <= 0.3, `target ${target} dB, reached ${e.psnr.toFixed(2)} dB`);
  }
  for (const bytes of [12_000, 25_000]) {
    const e = await encode(src, { bytes });
    assert.ok(e.bytes.length <= bytes && e.bytes.length >= 0.95 * bytes, `target ${bytes} bytes, wrote ${e.bytes.length}`);
  }
});

test('--rank K stores as many numbers as the global layout at rank K, and more rank means a better file', async () => {
  const src = await source('chelsea.png', await photo('chelsea.png', 320, 200));
  const small = await encode(src, { rank: 10 });
  const large = await encode(src, { rank: 40 });
  const stored = (e: typeof small): number =>
    e.content.tiles!.flat().reduce((s, q) => s + q.rank * (q.rows + q.cols), 0);
  // global rank 10 in ycbcr: 8 + 1 + 1 components of 200 + 320 entries each
  assert.ok(stored(small) <= 10 * 520 && stored(small) > 0.8 * 10 * 520, `stored ${stored(small)}`);
  assert.ok(stored(large) <= 40 * 520);
  assert.ok(large.psnr > small.psnr + 1, `${small.psnr} then ${large.psnr}`);
});

test("the encoder's SSIM, summed in bands on its tile threads, is ssim()'s to rounding", async () => {
  const src = await source('coffee.png', await photo('coffee.png', 1200, 900));
  const other = { ...src.pixels, data: Uint8Array.from(src.pixels.data, (v, i) => Math.max(0, Math.min(255, v + ((i * 7919) % 23) - 11))) };
  const encoder = new TiledEncoder(src, { colorMode: 'ycbcr', bits: 6, nmf: NMF, threads: 2 });
  try {
    const banded = await encoder.ssim(other);
    const whole = ssim(src.pixels, other);
    assert.ok(whole > 0.5 && whole < 0.99, `ssim ${whole}`);
    assert.ok(Math.abs(banded - whole) < 1e-12, `${banded} against ${whole}`);
  } finally {
    await encoder.close();
  }
});

test('the tile threads make the same file as one thread: spectra, fits and measures split among them change no byte', async () => {
  const src = await source('coffee.png', await photo('coffee.png', 1200, 900));
  prestartTileThreads(); // running before the encoder starts, as in a single-file compress
  const made = [];
  for (const threads of [2, 1]) {
    const encoder = new TiledEncoder(src, { colorMode: 'ycbcr', bits: 6, nmf: NMF, threads });
    try {
      made.push(await encoder.encode({ psnr: 33 }));
    } finally {
      await encoder.close();
    }
  }
  assert.ok(made[0]!.tiles.tilesX > 1);
  assert.deepEqual(made[0]!.bytes, made[1]!.bytes);
});

test('the tile size follows the content: small tiles for a texture, large ones for a smooth picture, as the settings say when they do', async () => {
  const w = 512;
  const h = 384;
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const noise = Buffer.alloc(w * h * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = 60 + Math.floor(random() * 140);
  const smooth = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) smooth.set([40 + (x * 160) / w, 80 + (y * 120) / h, 200 - (x * 60) / w], (y * w + x) * 3);
  const sizeOf = async (px: Buffer, extra: Partial<TiledSettings> = {}): Promise<number> => {
    const src = await source('t.png', await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
    return (await encode(src, { psnr: 36 }, extra)).tiles.tileSize;
  };
  assert.equal(await sizeOf(noise), 48);
  assert.equal(await sizeOf(smooth), 128);
  assert.equal(await sizeOf(noise, { tileSize: 128 }), 128);
  assert.equal(await sizeOf(smooth, { tileSize: 48 }), 48);
});

test('a build\'s SSIM, measured band by band on the tile threads while it is decoded, is ssim()\'s to rounding', async () => {
  const src = await source('coffee.png', await photo('coffee.png', 1200, 900));
  const encoder = new TiledEncoder(src, { colorMode: 'ycbcr', bits: 6, nmf: NMF, threads: 2 });
  try {
    const e = await encoder.encode({ psnr: 33 });
    assert.deepEqual(decodePixels(decodeNmfz(e.bytes, 'coffee.nmfz')).data, e.decoded.data);
    const measured = await encoder.ssim(e.decoded);
    const whole = ssim(src.pixels, e.decoded);
    assert.ok(whole > 0.5 && whole < 0.999, `ssim ${whole}`);
    assert.ok(Math.abs(measured - whole) < 1e-12, `${measured} against ${whole}`);
  } finally {
    await encoder.close();
  }
});

test('tile borders do not show: the mean jump across them is at most 1.25 times the original image\'s', async () => {
  const src = await source('astronaut.png', await photo('astronaut.png', 384, 384));
  for (const target of [32, 38]) {
    const e = await encode(src, { psnr: target });
    const decoded = borderJump(e.decoded, e.tiles.tileSize);
    const original = borderJump(src.pixels, e.tiles.tileSize);
    assert.ok(decoded <= 1.25 * original, `at ${target} dB: decoded ${decoded.toFixed(3)}, original ${original.toFixed(3)}`);
  }
});

test('band by band and on border strips, the deblocking filter does what it does to the whole plane, and picks the same threshold', () => {
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const [rows, cols] of [[20, 19], [17, 25], [9, 9], [8, 8], [30, 41], [1, 20], [20, 1], [10, 17], [33, 16]] as const) {
    const g = tileGrid(rows, cols, 8);
    // A plane with seams: each tile its own level, plus noise.
    const plane = new Float32Array(rows * cols).map((_, i) => 10 * (((Math.floor(i / cols / 8) * 7 + Math.floor((i % cols) / 8) * 3) % 5) / 5) + random());
    const original = new Float32Array(rows * cols).map((_, i) => plane[i]! / 10 + 0.05 * random());
    for (const threshold of [0, 1.5, 20]) {
      const whole = plane.slice();
      deblockPlane(whole, g, threshold);
      const banded = new Float32Array(rows * cols);
      const band = new BandDeblocker(g, threshold);
      for (let ty = 0; ty < g.tilesY; ty++) {
        for (let i = 0; i < Math.min(8, rows - ty * 8); i++) band.buffer.set(plane.subarray((ty * 8 + i) * cols, (ty * 8 + i + 1) * cols), band.rowAt(i));
        const done = band.finish(ty);
        banded.set(done.rows.subarray(0, done.count * cols), done.y * cols);
        band.carry(ty);
      }
      assert.deepEqual(banded, whole, `${rows}×${cols} at ${threshold}: bands`);
      const strips = BorderStrips.of(plane, g);
      // BorderStrips.of copies what fill() places sample by sample from the tiles.
      const placed = new BorderStrips(g);
      placed.fill((t) => {
        const r = tileRect(g, t);
        return (i, j) => plane[(r.y + i) * cols + r.x + j]!;
      });
      assert.deepEqual([strips.vertical, strips.horizontal], [placed.vertical, placed.horizontal], `${rows}×${cols}: strips of a plane`);
      strips.deblock(threshold);
      const expected = BorderStrips.of(whole, g);
      assert.deepEqual([strips.vertical, strips.horizontal], [expected.vertical, expected.horizontal], `${rows}×${cols} at ${threshold}: strips`);
    }
    // The threshold the rule picks, found by filtering whole planes.
    const borderSamples: number[] = [];
    const pairs: number[] = [];
    for (let x0 = 8; x0 < cols; x0 += 8) for (let y = 0; y < rows; y++) for (let dx = -2; dx < 2; dx++) if (x0 + dx < cols) borderSamples.push(y * cols + x0 + dx);
    for (let y0 = 8; y0 < rows; y0 += 8) for (let x = 0; x < cols; x++) for (let dy = -2; dy < 2; dy++) if (y0 + dy < rows) borderSamples.push((y0 + dy) * cols + x);
    for (let x0 = 8; x0 < cols; x0 += 8) for (let y = 0; y < rows; y++) pairs.push(y * cols + x0 - 1, y * cols + x0);
    for (let y0 = 8; y0 < rows; y0 += 8) for (let x = 0; x < cols; x++) pairs.push((y0 - 1) * cols + x, y0 * cols + x);
    const jumpOf = (a: ArrayLike<number>, scale: number): number => pairs.reduce((s, _, i) => (i % 2 ? s : s + scale * Math.abs(a[pairs[i + 1]!]! - a[pairs[i]!]!)), 0);
    let best = -1;
    let bestErr = Infinity;
    let smoothest = 0;
    let smoothestJump = Infinity;
    for (const c of DEBLOCK_CANDIDATES) {
      const filtered = plane.slice();
      deblockPlane(filtered, g, c * 10);
      const e = borderSamples.reduce((s, i) => s + (filtered[i]! - 10 * original[i]!) ** 2, 0);
      const jump = jumpOf(filtered, 1);
      if (jump < smoothestJump) (smoothestJump = jump), (smoothest = c * 10);
      if (jump <= SEAM_JUMP_ALLOWANCE * jumpOf(original, 10) && e < bestErr) (bestErr = e), (best = c * 10);
    }
    const wanted = g.tilesX < 2 && g.tilesY < 2 ? 0 : best >= 0 ? best : smoothest;
    assert.equal(chooseDeblockThreshold(BorderStrips.of(plane, g), BorderStrips.of(original, g), 10, 10), wanted, `${rows}×${cols}: threshold`);
  }
});

test('the allocator spends by equal slope: within the budget, and no move of a component from one block to another would gain', () => {
  const curve = (...s2: number[]): Float64Array => {
    const total = s2.reduce((a, b) => a + b, 0) + 1;
    const out = new Float64Array(s2.length + 1);
    out[0] = total;
    s2.forEach((v, i) => (out[i + 1] = out[i]! - v));
    return out;
  };
  const blocks: BlockCurve[] = [
    { residual: curve(100, 50, 20, 5, 1), weight: 1, cost: 10, minRank: 1 },
    { residual: curve(80, 60, 40, 30, 20), weight: 1, cost: 10, minRank: 1 },
    { residual: curve(10, 1, 0.5), weight: 2, cost: 5, minRank: 1 },
  ];
  for (const budget of [45, 60, 90, 105]) {
    const a = allocateRanks(blocks, { cost: budget });
    assert.ok(a.cost <= budget);
    // The brute-force best over every allocation that costs no more than the one chosen: equal slope on convex
    // curves is optimal for what it spends, and the leftover is spent where it fits.
    let best = Infinity;
    let unspent = Infinity;
    for (let i = 1; i <= 5; i++) for (let j = 1; j <= 5; j++) for (let k = 1; k <= 3; k++) {
      const cost = 10 * i + 10 * j + 5 * k;
      if (cost <= a.cost) best = Math.min(best, blocks[0]!.residual[i]! + blocks[1]!.residual[j]! + 2 * blocks[2]!.residual[k]!);
      if (cost > a.cost) unspent = Math.min(unspent, cost);
    }
    assert.ok(a.error <= best + 1e-9, `budget ${budget}: allocated error ${a.error}, best ${best}`);
    assert.ok(a.cost + 5 > budget || unspent > budget, `budget ${budget}: ${budget - a.cost} left unspent`);
  }
  const e = allocateRanks(blocks, { error: 60 });
  assert.ok(e.error <= 60);
  // the least ranks cannot be cut below minRank, however small the budget
  assert.deepEqual(Array.from(allocateRanks(blocks, { cost: 1 }).ranks), [1, 1, 1]);
});

test('a tile\'s randomized spectrum matches the exact SVD, and its fit lands near the SVD bound', () => {
  const rows = 96;
  const cols = 80;
  const V = new Float64Array(rows * cols);
  // four non-negative parts (smooth bumps) and a little texture: what NMF can represent, so it nears the SVD
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    let v = 0.02 * (1 + Math.sin(i * j));
    for (let c = 0; c < 4; c++) v += Math.exp(-(((i - 20 * c - 10) / 12) ** 2)) * Math.exp(-(((j - 18 * c - 8) / 15) ** 2)) * (1 + c / 3);
    V[i * cols + j] = v;
  }
  const sp = blockSpectrum(V, rows, cols, 8, 0);
  const exact = denseTriplets({ rows, cols, data: V }, 8);
  for (let j = 0; j < 6; j++) assert.ok(Math.abs(sp.S[j]! - exact.S[j]!) <= 1e-3 * exact.S[0]!, `σ${j}: ${sp.S[j]} vs ${exact.S[j]}`);
  const fit = fitBlock(V, sp, 4);
  assert.ok(fit.error >= sp.residual[4]! * (1 - 1e-9), 'no factorization beats the SVD');
  assert.ok(fit.error <= 1.2 * sp.residual[4]! + 1e-12, `fit ${fit.error} against the bound ${sp.residual[4]}`);
  assert.ok(fit.W.every((v) => v >= 0) && fit.H.every((v) => v >= 0));
});

test('a block of lower rank than its spectrum asks for keeps its true curve, in TypeScript and in the kernel', async () => {
  // A 48-pixel tile of the astronaut squeezed to 384×288 has rank 36; measured with 38 columns, the range finder's two
  // extra columns held only rounding, which normalised made a basis far from orthonormal and σ₁² more than the tile's
  // energy: rank 1 "exact", and the tile 17 dB in the file.
  const src = await source('astronaut.png', await photo('astronaut.png', 384, 288));
  const [Y] = imageToPlanes(src.pixels, 'ycbcr', 'float64');
  const rows = 48;
  const cols = 48;
  const V = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) V.set(Y!.data.subarray((192 + i) * 384 + 240, (192 + i) * 384 + 288), i * cols);
  const exact = denseTriplets({ rows, cols, data: V }, 8);
  const kernel = BlockKernel.create();
  for (const [name, sp] of [['TypeScript', blockSpectrum(V, rows, cols, 32, 0)], ...(kernel ? [['kernel', kernel.spectrum(V, rows, cols, 32, 0, true)] as const] : [])] as const) {
    let kept = 0;
    for (let j = 0; j < 8; j++) {
      kept += exact.S[j]! ** 2;
      const want = Math.max(0, sp.energy - kept);
      assert.ok(Math.abs(sp.residual[j + 1]! - want) <= 1e-4 * sp.energy, `${name}: residual ${j + 1} ${sp.residual[j + 1]} against ${want}`);
    }
  }
});

test("the tile decoder's WebAssembly kernel gives reconstructRow's samples to the bit, on awkward shapes and ranks", () => {
  let seed = 5;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const [rows, cols, k, bits, max] of [[48, 48, 13, 6, 255], [37, 101, 4, 8, 255], [5, 3, 7, 6, 65535], [1, 9, 1, 12, 255], [64, 1, 2, 16, 65535], [7, 7, 0, 6, 255]] as const) {
    const W = { rows, cols: k, data: Float64Array.from({ length: rows * k }, () => random()) };
    const H = { rows: k, cols, data: Float64Array.from({ length: k * cols }, () => (random() < 0.2 ? 0 : random())) };
    const q = quantizePlane(W, H, bits, true);
    const viaKernel = reconstructTiles([q], tileGrid(rows, cols, Math.max(rows, cols)), bits, max);
    const { Wt, H: Hd } = dequantizePlane(q, bits);
    const row = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      reconstructRow(Wt, Hd, rows, k, cols, i, max, row);
      for (let l = 0; l < cols; l++) assert.equal(viaKernel[i * cols + l], Math.fround(row[l]!), `${rows}×${cols} rank ${k}: sample ${i},${l}`);
    }
  }
});

const KERNEL_TEST = 'the WebAssembly block kernels give the TypeScript spectrum and fit, to float32 rounding, on awkward shapes';

test(KERNEL_TEST, (t) => {
  // NMF_BLOCK_FLAVOUR: the relaxed build, checked by a child process that has relaxed SIMD (the test below)
  const flavour = process.env.NMF_BLOCK_FLAVOUR === 'relaxed' ? 'relaxed' : 'simd';
  const kernel = BlockKernel.create(flavour);
  if (!kernel) {
    assert.notEqual(flavour, 'relaxed', 'the relaxed build must run where relaxed SIMD is on');
    t.skip('WebAssembly SIMD is not available here');
    return;
  }
  assert.equal(kernel.flavour, flavour);
  // Shapes off the four-lane width, a single row or column, and a rank above what the block allows.
  for (const [rows, cols, r, k] of [[128, 128, 16, 7], [45, 77, 12, 9], [37, 101, 9, 3], [1, 130, 4, 1], [130, 1, 4, 1], [5, 6, 12, 5], [64, 3, 3, 2]] as const) {
    const V = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) V[i * cols + j] = 0.5 + 0.3 * Math.sin(0.07 * i * (j + 3)) * Math.cos(0.11 * j) + 0.1 * (((i * 31 + j * 17) % 7) / 7);
    const js = blockSpectrum(V, rows, cols, r, 3);
    const wa = kernel.spectrum(V, rows, cols, r, 3);
    assert.equal(wa.r, js.r);
    assert.ok(Math.abs(wa.energy - js.energy) <= 1e-9 * js.energy);
    for (let j = 0; j < js.r; j++) assert.ok(Math.abs(wa.S[j]! - js.S[j]!) <= 2e-5 * js.S[0]!, `${rows}×${cols} σ${j}: ${wa.S[j]} vs ${js.S[j]}`);
    for (let j = 0; j <= js.r; j++) assert.ok(Math.abs(wa.residual[j]! - js.residual[j]!) <= 1e-5 * js.energy, `${rows}×${cols} residual ${j}`);
    // The values alone (what a rank allocation reads) are the same numbers, to the bit.
    assert.deepEqual(kernel.spectrum(V, rows, cols, r, 3, true).residual, wa.residual, `${rows}×${cols} values only`);
    // The singular vectors, where their value stands apart from its neighbours (else any rotation is as right): u_j·v_jᵀ
    // does not depend on their signs.
    for (let j = 0; j < js.r; j++) {
      const gap = Math.min(j > 0 ? js.S[j - 1]! - js.S[j]! : Infinity, j + 1 < js.r ? js.S[j]! - js.S[j + 1]! : Infinity);
      if (!(gap > 1e-2 * js.S[0]!)) continue;
      for (let i = 0; i < rows; i++) for (let l = 0; l < cols; l++) {
        const x = js.U[i * js.r + j]! * js.Vt[j * cols + l]!;
        const y = wa.U[i * wa.r + j]! * wa.Vt[j * cols + l]!;
        assert.ok(Math.abs(x - y) <= 2e-3, `${rows}×${cols} u${j}·v${j}ᵀ at ${i},${l}: ${y} vs ${x}`);
      }
    }
    const kk = Math.min(k, js.r);
    const a = fitBlock(V, js, kk, { maxIter: 5, gapShare: 0, innerSweeps: 4 });
    const b = kernel.fit(V, js, kk, { maxIter: 5, gapShare: 0, innerSweeps: 4 });
    // A block its rank fits exactly may stop an iteration apart (both errors are rounding); it must still be exact.
    const exact = js.residual[kk]! <= 1e-9 * js.energy;
    if (!exact) assert.equal(b.iterations, a.iterations, `${rows}×${cols} iterations`);
    assert.ok(Math.abs(b.error - a.error) <= 1e-4 * js.energy, `${rows}×${cols} error ${b.error} vs ${a.error}`);
    const scale = Math.sqrt(js.energy / (rows * cols)) * 10;
    if (!exact) for (let c = 0; c < a.W.length; c++) assert.ok(Math.abs(b.W[c]! - a.W[c]!) <= 1e-3 * scale, `${rows}×${cols} W[${c}]: ${b.W[c]} vs ${a.W[c]}`);
    if (!exact) for (let c = 0; c < a.H.length; c++) assert.ok(Math.abs(b.H[c]! - a.H[c]!) <= 1e-3 * scale, `${rows}×${cols} H[${c}]: ${b.H[c]} vs ${a.H[c]}`);
    // and the error it reports is the error of the factors it returns
    let e = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let c = 0; c < kk; c++) s += b.W[i * kk + c]! * b.H[c * cols + j]!;
      e += (V[i * cols + j]! - s) ** 2;
    }
    assert.ok(Math.abs(e - b.error) <= 1e-4 * js.energy + 1e-9, `${rows}×${cols} reported ${b.error}, measured ${e}`);
    // The quantised factors' error as the decoder makes them (its tiles before deblocking), by the kernel and here.
    const q = quantizePlane({ rows, cols: kk, data: Float64Array.from(b.W) }, { rows: kk, cols, data: Float64Array.from(b.H) }, 6);
    const D = reconstructTiles([q], tileGrid(rows, cols, Math.max(rows, cols)), 6, 1);
    let decoded = 0;
    for (let c = 0; c < V.length; c++) decoded += (D[c]! - Math.fround(V[c]!)) ** 2;
    const { error: viaKernel, decoded: byKernel } = kernel.decodedError(Float32Array.from(V), rows, cols, q, 63);
    assert.ok(Math.abs(viaKernel - decoded) <= 1e-5 * js.energy + 1e-9, `${rows}×${cols} decoded error ${viaKernel} against ${decoded}`);
    // and the decoded tile it lends is the decoder's, to float32 rounding
    for (let c = 0; c < D.length; c++) assert.ok(Math.abs(byKernel[c]! - D[c]!) <= 1e-5, `${rows}×${cols} decoded sample ${c}: ${byKernel[c]} vs ${D[c]}`);
  }
});

test('the relaxed-SIMD block kernels (fused multiply-add) pass the same checks, in a process with relaxed SIMD on', () => {
  // Node 20 has relaxed SIMD behind a flag (Electron, later Node and the nmf-studio command have it on).
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--test', '--test-reporter=tap', `--test-name-pattern=^${KERNEL_TEST}$`, fileURLToPath(import.meta.url)], {
    encoding: 'utf8',
    timeout: 120_000,
    // without NODE_TEST_CONTEXT, which would make the child report to this runner instead of its own output
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), NMF_BLOCK_FLAVOUR: 'relaxed' },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // passed, not skipped
  assert.match(r.stdout, new RegExp(`^ok \\d+ - ${KERNEL_TEST}$`, 'm'), r.stdout);
  assert.match(r.stdout, /^# pass 1$/m, r.stdout);
});

test("without bits given, a PSNR target is made at 8 bits where 6 bits' quantisation noise is its floor, else at 6", async () => {
  const src = await source('coffee.png', await photo('coffee.png', 384, 288));
  const low = await encode(src, { psnr: 34 }, { bits: undefined });
  assert.equal(low.content.header.quantization.bits, 6);
  assert.ok(Math.abs(low.psnr - 34) <= 0.3, `34 dB: ${low.psnr}`);
  const six = await encode(src, { psnr: 46 });
  const chosen = await encode(src, { psnr: 46 }, { bits: undefined });
  assert.equal(chosen.content.header.quantization.bits, 8);
  assert.ok(Math.abs(chosen.psnr - 46) <= 0.3, `46 dB: ${chosen.psnr}`);
  // At 6 bits the target is out of reach, in a larger file.
  assert.ok(six.psnr < 45.5 && six.bytes.length > chosen.bytes.length, `6 bits: ${six.psnr} dB in ${six.bytes.length} bytes, 8: ${chosen.bytes.length}`);
});

test('awkward images: alpha kept exactly, 16-bit, a 1×1 image, an image smaller than a tile, a 1×100000 strip', async () => {
  const rgba = await source('a.png', await photo('chelsea.png', 200, 150, 4));
  const ea = await encode(rgba, { psnr: 30 });
  const da = decodePixels(decodeNmfz(ea.bytes, 'a.nmfz'));
  for (let p = 0; p < 200 * 150; p++) assert.equal(da.data[p * 4 + 3], rgba.pixels.data[p * 4 + 3]);

  const sixteen = await source('b.png', await sharp(fixture('images', 'coffee.png')).resize(160, 140).toColourspace('rgb16').png().toBuffer());
  assert.equal(sixteen.pixels.bitDepth, 16);
  const e16 = await encode(sixteen, { psnr: 30 });
  assert.equal(decodePixels(decodeNmfz(e16.bytes, 'b.nmfz')).bitDepth, 16);
  assert.ok(Math.abs(e16.psnr - 30) < 1, `16-bit: ${e16.psnr}`);

  const one = await source('c.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer());
  const e1 = await encode(one, { psnr: 40 });
  assert.deepEqual(Array.from(decodePixels(decodeNmfz(e1.bytes, 'c.nmfz')).data), [200, 40, 90]);

  const tiny = await source('d.png', await photo('astronaut.png', 60, 40));
  const et = await encode(tiny, { psnr: 28 }, { tileSize: 128 });
  assert.equal(et.tiles.tilesX * et.tiles.tilesY, 1);
  assert.ok(et.psnr >= 27.7, `smaller than a tile: ${et.psnr}`);

  const strip = Buffer.alloc(100_000 * 3);
  for (let x = 0; x < 100_000; x++) strip.set([(x * 7) % 256, 128, (x >> 8) % 256], 3 * x);
  const es = await source('e.png', await sharp(strip, { raw: { width: 100_000, height: 1, channels: 3 } }).png().toBuffer());
  const ee = await encode(es, { psnr: 30 });
  assert.deepEqual(decodePixels(decodeNmfz(ee.bytes, 'e.nmfz')).data, ee.decoded.data);
  assert.equal(ee.tiles.tilesX, Math.ceil(100_000 / ee.tiles.tileSize));
});

test('flat and black tiles are stored exactly and cheaply, and never shown black', async () => {
  // left half black, right half a flat colour, and a picture in the bottom-right quarter
  const w = 512;
  const h = 256;
  const pic = await sharp(fixture('images', 'coffee.png')).resize(128, 128).removeAlpha().raw().toBuffer();
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    if (x >= 256) px.set([90, 160, 210], i);
    if (x >= 384 && y >= 128) px.set(pic.subarray(((y - 128) * 128 + (x - 384)) * 3, ((y - 128) * 128 + (x - 384)) * 3 + 3), i);
  }
  const src = await source('f.png', await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
  // 128-pixel tiles, whose borders the halves and the picture line up with (at another size a tile would hold the
  // step from black to the flat colour).
  const e = await encode(src, { psnr: 32 }, { tileSize: 128 });
  const d = decodePixels(decodeNmfz(e.bytes, 'f.nmfz'));
  // the flat and black tiles, away from the picture's seams, are exact
  for (let y = 0; y < 120; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    assert.deepEqual([d.data[i], d.data[i + 1], d.data[i + 2]], [px[i], px[i + 1], px[i + 2]], `pixel ${x},${y}`);
  }
  const ranks = e.tiles.planes[0]!.ranks;
  assert.deepEqual(ranks.slice(0, 3), [1, 1, 1], 'a flat tile needs one component');
  assert.ok(e.bytes.length < 12_000, `${e.bytes.length} bytes`);
});

interface Forgery {
  /** The payload before Brotli (version 3), or version 4's side section (tile table, scales, alpha). */
  payload?: (p: Buffer) => Buffer;
  header?: (h: Record<string, unknown>) => void;
  /** Version 4: its range-coded codes. */
  codes?: (c: Buffer) => Buffer;
  /** The stored payload as a whole, last. */
  stored?: (s: Buffer) => Buffer;
}

/** A valid tiled file changed as `f` says, re-wrapped with a good CRC (so only the tile checks can catch it). */
function forge(file: Buffer, f: Forgery): Buffer {
  const version = file.readUInt16LE(8);
  const hLen = file.readUInt32LE(12);
  const pLen = file.readUInt32LE(16);
  const header = JSON.parse(brotliDecompressSync(file.subarray(20, 20 + hLen)).toString('utf8')) as Record<string, unknown>;
  f.header?.(header);
  const h = brotliCompressSync(Buffer.from(JSON.stringify(header)));
  const stored = file.subarray(20 + hLen, 20 + hLen + pLen);
  const edit = f.payload ?? ((p: Buffer) => p);
  let p: Buffer;
  if (version >= 4) {
    const sideLen = stored.readUInt32LE(0);
    const side = brotliCompressSync(edit(brotliDecompressSync(stored.subarray(4, 4 + sideLen))));
    const codes = (f.codes ?? ((c: Buffer) => c))(Buffer.from(stored.subarray(4 + sideLen)));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(side.length, 0);
    p = Buffer.concat([length, side, codes]);
  } else {
    p = brotliCompressSync(edit(brotliDecompressSync(stored)));
  }
  p = f.stored ? f.stored(p) : p;
  const out = Buffer.alloc(24 + h.length + p.length);
  file.copy(out, 0, 0, 12);
  out.writeUInt32LE(h.length, 12);
  out.writeUInt32LE(p.length, 16);
  h.copy(out, 20);
  p.copy(out, 20 + h.length);
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

test('corrupt tiled files (versions 3 and 4): a tile table past the end, ranks that do not add up, codes cut short; one line and exit 1 from the CLI', async () => {
  const src = await source('astronaut.png', await photo('astronaut.png', 256, 256));
  const v4 = (await encode(src, { psnr: 28 })).bytes;
  const v3 = asVersion3(decodeNmfz(v4, 'v4.nmfz'));
  const cases: [string, Buffer, RegExp][] = [];
  for (const [v, good] of [[3, v3], [4, v4]] as const) {
    assert.doesNotThrow(() => decodeNmfz(forge(good, {}), 'same.nmfz'));
    cases.push(
      [`cut${v}.nmfz`, forge(good, { payload: (p) => p.subarray(0, 10) }), /corrupt \.nmfz payload \(the tile table runs past the end/],
      [`short${v}.nmfz`, forge(good, { payload: (p) => p.subarray(0, p.length - 50) }), /corrupt \.nmfz payload \(the tile table points past the end/],
      [`bigger${v}.nmfz`, forge(good, { payload: (p) => (p.writeUInt16LE(p.readUInt16LE(0) + 1, 0), p) }), /tile ranks of plane y add up to \d+, the header says \d+/],
      [`header${v}.nmfz`, forge(good, {
        header: (h) => {
          (h.planes as { rank: number }[])[1]!.rank += 1;
          (h.rank as number) += 1;
        },
      }), /tile ranks of plane cb add up to/],
      [`huge${v}.nmfz`, forge(good, { payload: (p) => (p.writeUInt16LE(500, 2), p) }), /rank 500 is over its \d+×\d+ size/],
    );
  }
  cases.push(
    ['codes-cut.nmfz', forge(v4, { codes: (c) => c.subarray(0, c.length - 40) }), /corrupt \.nmfz payload \(the factor codes run past the end of their \d+ bytes\)/],
    ['codes-long.nmfz', forge(v4, { codes: (c) => Buffer.concat([c, Buffer.alloc(3)]) }), /corrupt \.nmfz payload \(3 unexpected bytes after the factor codes\)/],
    ['side.nmfz', forge(v4, { stored: (s) => (s.writeUInt32LE(s.length, 0), s) }), /corrupt \.nmfz payload \(its side section runs past the end of its \d+ bytes\)/],
    // Range-coded codes need version 4, and 6- or 8-bit codes.
    ['coding.nmfz', forge(v3, { header: (h) => ((h.quantization as Record<string, unknown>).coding = 'adaptive-range') }), /corrupt \.nmfz header \(quantization\)/],
    ['bits.nmfz', forge(v4, { header: (h) => ((h.quantization as Record<string, unknown>).bits = 12) }), /corrupt \.nmfz header \(quantization\)/],
  );
  for (const [name, bytes, message] of cases) {
    assert.throws(() => decodeNmfz(bytes, name), (err: unknown) => err instanceof UserError && message.test(err.message) && err.message.startsWith(name), name);
  }
  // The command line says the same in one line, exit 1 (a few of them: each is a process).
  for (const [name, bytes, message] of cases.filter(([name]) => /^(cut3|huge4|codes-cut|side)\./.test(name))) {
    const file = path.join(work, name);
    writeFileSync(file, bytes);
    const r = await runCli(['decompress', file, '--out', path.join(work, 'out')]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, message);
  }
  assert.ok(readFileSync(path.join(work, 'cut3.nmfz')).length > 0);
});

test('the command line: --size and --max-bytes cap the file, --layout picks the layout, auto tiles a photograph, bad values are usage errors', async () => {
  const input = path.join(work, 'photo.png');
  writeFileSync(input, await photo('coffee.png', 300, 200));
  const out = path.join(work, 'cli');
  const run = async (...args: string[]) => {
    const r = await runCli(['compress', input, '--out', out, '--overwrite', '--json', ...args]);
    return { ...r, record: r.code === 0 ? (JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>) : null };
  };
  const sized = await run('--size', '20KB');
  assert.equal(sized.code, 0, sized.stderr);
  assert.equal(sized.record!.layout, 'tiled');
  assert.ok((sized.record!.compressedBytes as number) <= 20_000 && (sized.record!.compressedBytes as number) >= 19_000, String(sized.record!.compressedBytes));
  const capped = await run('--max-bytes', '12000', '--layout', 'global', '--max-iter', '20');
  assert.equal(capped.code, 0, capped.stderr);
  assert.equal(capped.record!.layout, 'global');
  assert.ok((capped.record!.compressedBytes as number) <= 12_000);
  const info = await runCli(['info', path.join(out, 'photo.nmfz')]);
  assert.equal(JSON.parse(info.stdout).formatVersion, 2, 'a global file is written in the older version');
  const byDefault = await run();
  assert.equal(byDefault.code, 0, byDefault.stderr);
  assert.equal(byDefault.record!.layout, 'tiled');
  assert.ok(Math.abs((byDefault.record!.psnr as number) - 38) <= 0.3 || (byDefault.record!.compressedBytes as number) < (byDefault.record!.originalFileBytes as number));
  assert.equal(JSON.parse((await runCli(['info', path.join(out, 'photo.nmfz')])).stdout).formatVersion, 4);
  for (const bad of [['--size', 'lots'], ['--size', '10KB', '--psnr', '30'], ['--layout', 'mosaic']]) {
    const r = await run(...bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    // the reason, then where to read more: no stack trace
    assert.match(r.stderr, /^nmf-studio: .*\nTry 'nmf-studio compress --help'\.\n?$/, r.stderr);
  }
});
