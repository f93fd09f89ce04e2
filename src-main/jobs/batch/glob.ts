// Shell-style globs (*, **, ?, [..], {a,b}) turned into regular expressions, for --include and --exclude.
//
// Node 20 has no stable fs.glob or path.matchesGlob, and the rules here are few: paths use '/', a pattern
// without '/' matches a file's name at any depth (as in .gitignore), a pattern with '/' matches the whole
// path relative to the input folder, and matching ignores case (IMG_0001.JPG is a *.jpg to a person).

import { UserError } from '../../engine/errors.js';

/** A compiled pattern; `source` is what the user typed. */
export interface Glob {
  readonly source: string;
  /** True when the pattern has no '/': it is matched against the last path segment only. */
  readonly nameOnly: boolean;
  readonly regex: RegExp;
}

const SPECIAL = /[\\^$.*+?()[\]{}|]/g;

function escapeRegex(s: string): string {
  return s.replace(SPECIAL, '\\$&');
}

/**
 * Translates the pattern from `start` up to an unnested `stop` character (or the end), returning the regex text
 * and where it stopped. Braces recurse so that {a,b{c,d}} and {*.png,raw/**} work.
 */
function translate(p: string, start: number, inBraces: boolean, pattern: string): { re: string; end: number } {
  let re = '';
  let i = start;
  while (i < p.length) {
    const c = p[i]!;
    if (inBraces && (c === ',' || c === '}')) return { re, end: i };
    if (c === '\\') {
      if (i + 1 >= p.length) throw new UserError(`glob '${pattern}': a '\\' at the end escapes nothing`, 'usage');
      re += escapeRegex(p[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '*') {
      if (p[i + 1] === '*') {
        // '**' is special only as a whole segment: at the start or after '/', and at the end or before '/'.
        const atSegmentStart = i === 0 || p[i - 1] === '/' || (inBraces && (p[i - 1] === '{' || p[i - 1] === ','));
        let j = i;
        while (p[j] === '*') j++;
        const atSegmentEnd = j === p.length || p[j] === '/' || (inBraces && (p[j] === ',' || p[j] === '}'));
        if (atSegmentStart && atSegmentEnd) {
          if (p[j] === '/') {
            // '**/' : zero or more whole folders.
            re += '(?:[^/]*/)*';
            i = j + 1;
          } else if (re.endsWith('/')) {
            // '/**' at the end: the folder itself or anything inside it.
            re = re.slice(0, -1) + '(?:/.*)?';
            i = j;
          } else {
            re += '.*';
            i = j;
          }
          continue;
        }
        // Not a whole segment ('a**b'): behaves like a single '*'.
        re += '[^/]*';
        i = j;
        continue;
      }
      re += '[^/]*';
      i++;
      continue;
    }
    if (c === '?') {
      re += '[^/]';
      i++;
      continue;
    }
    if (c === '[') {
      const cls = characterClass(p, i, pattern);
      if (cls) {
        re += cls.re;
        i = cls.end;
        continue;
      }
      re += '\\[';
      i++;
      continue;
    }
    if (c === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      for (;;) {
        const part = translate(p, j, true, pattern);
        alternatives.push(part.re);
        if (part.end >= p.length) throw new UserError(`glob '${pattern}': '{' without a matching '}'`, 'usage');
        j = part.end + 1;
        if (p[part.end] === '}') break;
      }
      re += alternatives.length === 1 ? `\\{${alternatives[0]}\\}` : `(?:${alternatives.join('|')})`;
      i = j;
      continue;
    }
    if (c === '}' && !inBraces) {
      re += '\\}';
      i++;
      continue;
    }
    re += escapeRegex(c);
    i++;
  }
  return { re, end: i };
}

/** [abc], [a-z], [!abc] or [^abc]; never matches '/'. Returns null for a '[' that opens no class (matched literally). */
function characterClass(p: string, open: number, pattern: string): { re: string; end: number } | null {
  let i = open + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < p.length && (p[i] !== ']' || first)) {
    const c = p[i]!;
    first = false;
    if (c === '\\' && i + 1 < p.length) {
      body += escapeClass(p[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '-' && body.length > 0 && p[i + 1] !== ']' && i + 1 < p.length) {
      const lo = body[body.length - 1]!;
      const hi = p[i + 1]!;
      if (hi < lo) throw new UserError(`glob '${pattern}': the range ${lo}-${hi} is backwards`, 'usage');
      body += '-' + escapeClass(hi);
      i += 2;
      continue;
    }
    if (c === '/') return null;
    body += escapeClass(c);
    i++;
  }
  if (i >= p.length) return null;
  return { re: negate ? `[^/${body}]` : `[${body}]`, end: i + 1 };
}

function escapeClass(c: string): string {
  return /[\\\]^-]/.test(c) ? '\\' + c : c;
}

/** Compiles one glob; a malformed one is a usage error naming it. */
export function compileGlob(pattern: string): Glob {
  if (pattern.length === 0) throw new UserError('an empty glob matches nothing; give a pattern such as *.jpg', 'usage');
  // On Windows a backslash is the separator people type; elsewhere it escapes the next character.
  let p = process.platform === 'win32' ? pattern.replaceAll('\\', '/') : pattern;
  p = p.replace(/^\.\//, '').replace(/\/+/g, '/');
  // A trailing '/' means "this folder": the folder itself and everything in it.
  if (p.length > 1 && p.endsWith('/')) p += '**';
  // A leading '/' anchors at the input folder, which relative paths always are.
  if (p.startsWith('/')) p = p.slice(1);
  const nameOnly = !p.includes('/');
  const { re } = translate(p, 0, false, pattern);
  return { source: pattern, nameOnly, regex: new RegExp(`^${re}$`, 'iu') };
}

/** Whether a path relative to the input folder ('/'-separated) matches. */
export function globMatches(glob: Glob, relPath: string): boolean {
  const subject = glob.nameOnly ? relPath.slice(relPath.lastIndexOf('/') + 1) : relPath;
  return glob.regex.test(subject);
}

/** The include/exclude pair of a batch: what is picked up from folders. */
export class PathFilter {
  private readonly include: Glob[];
  private readonly exclude: Glob[];

  constructor(include: readonly string[] = [], exclude: readonly string[] = []) {
    this.include = include.map(compileGlob);
    this.exclude = exclude.map(compileGlob);
  }

  /** A file is taken when it matches some --include (or there is none) and no --exclude. */
  acceptsFile(relPath: string): boolean {
    if (this.exclude.some((g) => globMatches(g, relPath))) return false;
    return this.include.length === 0 || this.include.some((g) => globMatches(g, relPath));
  }

  /** A folder matched by an --exclude is not entered at all (--exclude 'raw/' or 'raw' prunes raw/). */
  entersFolder(relPath: string): boolean {
    return !this.exclude.some((g) => globMatches(g, relPath));
  }
}
