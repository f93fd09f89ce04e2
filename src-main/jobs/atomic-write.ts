// Writes a file under a temporary name in the same folder, then renames it into place; never clobbers unless asked.

import { randomBytes } from 'node:crypto';
import { link, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../engine/errors.js';

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'folder does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EISDIR':
      return 'is a folder';
    case 'EROFS':
      return 'read-only file system';
    default:
      return e.code ?? String(err);
  }
}

/** Refuses early, before any work, a target that exists (without overwrite) or whose folder is missing. */
export async function checkWritable(target: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  try {
    if (!(await stat(dir)).isDirectory()) throw new UserError(`cannot write ${target}: ${dir} is not a folder`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot write ${target}: ${describe(err)}`);
  }
  try {
    const st = await stat(target);
    if (st.isDirectory()) throw new UserError(`cannot write ${target}: it is a folder`);
    if (!opts.overwrite) throw new UserError(`${target} already exists; pass --overwrite to replace it`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // ENOENT: free to write.
  }
}

/**
 * Writes `bytes` to `target` atomically: a temporary `.name.<random>.tmp` beside it, then a rename (overwrite) or a
 * hard link that fails if the target appeared meanwhile (no overwrite). The temporary never outlives a failure.
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array, opts: { overwrite?: boolean } = {}): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target).slice(0, 100)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    if (opts.overwrite) {
      await rename(tmp, target);
    } else {
      try {
        await link(tmp, target);
        await unlink(tmp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new UserError(`${target} already exists; pass --overwrite to replace it`);
        // File systems without hard links (FAT, some network shares): check, then rename.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        await checkWritable(target, { overwrite: false });
        await rename(tmp, target);
      }
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot write ${target}: ${describe(err)}`);
  }
}
