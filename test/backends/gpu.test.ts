import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import type { BoundV } from '../../src-main/engine/backends/backend.js';
import { factorize } from '../../src-main/engine/factorize.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import type { Solver } from '../../src-main/engine/options.js';
import { GpuUnavailableError, createGpuBackend, gpuProvider, probeWebGpu } from '../../src-main/backends/gpu/index.js';
import type { GpuBackend, GpuBoundV } from '../../src-main/backends/gpu/index.js';
import { EPSILON, KERNEL_SOURCES } from '../../src-main/backends/gpu/kernels.js';
import { tidyGlRenderer, tolerateUncapturedErrorHandlers } from '../../src-main/backends/gpu/runtime.js';
import { TILE_KERNEL_SOURCES } from '../../src-main/backends/gpu/tile-batch.js';
import { planTiles, splitEvenly } from '../../src-main/backends/gpu/tiling.js';
import { repoRoot } from '../helpers/paths.js';

// ---- helpers; the oracle is the engine's reference backend (float64 sums) -------------------------------------------

function rand(rows: number, cols: number, seed: number, dtype: 'float32' | 'float64' = 'float32'): Matrix {
  let s = seed >>> 0;
  const data = dtype === 'float32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = 0.05 + s / 4294967296;
  }
  return { rows, cols, data };
}

function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float32Array(rows * cols) };
}

const reference = createReferenceBackend();

async function product(a: Matrix, b: Matrix, transA = false, transB = false): Promise<Float64Array> {
  const out: Matrix = { rows: transA ? a.cols : a.rows, cols: transB ? b.rows : b.cols, data: new Float64Array((transA ? a.cols : a.rows) * (transB ? b.rows : b.cols)) };
  await reference.matmul(a, b, transA, transB, out);
  return out.data as Float64Array;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 2e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= rtol * scale + 1e-30, `${what}: entry ${i} is ${got[i]}, expected ${want[i]} (|err| ${err.toExponential(2)})`);
  }
}

// ---- pure parts: no device needed ----------------------------------------------------------------------------------

test('splitEvenly cuts into nearly equal spans that cover the range', () => {
  const spans = splitEvenly(23, 7);
  assert.deepEqual(
    spans.map((s) => s.end - s.start),
    [6, 6, 6, 5],
  );
  assert.equal(spans[0]!.start, 0);
  assert.equal(spans.at(-1)!.end, 23);
  for (let i = 1; i < spans.length; i++) assert.equal(spans[i]!.start, spans[i - 1]!.end);
  assert.deepEqual(splitEvenly(5, 100), [{ start: 0, end: 5 }]);
});

test('planTiles keeps an 8000×6000 image within the side and element limits', () => {
  const grid = planTiles(8000, 6000, 4096, 4096, 1 << 24);
  for (const r of grid.rowSpans) {
    for (const c of grid.colSpans) {
      const h = r.end - r.start;
      const w = c.end - c.start;
      assert.ok(h <= 4096 && w <= 4096 && h * w <= 1 << 24, `tile ${h}×${w}`);
    }
  }
  assert.equal(grid.rowSpans.at(-1)!.end, 8000);
  assert.equal(grid.colSpans.at(-1)!.end, 6000);
  // a small element budget shortens the longer side first
  const tight = planTiles(100, 40, 100, 100, 1000);
  const h = tight.rowSpans[0]!.end - tight.rowSpans[0]!.start;
  const w = tight.colSpans[0]!.end - tight.colSpans[0]!.start;
  assert.ok(h * w <= 1000, `${h}×${w}`);
});

test('GL renderer strings are shortened to the device name', () => {
  assert.equal(tidyGlRenderer('ANGLE (Mesa/X.org llvmpipe (LLVM 15.0.6, 256 bits) OpenGL 4.5 core)'), 'Mesa/X.org llvmpipe (LLVM 15.0.6, 256 bits)');
  assert.equal(tidyGlRenderer('ANGLE (NVIDIA Corporation, NVIDIA H100 80GB HBM3/PCIe/SSE2, OpenGL 4.5.0 NVIDIA 550.54)'), 'NVIDIA Corporation, NVIDIA H100 80GB HBM3/PCIe/SSE2');
  assert.equal(tidyGlRenderer('plain renderer'), 'plain renderer');
});

