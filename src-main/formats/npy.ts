// NumPy .npy (format versions 1.0, 2.0, 3.0) ↔ Matrix: 2-D numeric arrays of any byte order and memory order.

import type { DType, Matrix } from '../engine/matrix.js';
import { allocateFloat, cellError, fileError, formatBytes, formatShape, MAX_ENTRIES, NEGATIVE_HINT } from './messages.js';
import { formatNumber } from './numbers.js';
import { recognizeBinary } from './bytes.js';
import type { ParseOptions, ParsedMatrix } from './types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Reads the Python literal numpy writes as the header: a dict of strings, booleans and tuples of ints. */
function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxError(`unexpected ${i < text.length ? `'${text[i]}'` : 'end'} at ${i}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const sequence = (close: string): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      ws();
      if (text[i] === close) {
        i++;
        return items;
      }
      items.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail();
    }
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: { [key: string]: PyValue } = {};
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return out;
        }
        const key = value();
        if (typeof key !== 'string') fail();
        ws();
        if (text[i] !== ':') fail();
        i++;
        out[key as string] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail();
      }
    }
    if (c === '(') {
      i++;
      return sequence(')');
    }
    if (c === '[') {
      i++;
      return sequence(']');
    }
    if (c === "'" || c === '"') {
      let out = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') i++;
        out += text[i++];
      }
      if (i >= text.length) fail();
      i++;
      return out;
    }
    const word = /^(True|False|None|[+-]?\d+L?)/.exec(text.slice(i, i + 32));
    if (!word) return fail();
    i += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace(/L$/, ''));
  };
  const result = value();
  ws();
  if (i !== text.length) fail();
  return result;
}

interface ElementType {
  /** NumPy's name for it, as reported in sourceDtype. */
  name: string;
  size: number;
  littleEndian: boolean;
  /** Reads the element at a byte offset of the data. */
  read: (view: DataView, offset: number, littleEndian: boolean) => number;
  /** Whether the matrix keeps single precision. */
  float32: boolean;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const READERS: Record<string, Omit<ElementType, 'littleEndian'>> = {
  f2: { name: 'float16', size: 2, read: (v, o, le) => halfToFloat(v.getUint16(o, le)), float32: true },
  f4: { name: 'float32', size: 4, read: (v, o, le) => v.getFloat32(o, le), float32: true },
  f8: { name: 'float64', size: 8, read: (v, o, le) => v.getFloat64(o, le), float32: false },
  i1: { name: 'int8', size: 1, read: (v, o) => v.getInt8(o), float32: false },
  i2: { name: 'int16', size: 2, read: (v, o, le) => v.getInt16(o, le), float32: false },
  i4: { name: 'int32', size: 4, read: (v, o, le) => v.getInt32(o, le), float32: false },
  // 64-bit integers as high word × 2^32 + low word: one rounding, so the nearest double, without BigInt.
  i8: { name: 'int64', size: 8, read: (v, o, le) => (le ? v.getInt32(o + 4, true) * 4294967296 + v.getUint32(o, true) : v.getInt32(o, false) * 4294967296 + v.getUint32(o + 4, false)), float32: false },
  u1: { name: 'uint8', size: 1, read: (v, o) => v.getUint8(o), float32: false },
  u2: { name: 'uint16', size: 2, read: (v, o, le) => v.getUint16(o, le), float32: false },
  u4: { name: 'uint32', size: 4, read: (v, o, le) => v.getUint32(o, le), float32: false },
  u8: { name: 'uint64', size: 8, read: (v, o, le) => (le ? v.getUint32(o + 4, true) * 4294967296 + v.getUint32(o, true) : v.getUint32(o, false) * 4294967296 + v.getUint32(o + 4, false)), float32: false },
  b1: { name: 'bool', size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0), float32: false },
};

/** Typed-array views for the element types that can be copied in bulk when the byte order matches the host. */
const VIEWS: Record<string, (buffer: ArrayBufferLike, length: number) => ArrayLike<number>> = {
  f4: (b, n) => new Float32Array(b, 0, n),
  f8: (b, n) => new Float64Array(b, 0, n),
  i1: (b, n) => new Int8Array(b, 0, n),
  i2: (b, n) => new Int16Array(b, 0, n),
  i4: (b, n) => new Int32Array(b, 0, n),
  u1: (b, n) => new Uint8Array(b, 0, n),
  u2: (b, n) => new Uint16Array(b, 0, n),
  u4: (b, n) => new Uint32Array(b, 0, n),
};

function elementType(descr: PyValue, fileName: string): ElementType & { code: string } {
  if (typeof descr !== 'string') {
    throw fileError(fileName, 'structured dtypes (record arrays with named fields) are not supported; save a plain numeric array');
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d*)/.exec(descr);
  const order = m?.[1] ?? '';
  const kind = m?.[2] ?? '';
  const code = `${kind}${m?.[3] ?? ''}`;
  const known = READERS[code];
  if (m && known) return { ...known, code, littleEndian: order === '>' ? false : order === '<' ? true : HOST_LITTLE_ENDIAN };
  const why =
    kind === 'c'
      ? 'complex numbers are not supported'
      : kind === 'O'
        ? 'object arrays are not supported (they hold Python objects, not numbers)'
        : kind === 'U' || kind === 'S' || kind === 'a'
          ? 'text arrays are not supported'
          : kind === 'M' || kind === 'm'
            ? 'dates and times are not supported'
            : kind === 'V'
              ? 'structured (void) arrays are not supported'
              : kind === 'f' || kind === 'g'
                ? 'extended-precision floats are not supported'
                : 'this element type is not supported';
  throw fileError(fileName, `dtype '${descr}': ${why}; save the array as float32 or float64`);
}

function readHeader(bytes: Uint8Array, fileName: string): { descr: PyValue; fortran: boolean; shape: number[]; dataStart: number; version: string } {
  if (bytes.length < 10 || !MAGIC.every((b, k) => bytes[k] === b)) {
    const kind = bytes.length === 0 ? undefined : recognizeBinary(bytes);
    const looksText = bytes.length > 0 && bytes.subarray(0, 512).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128);
    const what = bytes.length === 0 ? 'the file is empty' : `not a .npy file (no NumPy signature at the start${kind ? `; it looks like ${kind}` : looksText ? '; it looks like text: name it .csv' : ''})`;
    throw fileError(fileName, what);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const version = `${major}.${minor}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw fileError(fileName, 'truncated .npy file: the header is cut short');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw fileError(fileName, `.npy format version ${version} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    throw fileError(fileName, `truncated .npy file: the header should be ${headerLength} bytes long but the file ends after ${bytes.length - headerStart}`);
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text.trim());
  } catch {
    throw fileError(fileName, 'the .npy header is not readable (not the dictionary NumPy writes)');
  }
  if (!dict || typeof dict !== 'object' || Array.isArray(dict) || !('descr' in dict) || !('shape' in dict)) {
    throw fileError(fileName, "the .npy header lacks 'descr' or 'shape'");
  }
  const shape = dict.shape;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw fileError(fileName, `the .npy header has an invalid shape`);
  }
  return { descr: dict.descr!, fortran: dict.fortran_order === true, shape: shape as number[], dataStart, version };
}

/**
 * The numbers of a .npy array of any numeric dtype and shape, flat in C order: the index and value arrays
 * inside an .npz. float32 and float16 give a Float32Array, everything else a Float64Array.
 */
export function npyValues(bytes: Uint8Array, fileName: string): { shape: number[]; values: Float32Array | Float64Array; dtype: string } {
  const { descr, fortran, shape, dataStart } = readHeader(bytes, fileName);
  const type = elementType(descr, fileName);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_ENTRIES) throw fileError(fileName, `the array holds ${count.toLocaleString('en-US')} values, more than the ${MAX_ENTRIES.toLocaleString('en-US')} supported`);
  const need = count * type.size;
  if (need > bytes.length - dataStart) throw fileError(fileName, `truncated array: the header promises ${formatShape(shape)} ${type.name} values but only ${formatBytes(bytes.length - dataStart)} of data follow`);
  if (fortran && shape.length > 1) throw fileError(fileName, 'a Fortran-order index array is not supported');
  const values = allocateFloat(fileName, count, type.float32, 'the array');
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, need);
  const { read, size, littleEndian } = type;
  for (let k = 0; k < count; k++) values[k] = read(view, k * size, littleEndian);
  return { shape, values, dtype: type.name };
}

/** The text of a .npy holding one byte or unicode string (scipy writes the sparse format's name so). */
export function npyText(bytes: Uint8Array, fileName: string): string {
  const { descr, shape, dataStart } = readHeader(bytes, fileName);
  const m = typeof descr === 'string' ? /^[<>|=]?([SUa])(\d+)$/.exec(descr) : null;
  if (!m || shape.length !== 0) throw fileError(fileName, 'expected a single string');
  const n = Number(m[2]);
  if (m[1] === 'U') {
    const chars: number[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart);
    for (let k = 0; k < n && dataStart + 4 * k + 4 <= bytes.length; k++) chars.push(view.getUint32(4 * k, true));
    return String.fromCodePoint(...chars.filter((c) => c !== 0));
  }
  return new TextDecoder('latin1').decode(bytes.subarray(dataStart, dataStart + n)).replace(/\0+$/, '');
}

/**
 * Reads a .npy file's bytes. float32 (and float16) arrays give a float32 matrix; every other numeric type
 * (float64, signed and unsigned integers, bool) gives float64. NaN entries count as missing.
 */
export function parseNpy(bytes: Uint8Array, fileName: string, options: ParseOptions = {}): ParsedMatrix<Matrix> {
  const { descr, fortran, shape, dataStart } = readHeader(bytes, fileName);
  const type = elementType(descr, fileName);
  if (shape.length !== 2) {
    const shown = shape.length === 0 ? 'a single number' : `${shape.length}-D (shape ${formatShape(shape)})`;
    const hint = shape.length === 1 ? '; save it as one row with x.reshape(1, -1) or one column with x.reshape(-1, 1)' : '';
    throw fileError(fileName, `the array is ${shown}; a matrix must be 2-D${hint}`);
  }
  const [rows, cols] = shape as [number, number];
  const entries = rows * cols;
  if (entries === 0) throw fileError(fileName, `the array is empty (shape ${formatShape(shape)})`);
  if (entries > MAX_ENTRIES) {
    throw fileError(fileName, `the header claims ${formatShape(shape)} = ${entries.toLocaleString('en-US')} entries, more than the ${MAX_ENTRIES.toLocaleString('en-US')} supported`);
  }
  const need = entries * type.size;
  const available = bytes.length - dataStart;
  if (need > available) {
    throw fileError(
      fileName,
      `truncated .npy file: the header promises ${formatShape(shape)} ${type.name} values (${formatBytes(need)}) but only ${formatBytes(available)} of data follow`,
    );
  }

  let data: Float32Array | Float64Array;
  const bulk = VIEWS[type.code];
  if (bulk && (type.size === 1 || type.littleEndian === HOST_LITTLE_ENDIAN)) {
    // A fresh copy is aligned for any element size, whatever the source's offset. (Not bytes.slice():
    // on a Node Buffer that is a view, not a copy.)
    let copy: Uint8Array;
    try {
      copy = new Uint8Array(need);
    } catch {
      throw fileError(fileName, `not enough memory to read ${formatBytes(need)}`);
    }
    copy.set(bytes.subarray(dataStart, dataStart + need));
    const raw = copy.buffer;
    const source = bulk(raw, entries);
    if (!fortran && type.code === 'f8') data = source as Float64Array;
    else if (!fortran && type.code === 'f4') data = source as Float32Array;
    else {
      data = allocateFloat(fileName, entries, type.float32, 'the array');
      if (!fortran) data.set(source);
      else {
        for (let j = 0, k = 0; j < cols; j++) for (let i = 0; i < rows; i++) data[i * cols + j] = source[k++]!;
      }
    }
  } else {
    data = allocateFloat(fileName, entries, type.float32, 'the array');
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, need);
    const { read, size, littleEndian } = type;
    if (!fortran) for (let k = 0; k < entries; k++) data[k] = read(view, k * size, littleEndian);
    else {
      for (let j = 0, k = 0; j < cols; j++) for (let i = 0; i < rows; i++, k++) data[i * cols + j] = read(view, k * size, littleEndian);
    }
  }

  let missing = 0;
  let clipped = 0;
  const clip = options.clipNegative ?? false;
  for (let k = 0; k < entries; k++) {
    const v = data[k]!;
    if (v >= 0 && v < Infinity) continue;
    if (v !== v) {
      missing++;
      continue;
    }
    const row = Math.floor(k / cols) + 1;
    const column = (k % cols) + 1;
    const shown = formatNumber(v, type.float32 ? 'float32' : 'float64');
    if (v === Infinity || v === -Infinity) throw cellError(fileName, row, column, `infinite value ${shown} (values must be finite numbers)`);
    if (!clip) throw cellError(fileName, row, column, `negative value ${shown} (${NEGATIVE_HINT})`);
    data[k] = 0;
    clipped++;
  }
  return {
    matrix: { rows, cols, data },
    dtype: type.float32 ? 'float32' : 'float64',
    format: 'npy',
    sourceDtype: type.name,
    missing,
    clipped,
  };
}

/**
 * The matrix as a .npy file (format 1.0, C order, little-endian), byte for byte what numpy.save writes
 * for the same array. dtype defaults to the matrix's own; the other one converts.
 */
export function encodeNpy(matrix: Matrix, dtype?: DType): Uint8Array {
  const target = dtype ?? (matrix.data instanceof Float32Array ? 'float32' : 'float64');
  const size = target === 'float32' ? 4 : 8;
  let header = `{'descr': '<${target === 'float32' ? 'f4' : 'f8'}', 'fortran_order': False, 'shape': (${matrix.rows}, ${matrix.cols}), }`;
  // numpy leaves room to grow the first axis in place, then pads so the data starts on a 64-byte boundary.
  header += ' '.repeat(Math.max(0, 21 - String(matrix.rows).length));
  const withNewline = header.length + 1;
  const pad = 64 - ((10 + withNewline) % 64);
  header += ' '.repeat(pad) + '\n';
  const n = matrix.rows * matrix.cols;
  const out = new Uint8Array(10 + header.length + n * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let k = 0; k < header.length; k++) out[10 + k] = header.charCodeAt(k);
  const start = 10 + header.length;
  const values = target === 'float32' ? new Float32Array(out.buffer, start, n) : new Float64Array(out.buffer, start, n);
  if (HOST_LITTLE_ENDIAN) values.set(matrix.data);
  else {
    const view = new DataView(out.buffer, start);
    for (let k = 0; k < n; k++) {
      if (size === 4) view.setFloat32(k * 4, matrix.data[k]!, true);
      else view.setFloat64(k * 8, matrix.data[k]!, true);
    }
  }
  return out;
}
