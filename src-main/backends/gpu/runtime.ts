// Finds a GPU that gpu.js can drive in this process (WebGPU through Dawn, else headless-gl) and says in words why not.
//
// Native modules are loaded lazily and every failure is caught: importing this module never touches a driver.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type GpuMode = 'webgpu' | 'headlessgl';
export const GPU_MODES: readonly GpuMode[] = ['webgpu', 'headlessgl'];

/** How each mode is named in labels and reasons. */
export const MODE_NAMES: Readonly<Record<GpuMode, string>> = { webgpu: 'WebGPU', headlessgl: 'headless-gl' };

/** The parts of a gpu.js kernel shortcut this backend uses. */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  readonly kernel: { readonly constructor: { readonly mode: string } };
  destroy(removeCanvasReferences?: boolean): void;
}

/** The parts of gpu.js's GPU class this backend uses. */
export interface GpuJsInstance {
  createKernel(fn: string, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): Promise<void>;
}

interface GpuJsModule {
  GPU: {
    new (settings: { mode: string }): GpuJsInstance;
    isWebGPUAvailable(): Promise<boolean>;
  };
  Input: new (value: Float32Array, size: number[]) => unknown;
  HeadlessGLKernel: { readonly isSupported: boolean; readonly features: { maxTextureSize: number } | null };
  WebGPUContext: { acquire(): Promise<{ adapter: unknown; device: { limits: Record<string, number> } }>; destroy(): Promise<void> };
}

/** What a working mode reports about itself. */
export interface DeviceInfo {
  mode: GpuMode;
  /** The adapter or renderer as the driver names it, e.g. 'Mesa/X.org llvmpipe (LLVM 15.0.6, 256 bits)'. */
  device: string;
  /** True for CPU emulations of a GPU (llvmpipe, SwiftShader, lavapipe): slower than the CPU backend. */
  software: boolean;
}

export type ModeProbe = ({ ok: true } & DeviceInfo) | { ok: false; mode: GpuMode; reason: string };

let gpuJsModule: GpuJsModule | null = null;

export function loadGpuJs(): GpuJsModule {
  gpuJsModule ??= require('gpu.js') as GpuJsModule;
  return gpuJsModule;
}

const SOFTWARE_RENDERERS = /llvmpipe|softpipe|swiftshader|lavapipe|software|microsoft basic render/i;

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n')[0] ?? '').trim().slice(0, 200);
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Words for a native module that would not load. */
function loadFailure(what: string, e: unknown, packageName: string): string {
  const message = firstLine(e);
  const glibcxx = /GLIBCXX_[0-9.]+/.exec(message);
  if (glibcxx) return `${what} needs a newer libstdc++ (${glibcxx[0]})`;
  const code = errorCode(e);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${packageName}'`)) {
    return `${what} is not installed`;
  }
  if (code === 'MODULE_NOT_FOUND' || /\.node'?$/.test(message)) return `${what} has no build for ${process.platform}-${process.arch}`;
  if (/NODE_MODULE_VERSION|was compiled against a different/i.test(message)) {
    return `${what} is not built for this platform (compiled for another Node.js or Electron version)`;
  }
  return `${what} did not load (${message})`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- WebGPU (Dawn) ----------------------------------------------------------------------------------------------

interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}
interface DawnGpu {
  requestAdapter(options?: Record<string, unknown>): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

let dawn: DawnModule | null = null;

async function loadDawn(): Promise<DawnModule> {
  // a computed specifier keeps Dawn's WebGPU type declarations out of the Node program
  const specifier = 'webgpu';
  dawn ??= (await import(specifier)) as DawnModule;
  return dawn;
}

function adapterName(adapter: DawnAdapter): string {
  const info = adapter.info ?? {};
  // Dawn's `device` is the card ('NVIDIA H200'); its `description` is often only the driver's version
  const parts = [info.device, info.description, [info.vendor, info.architecture].filter(Boolean).join(' ')];
  return parts.map((p) => (p ?? '').trim()).find((p) => p.length > 0) ?? 'unnamed adapter';
}

/**
 * Loads Dawn and asks it for an adapter. On success the Dawn GPU object is returned so that the backend can install
 * it as navigator.gpu (gpu.js looks for it there).
 */
export async function probeWebGpu(timeoutMs = 8000): Promise<{ probe: ModeProbe; gpu?: DawnGpu; globals?: Record<string, unknown> }> {
  const fail = (reason: string) => ({ probe: { ok: false as const, mode: 'webgpu' as const, reason: `WebGPU: ${reason}` } });
  let module: DawnModule;
  try {
    module = await loadDawn();
  } catch (e) {
    return fail(loadFailure('Dawn', e, 'webgpu'));
  }
  try {
    const gpu = module.create([]);
    const adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), timeoutMs, 'the adapter request');
    if (!adapter) return fail('no adapter');
    const name = adapterName(adapter);
    const software = Boolean(adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter) || SOFTWARE_RENDERERS.test(name);
    return { probe: { ok: true, mode: 'webgpu', device: name, software }, gpu, globals: module.globals };
  } catch (e) {
    return fail(firstLine(e));
  }
}

