// Runs heavy tasks on worker threads so the main process (the window, the web server) never blocks.
//
// Cancellation: each task gets a flag in shared memory that the engine reads every iteration, so a
// cancel takes effect within one iteration; a worker that does not stop within a grace period is
// terminated and replaced.

import { Worker } from 'node:worker_threads';
import { CancelledError, UserError } from '../engine/errors.js';
import type { TaskKind, TaskMessage, TaskPayload, TaskProgress, TaskResult, WorkerReply } from './tasks.js';

interface Pending {
  id: number;
  kind: TaskKind;
  payload: unknown;
  transfer: ArrayBuffer[];
  cancelFlag: Int32Array;
  onProgress?: (p: TaskProgress) => void;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  worker?: PooledWorker;
  killTimer?: NodeJS.Timeout;
}

interface PooledWorker {
  worker: Worker;
  busy: Pending | null;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);
const KILL_AFTER_MS = 3000;

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
  /** Buffers moved (not copied) to the worker. */
  transfer?: ArrayBuffer[];
}

export class TaskPool {
  private readonly workers: PooledWorker[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly size: number) {}

  run<K extends TaskKind>(kind: K, payload: TaskPayload<K>, options: RunOptions = {}): Promise<TaskResult<K>> {
    if (this.closed) return Promise.reject(new Error('task pool is closed'));
    return new Promise<TaskResult<K>>((resolve, reject) => {
      const task: Pending = {
        id: this.nextId++,
        kind,
        payload,
        transfer: options.transfer ?? [],
        cancelFlag: new Int32Array(new SharedArrayBuffer(4)),
        onProgress: options.onProgress,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      const signal = options.signal;
      if (signal) {
        if (signal.aborted) {
          reject(new CancelledError());
          return;
        }
        // Removed when the task settles, so one long-lived signal shared by many tasks does not pile up listeners.
        const onAbort = () => this.cancel(task);
        signal.addEventListener('abort', onAbort, { once: true });
        task.resolve = (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v as TaskResult<K>);
        };
        task.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      this.queue.push(task);
      this.pump();
    });
  }

  private cancel(task: Pending): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      task.reject(new CancelledError());
      return;
    }
    if (!task.worker || task.worker.busy !== task) return;
    Atomics.store(task.cancelFlag, 0, 1);
    // The engine checks the flag every iteration; a worker stuck in one long step is replaced.
    task.killTimer = setTimeout(() => {
      const w = task.worker;
      if (w && w.busy === task) {
        w.busy = null;
        this.drop(w);
        task.reject(new CancelledError());
        this.pump();
      }
    }, KILL_AFTER_MS);
    task.killTimer.unref();
  }

  private pump(): void {
    while (this.queue.length) {
      let w = this.workers.find((x) => !x.busy);
      if (!w && this.workers.length < this.size) w = this.spawn();
      if (!w) return;
      const task = this.queue.shift()!;
      w.busy = task;
      task.worker = w;
      const message: TaskMessage = { id: task.id, kind: task.kind, payload: task.payload, cancelFlag: task.cancelFlag };
      w.worker.postMessage(message, task.transfer);
    }
  }

  private spawn(): PooledWorker {
    const pooled: PooledWorker = { worker: new Worker(WORKER_URL), busy: null };
    pooled.worker.on('message', (reply: WorkerReply) => this.onReply(pooled, reply));
    pooled.worker.on('error', (err) => this.lose(pooled, err));
    pooled.worker.on('exit', () => this.lose(pooled, new Error('a worker stopped unexpectedly')));
    this.workers.push(pooled);
    return pooled;
  }

  private lose(pooled: PooledWorker, err: unknown): void {
    const task = pooled.busy;
    pooled.busy = null;
    this.drop(pooled);
    if (task) {
      clearTimeout(task.killTimer);
      task.reject(Atomics.load(task.cancelFlag, 0) ? new CancelledError() : err);
    }
    this.pump();
  }

  private onReply(pooled: PooledWorker, reply: WorkerReply): void {
    const task = pooled.busy;
    if (!task || task.id !== reply.id) return;
    if (reply.type === 'progress') {
      task.onProgress?.(reply.progress);
      return;
    }
    clearTimeout(task.killTimer);
    pooled.busy = null;
    if (reply.type === 'done') task.resolve(reply.result);
    else if (reply.error.kind === 'cancelled') task.reject(new CancelledError());
    else if (reply.error.kind === 'input' || reply.error.kind === 'usage') task.reject(new UserError(reply.error.message, reply.error.kind));
    else {
      const err = new Error(reply.error.message);
      if (reply.error.stack) err.stack = reply.error.stack;
      task.reject(err);
    }
    this.pump();
  }

  private drop(pooled: PooledWorker): void {
    const i = this.workers.indexOf(pooled);
    if (i >= 0) this.workers.splice(i, 1);
    pooled.worker.removeAllListeners();
    pooled.worker.on('error', () => {}); // a terminating worker may still report; nobody is waiting
    void pooled.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new CancelledError());
    const workers = this.workers.splice(0);
    for (const w of workers) w.worker.removeAllListeners();
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
