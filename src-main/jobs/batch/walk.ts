// Lists a batch's inputs one at a time: explicit files, and the images inside folders, recursively and in a fixed order.
//
// Streams (never builds the whole list) so that a folder of a million photos costs the memory of one folder's
// names. Symbolic links are followed, but a link back into a folder already being walked is reported and not
// entered, so loops end; unreadable folders and broken links are reported as rows of their own.

import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../../api/contract.js';
import { CancelledError, UserError } from '../../engine/errors.js';
import type { PathFilter } from './glob.js';

/** An image to compress. */
export interface WalkFile {
  kind: 'file';
  /** The path to read, as given on the command line or joined from it. */
  path: string;
  /** Where its outputs go, relative to the output folder, '/'-separated, with the input's own file name. */
  rel: string;
  /** `rel` without the extension: outputs are `<stem>.nmfz`, `<stem>.preview.png`. */
  stem: string;
  size: number;
  /** Named on the command line (tried whatever its extension) rather than found in a folder. */
  explicit: boolean;
}

/** Something that is reported instead of compressed: a missing input, an unreadable folder, a link loop. */
export interface WalkProblem {
  kind: 'problem';
  path: string;
  rel: string;
  stem: string;
  /** 'error' makes the run fail (exit code 1); 'skipped' is deliberate and harmless. */
  status: 'error' | 'skipped';
  reason: string;
}

export type WalkEntry = WalkFile | WalkProblem;

export interface WalkOptions {
  filter: PathFilter;
  /** The output folder (when it exists): never walked into, so outputs are never taken for inputs. */
  outDir?: string;
  signal?: { readonly aborted: boolean };
}

const IMAGE_EXT = new Set<string>(IMAGE_EXTENSIONS.map((e) => `.${e}`));

export function isImageName(name: string): boolean {
  return IMAGE_EXT.has(path.extname(name).toLowerCase());
}

function stemOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  const name = rel.slice(slash + 1);
  const ext = path.extname(name);
  return ext.length > 0 && ext.length < name.length ? rel.slice(0, rel.length - ext.length) : rel;
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic-link loop (too many levels of links)';
    case 'ENOTDIR':
      return 'not a folder';
    case 'EIO':
      return 'input/output error';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}

function problem(p: string, rel: string, status: 'error' | 'skipped', reason: string): WalkProblem {
  return { kind: 'problem', path: p, rel, stem: stemOf(rel), status, reason };
}

/** Compare names by code point: the same order on every machine and locale. */
function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function folderId(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

/**
 * How each input's contents are placed under the output folder: a single folder's contents go straight into it;
 * with several folders each gets a subfolder named after it. Files named on the command line go to the top.
 */
export async function planRoots(inputs: readonly string[]): Promise<Map<string, string>> {
  const folders: string[] = [];
  for (const input of inputs) {
    const st = await stat(input).catch(() => null);
    if (st?.isDirectory()) folders.push(input);
  }
  const prefixes = new Map<string, string>();
  if (folders.length === 1) {
    prefixes.set(folders[0]!, '');
    return prefixes;
  }
  const seen = new Map<string, string>();
  for (const folder of folders) {
    const name = path.basename(path.resolve(folder)) || 'root';
    const earlier = seen.get(name);
    if (earlier !== undefined && path.resolve(earlier) !== path.resolve(folder)) {
      throw new UserError(`the folders ${earlier} and ${folder} would both be mirrored into <out>/${name}; compress them in separate runs or with separate --out folders`, 'usage');
    }
    seen.set(name, folder);
    prefixes.set(folder, name);
  }
  return prefixes;
}

/**
 * Yields every input in order: explicit files as they are, folders depth-first with names sorted by code point.
 * Hidden names (starting with '.') are skipped, as are files in folders whose extension is not an image's.
 */
export async function* walkInputs(inputs: readonly string[], options: WalkOptions): AsyncGenerator<WalkEntry> {
  const prefixes = await planRoots(inputs);
  const outStat = options.outDir ? await stat(options.outDir).catch(() => null) : null;
  const outId = outStat ? folderId(outStat) : null;
  /** Folders already walked in this run, by device and inode, with where: a second way in is reported, not walked. */
  const walked = new Map<string, string>();

  for (const input of inputs) {
    if (options.signal?.aborted) throw new CancelledError();
    let st: Stats;
    try {
      st = await stat(input);
    } catch (err) {
      const link = await lstat(input).catch(() => null);
      const reason = link?.isSymbolicLink() ? `broken symbolic link (${describe(err)})` : describe(err);
      yield problem(input, path.basename(input) || input, 'error', reason);
      continue;
    }
    if (st.isDirectory()) {
      yield* walkFolder(input, prefixes.get(input) ?? '', st, [], walked, outId, options);
    } else if (st.isFile()) {
      const rel = path.basename(input);
      yield { kind: 'file', path: input, rel, stem: stemOf(rel), size: st.size, explicit: true };
    } else {
      yield problem(input, path.basename(input), 'error', 'not a regular file');
    }
  }
}

async function* walkFolder(
  dir: string,
  rel: string,
  st: Stats,
  ancestors: string[],
  walked: Map<string, string>,
  outId: string | null,
  options: WalkOptions,
): AsyncGenerator<WalkEntry> {
  const id = folderId(st);
  const label = rel || '.';
  const ancestorAt = ancestors.indexOf(id);
  if (ancestorAt >= 0) {
    yield problem(dir, rel, 'skipped', 'symbolic-link loop: it leads back to a folder that contains it; not followed');
    return;
  }
  const before = walked.get(id);
  if (before !== undefined) {
    yield problem(dir, rel, 'skipped', `already walked as ${before} (a symbolic link leads to the same folder)`);
    return;
  }
  if (id === outId) return;
  walked.set(id, label);

  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    yield problem(dir, rel, 'error', `cannot read the folder: ${describe(err)}`);
    return;
  }
  entries.sort(byName);
  const inside = [...ancestors, id];
  for (const entry of entries) {
    if (options.signal?.aborted) throw new CancelledError();
    const name = entry.name;
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    const childRel = rel ? `${rel}/${name}` : name;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    let childStat: Stats | null = null;
    if (entry.isSymbolicLink()) {
      try {
        childStat = await stat(full);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') yield problem(full, childRel, 'skipped', 'symbolic-link loop (the link points at itself through other links); not followed');
        else yield problem(full, childRel, isImageName(name) ? 'error' : 'skipped', `broken symbolic link (${describe(err)})`);
        continue;
      }
      isDir = childStat.isDirectory();
      isFile = childStat.isFile();
    }
    if (isDir) {
      if (!options.filter.entersFolder(childRel)) continue;
      if (!childStat) {
        try {
          childStat = await stat(full);
        } catch (err) {
          yield problem(full, childRel, 'error', `cannot read the folder: ${describe(err)}`);
          continue;
        }
      }
      yield* walkFolder(full, childRel, childStat, inside, walked, outId, options);
      continue;
    }
    if (!isFile || !isImageName(name) || !options.filter.acceptsFile(childRel)) continue;
    if (!childStat) {
      try {
        childStat = await stat(full);
      } catch (err) {
        yield problem(full, childRel, 'error', describe(err));
        continue;
      }
    }
    yield { kind: 'file', path: full, rel: childRel, stem: stemOf(childRel), size: childStat.size, explicit: false };
  }
}