// ---- headless-gl ------------------------------------------------------------------------------------------------

interface HeadlessGlContext {
  getExtension(name: string): unknown;
  getParameter(pname: number): unknown;
  _getParameterDirect?(pname: number): unknown;
  readonly RENDERER: number;
  readonly MAX_TEXTURE_SIZE: number;
}

/** 'ANGLE (Mesa/X.org llvmpipe (LLVM 15.0.6, 256 bits) OpenGL 4.5 core)' → 'Mesa/X.org llvmpipe (LLVM 15.0.6, 256 bits)' */
export function tidyGlRenderer(raw: string): string {
  let s = raw.trim();
  const angle = /^ANGLE \((.*)\)$/.exec(s);
  if (angle?.[1]) s = angle[1];
  s = s.replace(/,?\s+OpenGL( ES)? [0-9.]+.*$/i, '').replace(/,?\s+(Direct3D|Vulkan|Metal)\b.*$/i, '');
  return s.trim() || raw.trim();
}

/** Loads the `gl` module and opens (then closes) a 1×1 context to read the renderer and its limits. */
export function probeHeadlessGl(): { probe: ModeProbe; maxTextureSize?: number } {
  const fail = (reason: string) => ({ probe: { ok: false as const, mode: 'headlessgl' as const, reason: `headless-gl: ${reason}` } });
  // On Linux headless-gl draws through an X server (GLX): without one it cannot make a context, and loading it
  // first cost a command a few hundredths of a second.
  if (process.platform === 'linux' && !process.env.DISPLAY) return fail('no display');
  let createContext: (w: number, h: number, attrs?: Record<string, unknown>) => HeadlessGlContext | null;
  try {
    createContext = require('gl') as typeof createContext;
  } catch (e) {
    const code = errorCode(e);
    if (code === 'MODULE_NOT_FOUND' && firstLine(e).includes("'gl'")) return fail('not installed');
    return fail(`not built for this platform (${firstLine(e)})`);
  }
  let gl: HeadlessGlContext | null = null;
  try {
    gl = createContext(1, 1, { preserveDrawingBuffer: true });
  } catch (e) {
    return fail(`could not create a GL context (${firstLine(e)})`);
  }
  if (!gl) {
    return fail('could not create a GL context');
  }
  try {
    if (!gl.getExtension('OES_texture_float')) return fail('no float textures (OES_texture_float)');
    const raw = String((gl._getParameterDirect ?? gl.getParameter).call(gl, gl.RENDERER) ?? 'unknown renderer');
    const device = tidyGlRenderer(raw);
    const maxTextureSize = Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) || 2048;
    return { probe: { ok: true, mode: 'headlessgl', device, software: SOFTWARE_RENDERERS.test(device) }, maxTextureSize };
  } catch (e) {
    return fail(firstLine(e));
  } finally {
    try {
      (gl.getExtension('STACKGL_destroy_context') as { destroy?: () => void } | null)?.destroy?.();
    } catch {
      // the context is garbage either way
    }
  }
}

