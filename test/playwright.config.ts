// Playwright suites: `e2e` drives the web mode (the real `nmf-studio serve`) in Debian's Chromium; `electron` the desktop shell.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  // Two cores are shared by the server, its workers and the browser: one test file at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  forbidOnly: true,
  retries: 0,
  outputDir: '../test-results',
  // `npm test` asks for a JSON report too (NMF_PLAYWRIGHT_JSON), to add Playwright's counts to its closing line.
  reporter: [
    ['list'],
    ['html', { outputFolder: '../playwright-report', open: 'never' }],
    ...(process.env.NMF_PLAYWRIGHT_JSON ? [['json', { outputFile: process.env.NMF_PLAYWRIGHT_JSON }] as ['json', { outputFile: string }]] : []),
  ],
  use: {
    browserName: 'chromium',
    viewport: { width: 1400, height: 900 },
    // every test leaves a screenshot of its last state in test-results/ (and the HTML report): artifacts to look at
    screenshot: 'on',
    trace: 'retain-on-failure',
    acceptDownloads: true,
    launchOptions: {
      // Never download browsers: use the system's Chromium.
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  projects: [
    { name: 'e2e', testDir: './e2e' },
    { name: 'electron', testDir: './electron' },
  ],
});
