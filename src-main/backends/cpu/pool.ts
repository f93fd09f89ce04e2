// The CPU backend's threads: one shared WebAssembly.Memory, the kernel module instantiated on it by the
// calling thread and by worker_threads, and a job hand-off through Atomics (no message per product).
//
// The calling thread always works on a job itself; workers join it while it is open. A job too small to be
// worth a wake-up never opens, and the caller never waits for a worker that has not joined, so a product
// costs the caller no more than doing it alone. Workers sleep in Atomics.wait between jobs (no CPU). They start
// with the first job that could use them, not with the pool, and join jobs once they are up: a process that never
// runs a parallel job (a tiled compress, whose tiles have threads of their own) never pays for them.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './kernel/wasm-bytes.js';

export type KernelFlavour = 'relaxed' | 'simd';

/** The kernel's job runners: each takes a job record and the calling thread's index (0: the caller). */
export interface KernelExports {
  gemm_run(job: number, tid: number): void;
  sqdiff_run(job: number, tid: number): void;
  sweep_run(job: number, tid: number): void;
  sparse_run(job: number, tid: number): void;
}

/** Which exported kernel runs a job, as stored in the control block. */
export const JobKind = { Gemm: 0, Sqdiff: 1, Sweep: 2, Sparse: 3 } as const;
export type JobKind = (typeof JobKind)[keyof typeof JobKind];
const RUNNERS = ['gemm_run', 'sqdiff_run', 'sweep_run', 'sparse_run'] as const;

/** Runs one job's share on this thread. */
export function runShare(kernels: KernelExports, kind: number, job: number, tid: number): void {
  const runner = RUNNERS[kind];
  if (!runner) throw new Error(`unknown CPU backend job kind ${kind}`);
  kernels[runner](job, tid);
}

// Control block (Int32 words) at CONTROL_BYTE. Bytes below it are where the module's (unused) shadow stack
// would be, so nothing is placed there.
export const CONTROL_BYTE = 128 * 1024;
const GEN = 0; // bumped for every opened job; workers sleep on it
const SLOTS = 1; // workers that may still join the open job; the caller closes it by swapping in -1
const DONE = 2; // workers that joined and finished
const KIND = 3;
const JOB = 4;
const QUIT = 5;
const FAILED = 6;
const CONTROL_WORDS = 16;
/** Per-thread blocks where the GEMM kernel packs panels of B (KCMAX×NR floats each, see kernel/gemm.c). */
export const PACK_BYTE = CONTROL_BYTE + 4096;
export const PACK_BYTES_PER_THREAD = 512 * 8 * 4;
const MAX_THREADS = 16;
/** First byte the allocator hands out. */
export const HEAP_BYTE = PACK_BYTE + MAX_THREADS * PACK_BYTES_PER_THREAD + 60 * 1024;

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, all of wasm32

export function kernelBytes(flavour: KernelFlavour): Uint8Array {
  return Uint8Array.from(Buffer.from(flavour === 'relaxed' ? RELAXED_WASM_BASE64 : SIMD_WASM_BASE64, 'base64'));
}

/** relaxed where this runtime validates relaxed SIMD (Electron's Chromium does; Node 20 needs a flag), else simd. */
export function bestFlavour(): KernelFlavour {
  return WebAssembly.validate(kernelBytes('relaxed')) ? 'relaxed' : 'simd';
}

export interface PoolOptions {
  /** Total threads including the caller; default: the machine's available parallelism (at most 16). */
  threads?: number;
  flavour?: KernelFlavour;
}

export class KernelPool {
  readonly threads: number;
  readonly flavour: KernelFlavour;
  readonly memory: WebAssembly.Memory;
  readonly kernels: KernelExports;
  private readonly control: Int32Array;
  private workers: Worker[] = [];
  private started = false;
  private disposed = false;
  /** Parallel jobs still to run on the calling thread alone, after workers kept it waiting (a busy machine). */
  private soloJobs = 0;
  private slowStreak = 0;

  private constructor(
    threads: number,
    flavour: KernelFlavour,
    memory: WebAssembly.Memory,
    kernels: KernelExports,
    private readonly module: WebAssembly.Module,
  ) {
    this.threads = threads;
    this.flavour = flavour;
    this.memory = memory;
    this.kernels = kernels;
    this.control = new Int32Array(memory.buffer, CONTROL_BYTE, CONTROL_WORDS);
  }

  static async create(options: PoolOptions = {}): Promise<KernelPool> {
    const threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads ?? availableParallelism())));
    const flavour = options.flavour ?? bestFlavour();
    const module = await WebAssembly.compile(kernelBytes(flavour));
    const memory = new WebAssembly.Memory({ initial: HEAP_BYTE / PAGE, maximum: MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const kernels = instance.exports as unknown as KernelExports;
    return new KernelPool(threads, flavour, memory, kernels, module);
  }

  /** The worker threads, started without waiting for them: each joins the jobs opened once it is up. */
  private startWorkers(): void {
    this.started = true;
    for (let tid = 1; tid < this.threads; tid++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { module: this.module, memory: this.memory, controlByte: CONTROL_BYTE, tid },
        // Not the parent's: `node --input-type=module -e …` would be refused for a worker file. V8 flags
        // (relaxed SIMD, say) are process-wide and reach the worker anyway.
        execArgv: [],
      });
      // One that fails to start only never joins: the caller does every job it does not.
      const drop = (): void => {
        this.workers = this.workers.filter((w) => w !== worker);
      };
      worker.on('error', drop);
      worker.on('exit', drop);
      // A worker must never keep the process alive on its own (dispose() ends them explicitly); after the listeners.
      worker.unref();
      this.workers.push(worker);
    }
  }

  /**
   * Runs a job to completion on the calling thread, with the workers joining when parallel is set.
   * Synchronous: the job record may be reused as soon as this returns.
   */
  run(kind: JobKind, job: number, parallel: boolean): void {
    if (this.disposed) throw new Error('the CPU backend has been disposed');
    const c = this.control;
    if (parallel && this.soloJobs > 0) {
      this.soloJobs--;
      parallel = false;
    }
    if (parallel && !this.started) this.startWorkers();
    const helpers = parallel ? this.workers.length : 0;
    if (helpers > 0) {
      Atomics.store(c, KIND, kind);
      Atomics.store(c, JOB, job);
      Atomics.store(c, DONE, 0);
      Atomics.store(c, SLOTS, helpers);
      Atomics.add(c, GEN, 1);
      Atomics.notify(c, GEN);
    }
    const started = helpers > 0 ? performance.now() : 0;
    runShare(this.kernels, kind, job, 0);
    if (helpers > 0) {
      const finished = performance.now();
      const joined = helpers - Math.max(0, Atomics.exchange(c, SLOTS, -1));
      let spins = 0;
      for (;;) {
        const done = Atomics.load(c, DONE);
        if (done >= joined) break;
        if (++spins > 200) Atomics.wait(c, DONE, done, 50);
      }
      if (Atomics.load(c, FAILED) !== 0) throw new Error('a CPU backend worker failed');
      // A worker that holds its chunk for longer than the caller took for all the rest has been descheduled:
      // other programs want these cores. After a few such jobs in a row, work alone for a while.
      const waited = performance.now() - finished;
      this.slowStreak = waited > 0.2 && waited > finished - started ? this.slowStreak + 1 : 0;
      if (this.slowStreak >= 3) {
        this.slowStreak = 0;
        this.soloJobs = 50;
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.control, QUIT, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Word indices of the control block, for the worker. */
export const CONTROL = { GEN, SLOTS, DONE, KIND, JOB, QUIT, FAILED, CONTROL_WORDS } as const;
