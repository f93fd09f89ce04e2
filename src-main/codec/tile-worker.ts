// A worker thread of the tiled encoder: runs the tile jobs it is sent and sends back their outcomes.
import { parentPort } from 'node:worker_threads';
import { runTileJob } from './tile-work.js';
import type { TileJob } from './tile-work.js';

parentPort!.on('message', (jobs: TileJob[]) => {
  parentPort!.postMessage(jobs.map(runTileJob));
});
