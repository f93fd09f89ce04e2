// The batch reports: report.json, report.csv and a self-contained report.html, streamed from a spool on disk.
//
// Rows are appended to a spool file as files finish and read back once at the end, so a run over a hundred
// thousand files keeps no rows in memory. Reports are written atomically.

import { randomBytes } from 'node:crypto';
import { createReadStream, unlinkSync } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { secondsPerMegapixel, type BatchSummary, type CompressRecord } from '../../api/contract.js';
import { writeFileAtomic } from '../../formats/atomic.js';

/** One input's line in the reports: the compress record, plus where it sits under the output folder. */
export interface BatchRow extends CompressRecord {
  /** Relative to the output folder, '/'-separated, with the input's file name. */
  rel: string;
  /** `rel` without its extension: the outputs' and thumbnails' name. */
  stem: string;
  /** Whether thumbnails were written for it in this or an earlier run. */
  thumbnails: boolean;
}

/** What a run did, as `--json` prints last and the reports begin with. */
// inputBytes: the inputs compressed now or by an earlier run (ok + skipped); outputBytes: their .nmfz files
export type BatchTotals = BatchSummary;

export interface ReportHeader {
  totals: BatchTotals;
  interrupted: boolean;
  outDir: string;
  /** 'I/N' when sharded. */
  shard: string | null;
  startedAt: string;
  finishedAt: string;
  /** The settings, as given (rank choice, colour mode, bits, engine). */
  settings: Record<string, unknown>;
  backend: string;
  compareJpeg: boolean;
}

/** Thumbnails of an input, relative to the output folder. */
export function thumbnailPaths(stem: string): { original: string; reconstruction: string } {
  return { original: `report-thumbs/${stem}.original.webp`, reconstruction: `report-thumbs/${stem}.nmf.webp` };
}

/**
 * An append-only file of rows (one JSON object a line), kept in the output folder under a temporary's name
 * (`.report.rows.<random>.tmp`), so that a run that crashes leaves it for the next run to sweep away.
 */
export class RowSpool {
  private handle: FileHandle | null = null;
  private tail: Promise<void> = Promise.resolve();
  private readonly removeOnExit = () => {
    try {
      unlinkSync(this.file);
    } catch {
      // never created, or gone
    }
  };
  count = 0;

  private constructor(readonly file: string) {
    process.once('exit', this.removeOnExit);
  }

  /** The name its temporaries are recognised by, for removing those of a crashed run. */
  static target(outDir: string, base: string): string {
    return path.join(outDir, `${base}.rows`);
  }

  static create(outDir: string, base: string): RowSpool {
    return new RowSpool(path.join(outDir, `.${base}.rows.${randomBytes(6).toString('hex')}.tmp`));
  }

  /** Appends a row; appends are kept in order. */
  append(row: BatchRow): Promise<void> {
    const line = JSON.stringify(row) + '\n';
    this.count++;
    this.tail = this.tail.then(async () => {
      this.handle ??= await open(this.file, 'wx');
      await this.handle.write(line);
    });
    return this.tail;
  }

