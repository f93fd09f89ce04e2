// The shapes the matrix readers and writers exchange with their callers.

import type { DataMatrix, DType, Matrix } from '../engine/matrix.js';

/** The kinds of matrix file that can be read. Text tables of any delimiter are 'csv'. */
export type MatrixFormat = 'csv' | 'npy' | 'npz' | 'mtx';
/** The kinds of matrix file that can be written. */
export type WriteFormat = 'npy' | 'csv' | 'tsv';

export type CsvDelimiter = ',' | '\t' | ';' | ' ';

export interface ParseOptions {
  /** Set negative values to 0 (and count them in `clipped`) instead of refusing the file. */
  clipNegative?: boolean;
}

export interface CsvParseOptions extends ParseOptions {
  /** Skip detection. ' ' means runs of spaces and tabs. */
  delimiter?: CsvDelimiter;
  /** Skip detection: true when the first row holds column names, false when it is data. */
  header?: boolean;
}

/** A matrix file read: `M` is Matrix for the readers that only make dense matrices (CSV, .npy). */
export interface ParsedMatrix<M extends DataMatrix = DataMatrix> {
  /** Dense, or sparse (MatrixMarket coordinate files, scipy sparse .npz) when that is smaller. */
  matrix: M;
  /** The precision of `matrix`: float32 only for float32 (and float16) .npy, float64 for everything else. */
  dtype: DType;
  format: MatrixFormat;
  /**
   * The element type as the file states it: a NumPy name for .npy ('float32', 'int16', 'bool', …),
   * the MatrixMarket field ('real', 'integer', 'pattern'), the scipy sparse format and NumPy type for a sparse
   * .npz ('csr float64'), 'text' for CSV.
   */
  sourceDtype: string;
  /** Cells with no value (NaN in the matrix): empty or NaN/NA cells, NaN entries. */
  missing: number;
  /** Negative values set to 0 because clipNegative was asked for. */
  clipped: number;
  /** CSV only: the delimiter found (' ' for runs of whitespace). */
  delimiter?: CsvDelimiter;
  /** CSV only: the header row's names for the matrix columns, when the file has a header. */
  columnNames?: string[];
  /** CSV only: the first column's labels, when the first column holds names rather than numbers. */
  rowNames?: string[];
}
