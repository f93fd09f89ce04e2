// Which files the app opens, by extension: one list for the shell, the dialogs and the IPC checks.

import path from 'node:path';
import { DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, MATRIX_EXTENSIONS } from '../api/contract.js';

const OPENABLE = new Set<string>([...IMAGE_EXTENSIONS, ...MATRIX_EXTENSIONS, ...DOCUMENT_EXTENSIONS]);

export function isOpenable(filePath: string): boolean {
  return OPENABLE.has(path.extname(filePath).slice(1).toLowerCase());
}
