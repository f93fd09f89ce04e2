// A CPU backend worker thread: instantiates the kernels on the shared memory and joins jobs as they open.
import { workerData } from 'node:worker_threads';
import { CONTROL, runShare, type KernelExports } from './pool.js';

const { module, memory, controlByte, tid } = workerData as {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  controlByte: number;
  tid: number;
};
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
const c = new Int32Array(memory.buffer, controlByte, CONTROL.CONTROL_WORDS);

let seen = Atomics.load(c, CONTROL.GEN);
for (;;) {
  Atomics.wait(c, CONTROL.GEN, seen);
  seen = Atomics.load(c, CONTROL.GEN);
  if (Atomics.load(c, CONTROL.QUIT) !== 0) break;
  // Join only while the job is open: once the caller has closed it, it no longer waits for us.
  let slots = Atomics.load(c, CONTROL.SLOTS);
  let joined = false;
  while (slots > 0) {
    const prev = Atomics.compareExchange(c, CONTROL.SLOTS, slots, slots - 1);
    if (prev === slots) {
      joined = true;
      break;
    }
    slots = prev;
  }
  if (!joined) continue;
  try {
    runShare(kernels, Atomics.load(c, CONTROL.KIND), Atomics.load(c, CONTROL.JOB), tid);
  } catch {
    Atomics.store(c, CONTROL.FAILED, 1);
  }
  Atomics.add(c, CONTROL.DONE, 1);
  Atomics.notify(c, CONTROL.DONE);
}
