// MatrixMarket exchange files (.mtx) → Matrix: coordinate and array layouts; real, integer, pattern; general,
// symmetric, skew-symmetric. Coordinate files become sparse when that is smaller than dense, and can be read
// in chunks as they stream in (a .mtx.gz through gunzip), so that memory follows the entries, not rows × cols.

import { allocateFloat, cellError, fileError, formatShape, MAX_ENTRIES, NEGATIVE_HINT, quoteText } from './messages.js';
import { cellValue, classifyCell, scan, scanDecimal } from './numbers.js';
import { decodeText, recognizeBinary, textBytes } from './bytes.js';
import { Coordinates, coordinateMatrix } from './coordinates.js';
import type { ParseOptions, ParsedMatrix } from './types.js';

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const PERCENT = 37;
const DOT = 46;

type Field = 'real' | 'integer' | 'pattern';
type Symmetry = 'general' | 'symmetric' | 'skew-symmetric';

// Like the CSV reader, this one scans UTF-8 bytes that end in a newline (see bytes.ts).

function skipBlanks(b: Uint8Array, i: number): number {
  let c = b[i]!;
  while (c === SPACE || c === TAB || c === CR) c = b[++i]!;
  return i;
}

function endOfToken(b: Uint8Array, i: number): number {
  let c = b[i]!;
  while (c !== SPACE && c !== TAB && c !== CR && c !== LF) c = b[++i]!;
  return i;
}

function lineEnd(b: Uint8Array, i: number): number {
  const nl = b.indexOf(LF, i);
  return nl < 0 ? b.length : nl;
}

class MtxReader {
  private line = 0;
  private stage: 'banner' | 'size' | 'entries' = 'banner';
  private coordinate = false;
  private field: Field = 'real';
  private symmetry: Symmetry = 'general';
  private rows = 0;
  private cols = 0;
  /** Entries (coordinate) or values (array) the size line announces. */
  private expected = 0;
  private seen = 0;
  /** Array layout: the dense values; coordinate layout: the entries as read. */
  private data: Float64Array = new Float64Array(0);
  private entries: Coordinates | null = null;
  private missing = 0;
  /** Array layout: the next value's position, walking columns top to bottom. */
  private nextRow = 0;
  private nextCol = 0;
  clipped = 0;

  constructor(
    private readonly fileName: string,
    private readonly size: number,
    private readonly clip: boolean,
  ) {}

  read(b: Uint8Array, start: number): void {
    const n = b.length;
    let i = start;
    while (i < n) {
      this.line++;
      const first = skipBlanks(b, i);
      const c = b[first]!;
      if (this.stage === 'banner') {
        const end = lineEnd(b, i);
        this.banner(decodeText(b, i, end).trim());
        i = end + 1;
        continue;
      }
      if (c === LF || c === PERCENT) {
        i = lineEnd(b, first) + 1;
        continue;
      }
      if (this.stage === 'size') {
        const end = lineEnd(b, first);
        this.sizeLine(decodeText(b, first, end).trim());
        i = end + 1;
        continue;
      }
      i = this.coordinate ? this.entry(b, first) : this.values(b, first);
    }
  }

