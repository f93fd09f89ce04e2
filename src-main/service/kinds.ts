// What kind of document a path is, from its extension (the contents are checked when it is read).

import path from 'node:path';
import { DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, MATRIX_EXTENSIONS } from '../api/contract.js';

export type DocumentKind = 'image' | 'matrix' | 'nmfz';

export function kindOfPath(filePath: string): DocumentKind | null {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  if (ext === 'gz') {
    // a gzip-compressed matrix file (m.mtx.gz, counts.csv.gz) is a matrix; nothing else is read compressed
    const inner = path.extname(filePath.slice(0, -3)).slice(1).toLowerCase();
    return (MATRIX_EXTENSIONS as readonly string[]).includes(inner) ? 'matrix' : null;
  }
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((MATRIX_EXTENSIONS as readonly string[]).includes(ext)) return 'matrix';
  if ((DOCUMENT_EXTENSIONS as readonly string[]).includes(ext)) return 'nmfz';
  return null;
}
