// Row and column labels of a matrix: label files (one per line or a TSV's first column, .gz too), a CSV's own names, the 10x Genomics layout.

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeText, textBytes } from './bytes.js';
import { readFileBytes, readMatrixFile } from './files.js';
import { fileError } from './messages.js';
import type { ReadMatrixOptions } from './parse.js';
import type { ParsedMatrix } from './types.js';

/**
 * Which cell of a tab-separated line is the label: 'first', or 'name' — the second cell when there is one
 * (10x Genomics' features.tsv holds "ENSG…<TAB>gene name<TAB>type"; the name is what people read).
 */
export type LabelColumn = 'first' | 'name';

/** A matrix axis's labels and where they came from (a label file, or the table's own header row or first column). */
export interface Labels {
  names: string[];
  source: string;
}

/** A label file to read, and which of its cells is the label. */
export interface LabelFile {
  path: string;
  column: LabelColumn;
}

export interface LabelledMatrix extends ParsedMatrix {
  rowLabels?: Labels;
  colLabels?: Labels;
}

export interface ReadLabelledOptions extends ReadMatrixOptions {
  /** A label file for the rows; it takes the place of a CSV's first column and of a 10x features file. */
  rowLabels?: string;
  /** A label file for the columns; it takes the place of a CSV's header row and of a 10x barcodes file. */
  colLabels?: string;
  /**
   * Files that came with the matrix (uploaded together, say): the 10x Genomics label files among them are
   * found beside the matrix as always; each of the others labels the rows or the columns, whichever its count
   * of lines matches, in the place of a CSV's own names.
   */
  companions?: readonly string[];
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/**
 * Labels from a label file's text: one per line; on a tab-separated line, the cell `column` says. Blank lines
 * within the file are empty labels (each line is one row or column); blank lines at its end are not lines.
 */
export function parseLabels(input: string | Uint8Array, fileName: string, column: LabelColumn = 'first'): string[] {
  const { bytes, start } = textBytes(input, fileName);
  const lines = decodeText(bytes, start, bytes.length).split(/\r\n|\n|\r/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.map((line) => {
    const cells = line.split('\t');
    return unquote(column === 'name' && cells.length > 1 ? cells[1]! : cells[0]!);
  });
}

/**
 * Reads a label file (gunzipped when its name ends in .gz) and checks that it has one label per row or
 * column: otherwise one line naming the file, the count found and the count expected.
 */
export async function readLabels(file: LabelFile, expected: number, axis: 'row' | 'column'): Promise<string[]> {
  const bytes = await readFileBytes(file.path, file.path.toLowerCase().endsWith('.gz'));
  const names = parseLabels(bytes, file.path, file.column);
  checkLabelCount(names.length, expected, file.path, axis);
  return names;
}

/** The error for a label file whose count of labels is not the matrix's count of rows (or columns). */
export function checkLabelCount(found: number, expected: number, fileName: string, axis: 'row' | 'column'): void {
  if (found === expected) return;
  throw fileError(fileName, `${found.toLocaleString('en-US')} label${found === 1 ? '' : 's'} (one per line), but the matrix has ${expected.toLocaleString('en-US')} ${axis}${expected === 1 ? '' : 's'}`);
}

const TEN_X_MATRIX = /^(.*)matrix\.mtx(\.gz)?$/i;

/**
 * The label files of the 10x Genomics layout beside a `matrix.mtx[.gz]` (Cell Ranger's filtered_feature_bc_matrix/,
 * or GEO's `GSM…_matrix.mtx.gz` with the same prefix on its neighbours): `features.tsv[.gz]` (or the older
 * `genes.tsv[.gz]`) names the rows by their gene name, `barcodes.tsv[.gz]` names the columns. Other names: none.
 */
export async function findTenXLabels(matrixPath: string): Promise<{ rows?: LabelFile; cols?: LabelFile }> {
  const m = TEN_X_MATRIX.exec(path.basename(matrixPath));
  if (!m) return {};
  const prefix = m[1]!.toLowerCase();
  const dir = path.dirname(matrixPath);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return {};
  }
  const byName = new Map(entries.map((e) => [e.toLowerCase(), e]));
  const find = (...names: string[]): string | undefined => {
    for (const name of names) {
      for (const ending of ['.tsv.gz', '.tsv']) {
        const found = byName.get(prefix + name + ending);
        if (found) return path.join(dir, found);
      }
    }
    return undefined;
  };
  const rows = find('features', 'genes');
  const cols = find('barcodes');
  return {
    ...(rows ? { rows: { path: rows, column: 'name' as const } } : {}),
    ...(cols ? { cols: { path: cols, column: 'first' as const } } : {}),
  };
}

/** Names that say which axis a label file is for, when the counts alone cannot (a square matrix). */
const COLUMN_HINT = /col|barcode|cell|sample|doc/i;

/**
 * Which axis each companion label file labels, by its count of lines: the rows' count or the columns'. A file
 * that matches neither, or an axis claimed twice, is refused in one line naming the file. A square matrix's
 * files go to the rows first, unless a name says columns (barcodes, cells, samples, columns).
 */
async function companionLabels(files: readonly string[], rows: number, cols: number): Promise<{ rows?: Labels; cols?: Labels }> {
  const found: { rows?: Labels; cols?: Labels } = {};
  const ordered = [...files].sort((a, b) => Number(COLUMN_HINT.test(path.basename(a))) - Number(COLUMN_HINT.test(path.basename(b))));
  for (const file of ordered) {
    const names = parseLabels(await readFileBytes(file, file.toLowerCase().endsWith('.gz')), file);
    const n = names.length;
    const fitsRows = n === rows && !found.rows && !(rows === cols && COLUMN_HINT.test(path.basename(file)));
    const fitsCols = n === cols && !found.cols;
    if (fitsRows) found.rows = { names, source: file };
    else if (fitsCols) found.cols = { names, source: file };
    else if (n === rows || n === cols) {
      const taken = n === cols && found.cols ? { axis: 'columns', by: found.cols } : { axis: 'rows', by: found.rows! };
      throw fileError(file, `${n.toLocaleString('en-US')} labels (one per line) for the ${taken.axis}, which ${path.basename(taken.by.source)} already labels; give one label file per axis`);
    } else {
      const plural = (count: number, word: string) => `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
      throw fileError(file, `${plural(n, 'label')} (one per line), but the matrix has ${plural(rows, 'row')} and ${plural(cols, 'column')}`);
    }
  }
  return found;
}

/**
 * Reads a matrix file with its labels: label files named in the options first, then companion files by their
 * counts, then the table's own names (a CSV's first column and header row), then the 10x Genomics layout beside
 * a matrix.mtx. A label file with the wrong count of lines is refused (one line naming it, the count found and
 * the count expected).
 */
export async function readLabelledMatrix(filePath: string, options: ReadLabelledOptions = {}): Promise<LabelledMatrix> {
  const { rowLabels, colLabels, companions = [], ...readOptions } = options;
  const parsed: LabelledMatrix = await readMatrixFile(filePath, readOptions);
  const { rows, cols } = parsed.matrix;
  const tenX = await findTenXLabels(filePath);
  const tenXFiles = new Set([tenX.rows?.path, tenX.cols?.path].map((f) => f && path.resolve(f)));
  const given = await companionLabels(
    companions.filter((f) => !tenXFiles.has(path.resolve(f))),
    rows,
    cols,
  );
  const rowFile = rowLabels !== undefined ? { path: rowLabels, column: 'first' as const } : given.rows || parsed.rowNames ? undefined : tenX.rows;
  const colFile = colLabels !== undefined ? { path: colLabels, column: 'first' as const } : given.cols || parsed.columnNames ? undefined : tenX.cols;
  if (rowFile) parsed.rowLabels = { names: await readLabels(rowFile, rows, 'row'), source: rowFile.path };
  else if (given.rows) parsed.rowLabels = given.rows;
  else if (parsed.rowNames) parsed.rowLabels = { names: parsed.rowNames, source: `${filePath} (first column)` };
  if (colFile) parsed.colLabels = { names: await readLabels(colFile, cols, 'column'), source: colFile.path };
  else if (given.cols) parsed.colLabels = given.cols;
  else if (parsed.columnNames) parsed.colLabels = { names: parsed.columnNames, source: `${filePath} (header row)` };
  return parsed;
}
