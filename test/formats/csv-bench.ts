// Times the CSV reader and writer on a 2000×2000 matrix in the notations people's tools write; prints wall
// and CPU time (the CPU time is the steadier figure on a busy machine):
//   npm run build && node dist/test/formats/csv-bench.js
import { csvChunks, formatCsv, parseCsv } from '../../src-main/formats/index.js';
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
function time(run: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}
const show = (t: { wall: number; cpu: number }) => `${Math.round(t.wall)} ms wall, ${Math.round(t.cpu)} ms CPU`;

for (const [label, text] of inputs) {
  const bytes = new TextEncoder().encode(text);
  let best = { wall: Infinity, cpu: Infinity };
  for (let k = 0; k < 3; k++) {
    const t = time(() => parseCsv(bytes, 'bench.csv'));
    if (t.cpu < best.cpu) best = t;
  }
  console.log(`parse ${n}×${n}, ${label}, ${(bytes.length / 1e6).toFixed(0)} MB: ${show(best)} (best of 3)`);
}
console.log(`write ${n}×${n} float64: ${show(time(() => Array.from(csvChunks(m))))}`);
const m32 = { rows: n, cols: n, data: Float32Array.from(m.data) };
console.log(`write ${n}×${n} float32: ${show(time(() => Array.from(csvChunks(m32))))}`);
