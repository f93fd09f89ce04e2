// What kind of document a path is, from its extension (the contents are checked when it is read).

import path from 'node:path';
import { DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, MATRIX_EXTENSIONS } from '../api/contract.js';

export type DocumentKind = 'image' | 'matrix' | 'nmfz';

export function kindOfPath(filePath: string): DocumentKind | null {
  const lower = filePath.toLowerCase();
  // Matrix files are read gzip-compressed too (a 10x Genomics matrix.mtx.gz, a counts.csv.gz).
  if (lower.endsWith('.gz')) return (MATRIX_EXTENSIONS as readonly string[]).includes(path.extname(lower.slice(0, -3)).slice(1)) ? 'matrix' : null;
  const ext = path.extname(lower).slice(1);
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((MATRIX_EXTENSIONS as readonly string[]).includes(ext)) return 'matrix';
  if ((DOCUMENT_EXTENSIONS as readonly string[]).includes(ext)) return 'nmfz';
  return null;
}
