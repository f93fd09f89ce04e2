#!/usr/bin/env node
// The `nmf-studio` command. The TypeScript sources are compiled by `npm install` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

const entry = new URL('../dist/src-main/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('nmf-studio: the program is not built yet; run `npm install` (or `npm run build`) in its folder first.');
  process.exit(1);
}
// Relaxed SIMD (the kernels' fused multiply-add: about a fifth off a tile fit) is on by default from Node 22 and in
// Electron; Node 20's V8 has it finished but behind a flag, which takes effect when set before any module is compiled.
// The probe is a module of one f32x4.relaxed_madd.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02,
  0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);
if (!WebAssembly.validate(RELAXED_PROBE)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
await import(entry.href);
