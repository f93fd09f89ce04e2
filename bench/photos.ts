// `npm run bench -- --photos`: real camera photographs (the nature/ JPEGs of Debian's mate-backgrounds package)
// through the real CLI, against a JPEG of at most the same bytes, and the app's time to a first reconstruction.
// Writes bench/photos.md and bench/photos.json. The photographs are GPL-2+ and are fetched into a cache folder
// outside the repository, never into it.
//
//   node dist/bench/photos.js [--quick] [--only LadyBird,Dune] [--ratios 10,20,40] [--layouts global,tiled]
//                             [--global-photos N|all] [--no-app | --app-only] [--no-folder] [--cache DIR]
//   node dist/bench/photos.js --render-only     # photos.md again from photos.json
//
// Each compress runs in a process of its own under /usr/bin/time, so its peak memory is its own and its time is
// the whole command's: start, decode, fit, encode, measure, write.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import type { CompressRecord } from '../src-main/api/contract.js';
import { readImage } from '../src-main/codec/image-io.js';
import { compareJpeg } from '../src-main/codec/jpeg-compare.js';
import { finalReconstructionShown, readReconstructionTimes, RECORD_RECONSTRUCTION_TIMES, type ReconstructionTimes } from '../test/helpers/first-reconstruction.js';
import { repoRoot } from '../test/helpers/paths.js';

const CLI = path.join(repoRoot, 'bin', 'nmf-studio.js');
const PACKAGE = 'mate-backgrounds';
const CHROMIUM = '/usr/bin/chromium';
/** The photograph the app is timed on: 2560×1600, 4.1 MP. */
const APP_PHOTO = 'LadyBird';
/** --quick: the three smallest photographs. */
const QUICK_COUNT = 3;

const { values: args } = parseArgs({
  options: {
    photos: { type: 'boolean', default: true },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    ratios: { type: 'string' },
    layouts: { type: 'string' },
    // how many photographs (smallest first) the whole-image layout is also run on: it takes minutes per photograph
    'global-photos': { type: 'string' },
    'no-app': { type: 'boolean', default: false },
    // no folder of 1-MP photographs through `batch`
    'no-folder': { type: 'boolean', default: false },
    // the app's timing alone
    'app-only': { type: 'boolean', default: false },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'nmf-studio-bench-photos') },
    // photos.md again from photos.json, measuring nothing
    'render-only': { type: 'boolean', default: false },
  },
});

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fail(message: string): never {
  log(`bench --photos: ${message}`);
  process.exit(1);
}

interface Photo {
  name: string;
  file: string;
  width: number;
  height: number;
  fileBytes: number;
}

/** The photographs: from the cache, or fetched with apt-get download and unpacked with dpkg -x. */
async function fetchPhotos(cache: string): Promise<Photo[]> {
  const nature = path.join(cache, 'usr', 'share', 'backgrounds', 'mate', 'nature');
  if (!existsSync(nature)) {
    mkdirSync(cache, { recursive: true });
    log(`fetching ${PACKAGE} into ${cache} …`);
    const download = spawnSync('apt-get', ['download', PACKAGE], { cwd: cache, encoding: 'utf8' });
    if (download.status !== 0) fail(`apt-get download ${PACKAGE} failed: ${(download.stderr || String(download.error)).trim().split('\n').pop()}`);
    const deb = readdirSync(cache).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
    if (!deb) fail(`apt-get download ${PACKAGE} left no .deb in ${cache}`);
    const unpack = spawnSync('dpkg', ['-x', deb, cache], { cwd: cache, encoding: 'utf8' });
    if (unpack.status !== 0 || !existsSync(nature)) fail(`dpkg -x ${deb} failed: ${(unpack.stderr || String(unpack.error)).trim()}`);
  }
  const photos: Photo[] = [];
  for (const f of readdirSync(nature).filter((x) => x.toLowerCase().endsWith('.jpg')).sort()) {
    const file = path.join(nature, f);
    const { pixels } = await readImage(file);
    photos.push({ name: f.replace(/\.jpg$/i, ''), file, width: pixels.width, height: pixels.height, fileBytes: statSync(file).size });
  }
  if (!photos.length) fail(`no nature/*.jpg in ${nature}`);
  return photos.sort((a, b) => a.width * a.height - b.width * b.height || a.name.localeCompare(b.name));
}

