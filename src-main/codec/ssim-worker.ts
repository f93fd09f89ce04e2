// Worker side of ssimParallel: the SSIM-map sums of a band of rows, for every colour channel.

import { parentPort, workerData } from 'node:worker_threads';
import { ssimSums } from './metrics.js';

export interface SsimBand {
  a: SharedArrayBuffer;
  b: SharedArrayBuffer;
  bitDepth: 8 | 16;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  rowStart: number;
  rowEnd: number;
}

const band = workerData as SsimBand;
const view = (buf: SharedArrayBuffer): Uint8Array | Uint16Array =>
  band.bitDepth === 16 ? new Uint16Array(buf) : new Uint8Array(buf);
const image = (buf: SharedArrayBuffer) => ({ width: band.width, height: band.height, channels: band.channels, bitDepth: band.bitDepth, data: view(buf) });
parentPort!.postMessage(ssimSums(image(band.a), image(band.b), band.rowStart, band.rowEnd));
