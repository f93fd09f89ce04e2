// Shared by the backend suites: seeded test matrices, closeness in the tfjs style (max |difference| relative
// to the largest reference value), and the backends available on this machine with their tolerances.

import assert from 'node:assert/strict';
import type { Backend, BackendProvider, BoundV } from '../../src-main/engine/backends/backend.js';
import type { Matrix } from '../../src-main/engine/matrix.js';
import { providers } from '../../src-main/backends/registry.js';

/** Uniform values in [lo, lo + 1), reproducible from the seed; optionally with exact zeros sprinkled in. */
export function seeded(rows: number, cols: number, seed: number, options: { lo?: number; zeros?: number } = {}): Matrix {
  const data = new Float32Array(rows * cols);
  let s = seed >>> 0 || 1;
  for (let c = 0; c < data.length; c++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const u = s / 2 ** 32;
    data[c] = options.zeros && u < options.zeros ? 0 : (options.lo ?? 0) + ((s * 2654435761) >>> 0) / 2 ** 32;
  }
  return { rows, cols, data };
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float32Array(rows * cols) };
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

/** Per-backend tolerance for single products (float32 sums of a few hundred terms). */
export const TOLERANCE: Record<string, number> = { reference: 1e-12, cpu: 2e-5, gpu: 1e-3 };

/** The providers whose probe passes here. */
export async function availableProviders(): Promise<BackendProvider[]> {
  const out: BackendProvider[] = [];
  for (const p of providers) if ((await p.probe()).ok) out.push(p);
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

/** WᵀV, V·Hᵀ, WᵀW and H·Hᵀ from two bound Vs agree to the tolerance. */
export async function assertSameProducts(mine: BoundV, ref: BoundV, W: Matrix, H: Matrix, tolerance: number): Promise<void> {
  const { rows } = W;
  const { rows: rank, cols } = H;
  for (const [name, r, c, op] of [
    ['WtV', rank, cols, (b: BoundV, out: Matrix) => b.WtV(W, out)],
    ['VHt', rows, rank, (b: BoundV, out: Matrix) => b.VHt(H, out)],
    ['WtW', rank, rank, (b: BoundV, out: Matrix) => b.WtW(W, out)],
    ['HHt', rank, rank, (b: BoundV, out: Matrix) => b.HHt(H, out)],
  ] as const) {
    const got = zeros(r, c), want = zeros(r, c);
    await op(mine, got);
    await op(ref, want);
    assertClose(got.data, want.data, tolerance, name);
  }
}