  private banner(text: string): void {
    const m = /^%%MatrixMarket\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/i.exec(text);
    if (!m) {
      throw fileError(this.fileName, text === '' && this.size === 0 ? 'the file is empty' : "not a MatrixMarket file: the first line must be '%%MatrixMarket matrix coordinate|array real|integer|pattern general|symmetric'");
    }
    const [object, layout, field, symmetry] = [m[1]!, m[2]!, m[3]!, m[4]!].map((w) => w.toLowerCase()) as [string, string, string, string];
    if (object !== 'matrix') throw fileError(this.fileName, `MatrixMarket object '${m[1]}' is not supported (only 'matrix')`);
    if (layout !== 'coordinate' && layout !== 'array') throw fileError(this.fileName, `MatrixMarket format '${m[2]}' is not supported (only 'coordinate' and 'array')`);
    if (field === 'complex') throw fileError(this.fileName, "MatrixMarket field 'complex' is not supported: values must be real numbers");
    if (field !== 'real' && field !== 'double' && field !== 'integer' && field !== 'pattern') {
      throw fileError(this.fileName, `MatrixMarket field '${m[3]}' is not supported (only 'real', 'integer' and 'pattern')`);
    }
    if (symmetry === 'hermitian') throw fileError(this.fileName, "MatrixMarket symmetry 'hermitian' is not supported: it is for complex matrices");
    if (symmetry !== 'general' && symmetry !== 'symmetric' && symmetry !== 'skew-symmetric') {
      throw fileError(this.fileName, `MatrixMarket symmetry '${m[4]}' is not supported (only 'general', 'symmetric' and 'skew-symmetric')`);
    }
    if (field === 'pattern' && layout === 'array') throw fileError(this.fileName, "MatrixMarket field 'pattern' is only valid with the 'coordinate' format");
    this.coordinate = layout === 'coordinate';
    this.field = field === 'double' ? 'real' : field;
    this.symmetry = symmetry;
    this.stage = 'size';
  }

  private sizeLine(text: string): void {
    const m = this.coordinate ? /^(\d+)\s+(\d+)\s+(\d+)$/.exec(text) : /^(\d+)\s+(\d+)$/.exec(text);
    if (!m) {
      throw fileError(this.fileName, `line ${this.line}: expected the size line '${this.coordinate ? 'rows columns entries' : 'rows columns'}', found ${quoteText(text)}`);
    }
    const rows = Number(m[1]);
    const cols = Number(m[2]);
    const entries = rows * cols;
    if (entries === 0) throw fileError(this.fileName, `the matrix is empty (${rows}×${cols})`);
    if (this.symmetry !== 'general' && rows !== cols) throw fileError(this.fileName, `a ${this.symmetry} matrix must be square, but the size line says ${rows}×${cols}`);
    if (this.coordinate && (rows > MAX_INDEX || cols > MAX_INDEX)) {
      throw fileError(this.fileName, `the size line claims ${formatShape([rows, cols])}, more than the ${MAX_INDEX.toLocaleString('en-US')} rows and columns supported`);
    }
    if (!this.coordinate && entries > MAX_ENTRIES) {
      throw fileError(this.fileName, `the size line claims ${formatShape([rows, cols])} = ${entries.toLocaleString('en-US')} entries, more than the ${MAX_ENTRIES.toLocaleString('en-US')} supported`);
    }
    const stored = this.symmetry === 'symmetric' ? (rows * (rows + 1)) / 2 : this.symmetry === 'skew-symmetric' ? (rows * (rows - 1)) / 2 : entries;
    // The shortest line an entry can take: "1 1\n" for pattern, "1 1 0\n" with a value, "0\n" for array values.
    const shortest = this.coordinate ? (this.field === 'pattern' ? 4 : 6) : 2;
    if (this.coordinate) {
      this.expected = Number(m[3]);
      if (this.expected > stored) {
        throw fileError(this.fileName, `the size line claims ${this.expected.toLocaleString('en-US')} entries, more than a ${this.symmetry === 'general' ? '' : `${this.symmetry} `}${rows}×${cols} matrix holds`);
      }
    } else {
      this.expected = stored;
    }
    if (this.expected * shortest > this.size) {
      throw fileError(this.fileName, `the size line claims ${this.expected.toLocaleString('en-US')} ${this.coordinate ? 'entries' : 'values'}, more than the file could hold`);
    }
    this.rows = rows;
    this.cols = cols;
    if (this.coordinate) this.entries = new Coordinates(this.fileName, this.expected * (this.symmetry === 'general' ? 1 : 2));
    else this.data = allocateFloat(this.fileName, entries, false, `a ${rows}×${cols} matrix`) as Float64Array;
    if (this.symmetry === 'skew-symmetric') this.nextRow = 1;
    this.stage = 'entries';
  }

