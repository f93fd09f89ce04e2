// The benchmark's fixed matrices: two images from the test fixtures and two seeded random matrices, as float32.

import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Matrix } from '../src-main/engine/matrix.js';
import { fixture } from '../test/helpers/paths.js';
import { randomMatrix } from './random.js';

export interface BenchCase {
  name: string;
  /** What the matrix is, for the table. */
  about: string;
  rows: number;
  cols: number;
  rank: number;
  /** Timed runs per measurement (the best is kept). */
  repeats: number;
}

export const CASES: readonly BenchCase[] = [
  { name: 'camera', about: 'camera.png, grey, 512×512', rows: 512, cols: 512, rank: 32, repeats: 3 },
  { name: 'astronaut', about: 'astronaut.png, R|G|B side by side, 512×1536', rows: 512, cols: 1536, rank: 64, repeats: 2 },
  { name: 'random1024', about: 'uniform random, 1024×1024', rows: 1024, cols: 1024, rank: 32, repeats: 2 },
  { name: 'random2048', about: 'uniform random, 2048×2048', rows: 2048, cols: 2048, rank: 64, repeats: 1 },
];

/** Pixels scaled to [0, 1]. */
async function image(file: string, channels: 1 | 3): Promise<Matrix> {
  const img = sharp(fixture('images', file));
  const { data, info } = await (channels === 1 ? img.greyscale() : img.removeAlpha()).raw().toBuffer({ resolveWithObject: true });
  const rows = info.height, width = info.width;
  const out = new Float32Array(rows * width * channels);
  // Channel c of pixel (i, j) goes to column c·width + j: the three planes side by side.
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) {
      for (let c = 0; c < channels; c++) out[i * width * channels + c * width + j] = data[(i * width + j) * info.channels + c]! / 255;
    }
  }
  return { rows, cols: width * channels, data: out };
}


export async function loadCase(c: BenchCase): Promise<Matrix> {
  const m =
    c.name === 'camera' ? await image('camera.png', 1)
    : c.name === 'astronaut' ? await image('astronaut.png', 3)
    : randomMatrix(c.rows, c.cols, c.rows === 1024 ? 1024 : 2048);
  if (m.rows !== c.rows || m.cols !== c.cols) throw new Error(`${c.name}: expected ${c.rows}×${c.cols}, got ${m.rows}×${m.cols}`);
  return m;
}

/** A little-endian float32 C-order .npy file, for scikit-learn to read the very same numbers. */
export function writeNpy(file: string, m: Matrix): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(Float32Array.from(m.data).buffer);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}
