// Reading and writing matrix files on disk: thin wrappers around the pure parsers and encoders.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import type { DType, Matrix } from '../engine/matrix.js';
import { writeFileAtomic } from './atomic.js';
import { csvChunks } from './csv.js';
import { describeFsError, fileSize } from './fs-errors.js';
import { fileError, formatBytes } from './messages.js';
import { MatrixMarketStream } from './mtx.js';
import { encodeNpy } from './npy.js';
import { readNpz } from './npz.js';
import { formatFromName, parseMatrix, unsupportedExtension, type ReadMatrixOptions } from './parse.js';
import type { ParsedMatrix, WriteFormat } from './types.js';
import { UserError, type CancelSignal } from '../engine/errors.js';

const gunzipAsync = promisify(gunzip);

/** The most bytes read (or decompressed) at once: Node's limit for a single read. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads a matrix file: .csv/.tsv/.txt (any delimiter), .npy, .npz, .mtx, each optionally gzip-compressed (.gz).
 * Unusable files throw UserError with one line naming the file and the reason.
 */
export async function readMatrixFile(filePath: string, options: ReadMatrixOptions = {}): Promise<ParsedMatrix> {
  const kind = options.format ? { format: options.format, gzip: filePath.toLowerCase().endsWith('.gz') } : formatFromName(filePath);
  if (!kind) throw unsupportedExtension(filePath);
  if (kind.format === 'mtx') return readMatrixMarketFile(filePath, kind.gzip, options);
  // an archive on disk is read member by member from the file, never whole
  if (kind.format === 'npz' && !kind.gzip) return readNpz(filePath, filePath, options);
  return parseMatrix(await readFileBytes(filePath, kind.gzip), filePath, { ...options, format: kind.format });
}

/** A file's bytes, gunzipped when `gzip` says so; unreadable or damaged files throw one-line UserErrors. */
export async function readFileBytes(filePath: string, gzip: boolean): Promise<Uint8Array> {
  const size = await fileSize(filePath);
  if (size > MAX_FILE_BYTES) throw fileError(filePath, `cannot read: the file is ${formatBytes(size)}, more than the 2 GiB that can be read at once`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    throw fileError(filePath, `cannot read: ${describeFsError(err)}`);
  }
  if (gzip) {
    try {
      bytes = await gunzipAsync(bytes, { maxOutputLength: MAX_FILE_BYTES });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw fileError(
        filePath,
        code === 'ERR_BUFFER_TOO_LARGE' ? 'cannot decompress: the content is larger than 2 GiB' : 'cannot decompress: not valid gzip data (the file is damaged or not compressed)',
      );
    }
  }
  return bytes;
}

/**
 * A MatrixMarket file parsed as it streams from disk (through gunzip for .gz): memory holds the entries read,
 * never the whole text, so a coordinate file of any length costs what its non-zeros do.
 */
async function readMatrixMarketFile(filePath: string, gzip: boolean, options: ReadMatrixOptions): Promise<ParsedMatrix> {
  const size = await fileSize(filePath);
  const parser = new MatrixMarketStream(filePath, gzip ? Infinity : size, options);
  const file = createReadStream(filePath, { highWaterMark: 1 << 20 });
  const gunzipper = gzip ? createGunzip({ chunkSize: 1 << 20 }) : null;
  // pipe() does not pass a read error on: the gunzip stream must end with it too, or the loop would wait forever
  if (gunzipper) file.on('error', (err) => gunzipper.destroy(err));
  const source = gunzipper ? file.pipe(gunzipper) : file;
  try {
    for await (const chunk of source) parser.push(chunk as Uint8Array);
  } catch (err) {
    file.destroy();
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && typeof code === 'string' && code.startsWith('Z_')) throw fileError(filePath, 'cannot decompress: not valid gzip data (the file is damaged or not compressed)');
    throw fileError(filePath, `cannot read: ${describeFsError(err)}`);
  } finally {
    file.destroy();
  }
  return parser.end();
}

export interface WriteMatrixOptions {
  /** Precision written: .npy element type, or the digits CSV needs. Default: the matrix's own. */
  dtype?: DType;
  /** Replace an existing file; without it an existing file is refused and left untouched. */
  overwrite?: boolean;
  /** CSV/TSV: a header row. */
  columnNames?: readonly string[];
  /** CSV/TSV: a first column of labels. */
  rowNames?: readonly string[];
  signal?: CancelSignal;
}

/** Writes a matrix as .npy (version 1.0, C order, little-endian) or as CSV/TSV text, atomically. */
export async function writeMatrixFile(filePath: string, matrix: Matrix, format: WriteFormat, options: WriteMatrixOptions = {}): Promise<void> {
  const atomic = { overwrite: options.overwrite ?? false, signal: options.signal };
  if (format === 'npy') {
    await writeFileAtomic(filePath, encodeNpy(matrix, options.dtype), atomic);
    return;
  }
  const chunks = csvChunks(matrix, {
    delimiter: format === 'tsv' ? '\t' : ',',
    dtype: options.dtype,
    columnNames: options.columnNames,
    rowNames: options.rowNames,
  });
  await writeFileAtomic(filePath, chunks, atomic);
}
