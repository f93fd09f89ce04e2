// Matrix values → pixels: heat maps in a chosen colour map, matrices that are pictures, density (spy) maps, differences.
import type { MatrixDocumentInfo, Raster } from '../../src-main/api/contract.js';
import { colormapIndex, colormapTable, type ColormapName } from '../../src-main/codec/colormaps.js';

export { COLORMAPS, type ColormapName } from '../../src-main/codec/colormaps.js';

/** Colour of missing cells: magenta is in none of the colour maps, so it can't be read as a value. */
export const MISSING_RGB: readonly [number, number, number] = [230, 40, 120];

export interface ValueRange {
  min: number;
  max: number;
}

/** CSS gradient for legends, 17 stops of the table (the eye sees no more in a legend bar). */
export function colormapGradient(name: ColormapName, direction = 'to right'): string {
  const table = colormapTable(name);
  const stops: string[] = [];
  for (let s = 0; s <= 16; s++) {
    const i = Math.min(255, s * 16) * 3;
    stops.push(`rgb(${table[i]}, ${table[i + 1]}, ${table[i + 2]}) ${((s / 16) * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

/** Min and max over the finite values (NaN = missing is skipped); {0, 1} when there is none. */
export function finiteRange(data: ArrayLike<number>): ValueRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === Infinity) return { min: 0, max: 1 };
  return { min, max };
}

/** The entry of `table` for value v over range, written at out[o..o+3]; NaN in MISSING_RGB. */
function paint(out: Uint8ClampedArray | Uint8Array, o: number, v: number, range: ValueRange, table: Uint8Array): void {
  if (Number.isNaN(v)) {
    out[o] = MISSING_RGB[0];
    out[o + 1] = MISSING_RGB[1];
    out[o + 2] = MISSING_RGB[2];
  } else {
    const span = range.max - range.min;
    const k = colormapIndex(span > 0 ? (v - range.min) / span : 0.5) * 3;
    out[o] = table[k]!;
    out[o + 1] = table[k + 1]!;
    out[o + 2] = table[k + 2]!;
  }
  out[o + 3] = 255;
}

/** RGBA pixels, one per cell, in `colormap` over [range.min, range.max]; missing cells in MISSING_RGB. */
export function heatmapPixels(data: ArrayLike<number>, range: ValueRange, colormap: ColormapName = 'viridis'): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(data.length * 4);
  const table = colormapTable(colormap);
  for (let i = 0; i < data.length; i++) paint(out, i * 4, data[i]!, range, table);
  return out;
}

/** One colour for a value, for pixel-by-pixel drawing (factor strips). */
export function colourOf(v: number, range: ValueRange, colormap: ColormapName, out: Uint8ClampedArray, o: number): void {
  paint(out, o, v, range, colormapTable(colormap));
}

/**
 * The pixel scale of a matrix whose values look like pixels: [0, 1] when they all lie there, else [0, 255]
 * when they all lie there; null for any other matrix. Taken over the whole matrix (the service's range),
 * not its reduced view, whose block means could hide an outlier.
 */
export function pixelScale(doc: MatrixDocumentInfo): ValueRange | null {
  const { min, max } = doc.valueRange;
  if (min < 0) return null;
  if (max <= 1) return { min: 0, max: 1 };
  if (max <= 255) return { min: 0, max: 255 };
  return null;
}

/**
 * Grey for values that look like pixels, viridis (perceptually uniform, colour-blind safe) for the rest,
 * sparse and labelled matrices included: counts are a table, not a picture, even where they lie in 0–255.
 */
export function defaultColormap(doc: MatrixDocumentInfo): ColormapName {
  return pixelScale(doc) && !doc.sparse && !doc.rowLabels && !doc.colLabels ? 'grey' : 'viridis';
}

/** The formats people keep pictures in as numbers (np.savetxt, np.save); a MatrixMarket file is a table. */
const PICTURE_FORMATS = new Set(['csv', 'tsv', 'npy', 'txt']);
/** Below this a matrix is a table of numbers, whatever its values. */
const PICTURE_MIN_SIDE = 8;

/**
 * Whether a matrix looks like a picture (and opens in the compare view, like an image): a text or .npy
 * matrix of pixel-like values, at least PICTURE_MIN_SIDE each way, with no missing cell, not mostly zeros,
 * and without row or column names (a labelled matrix is a table, whatever its values).
 */
export function isPicture(doc: MatrixDocumentInfo): boolean {
  return (
    PICTURE_FORMATS.has(doc.format.toLowerCase()) &&
    !doc.rowLabels &&
    !doc.colLabels &&
    pixelScale(doc) !== null &&
    doc.rows >= PICTURE_MIN_SIDE &&
    doc.cols >= PICTURE_MIN_SIDE &&
    doc.missing === 0 &&
    !doc.sparse
  );
}

/** A matrix view as a picture: one pixel per cell in `colormap` over range. */
export function matrixRaster(view: { rows: number; cols: number; data: ArrayLike<number> }, range: ValueRange, colormap: ColormapName): Raster {
  const pixels = heatmapPixels(view.data, range, colormap);
  return { width: view.cols, height: view.rows, rgba: new Uint8Array(pixels.buffer) };
}

/**
 * |a − b| per cell as a magma heat map, brightest at the 99.5th percentile of the difference, as the image
 * difference view does: small errors stay visible instead of vanishing under one outlier. `scale` is that
 * difference. a and b have the same shape.
 */
export function differenceRaster(
  a: { rows: number; cols: number; data: ArrayLike<number> },
  b: { data: ArrayLike<number> },
): { raster: Raster; scale: number } {
  const n = a.rows * a.cols;
  const diff = new Float32Array(n);
  for (let i = 0; i < n; i++) diff[i] = Math.abs(a.data[i]! - b.data[i]!);
  const sorted = diff.slice().sort();
  const scale = sorted[Math.min(n - 1, Math.floor(0.995 * n))] || sorted[n - 1] || 1;
  return { raster: matrixRaster({ rows: a.rows, cols: a.cols, data: diff }, { min: 0, max: scale }, 'magma'), scale };
}

/** Ink of the density map: dark blue on white, as spy plots are drawn. */
const SPY_INK: readonly [number, number, number] = [22, 48, 120];
/** The faintest ink a block with any non-zero gets, so that a lone entry still shows against the white. */
const SPY_MIN_INK = 0.3;

/**
 * A density ("spy") map: empty blocks white, a block with non-zeros inked from SPY_MIN_INK (fewest) to full
 * (the densest block shown, `peak`).
 */
export function spyPixels(density: ArrayLike<number>, peak: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(density.length * 4);
  for (let i = 0; i < density.length; i++) {
    const d = density[i]!;
    const ink = d > 0 ? SPY_MIN_INK + (1 - SPY_MIN_INK) * Math.min(1, d / (peak || 1)) : 0;
    const o = i * 4;
    for (let c = 0; c < 3; c++) out[o + c] = Math.round(255 + (SPY_INK[c]! - 255) * ink);
    out[o + 3] = 255;
  }
  return out;
}

/** The density map's legend: white, the faintest ink, full ink. */
export function spyGradient(direction = 'to right'): string {
  const at = (ink: number) => `rgb(${SPY_INK.map((c) => Math.round(255 + (c - 255) * ink)).join(', ')})`;
  return `linear-gradient(${direction}, ${at(0)} 0%, ${at(0)} 4%, ${at(SPY_MIN_INK)} 4%, ${at(1)} 100%)`;
}