  async *rows(): AsyncGenerator<BatchRow> {
    await this.tail;
    if (this.count === 0) return;
    const lines = createInterface({ input: createReadStream(this.file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as BatchRow;
  }

  async dispose(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    await rm(this.file, { force: true });
    process.off('exit', this.removeOnExit);
  }
}

// ---- JSON ----

/** The report's view of a number: JSON has no Infinity (a lossless PSNR), so it becomes null like other unknowns. */
function finite(n: number | undefined): number | null {
  return n === undefined || !Number.isFinite(n) ? null : n;
}

/**
 * Measured only when a file is compressed now: unknown (null) for one skipped because its output exists. Its PSNR,
 * SSIM and relErr come from the file's header where the run that wrote it stored them (NaN where it did not).
 */
const MEASURED_NOW = new Set(['ms', 'secondsPerMegapixel', 'jpegQuality', 'jpegBytes', 'jpegPsnr', 'jpegSsim']);

/**
 * A record as the JSON outputs show it: numbers nobody measured are null rather than 0 (all of them for an input
 * that failed, the timing and JPEG figures for one skipped, NaN for anything else unknown), and so is an infinite
 * PSNR, which JSON cannot hold.
 */
export function publicRecord(record: CompressRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const unknownAll = record.status === 'error' || record.output === null;
  for (const [k, v] of Object.entries(record)) {
    if (typeof v !== 'number') out[k] = v;
    else if (unknownAll || (record.status === 'skipped' && MEASURED_NOW.has(k))) out[k] = null;
    else out[k] = finite(v);
  }
  if (record.status !== 'ok' && record.backend === '') out.backend = null;
  return out;
}

/** A row of the reports: the record, and its time per megapixel (null where it was not timed now). */
function reportRow(record: CompressRecord): Record<string, unknown> {
  const out = publicRecord({ ...record, secondsPerMegapixel: secondsPerMegapixel(record) } as CompressRecord);
  if (out.ms === null) out.secondsPerMegapixel = null;
  return out;
}

function jsonRow(row: BatchRow): Record<string, unknown> {
  const { rel: _rel, stem: _stem, thumbnails: _thumbnails, ...record } = row;
  return reportRow(record);
}

async function* jsonReport(header: ReportHeader, rows: AsyncIterable<BatchRow>): AsyncGenerator<string> {
  const top = {
    summary: { ...header.totals, interrupted: header.interrupted },
    outDir: header.outDir,
    shard: header.shard,
    startedAt: header.startedAt,
    finishedAt: header.finishedAt,
    backend: header.backend,
    settings: header.settings,
  };
  const head = JSON.stringify(top, null, 2);
  yield head.slice(0, -2) + ',\n  "files": [';
  let first = true;
  for await (const row of rows) {
    yield (first ? '\n    ' : ',\n    ') + JSON.stringify(jsonRow(row));
    first = false;
  }
  yield first ? ']\n}\n' : '\n  ]\n}\n';
}

// ---- CSV ----

// Columns added later go at the end, so that spreadsheets reading columns by position keep working.
const CSV_COLUMNS = ['path', 'status', 'error', 'rank', 'ratio', 'fileRatio', 'psnr', 'ssim', 'compressedBytes', 'ms', 'output', 'width', 'height', 'originalFileBytes', 'layout', 'secondsPerMegapixel'] as const;
const JPEG_COLUMNS = ['jpegQuality', 'jpegBytes', 'jpegPsnr', 'jpegSsim'] as const;

/** RFC 4180 quoting; text that a spreadsheet would run as a formula (=, +, -, @) is prefixed with an apostrophe. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toPrecision(8))) : value > 0 ? 'inf' : '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function* csvReport(header: ReportHeader, rows: AsyncIterable<BatchRow>): AsyncGenerator<string> {
  const columns: readonly string[] = header.compareJpeg ? [...CSV_COLUMNS, ...JPEG_COLUMNS] : CSV_COLUMNS;
  yield columns.join(',') + '\r\n';
  for await (const row of rows) {
    const fields = reportRow(row);
    yield columns.map((c) => csvField(c === 'path' ? row.input : fields[c])).join(',') + '\r\n';
  }
}

// ---- HTML ----

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A relative URL for a path under the output folder: each segment percent-encoded (spaces, '#', '?', non-ASCII). */
function relUrl(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** PSNR of an exact copy is ∞; SSIM of an image under 7 pixels across is undefined (NaN), shown as '–'. */
function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : Number.isNaN(n) ? '–' : '∞';
}

const STYLE = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; --ok: #1a7f37; --err: #cf222e; --skip: #9a6700; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: var(--muted); margin-bottom: 16px; }
.totals { display: flex; flex-wrap: wrap; gap: 8px 24px; margin-bottom: 20px; }
.totals div b { display: block; font-size: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: middle; }
th { position: sticky; top: 0; background: Canvas; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.thumbs { white-space: nowrap; }
td.thumbs img { width: 96px; height: 96px; object-fit: contain; background: #8881; margin-right: 4px; }
td.path { overflow-wrap: anywhere; max-width: 40em; }
.status-ok { color: var(--ok); } .status-error { color: var(--err); } .status-skipped { color: var(--skip); }
.error { color: var(--err); }
.per-mp { color: var(--muted); font-size: 12px; }
.none { display: inline-block; width: 96px; color: var(--muted); font-size: 12px; text-align: center; }
`;

async function* htmlReport(header: ReportHeader, rows: AsyncIterable<BatchRow>, outDir: string): AsyncGenerator<string> {
  const t = header.totals;
  const title = header.shard ? `NMF Studio batch report (part ${header.shard})` : 'NMF Studio batch report';
  const ratio = t.outputBytes > 0 ? `${(t.inputBytes / t.outputBytes).toFixed(1)}×` : '–';
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body>
<h1>${escapeHtml(title)}${header.interrupted ? ' — interrupted' : ''}</h1>
<div class="meta">${escapeHtml(header.outDir)} · ${escapeHtml(header.startedAt)} → ${escapeHtml(header.finishedAt)} · ${escapeHtml(header.backend)}</div>
<div class="totals">
<div><b>${t.ok}</b>compressed</div>
<div><b>${t.skipped}</b>skipped</div>
<div><b>${t.errors}</b>failed</div>
<div><b>${bytes(t.inputBytes)} → ${bytes(t.outputBytes)}</b>originals → .nmfz (${ratio})</div>
<div><b>${duration(t.ms)}</b>time</div>
</div>
<table><thead><tr><th>original · NMF</th><th>file</th><th>status</th><th>layout</th><th>rank</th><th>ratio</th><th>PSNR</th><th>SSIM</th>${header.compareJpeg ? '<th>JPEG of that size</th>' : ''}<th>size</th><th>time</th></tr></thead><tbody>
`;
  for await (const row of rows) {
    const shown = row.status !== 'error' && row.output !== null;
    let thumbs = '<span class="none">no preview</span>';
    if (shown && row.thumbnails) {
      const p = thumbnailPaths(row.stem);
      const present = await stat(path.join(outDir, p.original)).then(() => true, () => false);
      if (present) {
        thumbs = `<img loading="lazy" alt="original" src="${escapeHtml(relUrl(p.original))}"><img loading="lazy" alt="reconstruction" src="${escapeHtml(relUrl(p.reconstruction))}">`;
      }
    }
    const measured = row.status === 'ok';
    // a skipped file's quality is known when its header carries it
    const quality = measured || (row.status === 'skipped' && !Number.isNaN(row.psnr));
    const cells = [
      `<td class="thumbs">${thumbs}</td>`,
      `<td class="path">${escapeHtml(row.input)}${row.error ? `<div class="error">${escapeHtml(row.error)}</div>` : ''}</td>`,
      `<td class="status-${row.status}">${row.status}</td>`,
      `<td>${shown ? escapeHtml(row.layout ?? '') : ''}</td>`,
      `<td class="num">${shown ? row.rank : ''}</td>`,
      `<td class="num">${shown ? `${fixed(row.ratio, 1)}×` : ''}</td>`,
      `<td class="num">${quality ? `${fixed(row.psnr, 2)} dB` : ''}</td>`,
      `<td class="num">${quality ? fixed(row.ssim, 4) : ''}</td>`,
      ...(header.compareJpeg
        ? [`<td class="num">${measured && row.jpegPsnr !== undefined ? `${fixed(row.jpegPsnr, 2)} dB, SSIM ${fixed(row.jpegSsim ?? NaN, 4)}` : ''}</td>`]
        : []),
      `<td class="num">${shown ? `${bytes(row.originalFileBytes)} → ${bytes(row.compressedBytes)}` : ''}</td>`,
      `<td class="num">${measured ? `${duration(row.ms)}<div class="per-mp">${fixed(secondsPerMegapixel(row), 2)} s/MP</div>` : ''}</td>`,
    ];
    yield `<tr>${cells.join('')}</tr>\n`;
  }
  yield '</tbody></table>\n</body></html>\n';
}

/** Writes <base>.json, <base>.csv and <base>.html into outDir (each atomically); returns their paths. */
export async function writeReports(outDir: string, base: string, header: ReportHeader, spool: RowSpool): Promise<string[]> {
  const targets = {
    json: path.join(outDir, `${base}.json`),
    csv: path.join(outDir, `${base}.csv`),
    html: path.join(outDir, `${base}.html`),
  };
  await writeFileAtomic(targets.json, jsonReport(header, spool.rows()), { overwrite: true });
  await writeFileAtomic(targets.csv, csvReport(header, spool.rows()), { overwrite: true });
  await writeFileAtomic(targets.html, htmlReport(header, spool.rows(), outDir), { overwrite: true });
  return [targets.json, targets.csv, targets.html];
}