// ---- opening a runtime -------------------------------------------------------------------------------------------

/** A gpu.js instance on one working mode, with the limits the kernels must respect. */
export interface GpuRuntime extends DeviceInfo {
  readonly gpujs: GpuJsModule;
  readonly gpu: GpuJsInstance;
  /** Largest float32 count one texture or storage buffer may hold. */
  readonly maxElements: number;
  /** Largest texture side (GL) or dispatch extent (WebGPU) in elements. */
  readonly maxSide: number;
  close(): Promise<void>;
}

function defineNavigatorGpu(gpu: DawnGpu): () => void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return () => {
      delete (globalThis as { navigator?: unknown }).navigator;
    };
  }
  const previous = Object.getOwnPropertyDescriptor(g.navigator, 'gpu');
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  return () => {
    if (previous) Object.defineProperty(g.navigator, 'gpu', previous);
    else delete (g.navigator as { gpu?: unknown }).gpu;
  };
}

/**
 * Dawn's Node bindings (webgpu 0.2.9) refuse a plain function for `device.onuncapturederror` ("object is not of the
 * correct interface type"), and gpu.js sets one when it opens its device. Where the native setter refuses, the
 * handler is kept aside instead: Dawn then reports uncaptured errors on stderr itself, and gpu.js's own error checks
 * (error scopes, the lost promise) still work.
 */
export function tolerateUncapturedErrorHandlers(globals: Record<string, unknown> | undefined): void {
  const deviceClass = globals?.GPUDevice as { prototype?: object } | undefined;
  const proto = deviceClass?.prototype;
  if (!proto) return;
  const native = Object.getOwnPropertyDescriptor(proto, 'onuncapturederror');
  if (!native?.set || !native.configurable || (native.set as { tolerant?: boolean }).tolerant) return;
  const kept = new WeakMap<object, unknown>();
  const set = function (this: object, handler: unknown) {
    try {
      native.set!.call(this, handler);
      kept.delete(this);
    } catch {
      kept.set(this, handler);
    }
  };
  (set as { tolerant?: boolean }).tolerant = true;
  Object.defineProperty(proto, 'onuncapturederror', {
    configurable: true,
    enumerable: native.enumerable ?? true,
    get(this: object) {
      return kept.has(this) ? kept.get(this) : native.get?.call(this);
    },
    set,
  });
}

async function openWebGpu(gpu: DawnGpu, globals: Record<string, unknown> | undefined, info: DeviceInfo): Promise<GpuRuntime> {
  const gpujs = loadGpuJs();
  // gpu.js reads navigator.gpu and the GPUBufferUsage-style globals; Dawn supplies both
  for (const [k, v] of Object.entries(globals ?? {})) {
    if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  }
  tolerateUncapturedErrorHandlers(globals);
  const restoreNavigator = defineNavigatorGpu(gpu);
  try {
    const instance = new gpujs.GPU({ mode: 'webgpu' });
    const { device } = await gpujs.WebGPUContext.acquire();
    const limits = device.limits;
    const bytes = Math.min(limits.maxStorageBufferBindingSize ?? 134217728, limits.maxBufferSize ?? 268435456);
    const groups = limits.maxComputeWorkgroupsPerDimension ?? 65535;
    return {
      ...info,
      gpujs,
      gpu: instance,
      maxElements: Math.floor(bytes / 4),
      // 2-D kernels run 8×8 workgroups
      maxSide: groups * 8,
      async close() {
        await instance.destroy().catch(() => undefined);
        await gpujs.WebGPUContext.destroy().catch(() => undefined);
        restoreNavigator();
      },
    };
  } catch (e) {
    restoreNavigator();
    throw e;
  }
}

