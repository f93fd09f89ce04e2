// Shared by the engine tests: synthetic non-negative data, a backend that counts its passes over V, distances.
import assert from 'node:assert/strict';
import type { Backend, BoundV, Matrix } from '../../src-main/engine/index.js';
import { createReferenceBackend } from '../../src-main/engine/index.js';
import { RandomState } from '../../src-main/engine/rng.js';

export interface Planted {
  V: Matrix;
  W: Matrix;
  H: Matrix;
}

/** V = W·H + noise·N(0,1), clipped at 0 (plus `offset`), with |N(0,1)| factors. */
export function plantedLowRank(rows: number, cols: number, rank: number, noise: number, seed: number, offset = 0): Planted {
  const rng = new RandomState(seed);
  const W = Float64Array.from({ length: rows * rank }, () => Math.abs(rng.standardNormal()));
  const H = Float64Array.from({ length: rank * cols }, () => Math.abs(rng.standardNormal()));
  const V = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let t = 0; t < rank; t++) s += W[i * rank + t]! * H[t * cols + j]!;
      V[i * cols + j] = Math.max(0, s + noise * rng.standardNormal()) + offset;
    }
  }
  return { V: { rows, cols, data: V }, W: { rows, cols: rank, data: W }, H: { rows: rank, cols, data: H } };
}

/** ‖A − B‖_F / ‖B‖_F */
export function relDiff(A: Matrix, B: Matrix): number {
  if (A.rows !== B.rows || A.cols !== B.cols) throw new Error(`shapes differ: ${A.rows}×${A.cols} vs ${B.rows}×${B.cols}`);
  let d = 0;
  let n = 0;
  for (let i = 0; i < B.data.length; i++) {
    d += (A.data[i]! - B.data[i]!) ** 2;
    n += B.data[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

export function minOf(m: Matrix): number {
  let min = Infinity;
  for (const x of m.data) min = Math.min(min, x);
  return min;
}

/** Operations of BoundV that read all of V. */
const PASSES = new Set(['WtV', 'VHt', 'betaTermsH', 'betaTermsW', 'betaDivergence', 'divergences']);

/** The reference backend, counting every pass over V (products, β terms, divergences) per operation. */
export function countingBackend(): { backend: Backend; counts: Map<string, number>; passes: () => number } {
  const inner = createReferenceBackend();
  const counts = new Map<string, number>();
  const backend: Backend = {
    name: inner.name,
    label: `${inner.label}, counted`,
    dtypes: inner.dtypes,
    matmul: (a, b, ta, tb, out) => inner.matmul(a, b, ta, tb, out),
    dispose: () => inner.dispose(),
    async bind(V: Matrix): Promise<BoundV> {
      const bound = await inner.bind(V);
      return new Proxy(bound, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const name = String(prop);
          return (...args: unknown[]) => {
            counts.set(name, (counts.get(name) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
  };
  const passes = (): number => [...counts].reduce((s, [name, n]) => s + (PASSES.has(name) ? n : 0), 0);
  return { backend, counts, passes };
}

/** A fit against scikit-learn's on the same start: W and H to 1e-3 (relative), the same n_iter, objective and rel_err to 1e-3. */
export function assertLikeSklearn(
  result: { W: Matrix; H: Matrix; iterations: number; loss: number; relErr: number },
  want: { W: Matrix; H: Matrix; n_iter: number; objective: number; rel_err: number },
): void {
  const dW = relDiff(result.W, want.W);
  const dH = relDiff(result.H, want.H);
  assert.ok(dW <= 1e-3, `W differs by ${dW}`);
  assert.ok(dH <= 1e-3, `H differs by ${dH}`);
  assert.equal(result.iterations, want.n_iter);
  assert.ok(Math.abs(result.loss - want.objective) <= 1e-3 * want.objective, `objective ${result.loss} vs ${want.objective}`);
  assert.ok(Math.abs(result.relErr - want.rel_err) <= 1e-3 * want.rel_err, `rel_err ${result.relErr} vs ${want.rel_err}`);
}
