// CSV/TSV/whitespace tables ↔ Matrix: delimiter, header row and label column detected; one pass, no per-cell substrings.

import type { DType, Matrix } from '../engine/matrix.js';
import { cellError, fileError, MAX_ENTRIES, NEGATIVE_HINT, quoteText, allocateFloat } from './messages.js';
import { cellValue, classifyCell, formatNumber, isIntegerText, scan, scanDecimal } from './numbers.js';
import { decodeText, textBytes } from './bytes.js';
import type { CsvDelimiter, CsvParseOptions, ParsedMatrix } from './types.js';

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const DOT = 46;
/** The delimiter code for "runs of spaces and tabs". */
const WHITESPACE = -1;

/** Records (and bytes, for wide tables) looked at to choose delimiter, header and label column. */
const SAMPLE_RECORDS = 50;
const SAMPLE_BYTES = 256 * 1024;

function delimiterCode(d: CsvDelimiter): number {
  return d === ' ' ? WHITESPACE : d.charCodeAt(0);
}

function delimiterOf(code: number): CsvDelimiter {
  return code === WHITESPACE ? ' ' : (String.fromCharCode(code) as CsvDelimiter);
}

// The readers below work on UTF-8 bytes that end in a newline (see bytes.ts): every scan for a line end
// stops inside the array, and every delimiter, quote and digit is one byte whatever the text around it.

/** Index just past the end of the line that contains b[i] (a lone CR ends a line too). */
function skipLine(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i++]!;
    if (c === LF) return i;
    if (c === CR) return b[i] === LF ? i + 1 : i;
  }
}

/** Whether the line at b[i] has nothing to read: blank, or a '#' comment (numpy.savetxt's header and footer). */
function isSkippable(b: Uint8Array, i: number, delim: number): boolean {
  let c = b[i]!;
  while (c === SPACE || (c === TAB && delim !== TAB)) c = b[++i]!;
  return c === LF || c === CR || c === HASH;
}

/** The text of the quoted cell opening at b[i]; scan.end is set past the closing quote (-1 if never closed). */
function readQuoted(b: Uint8Array, i: number): string {
  let out = '';
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) {
      scan.end = -1;
      return out + decodeText(b, from, b.length);
    }
    if (b[q + 1] === QUOTE) {
      out += decodeText(b, from, q + 1);
      from = q + 2;
      continue;
    }
    scan.end = q + 1;
    return out + decodeText(b, from, q);
  }
}

function isCellEnd(c: number, delim: number): boolean {
  return c === delim || c === LF || c === CR || (delim === WHITESPACE && (c === SPACE || c === TAB));
}

/** One record's cells as text (unquoted, trimmed): used on the first records and for messages, not for the data. */
function tokenizeRecord(b: Uint8Array, i: number, delim: number): { cells: string[]; next: number; unclosed: boolean } {
  const cells: string[] = [];
  let unclosed = false;
  for (;;) {
    let c = b[i]!;
    while (c === SPACE || (c === TAB && delim !== TAB)) c = b[++i]!;
    if (delim === WHITESPACE && (c === LF || c === CR)) break;
    if (c === QUOTE) {
      cells.push(readQuoted(b, i));
      unclosed ||= scan.end < 0;
      i = scan.end < 0 ? b.length - 1 : scan.end;
      while (!isCellEnd(b[i]!, delim)) i++;
    } else {
      let k = i;
      while (!isCellEnd(b[k]!, delim)) k++;
      cells.push(decodeText(b, i, k).trim());
      i = k;
    }
    c = b[i]!;
    if (delim === WHITESPACE) continue;
    if (c === delim) {
      i++;
      continue;
    }
    break;
  }
  return { cells, next: skipLine(b, i), unclosed };
}

interface Layout {
  delim: number;
  dec: number;
  header: boolean;
  labelColumn: boolean;
  /** Cells per data record in the file, label included. */
  fileCols: number;
  /** Whether the first line is Excel's "sep=;" hint. */
  sepLine: boolean;
}

function sampleRecords(b: Uint8Array, start: number, delim: number): string[][] {
  const records: string[][] = [];
  let i = start;
  // At least two records, so that a header can be told from the data below it.
  while (i < b.length && (records.length < 2 || (records.length < SAMPLE_RECORDS && i - start < SAMPLE_BYTES))) {
    if (isSkippable(b, i, delim)) {
      i = skipLine(b, i);
      continue;
    }
    const r = tokenizeRecord(b, i, delim);
    records.push(r.cells);
    i = r.next;
  }
  return records;
}

