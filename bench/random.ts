// The benchmarks' seeded random matrices, kept apart from cases.ts (which reads images with sharp) so that the GPU
// benchmarks run where only gpu.js and Dawn were carried (bench/device-pack.sh).

import type { Matrix } from '../src-main/engine/matrix.js';
import { xorshift } from '../test/helpers/random.js';

/** Uniform [0, 1) from a 32-bit xorshift: the same matrix on every machine. */
export function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const data = new Float32Array(rows * cols);
  const next = xorshift(seed);
  for (let c = 0; c < data.length; c++) data[c] = next();
  return { rows, cols, data };
}
