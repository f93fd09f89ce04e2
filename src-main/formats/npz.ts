// NumPy .npz archives → Matrix: scipy.sparse.save_npz files (CSR, CSC, COO) stay sparse when that is smaller,
// and an archive holding one array (numpy.savez) is read as that array. The zip container is yauzl's to read;
// each member streams into a buffer of the size the directory states, its CRC-32 checked as it arrives.

import { open as openFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { convert, type DataMatrix } from '../engine/matrix.js';
import { convertSparse } from '../engine/sparse.js';
import { isSparse } from '../engine/matrix.js';
import { Coordinates, coordinateMatrix } from './coordinates.js';
import { describeFsError, fileSize } from './fs-errors.js';
import { cellError, fileError, formatBytes, NEGATIVE_HINT } from './messages.js';
import { npyText, npyValues, parseNpy } from './npy.js';
import { formatNumber } from './numbers.js';
import type { ParseOptions, ParsedMatrix } from './types.js';

const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
/** Deflate's largest expansion: 258 bytes from about two bits of a stored match, 1032 to 1. */
const MAX_DEFLATE_RATIO = 1032;
/** The largest member read: what one Uint8Array can hold. */
const MAX_MEMBER_BYTES = 2 ** 32 - 1;

/** The members of an opened archive and a way to read each one whole. */
interface NpzArchive {
  members: yauzl.Entry[];
  read(member: yauzl.Entry): Promise<Uint8Array>;
  close(): void;
}

/**
 * Reads a .npz archive from a file on disk (a path: members are read from the file one at a time, never the
 * whole archive at once) or from bytes already in memory. Damaged archives throw one line naming the file.
 */
export async function readNpz(source: string | Uint8Array, fileName: string, options: ParseOptions = {}): Promise<ParsedMatrix> {
  const archive = await openArchive(source, fileName);
  try {
    return await npzMatrix(archive, fileName, options);
  } finally {
    archive.close();
  }
}

async function openArchive(source: string | Uint8Array, fileName: string): Promise<NpzArchive> {
  const bad = (why: string) => fileError(fileName, `not a readable .npz (zip) archive: ${why}`);
  const size = typeof source === 'string' ? await fileSize(source) : source.length;
  if (size < 22) throw bad(size === 0 ? 'the file is empty' : 'it is too short to be a zip archive');

  let zip: yauzl.ZipFile;
  try {
    const options = { autoClose: false, lazyEntries: true, validateEntrySizes: true };
    zip = typeof source === 'string' ? await yauzl.openPromise(source, options) : await yauzl.fromBufferPromise(Buffer.from(source.buffer, source.byteOffset, source.byteLength), options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw fileError(fileName, `cannot read: ${describeFsError(err)}`);
    if (/End of central directory record signature not found/i.test((err as Error).message)) {
      // A zip that lost its tail still starts with a member's local header.
      throw bad((await firstWord(source)) === LOCAL_HEADER ? 'its end record is missing (the file is cut short)' : 'no zip signature');
    }
    throw bad(zipReason(err));
  }
  const members: yauzl.Entry[] = [];
  try {
    for await (const entry of zip.eachEntry()) members.push(entry);
  } catch (err) {
    zip.close();
    if ((err as NodeJS.ErrnoException).code) throw fileError(fileName, `cannot read: ${describeFsError(err)}`);
    throw bad(zipReason(err));
  }
  return { members, read: (member) => readMember(zip, member, fileName), close: () => zip.close() };
}

/** yauzl's reason in this project's words where they differ, else its own, as one lower-case clause. */
function zipReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected EOF|overflows file bounds/i.test(message)) return 'it is cut short';
  if (/central directory file header signature/i.test(message)) return 'its central directory is damaged';
  if (/zip64 end of central directory/i.test(message)) return 'its zip64 end record is damaged';
  if (/multi-disk/i.test(message)) return 'multi-part archives are not supported';
  if (/strong encryption/i.test(message)) return 'it is encrypted';
  const line = message.split('\n')[0]!.replace(/\.$/, '');
  return line.charAt(0).toLowerCase() + line.slice(1);
}