test("a device class whose onuncapturederror setter refuses functions (Dawn's Node bindings) keeps the handler aside", () => {
  // modelled on webgpu 0.2.9: the native setter throws for anything but its own event-handler objects
  class FakeDevice {
    native: unknown = null;
    get onuncapturederror(): unknown {
      return this.native;
    }
    set onuncapturederror(v: unknown) {
      if (typeof v === 'function') throw new TypeError('object is not of the correct interface type');
      this.native = v;
    }
  }
  const device = new FakeDevice();
  assert.throws(() => {
    device.onuncapturederror = () => undefined;
  });
  tolerateUncapturedErrorHandlers({ GPUDevice: FakeDevice });
  tolerateUncapturedErrorHandlers({ GPUDevice: FakeDevice }); // a second opening does not wrap twice
  const handler = () => undefined;
  device.onuncapturederror = handler;
  assert.equal(device.onuncapturederror, handler);
  assert.equal(device.native, null);
  device.onuncapturederror = 'accepted natively';
  assert.equal(device.native, 'accepted natively');
  assert.equal(device.onuncapturederror, 'accepted natively');
  tolerateUncapturedErrorHandlers(undefined);
});

test('every kernel translates to WGSL with gpu.js WebGPU translator', async () => {
  // The WGSL is generated before any device is needed; a stand-in navigator.gpu without adapters lets gpu.js get
  // that far on a machine without WebGPU, so unsupported constructs in the kernels show up here.
  const require = createRequire(import.meta.url);
  const { GPU, Input } = require('gpu.js') as {
    GPU: new (s: { mode: string }) => { createKernel(src: string, settings: object): ((...a: unknown[]) => Promise<unknown>) & { kernel: { compiledSource: string } }; destroy(): Promise<void> };
    Input: new (v: Float32Array, size: number[]) => unknown;
  };
  const hadNavigator = 'navigator' in globalThis;
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true, writable: true });
  try {
    const gpu = new GPU({ mode: 'webgpu' });
    const tileKernels = Object.entries(TILE_KERNEL_SOURCES).map(([name, { fn, args, numbers }]) => [name, { fn, args, flat: true, numbers }] as const);
    for (const [name, { fn, args, flat, numbers = 0 }] of [...Object.entries(KERNEL_SOURCES), ...tileKernels] as [string, { fn: (...a: never[]) => number; args: number; flat?: boolean; numbers?: number }][]) {
      for (const kind of name === 'lossChunk' || name === 'betaTerm' ? [0, 1, 2, 3] : [0]) {
        const k = gpu.createKernel(fn.toString(), {
          output: flat && name !== 'csrTimesDense' ? [30] : [6, 5],
          constants: { inner: 4, rank: 4, kind, beta: 1.5, eps: EPSILON, chunk: 2, chunks: 3, rows: 5, cols: 3, runs: 2, wTotal: 20, hTotal: 20 },
          precision: 'single',
        });
        const inputs = Array.from({ length: args }, () => new Input(new Float32Array(36), flat ? [36] : [6, 6]));
        const run = name === 'betaTerm' ? k(...inputs, 1) : k(...inputs, ...Array.from({ length: numbers }, () => 1));
        await run.catch(() => undefined); // no adapter: the device half fails, as it must here
        const wgsl = k.kernel.compiledSource;
        assert.match(wgsl, /@compute @workgroup_size/, `${name}: no compute entry point`);
        assert.match(wgsl, /result\[data_index\] =/, `${name}: writes no result`);
      }
    }
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else if (!hadNavigator) delete (globalThis as { navigator?: unknown }).navigator;
  }
});

// ---- probing ------------------------------------------------------------------------------------------------------

test('the WebGPU probe answers with one short line and never throws', async () => {
  const { probe } = await probeWebGpu();
  if (probe.ok) {
    assert.ok(probe.device.length > 0);
  } else {
    assert.match(probe.reason, /^WebGPU: \S/);
    assert.ok(!probe.reason.includes('\n') && probe.reason.length < 260, probe.reason);
  }
});

test('gpuProvider.probe gives a reason per mode when it declines', async () => {
  const r = await gpuProvider.probe();
  assert.equal(gpuProvider.name, 'gpu');
  if (!r.ok) {
    const parts = r.reason.split('; ');
    assert.ok(parts.length >= 1 && parts.every((p) => /^(WebGPU|headless-gl): \S/.test(p)), r.reason);
  }
});