function openHeadlessGl(maxTextureSize: number, info: DeviceInfo): GpuRuntime {
  const gpujs = loadGpuJs();
  if (!gpujs.HeadlessGLKernel.isSupported) throw new Error('headless-gl: gpu.js could not use the GL context');
  const instance = new gpujs.GPU({ mode: 'headlessgl' });
  const side = Math.min(maxTextureSize, gpujs.HeadlessGLKernel.features?.maxTextureSize ?? maxTextureSize);
  return {
    ...info,
    gpujs,
    gpu: instance,
    // textures pack four floats per texel (optimizeFloatMemory)
    maxElements: side * side * 4,
    maxSide: side,
    async close() {
      await instance.destroy().catch(() => undefined);
    },
  };
}

export interface OpenOptions {
  /** Modes to try, in order. Default: WebGPU, then headless-gl. */
  modes?: readonly GpuMode[];
  /** Accept a software renderer (llvmpipe, SwiftShader). Default false: it is slower than the CPU backend. */
  allowSoftware?: boolean;
}

export type OpenOutcome = { ok: true; runtime: GpuRuntime; reasons: string[] } | { ok: false; reasons: string[] };

/** Probes each mode in turn and opens the first that works; `reasons` says why each earlier one was passed over. */
export async function openRuntime(options: OpenOptions = {}): Promise<OpenOutcome> {
  const modes = options.modes ?? GPU_MODES;
  const reasons: string[] = [];
  for (const mode of modes) {
    try {
      if (mode === 'webgpu') {
        const { probe, gpu, globals } = await probeWebGpu();
        if (!probe.ok || !gpu) {
          reasons.push(probe.ok ? 'WebGPU: no adapter' : probe.reason);
          continue;
        }
        if (probe.software && !options.allowSoftware) {
          reasons.push(`WebGPU: only a software adapter (${probe.device})`);
          continue;
        }
        return { ok: true, runtime: await openWebGpu(gpu, globals, probe), reasons };
      }
      const { probe, maxTextureSize } = probeHeadlessGl();
      if (!probe.ok) {
        reasons.push(probe.reason);
        continue;
      }
      if (probe.software && !options.allowSoftware) {
        reasons.push(`headless-gl: only a software renderer (${probe.device})`);
        continue;
      }
      return { ok: true, runtime: openHeadlessGl(maxTextureSize ?? 2048, probe), reasons };
    } catch (e) {
      reasons.push(`${MODE_NAMES[mode]}: ${firstLine(e)}`);
    }
  }
  return { ok: false, reasons };
}

/** Probes without opening anything: the first mode that answers, or why none did. */
export async function probeModes(options: OpenOptions = {}): Promise<{ ok: true; info: DeviceInfo; reasons: string[] } | { ok: false; reasons: string[] }> {
  const modes = options.modes ?? GPU_MODES;
  const reasons: string[] = [];
  for (const mode of modes) {
    try {
      const probe = mode === 'webgpu' ? (await probeWebGpu()).probe : probeHeadlessGl().probe;
      if (!probe.ok) {
        reasons.push(probe.reason);
      } else if (probe.software && !options.allowSoftware) {
        reasons.push(`${MODE_NAMES[mode]}: only a software ${mode === 'webgpu' ? 'adapter' : 'renderer'} (${probe.device})`);
      } else {
        return { ok: true, info: { mode: probe.mode, device: probe.device, software: probe.software }, reasons };
      }
    } catch (e) {
      reasons.push(`${MODE_NAMES[mode]}: ${firstLine(e)}`);
    }
  }
  return { ok: false, reasons };
}

export function labelFor(info: DeviceInfo): string {
  return `GPU (gpu.js ${MODE_NAMES[info.mode]}, ${info.device})`;
}
