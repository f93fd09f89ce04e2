// How V is cut into tiles that each fit one GPU texture or storage buffer, and how factor blocks are cut to match.

import type { FloatArray } from '../../engine/matrix.js';

/** One contiguous range [start, end) of rows or columns. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export function spanLength(s: Span): number {
  return s.end - s.start;
}

/**
 * Cuts 0..n into the fewest spans of at most `max`, all of nearly equal length (they differ by at most one),
 * so a grid has at most two distinct tile lengths per axis and therefore few distinct compiled kernels.
 */
export function splitEvenly(n: number, max: number): Span[] {
  if (!(n > 0)) return [];
  const limit = Math.max(1, Math.floor(max));
  const count = Math.ceil(n / limit);
  const base = Math.floor(n / count);
  const extra = n % count;
  const spans: Span[] = [];
  let start = 0;
  for (let b = 0; b < count; b++) {
    const len = base + (b < extra ? 1 : 0);
    spans.push({ start, end: start + len });
    start += len;
  }
  return spans;
}

/** A rows×cols matrix cut into row spans × column spans. */
export interface TileGrid {
  readonly rows: number;
  readonly cols: number;
  readonly rowSpans: readonly Span[];
  readonly colSpans: readonly Span[];
}

/**
 * The tile grid for V. A tile has at most maxRows rows, maxCols columns and maxElements entries; when a square
 * maxRows×maxCols tile would exceed maxElements the longer side is shortened first.
 */
export function planTiles(rows: number, cols: number, maxRows: number, maxCols: number, maxElements: number): TileGrid {
  let tr = Math.max(1, Math.min(rows, Math.floor(maxRows)));
  let tc = Math.max(1, Math.min(cols, Math.floor(maxCols)));
  while (tr * tc > maxElements && (tr > 1 || tc > 1)) {
    if (tr >= tc) tr = Math.max(1, Math.floor(tr / 2));
    else tc = Math.max(1, Math.floor(tc / 2));
  }
  return { rows, cols, rowSpans: splitEvenly(rows, tr), colSpans: splitEvenly(cols, tc) };
}

/** Rows [r.start, r.end) of a row-major matrix with `cols` columns, as float32, without copying when possible. */
export function rowBlock(data: FloatArray, cols: number, r: Span): Float32Array {
  const from = r.start * cols;
  const to = r.end * cols;
  if (data instanceof Float32Array) return data.subarray(from, to);
  return Float32Array.from(data.subarray(from, to));
}

/** The sub-matrix rows r × columns c of a row-major matrix with `cols` columns, as a fresh float32 array. */
export function subBlock(data: FloatArray, cols: number, r: Span, c: Span): Float32Array {
  if (c.start === 0 && c.end === cols) return rowBlock(data, cols, r);
  const w = c.end - c.start;
  const out = new Float32Array((r.end - r.start) * w);
  for (let i = r.start, o = 0; i < r.end; i++, o += w) {
    out.set(data.subarray(i * cols + c.start, i * cols + c.end), o);
  }
  return out;
}
