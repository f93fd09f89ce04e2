// A text file's bytes made ready for the byte-level readers: encoding settled, binary refused, a final newline.

import { fileError, formatBytes } from './messages.js';

export const LF = 10;

export interface TextBytes {
  /** UTF-8 text, ending in a newline so that every scan stops inside the array. */
  bytes: Uint8Array;
  /** Where the text starts (past a byte-order mark). */
  start: number;
  /** Newline characters in the text: the number of lines when it ends in a newline. */
  newlines: number;
}

/** What a binary file's first bytes say it is, for a hint in the error message. */
export function recognizeBinary(bytes: Uint8Array): string | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) return 'a NumPy .npy file';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'a PNG image';
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (starts(0x1f, 0x8b)) return 'gzip-compressed data (name it with a .gz ending)';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip archive (such as .npz or .xlsx; export the table as CSV)';
  if (starts(0x52, 0x49, 0x46, 0x46)) return 'a RIFF file (WebP image or audio)';
  if (starts(0x25, 0x50, 0x44, 0x46)) return 'a PDF document';
  return undefined;
}

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** The text of bytes[start, end): the labels and names in a table, never its numbers. */
export function decodeText(bytes: Uint8Array, start: number, end: number): string {
  return utf8.decode(bytes.subarray(start, end));
}

function withFinalNewline(bytes: Uint8Array, fileName: string): Uint8Array {
  if (bytes.length > 0 && bytes[bytes.length - 1] === LF) return bytes;
  let out: Uint8Array;
  try {
    out = new Uint8Array(bytes.length + 1);
  } catch {
    throw fileError(fileName, `not enough memory to read ${formatBytes(bytes.length)}`);
  }
  out.set(bytes);
  out[bytes.length] = LF;
  return out;
}

/**
 * UTF-8 (with or without BOM) is used as it is; UTF-16 with a BOM (Excel's "Unicode text") is converted;
 * a string is encoded. Bytes with a NUL near the start are refused as binary.
 */
export function textBytes(input: string | Uint8Array, fileName: string): TextBytes {
  let bytes: Uint8Array;
  let start = 0;
  if (typeof input === 'string') {
    bytes = encoder.encode(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  } else if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
    let text: string;
    try {
      text = new TextDecoder(input[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(input.subarray(2));
    } catch {
      throw fileError(fileName, `the text is too large to convert from UTF-16 (${formatBytes(input.length)})`);
    }
    bytes = encoder.encode(text);
  } else {
    bytes = input;
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    const zero = bytes.subarray(0, 8192).indexOf(0);
    if (zero >= 0) {
      const kind = recognizeBinary(bytes);
      throw fileError(fileName, `not a text file${kind ? `: it looks like ${kind}` : ` (binary data at byte ${zero})`}`);
    }
  }
  const empty = bytes.length <= start;
  bytes = withFinalNewline(bytes, fileName);
  let newlines = 0;
  if (!empty) for (let i = bytes.indexOf(LF, start); i >= 0; i = bytes.indexOf(LF, i + 1)) newlines++;
  return { bytes, start: empty ? bytes.length : start, newlines };
}
