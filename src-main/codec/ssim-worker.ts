// Worker side of ssimParallel: the SSIM-map sums of a band of rows, for every colour channel.

import { parentPort, workerData } from 'node:worker_threads';
import { bandSums } from './ssim-parallel.js';
import type { SsimBand } from './ssim-parallel.js';

parentPort!.postMessage(bandSums(workerData as SsimBand));