/** Same count of cells everywhere, at least two; the first record may have one fewer (R's write.table header). */
function consistent(records: string[][]): boolean {
  if (records.length === 0) return false;
  const n = records.length > 1 ? records[1]!.length : records[0]!.length;
  if (n < 2) return false;
  const first = records[0]!.length;
  return (first === n || first === n - 1) && records.every((r, k) => k === 0 || r.length === n);
}

function chooseDelimiter(b: Uint8Array, start: number): number {
  const candidates = [TAB, 59 /* ; */, COMMA, WHITESPACE];
  const samples = candidates.map((d) => sampleRecords(b, start, d));
  const found = candidates.findIndex((_, k) => consistent(samples[k]!));
  if (found >= 0) return candidates[found]!;
  // Ragged whichever way: take the delimiter that splits most, so the ragged row is reported against it.
  let best = WHITESPACE;
  let bestCells = 0;
  candidates.forEach((d, k) => {
    if (d === WHITESPACE) return;
    const cells = samples[k]!.reduce((sum, r) => sum + r.length, 0);
    if (cells > samples[k]!.length && cells > bestCells) {
      best = d;
      bestCells = cells;
    }
  });
  return best;
}

/** Row labels 0,1,2,… or 1,2,3,… (pandas' and R's default index written as the first column). */
function isIndexColumn(cells: string[]): boolean {
  if (cells.length === 0 || !cells.every(isIntegerText)) return false;
  const first = Number(cells[0]);
  return (first === 0 || first === 1) && cells.every((c, k) => Number(c) === first + k);
}

function decideLayout(b: Uint8Array, start: number, fileName: string, options: CsvParseOptions): Layout {
  let k = start;
  while (k < b.length && (b[k] === SPACE || b[k] === TAB || b[k] === LF || b[k] === CR)) k++;
  if (k === b.length) throw fileError(fileName, 'the file is empty');
  let sepLine = false;
  let delim: number;
  const sep = /^sep=([,;\t| ])\r?\n/.exec(decodeText(b, start, Math.min(b.length, start + 8)));
  if (sep) {
    sepLine = true;
    start += sep[0].length;
  }
  if (options.delimiter) delim = delimiterCode(options.delimiter);
  else if (sep) delim = sep[1] === ' ' ? WHITESPACE : sep[1]!.charCodeAt(0);
  else delim = chooseDelimiter(b, start);

  const records = sampleRecords(b, start, delim);
  if (records.length === 0) throw fileError(fileName, 'the file has no data rows (only comment lines)');

  // Decimal commas ("1,5") only where the comma cannot be the delimiter.
  let dec = DOT;
  if (delim !== COMMA && records.some((r) => r.some((c) => /^[+-]?\d*,\d+([eE][+-]?\d+)?$/.test(c)))) dec = COMMA;

  const first = records[0]!;
  const rest = records.slice(1);
  const dataCols = rest.length > 0 ? rest[0]!.length : first.length;
  const kind = (text: string) => classifyCell(text, dec);

  let labelColumn = false;
  if (rest.length > 0 && dataCols > 1) {
    const firstCells = rest.map((r) => r[0] ?? '');
    if (firstCells.every((c) => kind(c) === 'text')) labelColumn = true;
    // Names that happen to read as numbers ("2020", "NA", "1") among words are still names, as long as
    // the words stay in the first column: a term or gene list beside numeric columns.
    else if (firstCells.some((c) => kind(c) === 'text') && rest.every((r) => r.every((c, k) => k === 0 || kind(c) !== 'text'))) labelColumn = true;
    else if ((first[0] === '' || first.length === dataCols - 1) && isIndexColumn(firstCells)) labelColumn = true;
  }

  let header: boolean;
  if (options.header !== undefined) header = options.header;
  else {
    const names = labelColumn && first.length === dataCols ? first.slice(1) : first;
    const kinds = names.map(kind);
    // Column names are words or whole numbers (years, indices); a row with a decimal in it is data,
    // so a typo in a first data row is reported rather than silently taken for names.
    const hasWord = kinds.includes('text');
    const hasDecimal = names.some((n, k) => kinds[k] === 'number' && !isIntegerText(n));
    const emptyCorner = labelColumn && first.length === dataCols && first[0] === '';
    const shortByOne = labelColumn && first.length === dataCols - 1;
    // pandas' default column names 0,1,2,… above rows of decimals (DataFrame(array).to_csv(index=False)).
    const nextHasDecimal = rest.length > 0 && rest[0]!.some((c) => kind(c) === 'number' && !isIntegerText(c));
    const countingNames = names.length > 1 && isIndexColumn(names) && Number(names[0]) === 0 && nextHasDecimal;
    header = !hasDecimal && (hasWord || emptyCorner || shortByOne || countingNames);
  }
  // Without a header the first record is data and sets the width; a header's width is checked at the end.
  const fileCols = header ? dataCols : first.length;
  if (labelColumn && fileCols < 2) labelColumn = false;
  return { delim, dec, header, labelColumn, fileCols, sepLine };
}