test('without a display headless-gl is declined as "no display" in a real process', { skip: process.platform !== 'linux' }, () => {
  const runtime = pathToFileURL(path.join(repoRoot, 'dist', 'src-main', 'backends', 'gpu', 'runtime.js')).href;
  const env = { ...process.env };
  delete env.DISPLAY;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { probeHeadlessGl } from ${JSON.stringify(runtime)}; console.log(JSON.stringify(probeHeadlessGl().probe));`], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const probe = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; reason?: string };
  assert.equal(probe.ok, false);
  assert.equal(probe.reason, 'headless-gl: no display');
});

// ---- the backend on a real GL context (Xvfb + Mesa here) ------------------------------------------------------------

let backend: GpuBackend | null = null;
let tiled: GpuBackend | null = null;
let unavailable = 'no GPU mode was tried';

before(async () => {
  try {
    backend = await createGpuBackend({ modes: ['headlessgl'], allowSoftware: true, hostMaxWork: 0 });
    tiled = await createGpuBackend({ modes: ['headlessgl'], allowSoftware: true, hostMaxWork: 0, tileRows: 7, tileCols: 9 });
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    unavailable = e.message;
  }
});

after(async () => {
  await backend?.dispose();
  await tiled?.dispose();
});

function device(t: TestContext, which: 'plain' | 'tiled' = 'plain'): GpuBackend | null {
  const b = which === 'plain' ? backend : tiled;
  if (!b) t.skip(`no GPU mode loads here: ${unavailable}`);
  return b;
}

const V = rand(23, 31, 1);
const W = rand(23, 5, 2);
const H = rand(5, 31, 3);

test('the label says which mode and renderer ran', (t) => {
  const b = device(t);
  if (!b) return;
  assert.match(b.label, /^GPU \(gpu\.js headless-gl, .+\)$/);
  assert.equal(b.name, 'gpu');
  assert.deepEqual(b.dtypes, ['float32']);
});

async function bothBound<T>(b: GpuBackend, v: Matrix, body: (gpu: BoundV, ref: BoundV) => Promise<T>): Promise<T> {
  const gpu = await b.bind(v);
  const ref = await reference.bind(v);
  try {
    return await body(gpu, ref);
  } finally {
    await gpu.dispose();
    await ref.dispose();
  }
}

async function expectSame(what: string, gpu: (out: Matrix) => Promise<void>, ref: (out: Matrix) => Promise<void>, rows: number, cols: number): Promise<void> {
  const got = zeros(rows, cols);
  const want: Matrix = { rows, cols, data: new Float64Array(rows * cols) };
  await gpu(got);
  await ref(want);
  assertClose(got.data, want.data, what);
}

for (const which of ['plain', 'tiled'] as const) {
  test(`${which}: WtV, VHt, WtW and HHt match the reference backend on odd shapes`, async (t) => {
    const b = device(t, which);
    if (!b) return;
    await bothBound(b, V, async (gpu, ref) => {
      await expectSame('WtV', (o) => gpu.WtV(W, o), (o) => ref.WtV(W, o), 5, 31);
      await expectSame('VHt', (o) => gpu.VHt(H, o), (o) => ref.VHt(H, o), 23, 5);
      await expectSame('WtW', (o) => gpu.WtW(W, o), (o) => ref.WtW(W, o), 5, 5);
      await expectSame('HHt', (o) => gpu.HHt(H, o), (o) => ref.HHt(H, o), 5, 5);
    });
  });

  // every β case untiled; tiled, fewer (each tile shape compiles its own shaders, slowly on a software renderer)
  const betas = which === 'plain' ? [2, 1, 0, 1.5, 0.5, 3] : [1, 0, 2.5];
  test(`${which}: β-divergences and multiplicative-update terms for β = ${betas.join(', ')} match the reference`, async (t) => {
    const b = device(t, which);
    if (!b) return;
    await bothBound(b, V, async (gpu, ref) => {
      for (const beta of betas) {
        const loss = await gpu.betaDivergence(W, H, beta);
        const want = await ref.betaDivergence(W, H, beta);
        assert.ok(Math.abs(loss - want) <= 1e-5 * Math.abs(want), `β=${beta}: loss ${loss}, expected ${want}`);
        const both = await gpu.divergences!(W, H, beta);
        const wantFro = await ref.betaDivergence(W, H, 2);
        assert.ok(Math.abs(both.beta - want) <= 1e-5 * Math.abs(want), `β=${beta}: divergences().beta ${both.beta}, expected ${want}`);
        assert.ok(Math.abs(both.frobenius - wantFro) <= 1e-5 * wantFro, `β=${beta}: divergences().frobenius ${both.frobenius}, expected ${wantFro}`);
        if (beta === 2) continue;
        for (const side of ['H', 'W'] as const) {
          const [r, c] = side === 'H' ? [5, 31] : [23, 5];
          const got = [zeros(r, c), zeros(r, c)] as const;
          const exp: [Matrix, Matrix] = [
            { rows: r, cols: c, data: new Float64Array(r * c) },
            { rows: r, cols: c, data: new Float64Array(r * c) },
          ];
          await (side === 'H' ? gpu.betaTermsH(W, H, beta, got[0], got[1]) : gpu.betaTermsW(W, H, beta, got[0], got[1]));
          await (side === 'H' ? ref.betaTermsH(W, H, beta, exp[0], exp[1]) : ref.betaTermsW(W, H, beta, exp[0], exp[1]));
          assertClose(got[0].data, exp[0].data, `β=${beta} numerator ${side}`);
          assertClose(got[1].data, exp[1].data, `β=${beta} denominator ${side}`);
        }
      }
    });
  });
}

test('tiling really splits V: a 7×9 tile limit gives a 4×4 grid', (t) => {
  const b = device(t, 'tiled');
  if (!b) return;
  const grid = b.planFor(23, 31);
  assert.equal(grid.rowSpans.length, 4);
  assert.equal(grid.colSpans.length, 4);
});

test('matmul with every transpose, inner dimension cut into runs when tiled', async (t) => {
  for (const which of ['plain', 'tiled'] as const) {
    const b = device(t, which);
    if (!b) return;
    const a = rand(13, 19, 7);
    const c = rand(19, 11, 8);
    const aT = rand(19, 13, 9);
    const cT = rand(11, 19, 10);
    const cases: [Matrix, Matrix, boolean, boolean][] = [
      [a, c, false, false],
      [aT, c, true, false],
      [a, cT, false, true],
      [aT, cT, true, true],
    ];
    for (const [x, y, ta, tb] of cases) {
      const out = zeros(13, 11);
      await b.matmul(x, y, ta, tb, out);
      assertClose(out.data, await product(x, y, ta, tb), `${which} matmul ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`);
    }
    await assert.rejects(b.matmul(a, a, false, false, zeros(13, 19)), RangeError);
  }
});

test('single-row and single-column matrices, rank 1, and float64 input', async (t) => {
  const b = device(t);
  if (!b) return;
  for (const [rows, cols] of [
    [1, 7],
    [6, 1],
  ] as const) {
    const v = rand(rows, cols, 11, 'float64');
    const w = rand(rows, 1, 12);
    const h = rand(1, cols, 13);
    await bothBound(b, v, async (gpu, ref) => {
      await expectSame(`${rows}×${cols} WtV`, (o) => gpu.WtV(w, o), (o) => ref.WtV(w, o), 1, cols);
      await expectSame(`${rows}×${cols} VHt`, (o) => gpu.VHt(h, o), (o) => ref.VHt(h, o), rows, 1);
      const loss = await gpu.betaDivergence(w, h, 1);
      const want = await ref.betaDivergence(w, h, 1);
      assert.ok(Math.abs(loss - want) <= 1e-5 * Math.abs(want), `${rows}×${cols} KL ${loss} vs ${want}`);
    });
  }
});

test('setCells reaches the resident tiles and leaves the caller’s V alone', async (t) => {
  const b = device(t, 'tiled');
  if (!b) return;
  const v = rand(23, 31, 21);
  const before = v.data.slice();
  const bound = await b.bind(v);
  try {
    const indices = Uint32Array.from([0, 40, 300, 712]);
    const values = [5, 0, 2.5, 9];
    await bound.setCells(indices, values);
    assert.deepEqual(v.data, before, 'the caller’s matrix changed');
    const changed: Matrix = { rows: 23, cols: 31, data: before.slice() };
    indices.forEach((idx, n) => (changed.data[idx] = values[n]!));
    assert.deepEqual(Array.from((bound.V as Matrix).data), Array.from(changed.data));
    const out = zeros(5, 31);
    await bound.WtV(W, out);
    assertClose(out.data, await product(W, changed, true), 'WtV after setCells');
    await assert.rejects(bound.setCells(Uint32Array.from([23 * 31]), [1]), RangeError);
  } finally {
    await bound.dispose();
  }
});

test('shape errors are refused and a disposed bound V refuses work', async (t) => {
  const b = device(t);
  if (!b) return;
  const bound = await b.bind(V);
  await assert.rejects(bound.WtV(rand(22, 5, 1), zeros(5, 31)), /W must be 23×5/);
  await assert.rejects(bound.VHt(H, zeros(5, 23)), /VHt out must be 23×5/);
  await bound.dispose();
  await assert.rejects(bound.WtV(W, zeros(5, 31)), /disposed/);
});

test('a short factorize per solver on the gpu backend follows the reference backend', async (t) => {
  const b = device(t, 'tiled');
  if (!b) return;
  const v = rand(23, 31, 31);
  const runs: [Solver, number | 'frobenius'][] = [
    ['mu', 'frobenius'],
    ['mu', 1],
    ['cd', 'frobenius'],
    ['hals', 'frobenius'],
  ];
  for (const [solver, betaLoss] of runs) {
    const options = { rank: 4, solver, betaLoss, init: 'nndsvda' as const, maxIter: 8, tol: 0 };
    const got = await factorize(v, { ...options, backend: b });
    const want = await factorize(v, { ...options, backend: reference });
    const what = `${solver} β=${betaLoss}`;
    assert.equal(got.iterations, want.iterations, `${what}: iterations`);
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-3 * want.loss, `${what}: loss ${got.loss} vs ${want.loss}`);
    assert.ok(Math.abs(got.relErr - want.relErr) <= 1e-3 * want.relErr, `${what}: relErr ${got.relErr} vs ${want.relErr}`);
    assertClose(got.H.data, want.H.data, `${what}: H`, 1e-3);
  }
});

// ---- Frobenius MU resident on the device (BoundV.muFrobenius) --------------------------------------------------------

/** The engine's Frobenius MU (solvers/mu.ts) in float64 on the host, and the loss terms of the result. */
function muOnHost(v: Matrix, w0: Matrix, h0: Matrix, iterations: number): { W: Float64Array; H: Float64Array; cross: number; quad: number } {
  const { rows, cols } = v;
  const rank = w0.cols;
  const W = Float64Array.from(w0.data);
  const H = Float64Array.from(h0.data);
  const V = v.data;
  const gram = (f: Float64Array, n: number, rankFirst: boolean): Float64Array => {
    const g = new Float64Array(rank * rank);
    for (let a = 0; a < rank; a++) {
      for (let b = 0; b < rank; b++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += rankFirst ? f[a * n + t]! * f[b * n + t]! : f[t * rank + a]! * f[t * rank + b]!;
        g[a * rank + b] = s;
      }
    }
    return g;
  };
  const wtv = (): Float64Array => {
    const out = new Float64Array(rank * cols);
    for (let k = 0; k < rank; k++) for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) out[k * cols + j] += W[i * rank + k]! * V[i * cols + j]!;
    return out;
  };
  for (let it = 0; it < iterations; it++) {
    const hht = gram(H, cols, true);
    const num = new Float64Array(rows * rank);
    for (let i = 0; i < rows; i++) for (let k = 0; k < rank; k++) for (let j = 0; j < cols; j++) num[i * rank + k] += V[i * cols + j]! * H[k * cols + j]!;
    const nextW = new Float64Array(rows * rank);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < rank; k++) {
        let d = 0;
        for (let l = 0; l < rank; l++) d += W[i * rank + l]! * hht[l * rank + k]!;
        nextW[i * rank + k] = W[i * rank + k]! * (num[i * rank + k]! / (d === 0 ? EPSILON : d));
      }
    }
    W.set(nextW);
    const wtw = gram(W, rows, false);
    const numH = wtv();
    const nextH = new Float64Array(rank * cols);
    for (let k = 0; k < rank; k++) {
      for (let j = 0; j < cols; j++) {
        let d = 0;
        for (let l = 0; l < rank; l++) d += wtw[k * rank + l]! * H[l * cols + j]!;
        nextH[k * cols + j] = H[k * cols + j]! * (numH[k * cols + j]! / (d === 0 ? EPSILON : d));
      }
    }
    H.set(nextH);
  }
  const numH = wtv();
  const wtw = gram(W, rows, false);
  const hht = gram(H, cols, true);
  let cross = 0;
  let quad = 0;
  for (let c = 0; c < numH.length; c++) cross += numH[c]! * H[c]!;
  for (let c = 0; c < wtw.length; c++) quad += wtw[c]! * hht[c]!;
  return { W, H, cross, quad };
}

function copyOf(m: Matrix): Matrix {
  return { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}

/**
 * The resident path against muOnHost: one call of three iterations, then three calls of one that resume, from a
 * start whose last row of H is zero (so whole columns of denominators are zero and must read as EPSILON).
 */
async function checkResident(b: GpuBackend, label: string): Promise<void> {
  // 300 columns: H·Hᵀ is summed in runs of 128 columns, so three runs, the last one short
  const cols = 300;
  const v = rand(23, cols, 41);
  const w0 = rand(23, 4, 42);
  const h0 = rand(4, cols, 43);
  h0.data.fill(0, 3 * cols);
  const want = muOnHost(v, w0, h0, 3);
  const bound = (await b.bind(v)) as GpuBoundV;
  try {
    const W1 = copyOf(w0);
    const H1 = copyOf(h0);
    const once = (await bound.muFrobenius(W1, H1, 3, false, true))?.terms;
    assert.ok(once, `${label}: muFrobenius declined or read nothing`);
    const W2 = copyOf(w0);
    const H2 = copyOf(h0);
    let terms = (await bound.muFrobenius(W2, H2, 1, false, true))?.terms;
    const afterFirst = [Float32Array.from(W2.data), Float32Array.from(H2.data)] as const;
    // an iteration nobody looks at: queued on the device, nothing read back, the host's W and H left as they were
    const unread = await bound.muFrobenius(W2, H2, 1, true, false);
    assert.deepEqual(unread, { terms: null }, `${label}: an unread iteration returns no terms`);
    assert.equal(bound.residentCost.dispatches, 5, `${label}: dispatches of an unread iteration`);
    assert.equal(bound.residentCost.readbackBytes, 0, `${label}: bytes read back by an unread iteration`);
    assert.deepEqual([W2.data, H2.data], afterFirst, `${label}: an unread iteration leaves the host's factors alone`);
    terms = (await bound.muFrobenius(W2, H2, 1, true, true))?.terms;
    // one iteration resumed: five dispatches, one to lay H out; W, H, H·Hᵀ with the cross row, and WᵀW read back
    assert.equal(bound.residentCost.dispatches, 6, `${label}: dispatches of a resumed iteration`);
    assert.equal(bound.residentCost.readbackBytes, 4 * (23 * 4 + 4 * cols + 5 * 4 + 4 * 4), `${label}: readback bytes`);
    assert.equal(bound.residentCost.calls, 4, `${label}: calls`);
    assert.equal(bound.residentCost.readbacks, 3, `${label}: calls that read back`);
    for (const [what, W, H, t] of [
      ['one call', W1, H1, once],
      ['resumed calls', W2, H2, terms],
    ] as const) {
      assertClose(W.data, want.W, `${label} ${what}: W`, 1e-4);
      assertClose(H.data, want.H, `${label} ${what}: H`, 1e-4);
      assert.ok(H.data.slice(3 * cols).every((x) => x === 0), `${label} ${what}: the zero row of H stays zero`);
      assert.ok(Math.abs(t!.cross - want.cross) <= 1e-5 * want.cross, `${label} ${what}: cross ${t!.cross} vs ${want.cross}`);
      assert.ok(Math.abs(t!.quad - want.quad) <= 1e-5 * want.quad, `${label} ${what}: quad ${t!.quad} vs ${want.quad}`);
    }
  } finally {
    await bound.dispose();
  }
}

