// The CPU backend itself: its SIMD kernels against the reference on shapes that take the threaded path,
// both kernel builds, the thread pool's start and shutdown, and the reuse of its WebAssembly memory.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '../../src-main/backends/cpu/index.js';
import { kernelBytes } from '../../src-main/backends/cpu/pool.js';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { initialFactors } from '../../src-main/engine/init.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { assertClose, assertNear, seeded, TOLERANCE, zeros } from './support.js';

const reference = createReferenceBackend();
const tol = TOLERANCE.cpu!;
const cpuModule = fileURLToPath(new URL('../../src-main/backends/cpu/index.js', import.meta.url));
const referenceModule = fileURLToPath(new URL('../../src-main/engine/backends/reference.js', import.meta.url));

async function compareProducts(backend: CpuBackend, rows: number, cols: number, rank: number): Promise<void> {
  const V = seeded(rows, cols, rows ^ cols);
  const W = seeded(rows, rank, 2);
  const H = seeded(rank, cols, 3);
  const mine = await backend.bind(V);
  const ref = await reference.bind(V);
  try {
    const pairs: [string, Matrix, Matrix, (b: typeof mine, o: Matrix) => Promise<void>][] = [
      ['WtV', zeros(rank, cols), zeros(rank, cols), (b, o) => b.WtV(W, o)],
      ['VHt', zeros(rows, rank), zeros(rows, rank), (b, o) => b.VHt(H, o)],
      ['WtW', zeros(rank, rank), zeros(rank, rank), (b, o) => b.WtW(W, o)],
      ['HHt', zeros(rank, rank), zeros(rank, rank), (b, o) => b.HHt(H, o)],
    ];
    for (const [name, got, want, op] of pairs) {
      await op(mine, got);
      await op(ref, want);
      assertClose(got.data, want.data, tol, `${name} ${rows}×${cols} rank ${rank}`);
    }
    assertNear(await mine.betaDivergence(W, H, 2), await ref.betaDivergence(W, H, 2), 10 * tol, 'Frobenius loss');
  } finally {
    await mine.dispose();
    await ref.dispose();
  }
}

// Big enough to be shared out to the threads, with every dimension off the 4×8 register block.
const THREADED: [number, number, number][] = [
  [301, 517, 13],
  [1024, 70, 33],
  [97, 2049, 8],
  [260, 260, 128],
];

for (const threads of [1, 3]) {
  test(`kernels match the reference on large odd shapes with ${threads} thread(s)`, async () => {
    const backend = await CpuBackend.create({ threads, flavour: 'simd' });
    try {
      assert.equal(backend.label, `CPU (WASM SIMD, ${threads} thread${threads === 1 ? '' : 's'})`);
      for (const [rows, cols, rank] of THREADED) await compareProducts(backend, rows, cols, rank);
    } finally {
      await backend.dispose();
    }
  });
}

test('the SIMD build is valid WebAssembly with the three job runners', async () => {
  assert.ok(WebAssembly.validate(kernelBytes('simd')));
  const backend = await CpuBackend.create({ threads: 1, flavour: 'simd' });
  try {
    for (const name of ['gemm_run', 'sqdiff_run', 'sweep_run'] as const) assert.equal(typeof backend.pool.kernels[name], 'function');
  } finally {
    await backend.dispose();
  }
});

