// Measures the image codec's choices on the fixture images: colour mode, YCbCr rank split and quantisation bits at
// equal file size, and which solver reaches a given error first. Writes docs/colour-modes.md with --write.
//   npm run build && node dist/bench/colour-modes.js [--backend cpu|gpu|reference|auto] [--quick] [--write]

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chooseBackend } from '../src-main/backends/registry.js';
import { imageToPlanes } from '../src-main/codec/colour.js';
import { ImageEncoder } from '../src-main/codec/encoder.js';
import type { Encoded, EncoderSettings } from '../src-main/codec/encoder.js';
import { readImage } from '../src-main/codec/image-io.js';
import type { SourceImage } from '../src-main/codec/image-io.js';
import { compareJpeg } from '../src-main/codec/jpeg-compare.js';
import { rawBytesOf, ssim } from '../src-main/codec/metrics.js';
import type { ColorMode, QuantBits } from '../src-main/codec/types.js';
import { factorize } from '../src-main/engine/index.js';
import type { BackendRequest, Init, Solver } from '../src-main/engine/index.js';
import { fixture, repoRoot } from '../test/helpers/paths.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});
const { backend, reason } = await chooseBackend(args.backend as BackendRequest);
const images = args.quick ? ['chelsea.png'] : ['astronaut.png', 'coffee.png', 'chelsea.png', 'horse.png'];
const ratios = args.quick ? [30] : [20, 40];
const lines: string[] = [];
const out = (s = ''): void => {
  lines.push(s);
  console.log(s);
};
const sources = new Map<string, SourceImage>();
for (const name of images) sources.set(name, await readImage(fixture('images', name)));

/** PSNR/SSIM/size of the largest rank whose file fits rawBytes ÷ ratio, with these settings. */
async function atRatio(src: SourceImage, ratio: number, settings: Partial<EncoderSettings>): Promise<{ e: Encoded; ssim: number; probes: number }> {
  const enc = new ImageEncoder(src, { backend, ...settings });
  const { best, probes } = await enc.searchRatio(ratio);
  return { e: best, ssim: ssim(src.pixels, best.decoded), probes: probes.length };
}
const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);
const started = performance.now();

out('Made by `bench/colour-modes.ts`:');
out();
out('```');
out(`npm run build && node dist/bench/colour-modes.js --backend ${args.backend}${args.quick ? ' --quick' : ''} --write`);
out('```');
out();
out(`Backend: ${backend.label}${reason ? ` (${reason})` : ''}. Default NMF settings (hals, nndsvda, maxIter 200, tol 1e-4) unless a`);
out('table varies them. "At ratio R" means the largest rank whose .nmfz is at most raw bytes ÷ R (raw = width·height·channels),');
out('found by the same search as `--ratio`; PSNR and SSIM are measured on the decoded pixels, over the colour channels.');
out();

out('## Colour mode at equal file size');
out();
out('| image | ratio | mode | rank (planes) | bytes | PSNR dB | SSIM | JPEG PSNR at ≤ same bytes |');
out('|---|---|---|---|---|---|---|---|');
const wins = new Map<ColorMode, number>();
const sums = new Map<ColorMode, number>();
for (const [name, src] of sources) {
  for (const ratio of ratios) {
    let best: { mode: ColorMode; psnr: number } | null = null;
    for (const mode of ['stacked', 'channels', 'ycbcr'] as const) {
      const r = await atRatio(src, ratio, { colorMode: mode });
      const jpeg = await compareJpeg(src.pixels, r.e.bytes.length);
      out(`| ${name} | ${ratio} | ${mode} | ${r.e.fit.rank} (${r.e.fit.ranks.join('/')}) | ${r.e.bytes.length} | ${f2(r.e.psnr)} | ${f3(r.ssim)} | ${f2(jpeg.jpegPsnr)} (q${jpeg.jpegQuality}) |`);
      sums.set(mode, (sums.get(mode) ?? 0) + r.e.psnr);
      if (!best || r.e.psnr > best.psnr) best = { mode, psnr: r.e.psnr };
    }
    wins.set(best!.mode, (wins.get(best!.mode) ?? 0) + 1);
  }
}
const cases = sources.size * ratios.length;
out();
out(`Best mode per case: ${[...wins].map(([m, n]) => `${m} ${n} of ${cases}`).join(', ')}. Mean PSNR: ${[...sums].map(([m, s]) => `${m} ${f2(s / cases)} dB`).join(', ')}.`);
out();

