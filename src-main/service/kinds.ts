// What kind of document a path is, from its extension (the contents are checked when it is read).

import path from 'node:path';
import { DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, MATRIX_EXTENSIONS } from '../api/contract.js';

export type DocumentKind = 'image' | 'matrix' | 'nmfz';

export function kindOfPath(filePath: string): DocumentKind | null {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((MATRIX_EXTENSIONS as readonly string[]).includes(ext)) return 'matrix';
  if ((DOCUMENT_EXTENSIONS as readonly string[]).includes(ext)) return 'nmfz';
  return null;
}
