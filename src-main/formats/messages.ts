// One-line user messages for unusable matrix files, built the same way by every reader.

import { UserError } from '../engine/errors.js';

/** The most entries a matrix may have; a file claiming more is refused before anything is allocated. */
export const MAX_ENTRIES = 2 ** 31;

export const NEGATIVE_HINT = 'use --clip-negative to set negatives to 0';

/** A problem with the file as a whole. */
export function fileError(fileName: string, reason: string): UserError {
  return new UserError(`${fileName}: ${reason}`, 'input');
}

/** A problem with one value: row and column count from 1, as a spreadsheet shows them. */
export function cellError(fileName: string, row: number, column: number, reason: string): UserError {
  return new UserError(`${fileName}: row ${row}, column ${column}: ${reason}`, 'input');
}

/** A cell's text for a message: quoted, control characters escaped, long ones shortened. */
export function quoteText(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 37)}…` : text;
  return JSON.stringify(short);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** "rows×cols" for messages, with thousands grouped so absurd sizes read as such. */
export function formatShape(dims: readonly number[]): string {
  return dims.map((d) => d.toLocaleString('en-US')).join('×');
}

/** Allocation of a result that may not fit in memory: a clear message instead of a RangeError. */
export function allocateFloat(fileName: string, length: number, float32: boolean, what: string): Float32Array | Float64Array {
  if (length > MAX_ENTRIES) {
    throw fileError(fileName, `${what} has ${length.toLocaleString('en-US')} entries, more than the ${MAX_ENTRIES.toLocaleString('en-US')} supported`);
  }
  try {
    return float32 ? new Float32Array(length) : new Float64Array(length);
  } catch {
    throw fileError(fileName, `not enough memory for ${what} (${formatBytes(length * (float32 ? 4 : 8))})`);
  }
}
