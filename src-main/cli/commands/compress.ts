// `nmf-studio compress` (and its alias `batch`): images and whole folders to .nmfz, resumably, with reports.

import { DEFAULT_BITS, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_SOLVER } from '../../codec/encoder.js';
import { UserError } from '../../engine/errors.js';
import { DEFAULT_RATIO, DEFAULT_TILED_PSNR } from '../../jobs/compress.js';
import { DEFAULT_TILE_SIZE } from '../../codec/tiles.js';
import { prestartTileThreads } from '../../codec/tile-work.js';
import { BatchInterrupted, publicRecord, runBatch, type BatchProgress, type BatchResult, type BatchSpec, type FileSettings } from '../../jobs/batch/index.js';
import { COMPRESS_DEFAULTS } from '../../api/contract.js';
import type { CompressRecord, QuantBits, RankChoice } from '../../api/contract.js';
import { choice, exclusive, flag, num, parse, str, type Parsed } from '../args.js';
import { ENGINE_HELP, ENGINE_OPTIONS, parseEngineFlags } from '../engine-options.js';
import { formatBytes, formatMs, liveLine } from '../progress.js';
import type { CommandContext } from '../main.js';

export const COMPRESS_HELP = `Usage: nmf-studio compress <image or folder>... --out DIR [options]
       nmf-studio batch    <image or folder>... --out DIR [options]     (the same command)

Compresses images into .nmfz files: each colour plane is factorized as V ~= W·H and the factors are
quantised. Writes DIR/<name>.nmfz for every image (and DIR/<name>.preview.png with --preview).

Folders are walked recursively and mirrored under DIR: with one folder its contents go straight into DIR,
with several each gets DIR/<folder name>/. From folders only images are taken (.png .jpg .jpeg .webp .tif
.tiff .gif .avif, any case); hidden files and folders are skipped; symbolic links are followed, except back
into a folder being walked (reported as a loop). Files named on the command line are always tried.

Inputs are never modified. An existing output is never replaced without --overwrite: its input is skipped,
so running the same command again resumes an interrupted batch. Every file is written under a temporary
name and renamed, so Ctrl-C, a kill or a crash leaves no partial file (and a re-run removes temporaries a
crash left). One bad file never stops the batch; it is reported and the rest go on.

Layout:
  --layout auto|tiled|global
                            tiled: each plane cut into ${DEFAULT_TILE_SIZE}×${DEFAULT_TILE_SIZE} tiles, each its own NMF with its own
                            rank, the ranks of all tiles chosen together; global: one NMF per plane (what the
                            app's components gallery and rank curve show); auto (default): tiled for an image
                            larger than one tile, global otherwise, with --rank and in colour mode stacked (a
                            thumbnail out of reach of the global default ratio takes the tiled default).
                            Tiles are fitted on every core, or with --backend gpu many per GPU dispatch

Target (at most one; default --psnr ${DEFAULT_TILED_PSNR} in the tiled layout, raised where SSIM would be under
${COMPRESS_DEFAULTS.tiledSsimFloor}, never larger than the input file; --ratio ${DEFAULT_RATIO} in the global one):
  --rank K                  global: K components in all, shared among the colour planes (at least one each);
                            tiled: as many stored numbers as the global layout stores at rank K, shared among
                            the tiles where they lower the error most
  --psnr DB                 the least rank (bytes) whose reconstruction reaches DB decibels
  --ratio R                 the largest file at least R times smaller than the raw pixels
  --max-bytes N, --size N   the largest file of at most N bytes (N may end in KB, MB: 1000s; KiB, MiB: 1024s)

Options:
  --out DIR                 output folder (created if missing; required)
  --color MODE              stacked (all channels in one matrix), channels (one per RGB channel) or ycbcr
                            (luma and chroma, default)
  --bits 6|8|12|16          bits per stored factor entry (default ${DEFAULT_BITS}; in the tiled layout a PSNR target
                            takes 8 where its sample says 6 bits reach it only in more bytes, or not at all)
  --preview                 also write DIR/<name>.preview.png, the decoded image
  --compare-jpeg            also measure a JPEG of the same size (jpegQuality, jpegBytes, jpegPsnr, jpegSsim)
  --overwrite               redo inputs whose outputs exist
  --include GLOB            only files matching GLOB (repeatable); --exclude GLOB: not those (repeatable).
                            Globs match the path relative to the input folder, ignoring case: * ? [a-z]
                            {jpg,png} and ** for any folders; a glob without '/' matches the file name at
                            any depth (--include '*.png'); a folder matching --exclude is not entered
                            (--exclude 'raw/')
  --jobs N                  files compressed at once (default: one per CPU core; 2 sharing a GPU)
  --shard I/N               only the I-th of N parts of the inputs (I from 0), chosen by a hash of each
                            output's path: N machines with --shard 0/N … N-1/N share one DIR and together
                            do every file exactly once; each writes report-I-of-N.* instead of report.*
  --report, --no-report     write DIR/report.json, report.csv and report.html (with thumbnails in
                            DIR/report-thumbs/); default: when an input is a folder, and always for 'batch'
  --max-pixels N            refuse images larger than N pixels (default 100000000)
  --json                    print one JSON object per input, a line each (input, output, status, error,
                            width, height, channels, bitDepth, colorMode, layout, rank, originalFileBytes, rawBytes,
                            compressedBytes, ratio, fileRatio, factorRatio, psnr, ssim, relErr, iterations,
                            backend, ms), then {"summary": {ok, errors, skipped, inputBytes, outputBytes, ms}}
${ENGINE_HELP.replace(/\n  --target-rel-err[^\n]*/, '')}
  For compress the engine defaults are --solver ${DEFAULT_SOLVER}, --init ${DEFAULT_INIT}, --max-iter ${DEFAULT_MAX_ITER} in the global
  layout; tiles are fitted by HALS from NNDSVD, --max-iter ${COMPRESS_DEFAULTS.tiledMaxIter} (most stop earlier by themselves).

Progress: on a terminal one live line (files, bytes, current file, time left); plain lines otherwise.
Exit codes: 0 every input compressed or skipped, 1 some input failed (the rest were done), 2 bad usage,
130 interrupted (what was finished is kept and reported).`;

