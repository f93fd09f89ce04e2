// The members of a zip archive held in memory (what numpy's .npz is): the central directory walked, stored and
// deflated members inflated with node:zlib and checked against their CRC-32. Zip64 sizes and offsets are read;
// encryption, multi-disk archives and other compression methods are refused.

import { crc32, inflateRawSync } from 'node:zlib';
import { fileError } from './messages.js';

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_END_LOCATOR = 0x07064b50;
const ZIP64_END = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const MAX32 = 0xffffffff;

export interface ZipMember {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

/** Reads the central directory; throws a one-line error naming the file when the archive is damaged. */
export function zipMembers(bytes: Uint8Array, fileName: string): ZipMember[] {
  const bad = (why: string) => fileError(fileName, `not a readable .npz (zip) archive: ${why}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 22) throw bad(n === 0 ? 'the file is empty' : 'it is too short to be a zip archive');
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
  let end = -1;
  for (let at = n - 22; at >= Math.max(0, n - 22 - 65535); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw bad(view.getUint32(0, true) === LOCAL_HEADER ? 'its end record is missing (the file is cut short)' : 'no zip signature');
  if (view.getUint16(end + 4, true) !== 0 || view.getUint16(end + 6, true) !== 0) throw bad('multi-part archives are not supported');
  let count = view.getUint16(end + 10, true);
  let directorySize = view.getUint32(end + 12, true);
  let directoryStart = view.getUint32(end + 16, true);
  if (count === 0xffff || directorySize === MAX32 || directoryStart === MAX32) {
    const locator = end - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_END_LOCATOR) throw bad('its zip64 end record is missing');
    const zip64End = Number(view.getBigUint64(locator + 8, true));
    if (zip64End + 56 > n || view.getUint32(zip64End, true) !== ZIP64_END) throw bad('its zip64 end record is damaged');
    count = Number(view.getBigUint64(zip64End + 32, true));
    directorySize = Number(view.getBigUint64(zip64End + 40, true));
    directoryStart = Number(view.getBigUint64(zip64End + 48, true));
  }
  if (directoryStart + directorySize > n) throw bad('its central directory lies past the end of the file (the file is cut short)');
  const members: ZipMember[] = [];
  let at = directoryStart;
  const names = new TextDecoder('utf-8');
  for (let e = 0; e < count; e++) {
    if (at + 46 > n || view.getUint32(at, true) !== DIRECTORY_ENTRY) throw bad(`directory entry ${e + 1} is damaged`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localOffset = view.getUint32(at + 42, true);
    if (at + 46 + nameLength + extraLength > n) throw bad(`directory entry ${e + 1} is damaged`);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (flags & 1) throw bad(`member ${name} is encrypted`);
    // Zip64: the fields that read 0xFFFFFFFF follow in the extra field 0x0001, in this order.
    let x = at + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = view.getUint16(x, true);
      const length = view.getUint16(x + 2, true);
      if (id === 1) {
        let f = x + 4;
        const next = (): number => {
          if (f + 8 > x + 4 + length) throw bad(`the zip64 sizes of ${name} are damaged`);
          const v = Number(view.getBigUint64(f, true));
          f += 8;
          return v;
        };
        if (size === MAX32) size = next();
        if (compressedSize === MAX32) compressedSize = next();
        if (localOffset === MAX32) localOffset = next();
      }
      x += 4 + length;
    }
    members.push({ name, method, compressedSize, size, crc, localOffset });
    at = extraEnd + commentLength;
  }
  return members;
}

/** A member's bytes, inflated and checked. */
export function zipMemberBytes(bytes: Uint8Array, member: ZipMember, fileName: string): Uint8Array {
  const bad = (why: string) => fileError(fileName, `member ${member.name} of the .npz (zip) archive ${why}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = member.localOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_HEADER) throw bad('is damaged: its local header is missing');
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const stop = start + member.compressedSize;
  if (stop > bytes.length) throw bad('is cut short');
  const raw = bytes.subarray(start, stop);
  let data: Uint8Array;
  if (member.method === STORED) data = raw;
  else if (member.method === DEFLATED) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, member.size) });
    } catch {
      throw bad('is damaged: its deflated data cannot be inflated');
    }
  } else throw bad(`uses compression method ${member.method} (only stored and deflated are supported)`);
  if (data.length !== member.size) throw bad(`is damaged: it holds ${data.length} bytes, the directory says ${member.size}`);
  if (crc32(data) >>> 0 !== member.crc) throw bad('is damaged: its CRC-32 does not match');
  return data;
}
