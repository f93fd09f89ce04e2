// Finds and removes the temporaries an interrupted or crashed run left beside its outputs.
//
// Every output is first written as `.<name>.<12 hex digits>.tmp` in its target's folder (formats/atomic.ts).
// A run alone in its output folder removes all of them in the folders it writes to; a shard, which shares the
// folder with others still writing, removes only those of the outputs it owns.

import { readdirSync, unlinkSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

const TEMPORARY = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

/** The output name a temporary was being written for, or null when the name is not a temporary's. */
export function temporaryTarget(name: string): string | null {
  const m = TEMPORARY.exec(name);
  return m ? m[1]! : null;
}

/** The prefix that formats/atomic.ts gives the temporaries of `target` (long names are cut at 100 characters). */
function targetKey(target: string): string {
  const base = path.basename(target);
  return base.length > 100 ? base.slice(0, 100) : base;
}

export class StaleTemporaries {
  /** Per folder: the temporaries found there and not yet removed (listed once, on first use). */
  private readonly folders = new Map<string, Set<string>>();
  removed = 0;

  /** exclusive: this run is the only writer in the output folder, so any temporary there is stale. */
  constructor(private readonly exclusive: boolean) {}

  /** Removes stale temporaries of these targets (and, when exclusive, every stale temporary in their folders). */
  async clean(targets: readonly string[]): Promise<void> {
    for (const target of targets) {
      const dir = path.dirname(target);
      let pending = this.folders.get(dir);
      if (!pending) {
        pending = new Set();
        const names = await readdir(dir).catch(() => [] as string[]);
        for (const name of names) if (temporaryTarget(name) !== null) pending.add(name);
        this.folders.set(dir, pending);
        if (this.exclusive) {
          for (const name of pending) await this.remove(dir, name);
          pending.clear();
        }
      }
      if (pending.size === 0) continue;
      const key = targetKey(target);
      for (const name of [...pending]) {
        if (temporaryTarget(name) === key) {
          pending.delete(name);
          await this.remove(dir, name);
        }
      }
    }
  }

  private async remove(dir: string, name: string): Promise<void> {
    try {
      await unlink(path.join(dir, name));
      this.removed++;
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }
}

/**
 * Synchronously removes the temporaries of these targets, for a process on its way out (a second Ctrl-C) or after
 * the workers writing them were stopped.
 */
export function removeTemporariesSync(targets: Iterable<string>): number {
  const byDir = new Map<string, Set<string>>();
  for (const t of targets) {
    const dir = path.dirname(t);
    let keys = byDir.get(dir);
    if (!keys) byDir.set(dir, (keys = new Set()));
    keys.add(targetKey(t));
  }
  let removed = 0;
  for (const [dir, keys] of byDir) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const target = temporaryTarget(name);
      if (target === null || !keys.has(target)) continue;
      try {
        unlinkSync(path.join(dir, name));
        removed++;
      } catch {
        // best effort on the way out
      }
    }
  }
  return removed;
}
