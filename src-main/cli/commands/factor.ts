// `nmf-studio factor`: factorize a matrix file (CSV/TSV/.npy/.npz/.mtx) into W and H, and say what each component is made of.

import { MAX_TOP, type ComponentEntry } from '../../api/contract.js';
import { UserError } from '../../engine/errors.js';
import { SMALL_FLOAT64_WORK } from '../../jobs/backends.js';
import { DEFAULT_TOP } from '../../service/components.js';
import { factorFile } from '../../service/factor.js';
import { choice, flag, num, parse, str } from '../args.js';
import { ENGINE_HELP, ENGINE_OPTIONS, parseEngineFlags } from '../engine-options.js';
import { formatMs, liveLine } from '../progress.js';
import type { CommandContext } from '../main.js';

export const FACTOR_HELP = `Usage: nmf-studio factor <file> --rank K [options]

Factorizes a non-negative matrix V (rows x cols) into W (rows x K) and H (K x cols) so that V ~= W·H.
Reads CSV/TSV and whitespace-separated .txt as np.savetxt writes it (a header row is detected; empty cells
and NaN are missing values, which the fit ignores and the reconstruction fills in), .npy (2-D; float32,
float64 or integer), .npz (scipy sparse CSR/CSC/COO or one numpy array) and MatrixMarket .mtx; any of them
gzip-compressed (.gz). Coordinate .mtx and sparse .npz files stay sparse when that is smaller: memory follows
the non-zeros, not rows x cols.
Defaults follow scikit-learn 1.2: solver cd, Frobenius loss, tol 1e-4, at most 200 iterations; with
--init random --seed S the start is scikit-learn's for random_state=S. Under --backend auto a float64
matrix (text, CSV, float64 .npy) with rows x cols x rank <= ${SMALL_FLOAT64_WORK} runs in float64 on the reference
backend, so a small example gives scikit-learn's W and H to rounding (float32 strays by a few 1e-6).

Labels name the rows and columns in components.csv and --json: a CSV's header row and first column of
names; --row-labels / --col-labels; beside a 10x Genomics matrix.mtx[.gz], its features.tsv[.gz] (or
genes.tsv; the gene name, 2nd column) for the rows and barcodes.tsv[.gz] for the columns.

Options:
  --rank K                  number of components (required)
  --row-labels FILE         one label per row of V: one per line, or the first column of a TSV (.gz read too)
  --col-labels FILE         one label per column of V, likewise
  --top N                   rows and columns listed per component (default ${DEFAULT_TOP}): the rows with the
                            largest W[row, k] and the columns with the largest H[k, col], that entry
                            being the weight; zeros are left out
  --w0 FILE --h0 FILE       starting W and H for --init custom
  --clip-negative           set negative values to 0 instead of refusing the file
  --out DIR                 write DIR/W.npy, DIR/H.npy (or .csv) and DIR/components.csv (one line per
                            listed row or column: component,axis,position,index,label,weight; indices
                            from 0); default: nothing is written
  --format npy|csv          format of W and H (default npy; float64 when the input is float64)
  --overwrite               replace existing W/H/components.csv files
  --json                    print one JSON object: rows, cols, rank, solver, betaLoss, init,
                            iterations, loss, relErr, backend, backendReason, ms, rowLabelsFrom,
                            colLabelsFrom (where the labels came from, or null), components ([{index,
                            rows: [{index, label, weight}], cols: [...]}], as in components.csv)
${ENGINE_HELP}
  --init custom             start from --w0 and --h0

Exit codes: 0 success, 1 the input could not be used or the run failed, 2 bad usage.`;

export async function factorCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(args, {
    ...ENGINE_OPTIONS,
    rank: { type: 'string' },
    'row-labels': { type: 'string' },
    'col-labels': { type: 'string' },
    top: { type: 'string' },
    w0: { type: 'string' },
    h0: { type: 'string' },
    'clip-negative': { type: 'boolean' },
    out: { type: 'string' },
    format: { type: 'string' },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flag(values, 'help')) {
    ctx.stdout(FACTOR_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UserError(positionals.length ? 'factor takes one input file' : 'factor needs an input file', 'usage');
  const rank = num(values, 'rank', { min: 1, integer: true });
  if (rank === undefined) throw new UserError('--rank K is required', 'usage');
  const top = num(values, 'top', { min: 1, max: MAX_TOP, integer: true });
  const engine = parseEngineFlags(values);
  const format = choice(values, 'format', ['npy', 'csv'] as const);
  const json = flag(values, 'json');
  const line = json ? liveLine(process.stderr, Infinity) : liveLine();

  const { summary } = await factorFile({
    input: positionals[0]!,
    rank,
    rowLabels: str(values, 'row-labels'),
    colLabels: str(values, 'col-labels'),
    top,
    ...engine,
    // scikit-learn's default solver (cd) cannot minimise other β-losses; pick the one that can.
    solver: engine.solver ?? (engine.betaLoss && engine.betaLoss !== 'frobenius' ? 'mu' : undefined),
    w0: str(values, 'w0'),
    h0: str(values, 'h0'),
    clipNegative: flag(values, 'clip-negative'),
    outDir: str(values, 'out'),
    format,
    overwrite: flag(values, 'overwrite'),
    signal: ctx.signal,
    onProgress: (p) => line.update(`iteration ${p.iteration}/${p.maxIter}  relErr ${p.relErr.toPrecision(4)}`),
  });
  line.done();

  if (json) {
    const { outputs: _outputs, input: _input, missing: _missing, components: _components, ...fields } = summary;
    ctx.stdout(JSON.stringify({ ...fields, missing: summary.missing, outputs: summary.outputs, components: summary.components }));
  } else {
    ctx.stdout(
      `${summary.input}: ${summary.rows}×${summary.cols}, rank ${summary.rank}, ${summary.solver}/${summary.betaLoss}, ` +
        `${summary.iterations} iterations, relErr ${summary.relErr.toPrecision(4)}, loss ${summary.loss.toPrecision(6)}, ` +
        `${formatMs(summary.ms)} on ${summary.backendReason}` +
        (summary.missing ? ` (${summary.missing} missing cells ignored)` : ''),
    );
    for (const c of summary.components) {
      ctx.stdout(`component ${c.index}: rows ${shortList(c.rows, 'row')} · cols ${shortList(c.cols, 'col')}`);
    }
    if (summary.outputs.length) ctx.stdout(`wrote ${summary.outputs.join(', ')}`);
  }
  return 0;
}

/** The first few entries of a component's list for the terminal: labels, or "row 12" where there are none. */
function shortList(entries: readonly ComponentEntry[], axis: 'row' | 'col'): string {
  const SHOWN = 5;
  if (entries.length === 0) return '(none above 0)';
  const names = entries.slice(0, SHOWN).map((e) => e.label ?? `${axis} ${e.index}`);
  return names.join(', ') + (entries.length > SHOWN ? ', …' : '');
}
