// Which backend runs a factorization: providers tried best first, each checked by a short self-test against
// the reference backend, with the reasons for passing over better ones kept for people to read.

import type { Backend, BackendChoice, BackendName, BackendProvider, BackendRequest } from '../engine/backends/backend.js';
import { createReferenceBackend } from '../engine/backends/reference.js';
import { UserError } from '../engine/errors.js';
import type { DType, Matrix } from '../engine/matrix.js';
import { cpuProvider } from './cpu/index.js';
import { gpuProvider } from './gpu/index.js';

export const referenceProvider: BackendProvider = {
  name: 'reference',
  priority: 0,
  probe: async () => ({ ok: true }),
  create: async () => createReferenceBackend(),
};

/** Every backend this build knows, best first under 'auto'. */
export const providers: readonly BackendProvider[] = [gpuProvider, cpuProvider, referenceProvider];

export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'gpu', 'cpu', 'reference'];

/** How far a backend may stray from the reference in the self-test: max |difference| / max |reference|. */
export const SELF_TEST_TOLERANCE: Readonly<Record<DType, number>> = { float32: 2e-4, float64: 1e-9 };

/**
 * The backend for a run. 'auto' takes the highest-priority provider whose probe, construction and self-test
 * all pass, and says why the better ones were passed over; a named backend that cannot run is a UserError
 * that says why. The caller owns the returned backend and disposes of it.
 */
export async function chooseBackend(request: BackendRequest = 'auto', from: readonly BackendProvider[] = providers): Promise<BackendChoice> {
  if (!BACKEND_REQUESTS.includes(request)) {
    throw new UserError(`unknown backend '${String(request)}' (expected one of: ${BACKEND_REQUESTS.join(', ')})`, 'usage');
  }
  if (request !== 'auto') {
    const provider = from.find((p) => p.name === request);
    if (!provider) throw new UserError(`the ${request} backend is not part of this build`, 'usage');
    const tried = await tryProvider(provider);
    if ('reason' in tried) throw new UserError(`the ${request} backend cannot run here: ${tried.reason}`, 'usage');
    return { backend: tried.backend, reason: '' };
  }
  const reasons: string[] = [];
  for (const provider of [...from].sort((a, b) => b.priority - a.priority)) {
    const tried = await tryProvider(provider);
    if ('reason' in tried) {
      reasons.push(tried.reason);
      continue;
    }
    return { backend: tried.backend, reason: reasons.length ? `${reasons.join('; ')} → ${tried.backend.label}` : '' };
  }
  throw new UserError(`no backend can run here: ${reasons.join('; ')}`, 'input');
}

const DISPLAY: Record<BackendName, string> = { gpu: 'GPU', cpu: 'CPU', reference: 'reference' };

async function tryProvider(provider: BackendProvider): Promise<{ backend: Backend } | { reason: string }> {
  let probe: Awaited<ReturnType<BackendProvider['probe']>>;
  try {
    probe = await provider.probe();
  } catch (err) {
    return { reason: `${DISPLAY[provider.name]}: probe failed (${messageOf(err)})` };
  }
  // A provider's reason speaks for itself (the GPU one names each API it tried).
  if (!probe.ok) return { reason: probe.reason };
  let backend: Backend;
  try {
    backend = await provider.create();
  } catch (err) {
    return { reason: `${DISPLAY[provider.name]}: could not start (${messageOf(err)})` };
  }
  const failure = await selfTest(backend).catch((err: unknown) => `self-test failed (${messageOf(err)})`);
  if (failure === null) return { backend };
  await backend.dispose().catch(() => undefined);
  return { reason: `${backend.label}: ${failure}` };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Fixed, exactly representable test data: small integers over 8, deterministic and awkwardly shaped. */
function fixture(rows: number, cols: number, seed: number, dtype: DType): Matrix {
  const data = dtype === 'float32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  let s = seed;
  for (let c = 0; c < data.length; c++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[c] = ((s >>> 16) % 16) / 8 + 0.125;
  }
  return { rows, cols, data };
}

function zeros(rows: number, cols: number, dtype: DType): Matrix {
  return { rows, cols, data: dtype === 'float32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols) };
}

function farFrom(got: Matrix, want: Matrix): number {
  let diff = 0, scale = 0;
  for (let c = 0; c < want.data.length; c++) {
    diff = Math.max(diff, Math.abs(got.data[c]! - want.data[c]!));
    scale = Math.max(scale, Math.abs(want.data[c]!));
  }
  return Number.isFinite(diff) ? diff / (scale || 1) : Infinity;
}

/**
 * A few products on fixed 19×23 data (rank 5: no dimension a multiple of a SIMD width) compared with the
 * reference backend. Returns null when all agree, else what differed.
 */
export async function selfTest(backend: Backend): Promise<string | null> {
  const dtype = backend.dtypes[0]!;
  const tolerance = SELF_TEST_TOLERANCE[dtype];
  const rows = 19, cols = 23, rank = 5;
  const V = fixture(rows, cols, 1, dtype);
  const W = fixture(rows, rank, 2, dtype);
  const H = fixture(rank, cols, 3, dtype);
  const reference = createReferenceBackend();
  const [mine, theirs] = [await backend.bind(V), await reference.bind(V)];
  try {
    const checks: [string, (b: typeof mine, out: Matrix) => Promise<void>, number, number][] = [
      ['WtV', (b, out) => b.WtV(W, out), rank, cols],
      ['VHt', (b, out) => b.VHt(H, out), rows, rank],
      ['WtW', (b, out) => b.WtW(W, out), rank, rank],
      ['HHt', (b, out) => b.HHt(H, out), rank, rank],
    ];
    for (const [name, op, r, c] of checks) {
      const got = zeros(r, c, dtype), want = zeros(r, c, dtype);
      await op(mine, got);
      await op(theirs, want);
      const far = farFrom(got, want);
      if (!(far <= tolerance)) return `${name} differs from the reference by ${far.toPrecision(2)}`;
    }
    const got = zeros(rows, cols, dtype), want = zeros(rows, cols, dtype);
    await backend.matmul(W, H, false, false, got);
    await reference.matmul(W, H, false, false, want);
    const far = farFrom(got, want);
    if (!(far <= tolerance)) return `matmul differs from the reference by ${far.toPrecision(2)}`;
    const [d1, d2] = [await mine.betaDivergence(W, H, 2), await theirs.betaDivergence(W, H, 2)];
    if (!(Math.abs(d1 - d2) <= tolerance * Math.abs(d2))) return `the Frobenius loss differs from the reference (${d1} vs ${d2})`;
    return null;
  } finally {
    await mine.dispose();
    await theirs.dispose();
  }
}
