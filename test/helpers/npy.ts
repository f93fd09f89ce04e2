// Reads the float .npy fixtures (little-endian float64/float32, 1-D or 2-D, C or Fortran order) into a row-major Matrix.
import { readFileSync } from 'node:fs';
import type { Matrix } from '../../src-main/engine/matrix.js';

export function readNpy(file: string): Matrix {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const dims = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const [rows, cols] = dims.length === 1 ? [1, dims[0]!] : [dims[0]!, dims[1] ?? 1];
  const bytes = buf.subarray(start);
  const copy = new Uint8Array(bytes).buffer;
  if (descr !== '<f8' && descr !== '<f4') throw new Error(`${file}: unsupported dtype ${descr}`);
  const raw = descr === '<f8' ? new Float64Array(copy, 0, rows * cols) : new Float32Array(copy, 0, rows * cols);
  if (!/'fortran_order':\s*True/.test(header)) return { rows, cols, data: raw };
  const data = raw.slice();
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = raw[j * rows + i]!;
  return { rows, cols, data };
}