class CsvReader {
  private readonly delim: number;
  private readonly dec: number;
  private readonly labelColumn: boolean;
  private readonly fileCols: number;
  private readonly cols: number;
  private readonly clip: boolean;
  private headerPending: boolean;
  private sepLinePending: boolean;
  private data: Float64Array;
  private capacity: number;
  private rows = 0;
  /** Records seen so far, blank and comment lines included: the spreadsheet row number. */
  private record = 0;
  private firstDataRecord = 0;
  private headerRecord = 0;
  private headerCells: string[] | undefined;
  missing = 0;
  clipped = 0;
  readonly rowNames: string[] | undefined;

  constructor(
    private readonly fileName: string,
    private readonly b: Uint8Array,
    layout: Layout,
    expectedRecords: number,
    options: CsvParseOptions,
  ) {
    this.delim = layout.delim;
    this.dec = layout.dec;
    this.labelColumn = layout.labelColumn;
    this.fileCols = layout.fileCols;
    this.cols = layout.fileCols - (layout.labelColumn ? 1 : 0);
    this.clip = options.clipNegative ?? false;
    this.headerPending = layout.header;
    this.sepLinePending = layout.sepLine;
    this.rowNames = layout.labelColumn ? [] : undefined;
    const cols = Math.max(1, this.cols);
    this.capacity = Math.max(1, Math.min(expectedRecords - (layout.header ? 1 : 0), Math.floor(MAX_ENTRIES / cols)));
    this.data = allocateFloat(fileName, this.capacity * cols, false, 'the table') as Float64Array;
  }

  read(start: number): void {
    const b = this.b;
    const n = b.length;
    let i = start;
    while (i < n) {
      this.record++;
      if (this.sepLinePending) {
        this.sepLinePending = false;
        i = skipLine(b, i);
        continue;
      }
      if (isSkippable(b, i, this.delim)) {
        i = skipLine(b, i);
        continue;
      }
      if (this.headerPending) {
        this.headerPending = false;
        this.headerRecord = this.record;
        const r = tokenizeRecord(b, i, this.delim);
        if (r.unclosed) throw cellError(this.fileName, this.record, r.cells.length, 'a quoted cell is never closed (missing ")');
        this.headerCells = r.cells;
        i = r.next;
        continue;
      }
      if (this.firstDataRecord === 0) this.firstDataRecord = this.record;
      i = this.readRow(i);
    }
  }

  private grow(): void {
    const cols = Math.max(1, this.cols);
    const limit = Math.floor(MAX_ENTRIES / cols);
    if (this.capacity >= limit) {
      throw fileError(this.fileName, `the table has more than ${MAX_ENTRIES.toLocaleString('en-US')} values, more than supported`);
    }
    const capacity = Math.min(limit, Math.max(this.capacity * 2, 1024));
    const data = allocateFloat(this.fileName, capacity * cols, false, 'the table') as Float64Array;
    data.set(this.data);
    this.data = data;
    this.capacity = capacity;
  }

  private raggedError(recordStart: number): Error {
    const count = tokenizeRecord(this.b, recordStart, this.delim).cells.length;
    const has = `row ${this.record} has ${count} column${count === 1 ? '' : 's'}`;
    return fileError(
      this.fileName,
      this.firstDataRecord === this.record ? `${has}, expected ${this.fileCols}` : `${has}, but row ${this.firstDataRecord} has ${this.fileCols}`,
    );
  }

