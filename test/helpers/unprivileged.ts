// Permission-denied checks that also run as root (CI runs as root, and root reads everything): the check runs
// with the process's effective user and group switched to nobody (65534), then switched back.
//
// glibc applies seteuid/setegid to every thread, so the libuv pool threads that do the file system calls lose
// root's rights too; root's capabilities come back with the effective uid 0 afterwards.

import { chmod } from 'node:fs/promises';

const NOBODY = 65534;

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Why a permission-denied case cannot run here, or false when it can (as this user, or by dropping root). */
export function permissionCheckSkip(): string | false {
  if (process.platform === 'win32' || !process.getuid) return 'file modes do not deny access on this platform';
  if (!isRoot()) return false;
  try {
    dropRoot()();
    return false;
  } catch (e) {
    return `running as root without the right to act as another user (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Switches the effective user and group to nobody, with no supplementary groups; returns what switches back. */
function dropRoot(): () => void {
  const groups = process.getgroups!();
  const restore = (): void => {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  };
  try {
    process.setgroups!([]);
    process.setegid!(NOBODY);
    process.seteuid!(NOBODY);
  } catch (e) {
    restore();
    throw e;
  }
  return restore;
}

/**
 * Runs `check` as nobody when this process is root (as itself otherwise). The folders on the way to what it
 * reads must be open to others: `traversable` are given mode 0755 first (mkdtemp makes 0700 folders).
 */
export async function withoutRoot<T>(check: () => Promise<T>, traversable: string[] = []): Promise<T> {
  if (!isRoot()) return check();
  for (const dir of traversable) await chmod(dir, 0o755);
  const restore = dropRoot();
  try {
    return await check();
  } finally {
    restore();
  }
}