  /** A whole-number index at s[i] within 1..limit; sets scan.end. */
  private index(b: Uint8Array, i: number, what: 'row' | 'column', limit: number): number {
    const v = scanDecimal(b, i, DOT);
    const end = endOfToken(b, i);
    if (!(v === v && scan.end === end && Number.isInteger(v))) {
      const found = end === i ? 'the end of the line' : quoteText(decodeText(b, i, end));
      throw fileError(this.fileName, `line ${this.line}: expected a ${what} index, found ${found}`);
    }
    if (v < 1 || v > limit) {
      throw fileError(this.fileName, `line ${this.line}: ${what} index ${v} is out of range 1..${limit} (the matrix has ${limit} ${what}s)`);
    }
    scan.end = end;
    return v;
  }

  /** A value at s[i]; NaN for a missing one. Sets scan.end. */
  private value(b: Uint8Array, i: number): number {
    const end = endOfToken(b, i);
    let v = scanDecimal(b, i, DOT);
    if (!(v === v && scan.end === end)) {
      const text = decodeText(b, i, end);
      const kind = text === '' ? 'text' : classifyCell(text);
      if (kind === 'text') throw fileError(this.fileName, `line ${this.line}: expected a number, found ${text === '' ? 'the end of the line' : quoteText(text)}`);
      v = kind === 'missing' ? NaN : cellValue.value;
    }
    scan.end = end;
    return v;
  }

  /** Stores v at (row, col), both 0-based; checks it as the file's value at that place. */
  private put(row: number, col: number, v: number, text: () => string): void {
    if (!(v >= 0 && v < Infinity) && v === v) {
      if (v === Infinity || v === -Infinity) throw cellError(this.fileName, row + 1, col + 1, `infinite value ${text()} (line ${this.line}; values must be finite numbers)`);
      if (!this.clip) throw cellError(this.fileName, row + 1, col + 1, `negative value ${text()} (line ${this.line}; ${NEGATIVE_HINT})`);
      v = 0;
      this.clipped++;
    }
    if (v !== v) this.missing++;
    if (this.entries) this.entries.push(row, col, v);
    else this.data[row * this.cols + col] += v;
  }

  private endOfEntry(b: Uint8Array, i: number): number {
    i = skipBlanks(b, i);
    if (b[i] === LF) return i + 1;
    throw fileError(this.fileName, `line ${this.line}: unexpected ${quoteText(decodeText(b, i, endOfToken(b, i)))} after the entry`);
  }

  private entry(b: Uint8Array, i: number): number {
    if (this.seen === this.expected) {
      throw fileError(this.fileName, `line ${this.line}: more entries than the ${this.expected.toLocaleString('en-US')} the size line announces`);
    }
    this.seen++;
    const row = this.index(b, i, 'row', this.rows) - 1;
    i = skipBlanks(b, scan.end);
    const col = this.index(b, i, 'column', this.cols) - 1;
    i = skipBlanks(b, scan.end);
    let v = 1;
    if (this.field !== 'pattern') {
      const start = i;
      v = this.value(b, i);
      i = scan.end;
      const text = () => decodeText(b, start, i);
      this.put(row, col, v, text);
      if (row !== col && this.symmetry !== 'general') {
        const mirrored = this.symmetry === 'skew-symmetric' ? -v : v;
        this.put(col, row, mirrored, () => (this.symmetry === 'skew-symmetric' ? `-(${text()}) mirrored from row ${row + 1}, column ${col + 1}` : text()));
      }
    } else {
      this.entries!.push(row, col, v);
      if (row !== col && this.symmetry !== 'general') this.entries!.push(col, row, v);
    }
    return this.endOfEntry(b, i);
  }

