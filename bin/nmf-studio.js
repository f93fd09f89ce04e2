#!/usr/bin/env node
// The `nmf-studio` command. The TypeScript sources are compiled by `npm install` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src-main/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('nmf-studio: the program is not built yet; run `npm install` (or `npm run build`) in its folder first.');
  process.exit(1);
}
await import(entry.href);
