// Atomic file output for every file the project writes: temporary name, fsync, rename; nothing half-written survives.

import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { chmod, link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, throwIfCancelled, UserError, type CancelSignal } from '../engine/errors.js';
import { describeFsError, isFsError } from './fs-errors.js';

export type AtomicData = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

export interface AtomicWriteOptions {
  /** Replace an existing file. Without it an existing target is refused and left untouched. */
  overwrite?: boolean;
  /** Checked between pieces of iterable data: an aborted signal stops the write and removes the temporary. */
  signal?: CancelSignal;
}

/** Temporaries being written right now, so that an interrupted process can remove them on its way out. */
const inFlight = new Set<string>();
/** Temporaries that cleanupTemporaries removed while their write was still going. */
const removedByCleanup = new Set<string>();
let exitHookInstalled = false;

function register(tmp: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // process.exit() from a signal handler or anywhere else still removes what is in flight.
    process.once('exit', () => cleanupTemporaries());
  }
  inFlight.add(tmp);
}

/**
 * Removes every temporary file still being written, synchronously, so that it is safe in a SIGINT/SIGTERM
 * handler right before process.exit(). Returns how many were removed. A write whose temporary was
 * removed this way fails with CancelledError.
 */
export function cleanupTemporaries(): number {
  let removed = 0;
  for (const tmp of inFlight) {
    try {
      unlinkSync(tmp);
      removed++;
    } catch {
      // Already gone, or not removable (an open file on Windows): nothing more can be done here.
    }
    removedByCleanup.add(tmp);
  }
  inFlight.clear();
  return removed;
}

/** Paths of the temporaries currently in flight (for diagnostics and tests). */
export function temporariesInFlight(): string[] {
  return [...inFlight];
}

/** `.name.<random>.tmp` beside the target: the same folder, hence the same file system, so rename is atomic. */
export function temporaryPathFor(target: string): string {
  const base = path.basename(target);
  const short = base.length > 100 ? base.slice(0, 100) : base;
  return path.join(path.dirname(target), `.${short}.${randomBytes(6).toString('hex')}.tmp`);
}

function existsError(target: string): UserError {
  return new UserError(`${target} already exists; pass --overwrite to replace it`, 'input');
}

/**
 * Fails early, before any work, when `target` cannot be written: its folder is missing or not a folder,
 * it is a folder itself, or it exists and overwrite is false. writeFileAtomic checks again atomically.
 */
export async function checkWritable(target: string, options: { overwrite?: boolean } = {}): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  try {
    if (!(await stat(dir)).isDirectory()) throw new UserError(`cannot write ${target}: ${path.dirname(target)} is not a folder`, 'input');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot write ${target}: folder ${path.dirname(target)}: ${describeFsError(err)}`, 'input');
  }
  let info;
  try {
    info = await stat(target);
  } catch {
    return;
  }
  if (info.isDirectory()) throw new UserError(`cannot write ${target}: it is a folder`, 'input');
  if (!options.overwrite) throw existsError(target);
}

async function writeAll(handle: FileHandle, data: AtomicData, signal: CancelSignal | undefined): Promise<void> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    await handle.writeFile(data);
    return;
  }
  const encoder = new TextEncoder();
  for await (const piece of data) {
    throwIfCancelled(signal);
    const bytes = typeof piece === 'string' ? encoder.encode(piece) : piece;
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
  }
  throwIfCancelled(signal);
}

/**
 * Publishes the finished temporary under the target name without ever replacing an existing file.
 * link() fails with EEXIST when the name is taken, atomically: no other process can slip a file in between
 * a check and the rename. File systems without hard links (FAT, exFAT, some network shares) reserve the
 * name with an exclusive create instead and rename over that empty placeholder.
 */
async function publishExclusive(tmp: string, target: string): Promise<void> {
  try {
    await link(tmp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsError(target);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw err;
    let placeholder: FileHandle;
    try {
      placeholder = await open(target, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(target);
      throw e;
    }
    await placeholder.close();
    try {
      await rename(tmp, target);
    } catch (e) {
      await unlink(target).catch(() => undefined);
      throw e;
    }
    return;
  }
  await unlink(tmp);
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; not possible on every platform (Windows), where it is skipped.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Writes `data` to `target` atomically: into `.name.<random>.tmp` in the same folder, fsync, then rename
 * (overwrite) or hard-link (no overwrite) into place. Readers see the old file or the whole new one, never
 * a part. The temporary is removed on any failure, on cancellation, and by cleanupTemporaries().
 */
export async function writeFileAtomic(target: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  const overwrite = options.overwrite ?? false;
  await checkWritable(target, { overwrite });
  throwIfCancelled(options.signal);
  const tmp = temporaryPathFor(target);
  register(tmp);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx');
    await writeAll(handle, data, options.signal);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (overwrite) {
      // Keep the permissions of the file being replaced.
      const previous = await stat(target).catch(() => undefined);
      if (previous) await chmod(tmp, previous.mode & 0o7777).catch(() => undefined);
      await rename(tmp, target);
    } else {
      await publishExclusive(tmp, target);
    }
    inFlight.delete(tmp);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    inFlight.delete(tmp);
    if (removedByCleanup.delete(tmp)) throw new CancelledError('interrupted while writing ' + target);
    if (err instanceof UserError || err instanceof CancelledError || !isFsError(err)) throw err;
    throw new UserError(`cannot write ${target}: ${describeFsError(err)}`, 'input');
  }
  await syncDirectory(path.dirname(path.resolve(target)));
}
