// Worker side of ssimParallel: the SSIM-map sums of a band of rows, for every colour channel.

import { parentPort, workerData } from 'node:worker_threads';
import { ssimChannelSum } from './metrics.js';

export interface SsimBand {
  a: SharedArrayBuffer;
  b: SharedArrayBuffer;
  bitDepth: 8 | 16;
  width: number;
  height: number;
  channels: number;
  colours: number;
  dataRange: number;
  rowStart: number;
  rowEnd: number;
}

const band = workerData as SsimBand;
const view = (buf: SharedArrayBuffer): Uint8Array | Uint16Array =>
  band.bitDepth === 16 ? new Uint16Array(buf) : new Uint8Array(buf);
const x = view(band.a);
const y = view(band.b);
const sums: number[] = [];
for (let c = 0; c < band.colours; c++) {
  sums.push(ssimChannelSum(x, y, band.width, band.height, band.channels, c, band.dataRange, band.rowStart, band.rowEnd));
}
parentPort!.postMessage(sums);