  /** Array layout: one or more values on the line, in column-major order. */
  private values(b: Uint8Array, i: number): number {
    for (;;) {
      if (this.seen === this.expected) {
        throw fileError(this.fileName, `line ${this.line}: more values than the ${this.expected.toLocaleString('en-US')} the size line announces`);
      }
      this.seen++;
      const start = i;
      const v = this.value(b, i);
      i = scan.end;
      const row = this.nextRow;
      const col = this.nextCol;
      const text = () => decodeText(b, start, i);
      this.put(row, col, v, text);
      if (row !== col && this.symmetry !== 'general') {
        const skew = this.symmetry === 'skew-symmetric';
        this.put(col, row, skew ? -v : v, () => (skew ? `-(${text()}) mirrored from row ${row + 1}, column ${col + 1}` : text()));
      }
      if (++this.nextRow === this.rows) {
        this.nextCol++;
        this.nextRow = this.symmetry === 'general' ? 0 : this.symmetry === 'symmetric' ? this.nextCol : this.nextCol + 1;
      }
      i = skipBlanks(b, i);
      if (b[i] === LF) return i + 1;
    }
  }

  finish(): ParsedMatrix {
    if (this.stage === 'banner') throw fileError(this.fileName, 'the file is empty');
    if (this.stage === 'size') throw fileError(this.fileName, 'the file ends before the size line');
    if (this.seen < this.expected) {
      throw fileError(
        this.fileName,
        `the size line announces ${this.expected.toLocaleString('en-US')} ${this.coordinate ? 'entries' : 'values'} but only ${this.seen.toLocaleString('en-US')} follow`,
      );
    }
    let missing = 0;
    let matrix;
    if (this.entries) {
      ({ matrix, missing } = coordinateMatrix(this.fileName, this.rows, this.cols, this.entries, this.missing));
    } else {
      const data = this.data;
      for (let k = 0; k < data.length; k++) if (data[k] !== data[k]) missing++;
      matrix = { rows: this.rows, cols: this.cols, data };
    }
    return { matrix, dtype: 'float64', format: 'mtx', sourceDtype: this.field, missing, clipped: this.clipped };
  }
}

/** Row and column counts a coordinate file may declare: its indices are kept in 32 bits. */
const MAX_INDEX = 2 ** 32 - 1;

/**
 * A MatrixMarket file read as its bytes arrive: push() chunks of any size, then end(). `size` is the file's
 * length when known (for a quick refusal of size lines that promise more than it could hold), else Infinity.
 */
export class MatrixMarketStream {
  private readonly reader: MtxReader;
  /** The start of a line whose end has not arrived yet. */
  private pending: Uint8Array = new Uint8Array(0);
  private first = true;

  constructor(
    private readonly fileName: string,
    size: number,
    options: ParseOptions = {},
  ) {
    this.reader = new MtxReader(fileName, size, options.clipNegative ?? false);
  }

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    let start = 0;
    if (this.first && chunk.length > 0) {
      this.first = false;
      const zero = chunk.subarray(0, 8192).indexOf(0);
      if (zero >= 0) {
        const kind = recognizeBinary(chunk);
        throw fileError(this.fileName, `not a text file${kind ? `: it looks like ${kind}` : ` (binary data at byte ${zero})`}`);
      }
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    const last = bytes.lastIndexOf(LF);
    if (last < 0) {
      this.pending = concat(this.pending, bytes.subarray(start));
      return;
    }
    if (this.pending.length > 0) {
      bytes = concat(this.pending, bytes.subarray(start, last + 1));
      start = 0;
      this.pending = chunk.slice(last + 1);
      this.reader.read(bytes, start);
    } else {
      this.pending = chunk.slice(last + 1);
      this.reader.read(bytes.subarray(0, last + 1), start);
    }
  }

  end(): ParsedMatrix {
    if (this.pending.length > 0) {
      const line = concat(this.pending, new Uint8Array([LF]));
      this.pending = new Uint8Array(0);
      this.reader.read(line, 0);
    }
    return this.reader.finish();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Reads a MatrixMarket file into a dense float64 matrix. Indices count from 1; entries a coordinate
 * file leaves out are 0; repeated entries are summed (as scipy does); symmetric files are mirrored.
 */
export function parseMatrixMarket(input: string | Uint8Array, fileName: string, options: ParseOptions = {}): ParsedMatrix {
  const { bytes, start } = textBytes(input, fileName);
  const reader = new MtxReader(fileName, bytes.length - start, options.clipNegative ?? false);
  reader.read(bytes, start);
  return reader.finish();
}