async function firstWord(source: string | Uint8Array): Promise<number> {
  const head = new Uint8Array(4);
  if (typeof source === 'string') {
    const file = await openFile(source, 'r').catch(() => null);
    if (!file) return 0;
    try {
      await file.read(head, 0, 4, 0);
    } finally {
      await file.close();
    }
  } else head.set(source.subarray(0, 4));
  return new DataView(head.buffer).getUint32(0, true);
}

/** A member's bytes, inflated into one buffer of the size the directory states and checked against its CRC-32. */
async function readMember(zip: yauzl.ZipFile, member: yauzl.Entry, fileName: string): Promise<Uint8Array> {
  const bad = (why: string) => fileError(fileName, `member ${member.fileName} of the .npz (zip) archive ${why}`);
  if (member.isEncrypted()) throw bad('is encrypted');
  if (member.compressionMethod !== STORED && member.compressionMethod !== DEFLATED) {
    throw bad(`uses compression method ${member.compressionMethod} (only stored and deflated are supported)`);
  }
  if (member.uncompressedSize > MAX_MEMBER_BYTES) throw bad(`is ${formatBytes(member.uncompressedSize)}, more than the 4 GiB one array may hold`);
  // Checked before the buffer is allocated: a directory that lies about a size must not cost that memory.
  const most = member.compressionMethod === STORED ? member.compressedSize : member.compressedSize * MAX_DEFLATE_RATIO + 1024;
  if (member.uncompressedSize > most) {
    throw bad(`is damaged: the directory says ${member.compressedSize} bytes hold ${member.uncompressedSize}, more than ${member.compressionMethod === STORED ? 'a stored member' : 'deflate'} can`);
  }
  const data = new Uint8Array(member.uncompressedSize);
  let filled = 0;
  let crc = 0;
  try {
    const stream = await zip.openReadStreamPromise(member);
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      // yauzl stops a member that inflates past its stated size; this guard keeps set() in bounds regardless
      if (filled + chunk.length > data.length) throw new Error('too many bytes in the stream');
      data.set(chunk, filled);
      crc = crc32(chunk, crc);
      filled += chunk.length;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw bad('is damaged: its deflated data cannot be inflated');
    if (/too many bytes|not enough bytes/i.test(message)) throw bad(`is damaged: it does not hold the ${member.uncompressedSize} bytes the directory says`);
    if (/local file header signature/i.test(message)) throw bad('is damaged: its local header is missing');
    if (/overflows file bounds|unexpected EOF/i.test(message)) throw bad('is cut short');
    if (code) throw fileError(fileName, `cannot read: ${describeFsError(err)}`);
    throw bad(`cannot be read: ${zipReason(err)}`);
  }
  if (filled !== data.length) throw bad(`is damaged: it holds ${filled} bytes, the directory says ${member.uncompressedSize}`);
  if (crc >>> 0 !== member.crc32 >>> 0) throw bad('is damaged: its CRC-32 does not match');
  return data;
}

