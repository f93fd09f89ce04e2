// Shared by the backend suites: seeded test matrices, closeness entry by entry (each entry against its own size
// and its row's or column's), and the backends available on this machine with their tolerances.

import assert from 'node:assert/strict';
import type { Backend, BackendProvider, BoundV } from '../../src-main/engine/backends/backend.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { createGpuBackend } from '../../src-main/backends/gpu/index.js';
import { providers } from '../../src-main/backends/registry.js';
import { xorshift } from '../helpers/random.js';

/** Uniform values in [lo, lo + 1), reproducible from the seed; optionally with exact zeros sprinkled in. */
export function seeded(rows: number, cols: number, seed: number, options: { lo?: number; zeros?: number } = {}): Matrix {
  const data = new Float32Array(rows * cols);
  const next = xorshift(seed);
  for (let c = 0; c < data.length; c++) {
    const u = next();
    const s = u * 2 ** 32;
    data[c] = options.zeros && u < options.zeros ? 0 : (options.lo ?? 0) + ((s * 2654435761) >>> 0) / 2 ** 32;
  }
  return { rows, cols, data };
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float32Array(rows * cols) };
}

/** Zeros in the backend's working dtype, for its answers (float64 for the reference backend). */
export function zerosFor(backend: Backend, rows: number, cols: number): Matrix {
  return { rows, cols, data: backend.dtypes[0] === 'float64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols) };
}

/** max |got − want| / max |want|; Infinity when anything is not finite. */
export function relativeDistance(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'lengths differ');
  let diff = 0, scale = 0;
  for (let c = 0; c < want.length; c++) {
    const d = Math.abs(got[c]! - want[c]!);
    if (!Number.isFinite(d)) return Infinity;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(want[c]!));
  }
  return diff / (scale || 1);
}

export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number, what: string): void {
  const d = relativeDistance(got, want);
  assert.ok(d <= tolerance, `${what}: off by ${d.toExponential(2)} (tolerance ${tolerance})`);
}

export function assertNear(got: number, want: number, tolerance: number, what: string): void {
  const d = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
  assert.ok(d <= tolerance, `${what}: ${got} vs ${want} (relative ${d.toExponential(2)}, tolerance ${tolerance})`);
}

/**
 * got ≈ want entry by entry: |got − want| ≤ rtol·|want| + atol·(largest |want| in the entry's row, or column).
 * The first term holds where float32 rounding is relative (products and β terms of non-negative matrices);
 * the second lets entries that a solver drives towards zero be off by what their neighbours' rounding leaves,
 * but no more. `scaleBy: 'col'` for H (rank×cols): an entry of H is large or small beside its column; 'all' for
 * results whose small entries come from cancellation anywhere in the matrix.
 */
export function assertEntriesClose(
  got: Matrix,
  want: Matrix,
  tolerance: { rtol: number; atol?: number; scaleBy?: 'row' | 'col' | 'all' },
  what: string,
): void {
  assert.deepEqual([got.rows, got.cols], [want.rows, want.cols], `${what}: shape`);
  const { rows, cols } = want;
  const { rtol, atol = 0, scaleBy = 'row' } = tolerance;
  const at = (i: number, j: number): number => (scaleBy === 'row' ? i : scaleBy === 'col' ? j : 0);
  const scale = new Float64Array(Math.max(rows, cols));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) scale[at(i, j)] = Math.max(scale[at(i, j)]!, Math.abs(want.data[i * cols + j]!));
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const g = got.data[i * cols + j]!, w = want.data[i * cols + j]!;
      const bound = rtol * Math.abs(w) + atol * scale[at(i, j)]!;
      assert.ok(Math.abs(g - w) <= bound, `${what}: [${i}, ${j}] is ${g}, expected ${w} (off by ${Math.abs(g - w).toExponential(2)}, allowed ${bound.toExponential(2)})`);
    }
  }
}

