// Chooses the reader for a matrix file from its name: the pure entry point for bytes already in memory (uploads).

import { parseCsv } from './csv.js';
import { fileError } from './messages.js';
import { parseMatrixMarket } from './mtx.js';
import { parseNpy } from './npy.js';
import { readNpz } from './npz.js';
import { isSparse } from '../engine/matrix.js';
import type { CsvParseOptions, MatrixFormat, ParsedMatrix } from './types.js';

const EXTENSIONS: Record<string, MatrixFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.tab': 'csv',
  '.txt': 'csv',
  '.dat': 'csv',
  '.npy': 'npy',
  '.npz': 'npz',
  '.mtx': 'mtx',
  '.mm': 'mtx',
};

/** The endings readMatrixFile understands, for messages and file dialogs (each may also end in .gz). */
export const MATRIX_EXTENSIONS: readonly string[] = Object.keys(EXTENSIONS);

export interface ReadMatrixOptions extends CsvParseOptions {
  /** Read as this format whatever the file name says. */
  format?: MatrixFormat;
}

/** The format a file name announces, and whether it is gzip-compressed; undefined for an unknown ending. */
export function formatFromName(fileName: string): { format: MatrixFormat; gzip: boolean } | undefined {
  const lower = fileName.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const name = gzip ? lower.slice(0, -3) : lower;
  const dot = name.lastIndexOf('.');
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  if (dot <= slash) return undefined;
  const format = EXTENSIONS[name.slice(dot)];
  return format ? { format, gzip } : undefined;
}

export function unsupportedExtension(fileName: string): Error {
  const lower = fileName.toLowerCase();
  const base = lower.slice(Math.max(lower.lastIndexOf('/'), lower.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  const what = dot > 0 ? `files ending in '${base.slice(dot)}' are not matrix files` : 'the name has no ending to tell its format';
  return fileError(fileName, `${what}; supported: ${MATRIX_EXTENSIONS.join(', ')} (optionally gzip-compressed, ending in .gz)`);
}

/**
 * Parses a matrix file's (uncompressed) bytes, choosing the reader from options.format or the file name;
 * asynchronous because a .npz archive's members are inflated as streams.
 */
export async function parseMatrix(bytes: Uint8Array, fileName: string, options: ReadMatrixOptions = {}): Promise<ParsedMatrix> {
  const format = options.format ?? formatFromName(fileName)?.format;
  switch (format) {
    case 'npy':
      return parseNpy(bytes, fileName, options);
    case 'npz':
      return readNpz(bytes, fileName, options);
    case 'mtx':
      return parseMatrixMarket(bytes, fileName, options);
    case 'csv':
      return parseCsv(bytes, fileName, options);
    default:
      throw unsupportedExtension(fileName);
  }
}

/** A fraction of cells as people read it: '0.2 %', '0.0004 %'. */
function formatDensity(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(2))} %`;
}

const DELIMITER_NAMES: Record<string, string> = { ',': 'comma-separated', '\t': 'tab-separated', ';': 'semicolon-separated', ' ': 'whitespace-separated' };

/** One line for people: "200×30 CSV (tab-separated, header row, row labels), 12 missing cells". */
export function describeMatrixFile(r: ParsedMatrix): string {
  const details: string[] = [];
  if (r.format === 'csv') {
    if (r.delimiter) details.push(DELIMITER_NAMES[r.delimiter]!);
    if (r.columnNames) details.push('header row');
    if (r.rowNames) details.push('row labels');
  } else {
    details.push(r.sourceDtype);
  }
  const name = r.format === 'csv' ? 'CSV' : r.format === 'npy' ? '.npy' : r.format === 'npz' ? '.npz' : 'MatrixMarket';
  const m = r.matrix;
  if (isSparse(m)) {
    const nnz = m.indptr[m.rows]!;
    details.push(`sparse: ${nnz.toLocaleString('en-US')} non-zero${nnz === 1 ? '' : 's'}, ${formatDensity(nnz / (m.rows * m.cols))}`);
  }
  let line = `${m.rows}×${m.cols} ${name} (${details.join(', ')})`;
  if (r.missing) line += `, ${r.missing.toLocaleString('en-US')} missing cell${r.missing === 1 ? '' : 's'}`;
  if (r.clipped) line += `, ${r.clipped.toLocaleString('en-US')} negative value${r.clipped === 1 ? '' : 's'} set to 0`;
  return line;
}