  /** Reads one data record starting at b[i] into the next matrix row; returns the index after its line end. */
  private readRow(i: number): number {
    if (this.rows === this.capacity) this.grow();
    const b = this.b;
    const delim = this.delim;
    const ws = delim === WHITESPACE;
    const dec = this.dec;
    const cols = this.cols;
    const data = this.data;
    const base = this.rows * cols;
    const recordStart = i;
    let cell = 0;
    let col = 0;
    let c: number;
    for (;;) {
      c = b[i]!;
      while (c === SPACE || (c === TAB && delim !== TAB)) c = b[++i]!;
      if (cell === 0 && this.labelColumn) {
        let label: string;
        if (c === QUOTE) {
          label = readQuoted(b, i);
          i = this.afterQuote(i, cell);
        } else {
          let k = i;
          while (!isCellEnd(b[k]!, delim)) k++;
          label = decodeText(b, i, k).trim();
          i = k;
        }
        this.rowNames!.push(label);
      } else {
        if (col >= cols) throw this.raggedError(recordStart);
        const start = i;
        let end = i;
        let v: number;
        let isNumber = false;
        if (c === QUOTE) {
          const text = readQuoted(b, i).trim();
          i = this.afterQuote(i, cell);
          v = this.textValue(text, cell);
          isNumber = v === v;
          end = i;
        } else if (c === delim || c === LF || c === CR) {
          v = NaN; // an empty cell
        } else {
          v = scanDecimal(b, i, dec);
          if (v === v) {
            end = scan.end;
            let k = end;
            let t = b[k]!;
            while (t === SPACE || (t === TAB && delim !== TAB)) t = b[++k]!;
            if (t === delim || t === LF || t === CR || (ws && k > end)) {
              i = k;
              isNumber = true;
            }
          }
          if (!isNumber) {
            let k = i;
            while (!isCellEnd(b[k]!, delim)) k++;
            v = this.textValue(decodeText(b, i, k).trim(), cell);
            isNumber = v === v;
            end = k;
            i = k;
          }
        }
        if (isNumber && !(v >= 0 && v < Infinity)) {
          const text = decodeText(b, start, end).trim().replace(/^"|"$/g, '');
          if (v === Infinity || v === -Infinity) throw cellError(this.fileName, this.record, cell + 1, `infinite value ${text} (values must be finite numbers)`);
          if (!this.clip) throw cellError(this.fileName, this.record, cell + 1, `negative value ${text} (${NEGATIVE_HINT})`);
          v = 0;
          this.clipped++;
        }
        if (!isNumber) this.missing++;
        data[base + col++] = v;
      }
      cell++;
      c = b[i]!;
      if (ws) {
        while (c === SPACE || c === TAB) c = b[++i]!;
        if (c === LF || c === CR) break;
        continue;
      }
      if (c === delim) {
        i++;
        continue;
      }
      break;
    }
    if (col < cols) throw this.raggedError(recordStart);
    this.rows++;
    if (c === CR) i++;
    if (b[i] === LF) i++;
    return i;
  }

  /** After a quoted cell opening at b[i]: the index past the closing quote and any blanks, which must end the cell. */
  private afterQuote(i: number, cell: number): number {
    const b = this.b;
    if (scan.end < 0) throw cellError(this.fileName, this.record, cell + 1, 'a quoted cell is never closed (missing ")');
    let k = scan.end;
    let c = b[k]!;
    if (isCellEnd(c, this.delim)) return k;
    while (c === SPACE || (c === TAB && this.delim !== TAB)) c = b[++k]!;
    if (!isCellEnd(c, this.delim)) {
      throw cellError(this.fileName, this.record, cell + 1, `unexpected text after a closing quote: ${quoteText(decodeText(b, i, k + 1))}`);
    }
    return k;
  }

  /** The value of a cell that is not a plain number: NaN for a missing cell; anything else unusable throws. */
  private textValue(text: string, cell: number): number {
    switch (classifyCell(text, this.dec)) {
      case 'number':
      case 'infinite':
        return cellValue.value;
      case 'missing':
        return NaN;
      case 'text': {
        const hint = this.dec === COMMA && /^[+-]?\d*\.\d+/.test(text) ? ' (this file uses decimal commas)' : '';
        throw cellError(this.fileName, this.record, cell + 1, `not a number: ${quoteText(text)}${hint}`);
      }
    }
  }

  finish(): { matrix: Matrix; columnNames: string[] | undefined } {
    if (this.rows === 0) {
      throw fileError(this.fileName, this.headerCells ? 'the file has a header row but no data rows' : 'the file has no data rows');
    }
    if (this.cols === 0) throw fileError(this.fileName, 'the file has row labels but no numeric columns');
    let columnNames: string[] | undefined;
    if (this.headerCells) {
      const h = this.headerCells;
      if (h.length === this.fileCols) columnNames = this.labelColumn ? h.slice(1) : h;
      else if (this.labelColumn && h.length === this.cols) columnNames = h;
      else throw fileError(this.fileName, `row ${this.headerRecord} (the header) has ${h.length} columns, but row ${this.firstDataRecord} has ${this.fileCols}`);
    }
    const n = this.rows * this.cols;
    const data = this.data.length === n ? this.data : this.data.slice(0, n);
    return { matrix: { rows: this.rows, cols: this.cols, data }, columnNames };
  }
}

