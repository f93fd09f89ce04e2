// Builds the renderer into dist/renderer for both shells: relative paths (custom protocol and http alike), no inline code.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [svelte()],
  // The renderer must not depend on anything outside the page: no public dir, no inlined assets as data: scripts.
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be an inline script under a strict CSP; every supported shell has native modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
    reportCompressedSize: false,
    // Two shared cores make the Svelte compile look slow every time; the timing report is only noise here.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