test('the relaxed-SIMD build (fused multiply-add) matches the reference where the runtime has it', () => {
  // Node 20 enables relaxed SIMD behind a flag (Electron has it on): run the check in a child that sets it.
  const script = `
    import { CpuBackend } from ${JSON.stringify(cpuModule)};
    import { createReferenceBackend } from ${JSON.stringify(referenceModule)};
    const seeded = (r, c, s) => { const d = new Float32Array(r * c); let x = s; for (let i = 0; i < d.length; i++) { x = (x * 1103515245 + 12345) >>> 0; d[i] = (x >>> 8) / 2 ** 24; } return { rows: r, cols: c, data: d }; };
    const be = await CpuBackend.create({ flavour: 'relaxed', threads: 2 });
    const ref = createReferenceBackend();
    const [rows, cols, rank] = [211, 389, 19];
    const V = seeded(rows, cols, 1), W = seeded(rows, rank, 2), H = seeded(rank, cols, 3);
    const a = await be.bind(V), b = await ref.bind(V);
    const out = (r, c) => ({ rows: r, cols: c, data: new Float32Array(r * c) });
    const worst = [];
    for (const [r, c, op] of [[rank, cols, (x, o) => x.WtV(W, o)], [rows, rank, (x, o) => x.VHt(H, o)], [rank, rank, (x, o) => x.WtW(W, o)]]) {
      const g = out(r, c), w = out(r, c);
      await op(a, g); await op(b, w);
      let d = 0, s = 0;
      for (let i = 0; i < w.data.length; i++) { d = Math.max(d, Math.abs(g.data[i] - w.data[i])); s = Math.max(s, Math.abs(w.data[i])); }
      worst.push(d / s);
    }
    console.log(JSON.stringify({ label: be.label, worst }));
    await be.dispose();
  `;
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const { label, worst } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { label: string; worst: number[] };
  assert.equal(label, 'CPU (WASM relaxed SIMD, 2 threads)');
  for (const w of worst) assert.ok(w <= tol, `relaxed build off by ${w}`);
});

function runChild(body: string): ReturnType<typeof spawnSync> {
  const script = `
    import { CpuBackend } from ${JSON.stringify(cpuModule)};
    const be = await CpuBackend.create({ threads: 3 });
    const V = { rows: 600, cols: 600, data: new Float32Array(360000).fill(1) };
    const W = { rows: 600, cols: 16, data: new Float32Array(9600).fill(1) };
    const bound = await be.bind(V);
    const out = { rows: 16, cols: 600, data: new Float32Array(9600) };
    await bound.WtV(W, out);
    if (out.data[0] !== 600) throw new Error('wrong product ' + out.data[0]);
    ${body}
  `;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
}

test('after dispose() the worker threads are gone and the process exits by itself', () => {
  const r = runChild(`await be.dispose(); await bound.dispose().catch(() => {}); console.log('done');`);
  assert.equal(r.signal, null, 'the process had to be killed: something kept it alive');
  assert.equal(r.status, 0, String(r.stderr));
  assert.match(String(r.stdout), /done/);
});

test('worker threads never keep the process alive, even without dispose()', () => {
  const r = runChild(`console.log('done');`);
  assert.equal(r.signal, null, 'the process had to be killed: a worker kept it alive');
  assert.equal(r.status, 0, String(r.stderr));
});

test('binding and releasing V again and again reuses the same WebAssembly memory', async () => {
  const backend = await CpuBackend.create({ threads: 2 });
  try {
    const V = seeded(300, 257, 9);
    const W = seeded(300, 10, 1);
    const out = zeros(10, 257);
    const run = async () => {
      const bound = await backend.bind(V);
      await bound.WtV(W, out);
      await bound.betaDivergence(W, seeded(10, 257, 2), 1);
      await bound.dispose();
    };
    await run();
    const size = backend.pool.memory.buffer.byteLength;
    const peak = backend.arena.peakBytes;
    for (let i = 0; i < 15; i++) await run();
    assert.equal(backend.pool.memory.buffer.byteLength, size);
    assert.equal(backend.arena.peakBytes, peak);
    assert.equal(backend.arena.bytesInUse < 64 * 1024, true, `still in use after every dispose: ${backend.arena.bytesInUse}`);
  } finally {
    await backend.dispose();
  }
});

test('a disposed backend or bound V refuses further work', async () => {
  const backend = await CpuBackend.create({ threads: 2 });
  const bound = await backend.bind(seeded(5, 5, 1));
  await bound.dispose();
  await assert.rejects(bound.WtV(seeded(5, 2, 1), zeros(2, 5)), /disposed/);
  await backend.dispose();
  await backend.dispose();
  await assert.rejects(backend.bind(seeded(5, 5, 1)), /disposed/);
});

