import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

// The parsers and encoders work on bytes and strings only, so that they also run outside Node (a page
// parsing an upload): they may use only what a browser has too.
const PURE = ['bytes.ts', 'csv.ts', 'messages.ts', 'mtx.ts', 'npy.ts', 'numbers.ts', 'parse.ts', 'types.ts'];

test('the parsers and encoders import nothing from Node', () => {
  for (const name of PURE) {
    const source = readFileSync(path.join(repoRoot, 'src-main', 'formats', name), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    for (const spec of imports) assert.ok(spec.startsWith('./') || spec === '../engine/matrix.js' || spec === '../engine/errors.js', `${name} imports ${spec}`);
    assert.doesNotMatch(source, /\b(Buffer|process|require)\b[.(]/, `${name} uses a Node global`);
  }
});