out('## YCbCr: share of the rank per chroma plane');
out();
out('| image | ratio | chroma share | rank (Y/Cb/Cr) | bytes | PSNR dB | SSIM |');
out('|---|---|---|---|---|---|---|');
const shareSums = new Map<number, number>();
const shares = args.quick ? [0.1, 0.15, 0.25] : [0.05, 0.1, 0.15, 0.2, 0.25];
for (const [name, src] of sources) {
  for (const ratio of ratios) {
    for (const share of shares) {
      const r = await atRatio(src, ratio, { colorMode: 'ycbcr', chromaShare: share });
      out(`| ${name} | ${ratio} | ${share} | ${r.e.fit.rank} (${r.e.fit.ranks.join('/')}) | ${r.e.bytes.length} | ${f2(r.e.psnr)} | ${f3(r.ssim)} |`);
      shareSums.set(share, (shareSums.get(share) ?? 0) + r.e.psnr);
    }
  }
}
out();
out(`Mean PSNR by chroma share: ${[...shareSums].map(([s, v]) => `${s}: ${f2(v / cases)} dB`).join(', ')}.`);
out();

out('## Quantisation bits');
out();
out('At a fixed rank the bits only change the size (and barely the PSNR); at equal file size fewer bits buy more rank.');
out();
out('| image | bits | rank 40: bytes | rank 40: PSNR dB | at ratio ' + ratios[0] + ': rank | PSNR dB |');
out('|---|---|---|---|---|---|');
const bitSums = new Map<QuantBits, number>();
for (const [name, src] of sources) {
  for (const bits of [6, 8, 12, 16] as const) {
    const enc = new ImageEncoder(src, { backend, bits });
    const fixed = await enc.encodeRank(40);
    const r = await atRatio(src, ratios[0]!, { bits });
    out(`| ${name} | ${bits} | ${fixed.bytes.length} | ${f2(fixed.psnr)} | ${r.e.fit.rank} | ${f2(r.e.psnr)} |`);
    bitSums.set(bits, (bitSums.get(bits) ?? 0) + r.e.psnr);
  }
}
out();
out(`Mean PSNR at ratio ${ratios[0]}: ${[...bitSums].map(([b, v]) => `${b} bits ${f2(v / sources.size)} dB`).join(', ')}.`);
out();

out('## Solver and start: time to reach an error');
out();
out('YCbCr luma plane of each image at rank 40, maxIter 300, tol 0: milliseconds (iterations) until ‖V − WH‖/‖V‖ first');
out('reaches the target, start included; targets are 1.05 × and 1.01 × the best error any of the runs reached. The');
out('third row per image is the error each run has after 200 iterations, the default maxIter.');
out();
out('| image | target relErr | hals nndsvd | hals nndsvda | cd nndsvd | cd nndsvda | mu nndsvda |');
out('|---|---|---|---|---|---|---|');
const runs: [Solver, Exclude<Init, 'custom'>][] = [['hals', 'nndsvd'], ['hals', 'nndsvda'], ['cd', 'nndsvd'], ['cd', 'nndsvda'], ['mu', 'nndsvda']];
for (const [name, src] of sources) {
  const V = imageToPlanes(src.pixels, 'ycbcr', backend.dtypes.includes('float32') ? 'float32' : 'float64')[0]!;
  const traces: { t: number; it: number; e: number }[][] = [];
  for (const [solver, init] of runs) {
    const t0 = performance.now();
    const trace: { t: number; it: number; e: number }[] = [];
    await factorize(V, { rank: 40, solver, init, maxIter: args.quick ? 100 : 300, tol: 0, backend, onProgress: (p) => trace.push({ t: performance.now() - t0, it: p.iteration, e: p.relErr }) });
    traces.push(trace);
  }
  const bestErr = Math.min(...traces.flat().map((p) => p.e));
  for (const factor of [1.05, 1.01]) {
    const target = factor * bestErr;
    const cells = traces.map((tr) => {
      const hit = tr.find((p) => p.e <= target);
      return hit ? `${Math.round(hit.t)} (${hit.it})` : 'not reached';
    });
    out(`| ${name} | ${target.toFixed(4)} | ${cells.join(' | ')} |`);
  }
  // What a run with the default maxIter ends at, whatever the time.
  const at200 = traces.map((tr) => (tr.find((p) => p.it === 200) ?? tr[tr.length - 1]!).e.toFixed(4));
  out(`| ${name} | relErr at iteration 200 | ${at200.join(' | ')} |`);
}
out();
out(`Total bench time ${Math.round((performance.now() - started) / 1000)} s; raw sizes: ${[...sources].map(([n, s]) => `${n} ${rawBytesOf(s.pixels)} B`).join(', ')}.`);
await backend.dispose();
if (args.write) {
  // The measurements go between the markers; the text around them is written by hand and kept.
  const file = path.join(repoRoot, 'docs', 'colour-modes.md');
  const START = '<!-- bench:start -->';
  const END = '<!-- bench:end -->';
  const old = existsSync(file) ? readFileSync(file, 'utf8') : `# Colour modes\n\n${START}\n${END}\n`;
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} lacks the ${START} … ${END} markers`);
  writeFileSync(file, `${old.slice(0, a + START.length)}\n${lines.join('\n')}\n${old.slice(b)}`);
  console.error(`wrote ${file}`);
}