/** `--layout` exists only where the codec has more than one layout. */
function cliLayouts(): string[] | null {
  const help = spawnSync(process.execPath, [CLI, 'compress', '--help'], { encoding: 'utf8' });
  const m = /--layout ([a-z|]+)/.exec(help.stdout ?? '');
  return m ? m[1]!.split('|') : null;
}

/** What one compress run is asked: the defaults, or a ratio with a layout. */
interface Setting {
  /** 'default' or 'ratio 20'. */
  label: string;
  ratio: number | null;
  /** null: the CLI's own default layout. */
  layout: string | null;
}

interface Run {
  photo: string;
  megapixels: number;
  setting: string;
  ratio: number | null;
  /** The layout asked for (null: the default) and the one the file got, where the record says. */
  layoutAsked: string | null;
  layout: string | null;
  error?: string;
  compressedBytes?: number;
  inputFileBytes: number;
  rank?: number;
  psnr?: number;
  ssim?: number;
  /** The command's wall time, start to exit. */
  seconds?: number;
  secondsPerMegapixel?: number;
  peakMiB?: number;
  jpegBytes?: number;
  jpegQuality?: number;
  jpegPsnr?: number;
  jpegSsim?: number;
}

/** One `nmf-studio compress --json` under /usr/bin/time: the record, the wall time and the peak resident set. */
async function compressOnce(photo: Photo, setting: Setting, outDir: string): Promise<Run> {
  const megapixels = (photo.width * photo.height) / 1e6;
  const base: Run = { photo: photo.name, megapixels, setting: setting.label, ratio: setting.ratio, layoutAsked: setting.layout, layout: null, inputFileBytes: photo.fileBytes };
  const timeFile = path.join(outDir, 'time.txt');
  const cliArgs = [CLI, 'compress', photo.file, '--out', outDir, '--json', '--overwrite', '--no-report'];
  if (setting.ratio !== null) cliArgs.push('--ratio', String(setting.ratio));
  if (setting.layout !== null) cliArgs.push('--layout', setting.layout);
  const started = performance.now();
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const seconds = (performance.now() - started) / 1000;
  const record = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"input"'))
    .map((l) => JSON.parse(l) as CompressRecord & { layout?: string })[0];
  if (r.code !== 0 || !record || record.status !== 'ok') {
    return { ...base, error: record?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.code}`) };
  }
  const peakKiB = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
  return {
    ...base,
    layout: record.layout ?? (setting.layout ?? 'global'),
    compressedBytes: record.compressedBytes,
    rank: record.rank,
    psnr: record.psnr,
    ssim: record.ssim,
    seconds,
    secondsPerMegapixel: seconds / megapixels,
    peakMiB: peakKiB / 1024,
  };
}

/** A JPEG of at most the same bytes, measured with the project's own PSNR and SSIM (as --compare-jpeg does). */
async function withJpeg(run: Run, photo: Photo): Promise<Run> {
  if (run.compressedBytes === undefined) return run;
  const { pixels } = await readImage(photo.file);
  const j = await compareJpeg(pixels, run.compressedBytes);
  return { ...run, jpegBytes: j.jpegBytes, jpegQuality: j.jpegQuality, jpegPsnr: j.jpegPsnr, jpegSsim: j.jpegSsim };
}

/** The photographs scaled to about 1 MP (JPEG), compressed as one folder by `nmf-studio batch` with its defaults. */
interface FolderRun {
  photos: number;
  megapixels: number;
  seconds?: number;
  photosPerSecond?: number;
  peakMiB?: number;
  ok?: number;
  /** Files smaller than their input with PSNR ≥ 35 dB and SSIM ≥ 0.90. */
  goodEnough?: number;
  meanPsnr?: number;
  error?: string;
}

/** Side of the folder's photographs, in pixels: each is scaled to about FOLDER_PIXELS, and saved as a JPEG of FOLDER_QUALITY. */
const FOLDER_PIXELS = 1e6;
const FOLDER_QUALITY = 90;

async function timeFolder(photos: Photo[], scratch: string): Promise<FolderRun> {
  const input = path.join(scratch, 'folder-1mp');
  const out = path.join(scratch, 'folder-1mp-out');
  mkdirSync(input);
  let pixels = 0;
  for (const p of photos) {
    const f = Math.sqrt(FOLDER_PIXELS / (p.width * p.height));
    const [w, h] = [Math.round(p.width * f), Math.round(p.height * f)];
    pixels += w * h;
    await sharp(p.file).resize(w, h).jpeg({ quality: FOLDER_QUALITY }).toFile(path.join(input, `${p.name}.jpg`));
  }
  const base: FolderRun = { photos: photos.length, megapixels: pixels / photos.length / 1e6 };
  const timeFile = path.join(scratch, 'folder-time.txt');
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, CLI, 'batch', input, '--out', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - started) / 1000;
  const records = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"input"'))
    .map((l) => JSON.parse(l) as CompressRecord & { originalFileBytes: number });
  if (r.status !== 0 || records.length !== photos.length) return { ...base, error: r.stderr.trim().split('\n').pop() || `exit ${r.status}` };
  const ok = records.filter((x) => x.status === 'ok');
  return {
    ...base,
    seconds,
    photosPerSecond: photos.length / seconds,
    peakMiB: Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024,
    ok: ok.length,
    goodEnough: ok.filter((x) => x.compressedBytes < x.originalFileBytes && x.psnr >= 35 && (x.ssim ?? 0) >= 0.9).length,
    meanPsnr: mean(ok.map((x) => x.psnr)),
  };
}

interface AppTiming {
  photo: string;
  megapixels: number;
  times?: ReconstructionTimes;
  /** first reconstruction − original shown, and final − original shown, in ms. */
  firstMs?: number;
  finalMs?: number;
  error?: string;
  /** Where measured by a run of its own (--app-only) after the compress runs. */
  command?: string;
}

/** The web mode in headless Chromium: open the photograph, note when its original, first and final reconstruction show. */
async function timeApp(photo: Photo): Promise<AppTiming> {
  const megapixels = (photo.width * photo.height) / 1e6;
  if (!existsSync(CHROMIUM)) return { photo: photo.name, megapixels, error: `${CHROMIUM} is missing (apt-get install chromium)` };
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('the server printed no address within 30 s')), 30_000);
      server.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /Listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      server.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.addInitScript(RECORD_RECONSTRUCTION_TIMES);
      await page.goto(url);
      await page.getByTestId('open-input').waitFor({ state: 'attached' });
      await page.getByTestId('backend-chip').waitFor();
      await page.getByTestId('open-input').setInputFiles(photo.file);
      await page.waitForFunction(finalReconstructionShown, undefined, { timeout: 900_000, polling: 250 });
      const times = await page.evaluate(readReconstructionTimes);
      return { photo: photo.name, megapixels, times, firstMs: times.firstReconstruction! - times.original!, finalMs: times.final! - times.original! };
    } finally {
      await browser.close();
    }
  } catch (err) {
    return { photo: photo.name, megapixels, error: String((err as Error).message ?? err).split('\n')[0] };
  } finally {
    server.kill('SIGTERM');
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const kB = (b: number): string => `${(b / 1000).toFixed(0)} kB`;
const db = (x: number | undefined): string => (x === undefined ? '–' : Number.isFinite(x) ? x.toFixed(2) : '∞');
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/** Per setting and layout: the means the README quotes. */
interface Summary {
  setting: string;
  layout: string;
  photos: number;
  meanPsnr: number;
  meanJpegPsnr: number;
  /** mean (ours − JPEG) in dB at the same bytes. */
  meanGapDb: number;
  meanSsim: number;
  meanJpegSsim: number;
  /** mean .nmfz bytes ÷ the input JPEG's bytes. */
  meanSizeOfInput: number;
  medianSecondsPerMegapixel: number;
  maxPeakMiB: number;
  /** photographs with a .nmfz smaller than the input and PSNR ≥ 35 dB and SSIM ≥ 0.90 */
  goodEnough: number;
}

function summarise(runs: Run[]): Summary[] {
  const keys = [...new Set(runs.filter((r) => !r.error).map((r) => `${r.setting}\n${r.layout}`))];
  return keys.map((k) => {
    const [setting, layout] = k.split('\n') as [string, string];
    const rs = runs.filter((r) => !r.error && r.setting === setting && r.layout === layout);
    return {
      setting,
      layout,
      photos: rs.length,
      meanPsnr: mean(rs.map((r) => r.psnr!)),
      meanJpegPsnr: mean(rs.map((r) => r.jpegPsnr!)),
      meanGapDb: mean(rs.map((r) => r.psnr! - r.jpegPsnr!)),
      meanSsim: mean(rs.map((r) => r.ssim!)),
      meanJpegSsim: mean(rs.map((r) => r.jpegSsim!)),
      meanSizeOfInput: mean(rs.map((r) => r.compressedBytes! / r.inputFileBytes)),
      medianSecondsPerMegapixel: median(rs.map((r) => r.secondsPerMegapixel!)),
      maxPeakMiB: Math.max(...rs.map((r) => r.peakMiB!)),
      goodEnough: rs.filter((r) => r.compressedBytes! < r.inputFileBytes && r.psnr! >= 35 && r.ssim! >= 0.9).length,
    };
  });
}

/** Tiled against global at the same setting, photograph by photograph. */
function layoutDuel(runs: Run[]): { setting: string; photos: number; tiledAhead: number; meanDb: number }[] {
  const out = [];
  for (const setting of [...new Set(runs.map((r) => r.setting))]) {
    const pairs = runs
      .filter((r) => r.setting === setting && r.layout === 'tiled' && !r.error)
      .map((t) => ({ t, g: runs.find((r) => r.setting === setting && r.layout === 'global' && r.photo === t.photo && !r.error) }))
      .filter((p) => p.g);
    if (!pairs.length) continue;
    out.push({
      setting,
      photos: pairs.length,
      tiledAhead: pairs.filter((p) => p.t.psnr! >= p.g!.psnr!).length,
      meanDb: mean(pairs.map((p) => p.t.psnr! - p.g!.psnr!)),
    });
  }
  return out;
}

function markdown(runs: Run[], summaries: Summary[], app: AppTiming | null, folder: FolderRun | null, machine: string, command: string, load: [number, number]): string {
  const lines: string[] = [];
  lines.push(
    `Measured with \`${command}\` on ${machine}; 1-minute load average ${load[0].toFixed(1)} before and ${load[1].toFixed(1)} after. ` +
      `The photographs are the \`nature/\` JPEGs of Debian's \`${PACKAGE}\` package (GPL-2+, fetched by the benchmark, not kept here). ` +
      'Each compress is the real `nmf-studio compress --json` in a process of its own: seconds are its wall time from start to exit, ' +
      'memory its peak resident set (`/usr/bin/time`). The JPEG is the highest quality whose file is at most the `.nmfz`’s bytes (sharp, 4:2:0), ' +
      'measured with the same PSNR and SSIM. “of input” is the `.nmfz`’s bytes ÷ the input JPEG’s. The inputs are JPEGs themselves: ' +
      'at sizes near the input’s, a JPEG re-encodes nearly the same blocks as the input and scores 50 dB or more, which says more ' +
      'about the input than about either codec; the comparison means most well below the input’s size.',
    '',
  );
  if (runs.length) lines.push(
    '## Summary',
    '',
    '| setting | layout | photos | PSNR | JPEG, same bytes | gap | SSIM | JPEG SSIM | of input | s/MP (median) | peak memory (max) | smaller than input, ≥ 35 dB, SSIM ≥ 0.90 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const s of summaries) {
    lines.push(
      `| ${s.setting} | ${s.layout} | ${s.photos} | ${db(s.meanPsnr)} | ${db(s.meanJpegPsnr)} | ${signed(s.meanGapDb)} dB | ${s.meanSsim.toFixed(3)} | ${s.meanJpegSsim.toFixed(3)} | ${(100 * s.meanSizeOfInput).toFixed(0)} % | ${s.medianSecondsPerMegapixel.toFixed(1)} | ${s.maxPeakMiB.toFixed(0)} MiB | ${s.goodEnough} of ${s.photos} |`,
    );
  }
  if (runs.length) lines.push('', 'PSNR, SSIM and the gap (ours − JPEG at the same bytes) are means over the photographs.', '');
  const duel = layoutDuel(runs);
  if (duel.length) {
    lines.push('## Tiled against global, same setting', '');
    for (const d of duel) lines.push(`- ${d.setting}: tiled PSNR ≥ global on ${d.tiledAhead} of ${d.photos} photographs (mean ${signed(d.meanDb)} dB).`);
    lines.push('');
  }
  if (folder) {
    lines.push('## A folder of 1-MP photographs', '');
    lines.push(
      folder.error
        ? `Not measured: ${folder.error}.`
        : `The ${folder.photos} photographs scaled to ${folder.megapixels.toFixed(2)} MP on average (sharp, JPEG quality ${FOLDER_QUALITY}) and compressed as one folder ` +
            `by \`nmf-studio batch\` with its defaults: **${folder.seconds!.toFixed(1)} s**, **${folder.photosPerSecond!.toFixed(2)} photographs a second**, ` +
            `peak ${folder.peakMiB!.toFixed(0)} MiB; ${folder.goodEnough} of ${folder.ok} smaller than their input at ≥ 35 dB and SSIM ≥ 0.90 (mean ${db(folder.meanPsnr)} dB).`,
      '',
    );
  }
  lines.push('## The app', '');
  if (!app) lines.push('Not measured (`--no-app`).');
  else if (app.error) lines.push(`Not measured: ${app.error}.`);
  else {
    lines.push(
      `Web mode in headless Chromium, default settings, ${app.photo}.jpg (${app.megapixels.toFixed(1)} MP): the first reconstruction showed ` +
        `**${(app.firstMs! / 1000).toFixed(2)} s** after the original, the final one ${(app.finalMs! / 1000).toFixed(1)} s after it` +
        (app.command ? ` (measured by \`${app.command}\`).` : '.'),
    );
  }
  if (!runs.length) return `${lines.join('\n')}\n`;
  lines.push('', '## Every run', '');
  lines.push('| photograph | MP | setting | layout | rank | bytes | of input | PSNR | JPEG PSNR | gap | SSIM | JPEG SSIM | s | s/MP | peak memory |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    if (r.error) {
      lines.push(`| ${r.photo} | ${r.megapixels.toFixed(1)} | ${r.setting} | ${r.layoutAsked ?? 'default'} | failed: ${r.error} | | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.photo} | ${r.megapixels.toFixed(1)} | ${r.setting} | ${r.layout} | ${r.rank} | ${kB(r.compressedBytes!)} | ${((100 * r.compressedBytes!) / r.inputFileBytes).toFixed(0)} % | ${db(r.psnr)} | ${db(r.jpegPsnr)} | ${signed(r.psnr! - r.jpegPsnr!)} | ${r.ssim!.toFixed(3)} | ${r.jpegSsim!.toFixed(3)} | ${r.seconds!.toFixed(1)} | ${r.secondsPerMegapixel!.toFixed(1)} | ${r.peakMiB!.toFixed(0)} MiB |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

function settingsFor(layouts: string[] | null, ratios: number[], quick: boolean): { all: Setting[]; globalOnly: Setting[] } {
  const all: Setting[] = [{ label: 'default', ratio: null, layout: null }];
  const globalOnly: Setting[] = [];
  const wanted = layouts ?? [null];
  for (const ratio of ratios) {
    for (const layout of wanted) {
      const s = { label: `ratio ${ratio}`, ratio, layout };
      // The whole-image layout costs minutes per photograph: it runs on fewer photographs (--global-photos).
      if (layout === 'global' && layouts && layouts.length > 1) globalOnly.push(s);
      else all.push(s);
    }
  }
  if (quick) return { all: all.filter((s) => s.ratio === null || s.ratio === 20), globalOnly: globalOnly.filter((s) => s.ratio === 20) };
  return { all, globalOnly };
}

function renderOnly(): void {
  const saved = JSON.parse(readFileSync(path.join(repoRoot, 'bench', 'photos.json'), 'utf8')) as {
    command: string;
    machine: string;
    load: [number, number];
    runs: Run[];
    summaries: Summary[];
    app: AppTiming | null;
    folder?: FolderRun | null;
  };
  writeFileSync(path.join(repoRoot, 'bench', 'photos.md'), markdown(saved.runs, saved.summaries, saved.app, saved.folder ?? null, saved.machine, saved.command, saved.load));
  log('wrote bench/photos.md from bench/photos.json');
}

async function main(): Promise<void> {
  if (args['render-only']) return renderOnly();
  // the cache folder is this machine's business, not the measurement's
  const shown = process.argv.slice(2).join(' ').replace(/\s*--cache(=|\s+)\S+/, '');
  const command = `npm run bench -- ${shown || '--photos'}`;
  if (!existsSync(CLI)) fail(`${CLI} is missing: build first (npm run build)`);
  let photos = await fetchPhotos(args.cache!);
  if (args.only) {
    const names = args.only.split(',');
    photos = photos.filter((p) => names.includes(p.name));
    if (!photos.length) fail(`--only ${args.only}: none of these photographs is in the package`);
  } else if (args.quick) photos = photos.slice(0, QUICK_COUNT);
  const supported = cliLayouts();
  let layouts: string[] | null = supported ? supported.filter((l) => l !== 'auto') : null;
  if (args.layouts) {
    const asked = args.layouts.split(',');
    if (!supported) log(`--layouts ${args.layouts}: this build has one layout only; running it`);
    else layouts = asked.filter((l) => supported.includes(l));
  }
  const ratios = (args.ratios ?? '10,20,40').split(',').map(Number).filter((x) => x > 0);
  const globalCount = args['global-photos'] === 'all' ? photos.length : Number(args['global-photos'] ?? 1);
  const { all, globalOnly } = settingsFor(layouts, ratios, args.quick!);
  const machine = `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const loadBefore = os.loadavg()[0]!;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'nmf-bench-photos-'));
  const runs: Run[] = [];
  let folder: FolderRun | null = null;
  try {
    for (const [i, photo] of (args['app-only'] ? [] : photos).entries()) {
      const settings = i < globalCount ? [...all, ...globalOnly] : all;
      for (const setting of settings) {
        const out = path.join(scratch, `${photo.name}-${setting.label.replace(' ', '')}-${setting.layout ?? 'default'}`);
        mkdirSync(out);
        log(`${photo.name} (${photo.width}×${photo.height}), ${setting.label}${setting.layout ? `, --layout ${setting.layout}` : ''} …`);
        const run = await withJpeg(await compressOnce(photo, setting, out), photo);
        runs.push(run);
        log(
          run.error
            ? `  failed: ${run.error}`
            : `  ${run.layout}, rank ${run.rank}: ${kB(run.compressedBytes!)} (input ${kB(photo.fileBytes)}), ${db(run.psnr)} dB against JPEG ${db(run.jpegPsnr)} dB (${signed(run.psnr! - run.jpegPsnr!)}), ` +
                `SSIM ${run.ssim!.toFixed(3)} / ${run.jpegSsim!.toFixed(3)}, ${run.seconds!.toFixed(1)} s (${run.secondsPerMegapixel!.toFixed(1)} s/MP), ${run.peakMiB!.toFixed(0)} MiB`,
        );
        rmSync(out, { recursive: true, force: true });
      }
    }
    if (!args['no-folder'] && !args['app-only']) {
      log(`a folder of the ${photos.length} photographs scaled to 1 MP, through nmf-studio batch …`);
      folder = await timeFolder(photos, scratch);
      log(folder.error ? `  failed: ${folder.error}` : `  ${folder.seconds!.toFixed(1)} s, ${folder.photosPerSecond!.toFixed(2)} photographs a second, peak ${folder.peakMiB!.toFixed(0)} MiB`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  let app: AppTiming | null = null;
  if (!args['no-app']) {
    const all12 = await fetchPhotos(args.cache!);
    const photo = all12.find((p) => p.name === APP_PHOTO) ?? all12.at(-1)!;
    log(`the app (web mode, headless Chromium): time to the first reconstruction of ${photo.name} …`);
    app = await timeApp(photo);
    log(app.error ? `  failed: ${app.error}` : `  first reconstruction ${(app.firstMs! / 1000).toFixed(2)} s after the original, final ${(app.finalMs! / 1000).toFixed(1)} s`);
  }
  const summaries = summarise(runs);
  const load: [number, number] = [loadBefore, os.loadavg()[0]!];
  const md = markdown(runs, summaries, app, folder, machine, command, load);
  writeFileSync(path.join(repoRoot, 'bench', 'photos.md'), md);
  writeFileSync(path.join(repoRoot, 'bench', 'photos.json'), `${JSON.stringify({ date: new Date().toISOString(), command, machine, load, runs, summaries, app, folder }, null, 2)}\n`);
  process.stdout.write(md.split('## Every run')[0]!);
  log('wrote bench/photos.md and bench/photos.json');
}

await main();
