// The gpu backend's entry for the registry: a cheap probe of WebGPU (Dawn) and headless-gl, and the constructor.

import type { BackendProvider } from '../../engine/backends/backend.js';
import { GpuBackend } from './gpu-backend.js';
import type { GpuBackendOptions } from './gpu-backend.js';
import { labelFor, probeModes } from './runtime.js';

export { GpuBackend, GpuBoundV, GpuUnavailableError } from './gpu-backend.js';
export type { GpuBackendOptions } from './gpu-backend.js';
export { fitTilesBatched } from './tile-batch.js';
export type { BatchFit, BatchFitOptions, BatchTile } from './tile-batch.js';
export { labelFor, openRuntime, probeHeadlessGl, probeModes, probeWebGpu } from './runtime.js';
export type { DeviceInfo, GpuMode } from './runtime.js';

export type GpuProbe = { ok: true; label: string } | { ok: false; reason: string };

let probed: Promise<GpuProbe> | null = null;

/**
 * Whether a hardware GPU answers here, and which: WebGPU through Dawn first, then headless-gl. Software renderers
 * (Mesa llvmpipe, SwiftShader) are reported as not ok, since the CPU backend beats them. The answer is kept for the
 * life of the process: drivers do not come and go.
 */
export function probeGpu(): Promise<GpuProbe> {
  probed ??= probeModes().then(
    (r): GpuProbe => (r.ok ? { ok: true, label: labelFor(r.info) } : { ok: false, reason: r.reasons.join('; ') }),
    (e: unknown): GpuProbe => ({ ok: false, reason: `GPU probe failed: ${e instanceof Error ? e.message : String(e)}` }),
  );
  return probed;
}

/** Opens the gpu backend (see GpuBackendOptions); throws GpuUnavailableError with one reason per mode tried. */
export function createGpuBackend(options: GpuBackendOptions = {}): Promise<GpuBackend> {
  return GpuBackend.open(options);
}

export const gpuProvider: BackendProvider = {
  name: 'gpu',
  priority: 20,
  async probe() {
    const r = await probeGpu();
    return r.ok ? { ok: true } : { ok: false, reason: r.reason };
  },
  create: () => GpuBackend.open(),
};
