// Locates the repository and its test fixtures from compiled tests (dist/test/...) or sources alike.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');
export const fixture = (...parts: string[]): string => path.join(fixturesDir, ...parts);
/** The CLI entry exactly as `npx nmf-studio` runs it. */
export const cliBin = path.join(repoRoot, 'bin', 'nmf-studio.js');
