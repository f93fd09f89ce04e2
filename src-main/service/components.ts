// What each component of a matrix factorization is made of: its top rows (by W) and top columns (by H), for components.csv, --json and the app.

import type { ComponentEntry, MatrixComponent } from '../api/contract.js';
import type { DType, Matrix } from '../engine/matrix.js';
import { formatNumber, quoteCsvCell } from '../formats/index.js';

/** Rows and columns listed per component unless asked otherwise (`--top`). */
export const DEFAULT_TOP = 10;

export interface TopOptions {
  /** How many rows and how many columns to list per component. */
  top: number;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
}

/**
 * The `top` largest positive values of values[start + k·stride], k < count, largest first; equal values in
 * index order. One pass with a short sorted list, so a 200 000-row W costs a pass, not a sort.
 */
function topEntries(values: ArrayLike<number>, start: number, stride: number, count: number, top: number, labels: readonly string[] | undefined): ComponentEntry[] {
  const index: number[] = [];
  const weight: number[] = [];
  for (let k = 0; k < count; k++) {
    const w = values[start + k * stride]!;
    // NaN fails the comparison too: only real loadings are listed.
    if (!(w > 0)) continue;
    if (index.length === top && !(w > weight[top - 1]!)) continue;
    let at = index.length === top ? top - 1 : index.length;
    while (at > 0 && weight[at - 1]! < w) {
      weight[at] = weight[at - 1]!;
      index[at] = index[at - 1]!;
      at--;
    }
    weight[at] = w;
    index[at] = k;
  }
  return index.map((i, n) => ({ index: i, label: labels ? (labels[i] ?? null) : null, weight: weight[n]! }));
}

/**
 * Per component k (column k of W, row k of H): the rows with the largest W[row, k] and the columns with the
 * largest H[k, col], at most `top` of each, largest first, equal weights in index order, zeros left out.
 */
export function topComponents(W: Matrix, H: Matrix, options: TopOptions): MatrixComponent[] {
  const rank = W.cols;
  if (H.rows !== rank) throw new RangeError(`W has ${rank} columns but H has ${H.rows} rows`);
  const top = Math.max(1, Math.floor(options.top));
  const components: MatrixComponent[] = [];
  for (let k = 0; k < rank; k++) {
    components.push({
      index: k,
      rows: topEntries(W.data, k, rank, W.rows, top, options.rowLabels),
      cols: topEntries(H.data, k * H.cols, 1, H.cols, top, options.colLabels),
    });
  }
  return components;
}

/** The header of components.csv; README.md documents each column. */
export const COMPONENTS_CSV_HEADER = 'component,axis,position,index,label,weight';

/**
 * components.csv: one line per listed row or column — its component (from 0), its axis ('row': a row of V,
 * weight W[index, component]; 'col': a column of V, weight H[component, index]), its position in the list
 * (from 1), its index in V (from 0), its label (empty without labels) and its weight, written with the
 * digits W and H are written with so that it reads back equal to their entry.
 */
export function formatComponentsCsv(components: readonly MatrixComponent[], dtype: DType): string {
  const lines = [COMPONENTS_CSV_HEADER];
  for (const c of components) {
    for (const [axis, entries] of [['row', c.rows], ['col', c.cols]] as const) {
      entries.forEach((e, n) => {
        lines.push(`${c.index},${axis},${n + 1},${e.index},${e.label === null ? '' : quoteCsvCell(e.label, ',')},${formatNumber(e.weight, dtype)}`);
      });
    }
  }
  return lines.join('\n') + '\n';
}
