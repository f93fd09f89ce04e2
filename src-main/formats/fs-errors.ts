// Operating-system errors in words: what a person reads instead of an errno dump.

import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileError } from './messages.js';

const WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EBUSY: 'the file is in use by another program',
  EIO: 'input/output error (a disk or network problem)',
  ETIMEDOUT: 'the operation timed out',
  EAGAIN: 'the resource is temporarily unavailable',
  EINVAL: 'invalid argument',
  EXDEV: 'source and target are on different devices',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  ESTALE: 'stale network file handle',
  EFBIG: 'the file is too large',
  ENOTEMPTY: 'the folder is not empty',
  ERR_FS_FILE_TOO_LARGE: 'the file is too large to read at once',
};

/** "permission denied", "no such file or folder", …: the reason an fs call failed, without code or stack. */
export function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && WORDS[code]) return WORDS[code];
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages read "ECODE: words, syscall 'path'": keep the words.
  const m = /^[A-Z][A-Z0-9_]*: ([^,]+)/.exec(message);
  return m ? m[1]! : message;
}

/** A file's size in bytes; a folder, or a path that cannot be read, throws one line naming it. */
export async function fileSize(filePath: string): Promise<number> {
  let info: Stats;
  try {
    info = await stat(filePath);
  } catch (err) {
    throw fileError(filePath, `cannot read: ${describeFsError(err)}`);
  }
  if (info.isDirectory()) throw fileError(filePath, 'cannot read: it is a folder, not a file');
  return info.size;
}

/** Whether an error came from the operating system (as opposed to a bug). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
