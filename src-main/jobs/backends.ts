// One backend per process and request kind, chosen once (probing a GPU is slow) and shared by every run.

import type { Backend, BackendChoice, BackendRequest } from '../engine/backends/backend.js';
import { chooseBackend } from '../backends/registry.js';
import { isSparse, type DataMatrix } from '../engine/matrix.js';

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

/** Run fn on the backend for a request and report which backend ran and why. */
export async function withBackend<T>(
  request: BackendRequest,
  fn: (backend: Backend) => Promise<T>,
): Promise<{ result: T; backend: string; backendReason: string }> {
  const { backend, reason } = await resolveBackend(request);
  const result = await fn(backend);
  return { result, backend: backend.name, backendReason: reason };
}

/**
 * The reason a run reports, with what a sparse V changes on the GPU: it is not put on the card, and the products
 * with it run on the host (a few scattered non-zeros per row do not pay there).
 */
export function reasonFor(backend: string, reason: string, V: DataMatrix): string {
  return backend === 'gpu' && isSparse(V) ? `${reason}; sparse V: its products run on the CPU (TypeScript), not on the GPU` : reason;
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
