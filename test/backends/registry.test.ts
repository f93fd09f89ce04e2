// Choosing a backend: explicit requests, 'auto' with its fallback reasons, and the self-test that keeps a
// backend giving wrong numbers from being used.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBackend, providers, referenceProvider, selfTest } from '../../src-main/backends/registry.js';
import type { Backend, BackendProvider, BoundV } from '../../src-main/engine/backends/backend.js';
import { createReferenceBackend } from '../../src-main/engine/backends/reference.js';
import { UserError } from '../../src-main/engine/errors.js';
import type { Matrix } from '../../src-main/engine/matrix.js';

/** A real backend with one product wrong (a driver bug in miniature): every entry of WᵀV off by 1%. */
function skewed(inner: Backend, disposed: { count: number }): Backend {
  return {
    name: 'gpu',
    label: 'GPU (skewed for the test)',
    dtypes: inner.dtypes,
    async bind(V: Matrix): Promise<BoundV> {
      const bound = await inner.bind(V);
      return Object.assign(Object.create(bound) as BoundV, {
        async WtV(W: Matrix, out: Matrix) {
          await bound.WtV(W, out);
          for (let c = 0; c < out.data.length; c++) out.data[c] = out.data[c]! * 1.01;
        },
        dispose: () => bound.dispose(),
      });
    },
    matmul: (a, b, ta, tb, out) => inner.matmul(a, b, ta, tb, out),
    async dispose() {
      disposed.count++;
      await inner.dispose();
    },
  };
}

test("'auto' picks the best backend that passes its self-test here", async () => {
  const { backend, reason } = await chooseBackend('auto');
  try {
    assert.ok(backend.name === 'gpu' || backend.name === 'cpu', `got ${backend.label}`);
    if (backend.name === 'cpu') {
      assert.match(backend.label, /^CPU \(WASM (relaxed )?SIMD, \d+ threads?\)$/);
      // Without a GPU provider in this build nothing better was passed over; with one, it says why.
      if (!providers.some((p) => p.name === 'gpu')) assert.equal(reason, '');
      else assert.match(reason, / → CPU \(WASM/);
    }
  } finally {
    await backend.dispose();
  }
});

test('an explicit request gets exactly that backend', async () => {
  for (const name of ['cpu', 'reference'] as const) {
    const { backend, reason } = await chooseBackend(name);
    assert.equal(backend.name, name);
    assert.equal(reason, '');
    await backend.dispose();
  }
});

test('a request that cannot be met is a UserError that says why', async () => {
  await assert.rejects(chooseBackend('fast' as never), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.kind, 'usage');
    assert.match(err.message, /unknown backend 'fast' \(expected one of: auto, gpu, cpu, reference\)/);
    return true;
  });
  const noGpu = [providers.find((p) => p.name === 'cpu')!, referenceProvider];
  await assert.rejects(chooseBackend('gpu', noGpu), (err: unknown) => err instanceof UserError && /gpu backend is not part of this build/.test(err.message));
  const unavailable: BackendProvider = { name: 'cpu', priority: 50, probe: async () => ({ ok: false, reason: 'CPU (WASM SIMD): no WebAssembly threads in this runtime' }), create: () => Promise.reject(new Error('unreachable')) };
  await assert.rejects(chooseBackend('cpu', [unavailable, referenceProvider]), /the cpu backend cannot run here: CPU \(WASM SIMD\): no WebAssembly threads in this runtime/);
});

test("'auto' falls back past a failed probe and a failed self-test, naming both", async () => {
  const disposed = { count: 0 };
  const broken: BackendProvider = { name: 'gpu', priority: 100, probe: async () => ({ ok: true }), create: async () => skewed(createReferenceBackend(), disposed) };
  const missing: BackendProvider = { name: 'cpu', priority: 50, probe: async () => ({ ok: false, reason: 'CPU (WASM SIMD): no WebAssembly threads in this runtime' }), create: () => Promise.reject(new Error('unreachable')) };
  const { backend, reason } = await chooseBackend('auto', [referenceProvider, missing, broken]);
  assert.equal(backend.name, 'reference');
  assert.match(reason, /^GPU \(skewed for the test\): WtV differs from the reference by 0\.01\d*; CPU \(WASM SIMD\): no WebAssembly threads in this runtime → reference \(TypeScript\)$/);
  assert.equal(disposed.count, 1, 'the backend that failed its self-test was released');
  await assert.rejects(chooseBackend('gpu', [broken, referenceProvider]), /the gpu backend cannot run here: GPU \(skewed for the test\): WtV differs/);
});

test('a provider that throws while starting is passed over with its message', async () => {
  const crashing: BackendProvider = { name: 'cpu', priority: 50, probe: async () => ({ ok: true }), create: () => Promise.reject(new Error('out of memory')) };
  const { backend, reason } = await chooseBackend('auto', [crashing, referenceProvider]);
  assert.equal(backend.name, 'reference');
  assert.equal(reason, 'CPU: could not start (out of memory) → reference (TypeScript)');
});

test('the self-test passes for every backend available here', async () => {
  for (const provider of providers) {
    if (!(await provider.probe()).ok) continue;
    const backend = await provider.create();
    try {
      assert.equal(await selfTest(backend), null, backend.label);
    } finally {
      await backend.dispose();
    }
  }
});