test('wrong shapes are refused with the shapes named', async () => {
  const backend = await CpuBackend.create({ threads: 1 });
  try {
    const bound = await backend.bind(seeded(6, 7, 1));
    await assert.rejects(bound.WtV(seeded(5, 2, 1), zeros(2, 7)), /WtV W: expected 6×2, got 5×2/);
    await assert.rejects(backend.matmul(seeded(2, 3, 1), seeded(4, 2, 1), false, false, zeros(2, 2)), /inner dimensions differ/);
    await bound.dispose();
  } finally {
    await backend.dispose();
  }
});

test('sweeps() in one call leaves the factor exactly as the same number of sweep() calls, stopping by the rule', async () => {
  for (const threads of [1, 2]) {
    const backend = await CpuBackend.create({ threads, flavour: 'simd' });
    try {
      // 700 rows × rank 40 is big enough to be shared out; 301 columns stays on one thread.
      for (const [rows, cols, k] of [[700, 301, 40], [37, 53, 6]] as const) {
        const bound = await backend.bind(seeded(rows, cols, 5));
        for (const side of ['W', 'H'] as const) {
          const start = side === 'W' ? seeded(rows, k, 11, { zeros: 0.2 }) : seeded(k, cols, 12, { zeros: 0.2 });
          // A Gram matrix (positive diagonal) and a right-hand side scaled so that the sweeps move the factor.
          const G = side === 'W' ? seeded(k, cols, 13) : seeded(rows, k, 14);
          const B = zeros(k, k);
          await backend.matmul(G, G, side !== 'W', side === 'W', B);
          const A = side === 'W' ? zeros(rows, k) : zeros(k, cols);
          await backend.matmul(side === 'W' ? seeded(rows, k, 15) : B, side === 'W' ? B : seeded(k, cols, 16), false, false, A);
          const one = { ...start, data: start.data.slice() };
          const many = { ...start, data: start.data.slice() };
          const got = bound.sweeps!(side, one, B, A, true, 4, 0);
          assert.deepEqual(got && got.sweeps, 4);
          let first = 0;
          for (let s = 0; s < 4; s++) {
            const r = bound.sweep!(side, many, B, A, true)!;
            if (s === 0) first = r.violation;
          }
          assert.deepEqual(Array.from(one.data), Array.from(many.data), `${side} ${rows}×${cols}: factors differ`);
          assertNear(got!.violation, first, 1e-5, `${side}: first violation`);
          // With the stopping rule, fewer sweeps, and never more than asked for.
          const stopped = bound.sweeps!(side, { ...start, data: start.data.slice() }, B, A, true, 50, 0.5);
          assert.ok(stopped!.sweeps >= 1 && stopped!.sweeps < 50, `${side}: ${stopped!.sweeps} sweeps`);
        }
        await bound.dispose();
      }
    } finally {
      await backend.dispose();
    }
  }
});

test('the nndsvda start through the CPU backend (float32, randomized SVD) is the exact one to float32 accuracy', async () => {
  const backend = await CpuBackend.create({ threads: 2 });
  try {
    // A clear low-rank structure under a little noise: leading singular triplets well apart from the rest.
    const rows = 420, cols = 360, k = 6;
    const W0 = seeded(rows, k, 21), H0 = seeded(k, cols, 22), noise = seeded(rows, cols, 23);
    const V = zeros(rows, cols);
    await backend.matmul(W0, H0, false, false, V);
    for (let c = 0; c < V.data.length; c++) V.data[c] = V.data[c]! + 0.01 * noise.data[c]!;
    const bound = await backend.bind(V);
    const fast = await initialFactors(V, k, 'nndsvda', 0, { bound, backend });
    const exact = await initialFactors(V, k, 'nndsvda', 0);
    await bound.dispose();
    assertClose(fast.W.data, exact.W.data, 1e-3, 'W');
    assertClose(fast.H.data, exact.H.data, 1e-3, 'H');
  } finally {
    await backend.dispose();
  }
});
