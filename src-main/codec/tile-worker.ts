// A thread of the tile pool: keeps the planes of the encoders it is told of, runs the tile jobs it is sent on them,
// and answers with their outcomes.
import { parentPort } from 'node:worker_threads';
import { runTileJob } from './tile-work.js';
import type { SharedPlanes, TileWorkerMessage, TileWorkerReply } from './tile-work.js';

const planes = new Map<number, SharedPlanes>();
parentPort!.on('message', (m: TileWorkerMessage) => {
  if (m.kind === 'planes') planes.set(m.id, m.planes);
  else if (m.kind === 'drop') planes.delete(m.id);
  else {
    const on = planes.get(m.planes)!;
    parentPort!.postMessage({ id: m.id, outcomes: m.jobs.map((job) => runTileJob(job, on)) } satisfies TileWorkerReply);
  }
});
