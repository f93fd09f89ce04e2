// One backend per process and request kind, chosen once (probing a GPU is slow) and shared by every run.

import type { Backend, BackendChoice, BackendRequest } from '../engine/backends/backend.js';
import { chooseBackend } from '../backends/registry.js';
import { dtypeOf, isSparse, type DataMatrix } from '../engine/matrix.js';

const chosen = new Map<BackendRequest, Promise<BackendChoice>>();

/** The backend a request resolves to here, and the words that explain it (always non-empty). */
export async function resolveBackend(request: BackendRequest): Promise<{ backend: Backend; reason: string }> {
  let choice = chosen.get(request);
  if (!choice) {
    choice = chooseBackend(request);
    chosen.set(request, choice);
    // A failed explicit request (e.g. --backend gpu without a GPU) is answered again next time.
    choice.catch(() => chosen.delete(request));
  }
  const { backend, reason } = await choice;
  return { backend, reason: reason || backend.label };
}

/**
 * Under 'auto', a float64 matrix with rows·cols·rank up to this runs on the float64 reference backend: its
 * numbers are then scikit-learn's (to rounding, where float32 strays by about 1e-6), and a fit of that size
 * takes a fifth of a second there (200 iterations of a 128×128 matrix at rank 5 or 64×64 at rank 20).
 */
export const SMALL_FLOAT64_WORK = 2 ** 17;

/** The fit a backend is chosen for, when the choice may depend on it. */
export interface FitSize {
  V: DataMatrix;
  rank: number;
}

/** Run fn on the backend for a request (and fit) and report which backend ran and why. */
export async function withBackend<T>(
  request: BackendRequest,
  fn: (backend: Backend) => Promise<T>,
  fit?: FitSize,
): Promise<{ result: T; backend: string; backendReason: string }> {
  const small = request === 'auto' && fit !== undefined && dtypeOf(fit.V) === 'float64' && fit.V.rows * fit.V.cols * fit.rank <= SMALL_FLOAT64_WORK;
  const { backend, reason } = await resolveBackend(small ? 'reference' : request);
  const result = await fn(backend);
  let backendReason = small ? `${backend.label}: a small float64 matrix (${fit.V.rows}×${fit.V.cols}, rank ${fit.rank}) runs in float64, as scikit-learn does` : reason;
  // where a sparse V's products ran, when the backend places them apart from its label (the GPU leaves small ones to the host)
  const note = fit && isSparse(fit.V) ? backend.sparseNote?.(fit.V, fit.rank) : undefined;
  if (note) backendReason = `${backendReason}; ${note}`;
  return { result, backend: backend.name, backendReason };
}

/** Release worker threads and GPU contexts so the process can exit. */
export async function disposeBackends(): Promise<void> {
  const all = [...chosen.values()];
  chosen.clear();
  const seen = new Set<Backend>();
  for (const p of all) {
    try {
      const { backend } = await p;
      if (!seen.has(backend)) {
        seen.add(backend);
        await backend.dispose();
      }
    } catch {
      // A backend that never came up has nothing to release.
    }
  }
}
