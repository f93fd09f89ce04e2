// A worker thread of the tiled encoder: runs the tile jobs it is sent, on the planes it shares with the encoder, and
// sends back their outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import { runTileJob } from './tile-work.js';
import type { SharedPlanes, TileJob } from './tile-work.js';

const planes = workerData as SharedPlanes;
parentPort!.on('message', (jobs: TileJob[]) => {
  parentPort!.postMessage(jobs.map((job) => runTileJob(job, planes)));
});