async function npzMatrix(archive: NpzArchive, fileName: string, options: ParseOptions): Promise<ParsedMatrix> {
  const members = archive.members;
  const byName = new Map(members.map((m) => [m.fileName.replace(/\.npy$/, ''), m]));
  const read = async (name: string): Promise<Uint8Array> => {
    const member = byName.get(name);
    if (!member) throw fileError(fileName, `the scipy sparse archive lacks its '${name}' array`);
    return archive.read(member);
  };
  if (!byName.has('format')) {
    const arrays = members.filter((m) => m.fileName.endsWith('.npy'));
    if (arrays.length !== 1) {
      throw fileError(
        fileName,
        arrays.length === 0
          ? 'the .npz archive holds no array'
          : `the .npz archive holds ${arrays.length} arrays (${arrays.map((m) => m.fileName.replace(/\.npy$/, '')).join(', ')}); save one matrix per file, or a scipy sparse matrix with scipy.sparse.save_npz`,
      );
    }
    return { ...parseNpy(await archive.read(arrays[0]!), fileName, options), format: 'npz' };
  }

  const format = npyText(await read('format'), fileName).toLowerCase();
  if (format !== 'csr' && format !== 'csc' && format !== 'coo') {
    throw fileError(fileName, `scipy sparse format '${format}' is not supported (only csr, csc and coo); convert it with .tocsr() before save_npz`);
  }
  const shape = npyValues(await read('shape'), fileName).values;
  if (shape.length !== 2 || !(shape[0]! >= 1) || !(shape[1]! >= 1)) throw fileError(fileName, `the sparse matrix's shape is not that of a non-empty matrix`);
  const rows = shape[0]!;
  const cols = shape[1]!;
  const data = npyValues(await read('data'), fileName);
  const values = data.values;
  const nnz = values.length;
  const entries = new Coordinates(fileName, nnz);
  const clip = options.clipNegative ?? false;
  let clipped = 0;
  let missing = 0;
  const add = (row: number, col: number, p: number) => {
    if (!(row >= 0 && row < rows)) throw fileError(fileName, `entry ${p + 1}: row index ${row} is outside the matrix's ${rows} rows`);
    if (!(col >= 0 && col < cols)) throw fileError(fileName, `entry ${p + 1}: column index ${col} is outside the matrix's ${cols} columns`);
    let v = values[p]!;
    if (!(v >= 0 && v < Infinity)) {
      const shown = formatNumber(v, data.values instanceof Float32Array ? 'float32' : 'float64');
      if (v !== v) missing++;
      else if (v === Infinity || v === -Infinity) throw cellError(fileName, row + 1, col + 1, `infinite value ${shown} (values must be finite numbers)`);
      else if (!clip) throw cellError(fileName, row + 1, col + 1, `negative value ${shown} (${NEGATIVE_HINT})`);
      else {
        v = 0;
        clipped++;
      }
    }
    entries.push(row, col, v);
  };
  if (format === 'coo') {
    const row = npyValues(await read('row'), fileName).values;
    const col = npyValues(await read('col'), fileName).values;
    if (row.length !== nnz || col.length !== nnz) throw fileError(fileName, `the COO arrays differ in length (${row.length} rows, ${col.length} columns, ${nnz} values)`);
    for (let p = 0; p < nnz; p++) add(row[p]!, col[p]!, p);
  } else {
    // CSR walks rows; CSC is the same walk over columns.
    const major = format === 'csr' ? rows : cols;
    const indptr = npyValues(await read('indptr'), fileName).values;
    const indices = npyValues(await read('indices'), fileName).values;
    const what = format === 'csr' ? 'row' : 'column';
    if (indptr.length !== major + 1) throw fileError(fileName, `the ${format.toUpperCase()} index pointer has ${indptr.length} offsets, the shape needs ${major + 1}`);
    if (indices.length !== nnz) throw fileError(fileName, `the ${format.toUpperCase()} arrays differ in length (${indices.length} indices, ${nnz} values)`);
    if (indptr[0] !== 0 || indptr[major] !== nnz) throw fileError(fileName, `the ${format.toUpperCase()} index pointer does not run from 0 to the ${nnz} stored values`);
    for (let a = 0; a < major; a++) {
      const start = indptr[a]!;
      const end = indptr[a + 1]!;
      if (!(end >= start)) throw fileError(fileName, `the ${format.toUpperCase()} index pointer decreases at ${what} ${a + 1}`);
      for (let p = start; p < end; p++) {
        if (format === 'csr') add(a, indices[p]!, p);
        else add(indices[p]!, a, p);
      }
    }
  }
  const made = coordinateMatrix(fileName, rows, cols, entries, missing);
  const float32 = data.values instanceof Float32Array;
  let matrix: DataMatrix = made.matrix;
  if (float32) matrix = isSparse(matrix) ? convertSparse(matrix, 'float32') : convert(matrix, 'float32');
  return { matrix, dtype: float32 ? 'float32' : 'float64', format: 'npz', sourceDtype: `${format} ${data.dtype}`, missing: made.missing, clipped };
}