/** factorize (mu, Frobenius) on b against the reference backend, loss for loss, and proof that the resident path ran. */
async function checkResidentFactorize(b: GpuBackend, label: string): Promise<void> {
  const v = rand(37, 29, 51);
  const seen: GpuBoundV[] = [];
  const spy = Object.assign(Object.create(b) as GpuBackend, {
    bind: async (m: Matrix) => {
      const bound = (await b.bind(m)) as GpuBoundV;
      seen.push(bound);
      return bound;
    },
  });
  const options = { rank: 5, solver: 'mu' as const, init: 'nndsvda' as const, maxIter: 12, tol: 0 };
  const lossesGot: number[] = [];
  const lossesWant: number[] = [];
  const got = await factorize(v, { ...options, backend: spy, onProgress: (p) => lossesGot.push(p.loss) });
  const want = await factorize(v, { ...options, backend: reference, onProgress: (p) => lossesWant.push(p.loss) });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.residentCost.calls, 12, `${label}: the resident path ran every iteration`);
  assert.equal(seen[0]!.residentCost.readbacks, 12, `${label}: progress reports read every iteration back`);
  assert.equal(got.iterations, 12);
  assert.equal(lossesGot.length, lossesWant.length);
  lossesGot.forEach((l, i) => assert.ok(Math.abs(l - lossesWant[i]!) <= 1e-3 * lossesWant[i]!, `${label}: loss at ${i} ${l} vs ${lossesWant[i]}`));
  assert.ok(Math.abs(got.relErr - want.relErr) <= 1e-3 * want.relErr, `${label}: relErr ${got.relErr} vs ${want.relErr}`);
  assertClose(got.W.data, want.W.data, `${label}: W`, 1e-3);
  assertClose(got.H.data, want.H.data, `${label}: H`, 1e-3);

  // Unwatched, only the iterations the loop evaluates read back: the last one without tol; with tol, also every
  // tenth, where scikit-learn's rule looks at the loss.
  for (const [tol, maxIter, readbacks] of [
    [0, 12, 1],
    [1e-12, 25, 3],
  ] as const) {
    const quiet = await factorize(v, { ...options, tol, maxIter, backend: spy });
    const quietWant = await factorize(v, { ...options, tol, maxIter, backend: reference });
    const bound = seen.at(-1)!;
    assert.equal(seen.length, tol === 0 ? 2 : 3);
    assert.equal(bound.residentCost.calls, maxIter, `${label} tol ${tol}: the resident path ran every iteration`);
    assert.equal(bound.residentCost.readbacks, readbacks, `${label} tol ${tol}: iterations read back`);
    assert.equal(quiet.iterations, maxIter);
    assert.ok(Math.abs(quiet.relErr - quietWant.relErr) <= 1e-3 * quietWant.relErr, `${label} tol ${tol}: relErr ${quiet.relErr} vs ${quietWant.relErr}`);
    assertClose(quiet.W.data, quietWant.W.data, `${label} tol ${tol}: W`, 1e-3);
    assertClose(quiet.H.data, quietWant.H.data, `${label} tol ${tol}: H`, 1e-3);
  }
}

