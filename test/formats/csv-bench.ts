// Times the CSV reader and writer on a 2000×2000 matrix in the notations people's tools write:
//   npm run build && node dist/test/formats/csv-bench.js
import { formatCsv, parseCsv } from '../../src-main/formats/index.js';
import { random } from './helpers.js';

const n = 2000;
const rnd = random(1);
const m = { rows: n, cols: n, data: new Float64Array(n * n).map(() => rnd()) };
const rowsOf = (cell: (v: number) => string, sep: string) =>
  Array.from({ length: n }, (_, i) => Array.from(m.data.subarray(i * n, (i + 1) * n), cell).join(sep)).join('\n') + '\n';
const inputs: [string, string][] = [
  ['shortest round trip (pandas, this writer)', formatCsv(m)],
  ["numpy.savetxt '%.18e', spaces", rowsOf((v) => v.toExponential(18), ' ')],
  ['6 decimals', rowsOf((v) => v.toFixed(6), ',')],
];
const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
for (const [label, text] of inputs) {
  const bytes = new TextEncoder().encode(text);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    parseCsv(bytes, 'bench.csv');
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`parse ${n}×${n}, ${label}: ${(bytes.length / 1e6).toFixed(0)} MB in ${Math.round(best)} ms (best of 3)`);
}
let t0 = performance.now();
formatCsv(m);
console.log(`write ${n}×${n} float64: ${ms(t0)}`);
t0 = performance.now();
formatCsv({ rows: n, cols: n, data: Float32Array.from(m.data) });
console.log(`write ${n}×${n} float32: ${ms(t0)}`);
