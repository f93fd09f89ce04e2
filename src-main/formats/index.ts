// Matrix files for every door of the app: read CSV/TSV, .npy and MatrixMarket with their labels; write .npy and CSV; atomic output.

export type { CsvDelimiter, CsvParseOptions, MatrixFormat, ParseOptions, ParsedMatrix, WriteFormat } from './types.js';
export { parseCsv, formatCsv, csvChunks, quoteCsvCell, type CsvWriteOptions } from './csv.js';
export { parseNpy, encodeNpy } from './npy.js';
export { parseMatrixMarket } from './mtx.js';
export { parseMatrix, formatFromName, describeMatrixFile, MATRIX_EXTENSIONS, type ReadMatrixOptions } from './parse.js';
export { formatNumber } from './numbers.js';
export { MAX_ENTRIES } from './messages.js';
export { readMatrixFile, readFileBytes, writeMatrixFile, type WriteMatrixOptions } from './files.js';
export {
  readLabelledMatrix,
  readLabels,
  parseLabels,
  findTenXLabels,
  checkLabelCount,
  type LabelColumn,
  type LabelFile,
  type Labels,
  type LabelledMatrix,
  type ReadLabelledOptions,
} from './labels.js';
export { writeFileAtomic, checkWritable, cleanupTemporaries, temporaryPathFor, type AtomicData, type AtomicWriteOptions } from './atomic.js';
export { describeFsError } from './fs-errors.js';