/** Per-backend tolerance for single products (float32 sums of a few hundred terms). */
export const TOLERANCE: Record<string, number> = { reference: 1e-12, cpu: 2e-5 };

/**
 * What each backend must achieve in the conformance suite, relative to the reference backend (float64).
 * Measured on this suite's data (float32 backends): products and β terms within 1.1e-6 of each entry, β-divergences
 * within 1e-6, and after 15 iterations of each solver every factor entry within 9e-6 of its row's (W) or
 * column's (H) largest entry and relErr within 4e-7. A run one iteration short is off by 3e-2 and 4e-4 there;
 * a zeroed, transposed or wrong kernel by O(1).
 */
export interface Conformance {
  /** rtol for products, matmul and β terms, entry by entry. */
  entries: number;
  /** Relative, for β-divergences. */
  loss: number;
  /** atol against the row's (W) or column's (H) scale, for factors after a short factorize. */
  factors: number;
  /** Relative, for relErr after a short factorize. */
  relErr: number;
}
const FLOAT32: Conformance = { entries: 1e-5, loss: 1e-5, factors: 1e-4, relErr: 1e-5 };
export const CONFORMANCE: Record<string, Conformance> = {
  reference: { entries: 1e-12, loss: 1e-12, factors: 1e-12, relErr: 1e-12 },
  cpu: FLOAT32,
  gpu: FLOAT32,
};

/**
 * The gpu backend as the conformance suite runs it: on headless-gl with a software renderer accepted (Mesa's
 * llvmpipe under Xvfb on CI: slower than the CPU backend, which is why the app's own probe declines it, but the
 * same shaders as on a hardware GPU), and every product on the device (hostMaxWork 0, and sparseMinWork 0 for a
 * sparse V), none on the host.
 */
export const softwareGpuProvider: BackendProvider = {
  name: 'gpu',
  priority: 20,
  async probe() {
    try {
      await (await softwareGpuProvider.create()).dispose();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
  },
  create: () => createGpuBackend({ modes: ['headlessgl'], allowSoftware: true, hostMaxWork: 0, sparseMinWork: 0 }),
};

/** Each backend the conformance suite covers, with why it cannot run here when it cannot. */
export async function conformanceProviders(): Promise<{ provider: BackendProvider; unavailable?: string }[]> {
  const out: { provider: BackendProvider; unavailable?: string }[] = [];
  for (const p of providers) {
    const provider = p.name === 'gpu' ? softwareGpuProvider : p;
    const probe = await provider.probe();
    out.push(probe.ok ? { provider } : { provider, unavailable: probe.reason });
  }
  return out;
}

export async function withBackend<T>(provider: BackendProvider, run: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await provider.create();
  try {
    return await run(backend);
  } finally {
    await backend.dispose();
  }
}

/**
 * WᵀV, V·Hᵀ, WᵀW and H·Hᵀ of `mine` (bound by `backend`) against `ref`'s, computed into float64, entry by entry to
 * a relative tolerance.
 */
export async function assertSameProducts(backend: Backend, mine: BoundV, ref: BoundV, W: Matrix, H: Matrix, rtol: number): Promise<void> {
  const { rows } = W;
  const { rows: rank, cols } = H;
  for (const [name, r, c, op] of [
    ['WtV', rank, cols, (b: BoundV, out: Matrix) => b.WtV(W, out)],
    ['VHt', rows, rank, (b: BoundV, out: Matrix) => b.VHt(H, out)],
    ['WtW', rank, rank, (b: BoundV, out: Matrix) => b.WtW(W, out)],
    ['HHt', rank, rank, (b: BoundV, out: Matrix) => b.HHt(H, out)],
  ] as const) {
    const got = zerosFor(backend, r, c);
    const want: Matrix = { rows: r, cols: c, data: new Float64Array(r * c) };
    await op(mine, got);
    await op(ref, want);
    assertEntriesClose(got, want, { rtol }, name);
  }
}
