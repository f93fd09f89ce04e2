// A thread of the tile pool: keeps the planes of the encoders it is told of, runs the tile jobs it is sent on them,
// and answers with their outcomes.
import { parentPort } from 'node:worker_threads';
import { runTileJob } from './tile-work.js';
import type { SharedPlanes, TileJob, TileWorkerMessage, TileWorkerReply } from './tile-work.js';

const planes = new Map<number, SharedPlanes>();
parentPort!.on('message', (m: TileWorkerMessage) => {
  if (m.kind === 'planes') planes.set(m.id, m.planes);
  else if (m.kind === 'drop') planes.delete(m.id);
  else {
    const on = planes.get(m.planes)!;
    parentPort!.postMessage({ id: m.id, outcomes: m.jobs.map((job) => runTileJob(job, on)) } satisfies TileWorkerReply);
  }
});

/**
 * Rounds of warmUp: enough calls for the optimising compiler to take the small loops on (three left them
 * interpreted). 5 and 10 rounds made a photograph's command 2–4 % quicker than 40, whose extra rounds only took CPU
 * from the encoder's thread; 8.
 */
const WARM_UP_ROUNDS = 8;

/**
 * Spectra and fits of a made-up tile as soon as the thread is up (it starts while the command probes its backend and
 * reads the image): the JavaScript around the kernels (starts, quantisation, copies) is compiled before real tiles
 * wait on it. Without it a photograph's first fits ran at a third of their later speed.
 */
function warmUp(): void {
  const side = 64;
  const data = new Float32Array(side * side);
  let seed = 1;
  for (let c = 0; c < data.length; c++) data[c] = 0.5 + 0.3 * Math.sin(c * 0.37) * Math.cos((c >> 6) * 0.21) + 0.1 * ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const made: SharedPlanes = { data: [data], cols: [side] };
  const at = { plane: 0, x: 0, y: 0, rows: side, cols: side };
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    const jobs: TileJob[] = [
      { kind: 'spectrum', ...at, r: 16, seed: 0 },
      { kind: 'spectrum', ...at, r: 6, seed: 0 },
      { kind: 'fit', ...at, k: 4 + (round % 8), seed: 0, bits: 6, fit: { maxIter: 5 } },
    ];
    for (const job of jobs) runTileJob(job, made);
  }
}
warmUp();