test('resident Frobenius MU on headless-gl follows the engine, in one tile and from a copy of tiled V', async (t) => {
  for (const which of ['plain', 'tiled'] as const) {
    const b = device(t, which);
    if (!b) return;
    await checkResident(b, which);
    await checkResidentFactorize(b, which);
  }
});

// The WebGPU path, which headless CI machines lack: run with NMF_TEST_WEBGPU=1 where Dawn finds an adapter (a
// software one counts), e.g. Mesa's lavapipe through a newer glibc's loader:
//   L=/path/to/glibc-2.38/lib; XDG_RUNTIME_DIR=/tmp NMF_TEST_WEBGPU=1 $L/ld-linux-x86-64.so.2 --library-path $L:... \
//     $(which node) --test dist/test/backends/gpu.test.js
test('resident Frobenius MU on WebGPU follows the engine (NMF_TEST_WEBGPU=1)', { skip: process.env.NMF_TEST_WEBGPU !== '1' && 'set NMF_TEST_WEBGPU=1 to run on a WebGPU adapter' }, async () => {
  // one at a time: gpu.js shares one WebGPU device between instances and closing one closes it
  for (const [which, tiles] of [
    ['plain', {}],
    ['tiled', { tileRows: 7, tileCols: 9 }],
  ] as const) {
    const b = await createGpuBackend({ modes: ['webgpu'], allowSoftware: true, hostMaxWork: 0, ...tiles });
    try {
      assert.match(b.label, /WebGPU/);
      await checkResident(b, `webgpu ${which}`);
      await checkResidentFactorize(b, `webgpu ${which}`);
    } finally {
      await b.dispose();
    }
  }
});