const OPTIONS = {
  ...ENGINE_OPTIONS,
  out: { type: 'string' },
  rank: { type: 'string' },
  psnr: { type: 'string' },
  ratio: { type: 'string' },
  'max-bytes': { type: 'string' },
  size: { type: 'string' },
  layout: { type: 'string' },
  color: { type: 'string' },
  bits: { type: 'string' },
  preview: { type: 'boolean' },
  'compare-jpeg': { type: 'boolean' },
  overwrite: { type: 'boolean' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  shard: { type: 'string' },
  report: { type: 'boolean' },
  'no-report': { type: 'boolean' },
  'max-pixels': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function list(values: Parsed['values'], name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A byte count as people write it: 200000, 200KB, 1.5MB, 64KiB. */
export function parseByteSize(name: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?\s*$/i.exec(text);
  const units: Record<string, number> = { b: 1, kb: 1e3, k: 1e3, mb: 1e6, m: 1e6, gb: 1e9, g: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  const bytes = m ? Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]!) : NaN;
  if (!(bytes >= 64)) throw new UserError(`--${name} must be a size of at least 64 bytes, such as 200000, 200KB or 1.5MB (got '${text}')`, 'usage');
  return bytes;
}

function rankChoice(values: Parsed['values']): RankChoice | undefined {
  exclusive(values, ['rank', 'psnr', 'ratio', 'max-bytes', 'size']);
  for (const name of ['max-bytes', 'size']) {
    const text = str(values, name);
    if (text !== undefined) return { maxBytes: parseByteSize(name, text) };
  }
  const rank = num(values, 'rank', { min: 1, integer: true, max: 100_000 });
  if (rank !== undefined) return { rank };
  const psnr = num(values, 'psnr', { min: 0, exclusiveMin: true, max: 200 });
  if (psnr !== undefined) return { psnr };
  const ratio = num(values, 'ratio', { min: 0, exclusiveMin: true });
  if (ratio !== undefined) return { ratio };
  return undefined;
}

/** The command line as a batch; every problem with it is a usage error (exit code 2). */
export function parseCompressArgs(args: string[], alwaysReport: boolean): { spec: BatchSpec; json: boolean; help: boolean } {
  const { values, positionals } = parse(args, OPTIONS);
  if (flag(values, 'help')) return { spec: { inputs: [], outDir: '', settings: {} }, json: false, help: true };
  if (positionals.length === 0) throw new UserError('give at least one image or folder to compress', 'usage');
  const outDir = str(values, 'out');
  if (!outDir) throw new UserError('--out DIR is required (the folder the .nmfz files go into)', 'usage');
  if (values['target-rel-err'] !== undefined) throw new UserError('--target-rel-err is for factor; choose the quality with --psnr or --rank', 'usage');
  exclusive(values, ['report', 'no-report']);
  const engine = parseEngineFlags(values);
  if (engine.init === 'custom') throw new UserError('--init custom needs starting factors, which compress does not take', 'usage');
  if (engine.betaLoss && engine.betaLoss !== 'frobenius' && !engine.solver) engine.solver = 'mu';
  const bitsText = choice(values, 'bits', ['6', '8', '12', '16'] as const);
  const { backend, init, ...rest } = engine;
  delete (rest as { targetRelErr?: number }).targetRelErr;
  const settings: FileSettings & { backend: typeof backend } = {
    ...stripUndefined(rest),
    ...(init ? { init: init as Exclude<typeof init, 'custom'> } : {}),
    backend,
    choice: rankChoice(values),
    layout: choice(values, 'layout', ['auto', 'tiled', 'global'] as const),
    colorMode: choice(values, 'color', ['stacked', 'channels', 'ycbcr'] as const),
    bits: bitsText ? (Number(bitsText) as QuantBits) : undefined,
    preview: flag(values, 'preview'),
    compareJpeg: flag(values, 'compare-jpeg'),
    maxPixels: num(values, 'max-pixels', { min: 1, integer: true }),
  };
  const jobs = num(values, 'jobs', { min: 1, max: 1024, integer: true });
  const spec: BatchSpec = {
    inputs: positionals,
    outDir,
    settings: stripUndefined(settings),
    include: list(values, 'include'),
    exclude: list(values, 'exclude'),
    overwrite: flag(values, 'overwrite'),
    ...(jobs !== undefined ? { jobs } : {}),
    ...(str(values, 'shard') !== undefined ? { shard: str(values, 'shard') } : {}),
    reports: flag(values, 'no-report') ? false : flag(values, 'report') || alwaysReport ? true : undefined,
  };
  return { spec, json: flag(values, 'json'), help: false };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function ratioText(r: number): string {
  return Number.isFinite(r) && r > 0 ? `${r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×` : '–';
}

function describe(record: CompressRecord): string {
  const psnr = Number.isFinite(record.psnr) ? `${record.psnr.toFixed(2)} dB` : 'lossless';
  const jpeg = record.jpegPsnr !== undefined ? `, JPEG of that size ${Number.isFinite(record.jpegPsnr) ? record.jpegPsnr.toFixed(2) : '∞'} dB` : '';
  return (
    `${record.input} → ${record.output}: ${record.width}×${record.height}, rank ${record.rank}, ` +
    `${formatBytes(record.originalFileBytes)} → ${formatBytes(record.compressedBytes)} (${ratioText(record.fileRatio)} of the file, ` +
    `${ratioText(record.ratio)} of the pixels), PSNR ${psnr}, SSIM ${Number.isFinite(record.ssim) ? record.ssim.toFixed(4) : '–'}${jpeg}, ${formatMs(record.ms)}`
  );
}

function progressText(p: BatchProgress): string {
  const total = p.totalKnown ? String(p.total) : `${p.total}+`;
  const bytes = `${formatBytes(p.bytesDone)}/${p.totalKnown ? formatBytes(p.totalBytes) : '…'}`;
  const eta = p.etaMs !== undefined ? `, ${formatMs(p.etaMs)} left` : '';
  const failed = p.errors ? `, ${p.errors} failed` : '';
  const current = p.running.length ? `  ${p.running[p.running.length - 1]}${p.running.length > 1 ? ` (+${p.running.length - 1})` : ''}` : '';
  return `[${p.done}/${total}] ${bytes}${failed}${eta}${current}`;
}

function printSummary(result: BatchResult, json: boolean, interrupted: boolean, ctx: CommandContext): void {
  const summary = {
    ok: result.ok,
    errors: result.errors,
    skipped: result.skipped,
    inputBytes: result.inputBytes,
    outputBytes: result.outputBytes,
    ms: result.ms,
    ...(interrupted ? { interrupted: true } : {}),
  };
  if (json) ctx.stdout(JSON.stringify({ summary }));
  const text =
    `${result.ok} compressed, ${result.skipped} skipped, ${result.errors} failed` +
    (result.outputBytes ? `: ${formatBytes(result.inputBytes)} → ${formatBytes(result.outputBytes)} (${ratioText(result.inputBytes / result.outputBytes)})` : '') +
    ` in ${formatMs(result.ms)} on ${result.backendReason}`;
  const report = result.reports.find((r) => r.endsWith('.html'));
  if (interrupted) {
    ctx.stderr(`nmf-studio: interrupted; ${text}. Run the same command again to resume.`);
    if (report) ctx.stderr(`nmf-studio: report of what was done: ${report}`);
  } else if (!json) {
    ctx.stdout(text);
    if (report) ctx.stdout(`report: ${report}`);
  }
}

async function run(args: string[], ctx: CommandContext, alwaysReport: boolean): Promise<number> {
  const { spec, json, help } = parseCompressArgs(args, alwaysReport);
  if (help) {
    ctx.stdout(COMPRESS_HELP);
    return 0;
  }
  const { stat } = await import('node:fs/promises');
  const kinds = await Promise.all(spec.inputs.map((i) => stat(i).then((s) => (s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other'), () => 'missing')));
  spec.reports ??= kinds.includes('folder');
  // One file is compressed on this thread: a worker thread would load every module again and start a backend of its
  // own before the file's work began (0.3–0.4 s, a fifth of a 1-MP photograph's command). Folders keep their workers.
  if (kinds.length === 1 && kinds[0] === 'file' && spec.jobs === undefined) {
    spec.inProcess = true;
    // Its tile threads start now, while the backend is probed and the image read (one core is idle then): they load,
    // warm up, and are ready when the first tiles are.
    const s = spec.settings;
    if (s.layout !== 'global' && s.colorMode !== 'stacked' && s.backend !== 'reference') prestartTileThreads();
  }
  // The live line shares stdout with the per-file lines, and only on a terminal.
  const line = liveLine(process.stdout);
  let last: BatchProgress | null = null;
  let lastAt = 0;
  // Between files the time left still counts down.
  const ticker = setInterval(() => {
    if (!last) return;
    const since = Date.now() - lastAt;
    line.update(progressText({ ...last, etaMs: last.etaMs === undefined ? undefined : Math.max(0, last.etaMs - since) }));
  }, 1000);
  ticker.unref();
  const print = (text: string, toErr = false) => {
    line.done();
    if (toErr) ctx.stderr(text);
    else ctx.stdout(text);
    if (last) line.update(progressText(last));
  };
  try {
    const result = await runBatch(spec, {
      signal: ctx.signal,
      onProgress: (p) => {
        last = p;
        lastAt = Date.now();
        line.update(progressText(p));
      },
      onFile: (e) => {
        if (e.status === 'running' || e.status === 'queued' || !e.record) return;
        const r = e.record;
        if (json) print(JSON.stringify(publicRecord(r)));
        if (r.status === 'error') print(`nmf-studio: ${r.error}`, true);
        else if (!json) print(r.status === 'ok' ? describe(r) : `skipped ${r.input}: ${r.error}`);
      },
    });
    clearInterval(ticker);
    line.done();
    printSummary(result, json, false, ctx);
    return result.errors > 0 ? 1 : 0;
  } catch (err) {
    clearInterval(ticker);
    line.done();
    // Interrupted: what was finished is kept; say so, then leave with the interrupted exit code.
    if (err instanceof BatchInterrupted) printSummary(err.result, json, true, ctx);
    throw err;
  }
}

export function compressCommand(args: string[], ctx: CommandContext): Promise<number> {
  return run(args, ctx, false);
}

export function batchCommand(args: string[], ctx: CommandContext): Promise<number> {
  return run(args, ctx, true);
}