/**
 * Reads a delimited text table: comma, tab, semicolon or runs of whitespace (detected), an optional header
 * row and an optional first column of row labels (detected), quoted cells, CRLF, BOM, UTF-16 with BOM,
 * '#' comment lines, Excel's "sep=" line. Empty cells and NaN/NA mean missing (NaN in the matrix).
 */
export function parseCsv(input: string | Uint8Array, fileName: string, options: CsvParseOptions = {}): ParsedMatrix<Matrix> {
  const { bytes, start, newlines } = textBytes(input, fileName);
  const layout = decideLayout(bytes, start, fileName, options);
  const reader = new CsvReader(fileName, bytes, layout, newlines, options);
  reader.read(start);
  const { matrix, columnNames } = reader.finish();
  const result: ParsedMatrix<Matrix> = {
    matrix,
    dtype: 'float64',
    format: 'csv',
    sourceDtype: 'text',
    missing: reader.missing,
    clipped: reader.clipped,
    delimiter: delimiterOf(layout.delim),
  };
  if (columnNames) result.columnNames = columnNames;
  if (reader.rowNames) result.rowNames = reader.rowNames;
  return result;
}

export interface CsvWriteOptions {
  /** Default ','. */
  delimiter?: ',' | '\t' | ';';
  /** Digits needed for this precision; default the matrix's own. */
  dtype?: DType;
  /** Written as a header row. */
  columnNames?: readonly string[];
  /** Written as a first column. */
  rowNames?: readonly string[];
}

/** A cell written so that a CSV reader gets `name` back: quoted when it holds the delimiter, a quote, a line break or edge spaces. */
export function quoteCsvCell(name: string, delimiter: string): string {
  return name.includes(delimiter) || /["\r\n]|^\s|\s$/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}

const CHUNK_BYTES = 1 << 20;

/**
 * The matrix as delimited UTF-8 text, in chunks of about a megabyte: shortest round-trip numbers for the
 * precision, NaN as an empty cell, '\n' line ends. Numbers are ASCII and go straight into the bytes.
 */
export function* csvChunks(matrix: Matrix, options: CsvWriteOptions = {}): Generator<Uint8Array> {
  const delimiter = options.delimiter ?? ',';
  const dtype = options.dtype ?? (matrix.data instanceof Float32Array ? 'float32' : 'float64');
  const { rows, cols, data } = matrix;
  if (options.columnNames && options.columnNames.length !== cols) {
    throw new RangeError(`${options.columnNames.length} column names for ${cols} columns`);
  }
  if (options.rowNames && options.rowNames.length !== rows) throw new RangeError(`${options.rowNames.length} row names for ${rows} rows`);
  const encoder = new TextEncoder();
  const sep = delimiter.charCodeAt(0);
  let buffer = new Uint8Array(CHUNK_BYTES);
  let pos = 0;
  const put = (bytes: Uint8Array) => {
    if (pos + bytes.length > buffer.length) {
      const bigger = new Uint8Array(Math.max(buffer.length * 2, pos + bytes.length));
      bigger.set(buffer.subarray(0, pos));
      buffer = bigger;
    }
    buffer.set(bytes, pos);
    pos += bytes.length;
  };
  if (options.columnNames) {
    const names = options.columnNames.map((n) => quoteCsvCell(n, delimiter));
    put(encoder.encode((options.rowNames ? [''].concat(names) : names).join(delimiter) + '\n'));
  }
  for (let i = 0; i < rows; i++) {
    if (options.rowNames) put(encoder.encode(quoteCsvCell(options.rowNames[i]!, delimiter) + delimiter));
    for (let j = 0; j < cols; j++) {
      const text = formatNumber(data[i * cols + j]!, dtype);
      // at most 25 characters and a separator
      if (pos + 26 > buffer.length) {
        yield buffer.subarray(0, pos);
        buffer = new Uint8Array(CHUNK_BYTES);
        pos = 0;
      }
      for (let q = 0; q < text.length; q++) buffer[pos++] = text.charCodeAt(q);
      buffer[pos++] = j === cols - 1 ? 10 : sep;
    }
    if (pos >= CHUNK_BYTES - 64) {
      yield buffer.subarray(0, pos);
      buffer = new Uint8Array(CHUNK_BYTES);
      pos = 0;
    }
  }
  if (pos > 0) yield buffer.subarray(0, pos);
}

export function formatCsv(matrix: Matrix, options: CsvWriteOptions = {}): string {
  const decoder = new TextDecoder();
  let text = '';
  for (const chunk of csvChunks(matrix, options)) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
