// The worker thread's side of the pool: runs one task at a time and reports progress, result or error.

import { parentPort } from 'node:worker_threads';
import { CancelledError, UserError, type CancelSignal } from '../engine/errors.js';
import type { TaskKind, TaskMessage, TaskProgress, WorkerReply } from './tasks.js';
import { TASK_HANDLERS } from './handlers.js';

if (!parentPort) throw new Error('jobs/worker.js runs only as a worker thread');
const port = parentPort;

port.on('message', (message: TaskMessage) => {
  void run(message);
});

async function run({ id, kind, payload, cancelFlag }: TaskMessage): Promise<void> {
  const signal: CancelSignal = {
    get aborted() {
      return Atomics.load(cancelFlag, 0) === 1;
    },
  };
  const progress = (p: TaskProgress) => {
    const reply: WorkerReply = { type: 'progress', id, progress: p };
    port.postMessage(reply);
  };
  try {
    const handler = TASK_HANDLERS[kind as TaskKind] as (payload: unknown, ctx: { signal: CancelSignal; progress: typeof progress }) => Promise<unknown>;
    const result = await handler(payload, { signal, progress });
    const reply: WorkerReply = { type: 'done', id, result };
    port.postMessage(reply, transferables(result));
  } catch (err) {
    const reply: WorkerReply = {
      type: 'error',
      id,
      error:
        err instanceof CancelledError
          ? { kind: 'cancelled', message: 'cancelled' }
          : err instanceof UserError
            ? { kind: err.kind, message: err.message }
            : { kind: 'internal', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined },
    };
    port.postMessage(reply);
  }
}

/** Large typed arrays in a result move to the main thread instead of being copied. */
function transferables(value: unknown, out: ArrayBuffer[] = [], seen = new Set<unknown>()): ArrayBuffer[] {
  if (!value || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && buffer.byteLength > 64 * 1024 && !out.includes(buffer)) out.push(buffer);
    return out;
  }
  for (const v of Object.values(value)) transferables(v, out, seen);
  return out;
}
