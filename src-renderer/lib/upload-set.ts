// Several files opened at once: which one is the document, and which are its label files (sent to the server
// with it, where a 10x Genomics matrix.mtx finds its features and barcodes and other files label by count).

interface Named {
  readonly name: string;
  readonly size: number;
}

export type UploadSet<F extends Named> = { primary: F; companions: F[] } | { error: string };

/** Cell Ranger's matrix, or GEO's prefixed copy of it. */
const TEN_X_MATRIX = /matrix\.mtx(\.gz)?$/i;
/** What a 10x folder holds beside the matrix that labels it. */
const TEN_X_LABELS = /(features|genes|barcodes)\.tsv(\.gz)?$/i;
/** Text files that may hold one label per line (a text table's endings too: the counts tell them apart). */
const LABEL_FILE = /\.(tsv|txt|csv|tab|dat|lst)(\.gz)?$/i;

const ONE_AT_A_TIME = 'Open one file at a time, or a matrix with its label files (a 10x Genomics matrix.mtx with its features.tsv and barcodes.tsv, or one label per line for its rows and for its columns).';

/**
 * The matrix among files chosen or dropped together, and its label files: a 10x matrix.mtx[.gz] when there is
 * one; else the one file that is not plain text (an .npy, .npz or .mtx); else the largest text file.
 */
export function uploadSet<F extends Named>(files: readonly F[]): UploadSet<F> {
  const tenX = files.filter((f) => TEN_X_MATRIX.test(f.name));
  const binary = files.filter((f) => !LABEL_FILE.test(f.name));
  let primary: F | undefined;
  if (tenX.length === 1) primary = tenX[0];
  else if (tenX.length === 0 && binary.length === 1) primary = binary[0];
  else if (tenX.length === 0 && binary.length === 0) primary = [...files].sort((a, b) => b.size - a.size)[0];
  if (!primary) return { error: ONE_AT_A_TIME };
  const companions = files.filter((f) => f !== primary);
  if (companions.some((f) => !LABEL_FILE.test(f.name))) return { error: ONE_AT_A_TIME };
  return { primary, companions };
}

/** A dropped folder's 10x matrix and label files (whatever else it holds is left out); null when it has none. */
export function tenXFolder<F extends Named>(files: readonly F[]): { primary: F; companions: F[] } | null {
  const matrices = files.filter((f) => TEN_X_MATRIX.test(f.name));
  if (matrices.length !== 1) return null;
  return { primary: matrices[0]!, companions: files.filter((f) => TEN_X_LABELS.test(f.name)) };
}
