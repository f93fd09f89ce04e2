import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { CompressRecord as ContractRecord } from '../../src-main/api/contract.js';
import { readImage } from '../../src-main/codec/image-io.js';
import { compressionRatios, psnr, relErr, ssim } from '../../src-main/codec/metrics.js';
import { decodeNmfz, decodePixels } from '../../src-main/codec/nmfz.js';
import { COLOR_MODES } from '../../src-main/codec/types.js';
import { CancelledError, UserError } from '../../src-main/engine/errors.js';
import { createReferenceBackend } from '../../src-main/engine/index.js';
import { compressImage, decompressFile, outputPaths, raisedToSsimFloor, readInfo } from '../../src-main/jobs/compress.js';
import type { TiledEncoded } from '../../src-main/codec/tiled-encoder.js';
import type { CompressOptions } from '../../src-main/jobs/compress.js';
import { makeBadInputs, makeSamples, pngChunkTypes, tempDir } from '../codec/images.js';
import type { Sample } from '../codec/images.js';
import { fixture } from '../helpers/paths.js';

const backend = createReferenceBackend();
const quick: Pick<CompressOptions, 'backend' | 'maxIter'> = { backend, maxIter: 15 };
const tmp = tempDir('nmf-jobs-');
let samples: Record<string, Sample>;
before(async () => {
  samples = await makeSamples(tmp.dir);
});
after(async () => {
  tmp.cleanup();
  await backend.dispose();
});

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Decodes a written .nmfz from disk with the one decoder. */
function decodeFile(file: string) {
  return decodePixels(decodeNmfz(readFileSync(file), file));
}

test('every input format round-trips: the file decodes to exactly the pixels the record measured', async () => {
  for (const [key, s] of Object.entries(samples)) {
    const out = tempDir();
    try {
      const before = sha(s.file);
      const o = await compressImage(s.file, out.dir, { ...quick, rank: 6 });
      const r = o.record;
      assert.equal(sha(s.file), before, `${key}: input untouched`);
      assert.equal(r.status, 'ok');
      assert.deepEqual([r.width, r.height, r.channels, r.bitDepth], [s.width, s.height, s.channels, s.bitDepth], key);
      assert.equal(r.output, path.join(out.dir, `${path.parse(s.file).name}.nmfz`));
      assert.equal(statSync(r.output!).size, r.compressedBytes, key);
      const fromFile = decodeFile(r.output!);
      assert.deepEqual(fromFile.data, o.decoded.data, `${key}: decoded pixels = file's pixels`);
      const original = (await readImage(s.file)).pixels;
      assert.equal(psnr(original, fromFile), r.psnr, key);
      assert.equal(ssim(original, fromFile), r.ssim, key);
      assert.equal(relErr(original, fromFile), r.relErr, key);
      if (s.channels === 2 || s.channels === 4) {
        for (let p = 0; p < s.width * s.height; p++) {
          assert.equal(fromFile.data[p * s.channels + s.channels - 1], original.data[p * s.channels + s.channels - 1], `${key}: alpha kept`);
        }
      }
      // decompress to PNG: 16-bit stays 16-bit, pixels identical, marked sRGB.
      const d = await decompressFile(r.output!, out.dir, { format: 'png' });
      const back = await readImage(d.output);
      assert.equal(back.pixels.bitDepth, s.bitDepth, key);
      assert.deepEqual(back.pixels.data, o.decoded.data, `${key}: PNG holds the decoded pixels`);
      assert.equal(pngChunkTypes(readFileSync(d.output))[1], 'sRGB');
    } finally {
      out.cleanup();
    }
  }
});

test('every colour mode round-trips on 8-bit RGB, 16-bit RGB and RGBA', async () => {
  for (const key of ['png8', 'png16', 'rgba8']) {
    for (const colorMode of COLOR_MODES) {
      const out = tempDir();
      try {
        const o = await compressImage(samples[key]!.file, out.dir, { ...quick, rank: 9, colorMode });
        assert.equal(o.record.colorMode, colorMode);
        assert.equal(o.record.rank, 9);
        const content = decodeNmfz(readFileSync(o.record.output!), 'x');
        assert.equal(content.header.planes.length, colorMode === 'stacked' ? 1 : 3);
        assert.equal(content.header.planes.reduce((s, p) => s + p.rank, 0), 9);
        assert.deepEqual(decodePixels(content).data, o.decoded.data, `${key} ${colorMode}`);
        assert.ok(o.record.psnr > 12, `${key} ${colorMode}: ${o.record.psnr} dB`);
        const d = await decompressFile(o.record.output!, out.dir, { format: 'tiff' });
        assert.deepEqual((await readImage(d.output)).pixels.data, o.decoded.data, `${key} ${colorMode} as TIFF`);
      } finally {
        out.cleanup();
      }
    }
  }
});

test('decoding is deterministic: twice the same pixels, the ones the metrics used and the preview holds', async () => {
  const out = tempDir();
  try {
    const o = await compressImage(samples.png8!.file, out.dir, { ...quick, rank: 8, preview: true });
    const a = decodeFile(o.record.output!);
    const b = decodeFile(o.record.output!);
    assert.deepEqual(a.data, b.data);
    assert.deepEqual(a.data, o.decoded.data);
    assert.equal(o.previewPath, outputPaths(samples.png8!.file, out.dir).preview);
    assert.deepEqual((await readImage(o.previewPath!)).pixels.data, a.data);
    // The returned factors are the stored ones: W·H·255 rounded gives the decoded pixels (stacked plane: R|G|B).
    const o2 = await compressImage(samples.png8!.file, out.dir, { ...quick, rank: 5, colorMode: 'stacked', overwrite: true });
    const { W, H } = o2.factors[0]!;
    const w = o2.record.width;
    for (const [y, x, c] of [[0, 0, 0], [10, 20, 1], [47, 47, 2]] as const) {
      let v = 0;
      for (let j = 0; j < 5; j++) v += W.data[y * 5 + j]! * H.data[j * H.cols + c * w + x]!;
      assert.equal(Math.min(255, Math.max(0, Math.round(v * 255))), o2.decoded.data[(y * w + x) * 3 + c]);
    }
  } finally {
    out.cleanup();
  }
});

test('the same settings give the same file, byte for byte', async () => {
  const a = tempDir();
  const b = tempDir();
  try {
    const x = await compressImage(samples.png16!.file, a.dir, { ...quick, rank: 7 });
    const y = await compressImage(samples.png16!.file, b.dir, { ...quick, rank: 7 });
    assert.deepEqual(readFileSync(x.record.output!), readFileSync(y.record.output!));
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('psnr target: the chosen rank reaches it and one rank less, as fitted in the search, does not', async () => {
  const out = tempDir();
  try {
    const target = 24;
    const o = await compressImage(samples.png8!.file, out.dir, { ...quick, psnr: target });
    const k = o.record.rank;
    assert.ok(o.record.psnr >= target);
    assert.ok(psnr((await readImage(samples.png8!.file)).pixels, decodeFile(o.record.output!)) >= target, 'the file itself reaches it');
    const at = new Map(o.probes.map((p) => [p.rank, p]));
    assert.ok(at.get(k)!.psnr >= target);
    assert.ok(at.has(k - 1), `rank ${k - 1} was tried: ${[...at.keys()].join(', ')}`);
    assert.ok(at.get(k - 1)!.psnr < target);
    assert.ok(o.probes.length <= 10, `${o.probes.length} probes`);
  } finally {
    out.cleanup();
  }
});

test('ratio target: the chosen rank meets it and one rank more, as fitted in the search, does not', async () => {
  const out = tempDir();
  try {
    const target = 6;
    const o = await compressImage(samples.png8!.file, out.dir, { ...quick, ratio: target, colorMode: 'channels' });
    const k = o.record.rank;
    assert.ok(o.record.ratio >= target, `ratio ${o.record.ratio}`);
    const at = new Map(o.probes.map((p) => [p.rank, p]));
    assert.ok(at.has(k + 1), `rank ${k + 1} was tried: ${[...at.keys()].join(', ')}`);
    assert.ok(at.get(k + 1)!.ratio < target);
    await assert.rejects(compressImage(samples.png8!.file, out.dir, { ...quick, ratio: 10000, overwrite: true }), /cannot reach ratio 10000/);
  } finally {
    out.cleanup();
  }
});

test('the header carries the quality the record reports, and the file is no larger than the size its rank was chosen by', async () => {
  const out = tempDir();
  try {
    for (const [name, sample, choice] of [
      ['ratio', samples.png8!, { ratio: 6 }],
      ['psnr', samples.rgba8!, { psnr: 25 }],
      ['rank', samples.png8!, { rank: 5 }],
    ] as const) {
      const o = await compressImage(sample.file, out.dir, { ...quick, ...choice, overwrite: true });
      const r = o.record;
      const { quality } = await readInfo(r.output!);
      assert.ok(quality, `${name}: quality stored`);
      assert.ok(Math.abs(quality.psnr! - r.psnr) <= 5e-5, `${name}: psnr ${quality.psnr} vs ${r.psnr}`);
      // six decimals unless fewer were needed to keep the file within the size compared in the search
      assert.ok(quality.ssim !== null && Math.abs(quality.ssim - r.ssim) <= 0.005, `${name}: ssim ${quality.ssim} vs ${r.ssim}`);
      assert.ok(Math.abs(quality.relErr - r.relErr) <= 1e-5 * r.relErr, `${name}: relErr ${quality.relErr} vs ${r.relErr}`);
      const probe = o.probes.find((p) => p.rank === r.rank)!;
      assert.equal(statSync(r.output!).size, r.compressedBytes);
      assert.ok(r.compressedBytes <= probe.compressedBytes, `${name}: ${r.compressedBytes} bytes written, ${probe.compressedBytes} compared`);
    }
  } finally {
    out.cleanup();
  }
});

/** The astronaut at 256×256, a small photograph, compressed with the global layout's rank search. */
async function compressPhoto256(choice: Pick<CompressOptions, 'ratio'>): Promise<Awaited<ReturnType<typeof compressImage>>> {
  const out = tempDir();
  try {
    const photo = path.join(out.dir, 'astronaut256.png');
    await sharp(fixture('images', 'astronaut.png')).resize(256).png().toFile(photo);
    return await compressImage(photo, out.dir, { ...quick, ...choice, layout: 'global' });
  } finally {
    out.cleanup();
  }
}

test('a ratio search on a photograph closes in on its rank in few probes, none of them twice', async () => {
  // File size is close to a straight line in the rank, so the search interpolates on that scale and checks its
  // prediction with the neighbouring rank (bisecting would take more).
  const o = await compressPhoto256({});
  const ranks = o.probes.map((p) => p.rank);
  assert.equal(new Set(ranks).size, ranks.length, `a rank probed twice: ${ranks.join(', ')}`);
  assert.ok(ranks.includes(o.record.rank + 1), `rank ${o.record.rank + 1} was tried: ${ranks.join(', ')}`);
  assert.ok(ranks.length <= 5, `${ranks.length} probes: ${ranks.join(', ')}`);
});

test('a ratio search far above its first probe goes straight to the neighbourhood of its rank, and never far past it', async () => {
  // Size is close to proportional to the rank, so the second probe is the rank in proportion to the first probe's
  // size; doubling would spend several probes getting there, and a wide margin an expensive one far past it.
  const o = await compressPhoto256({ ratio: 5 });
  const ranks = o.probes.map((p) => p.rank);
  const k = o.record.rank;
  assert.ok(k > 100, `rank ${k}`);
  assert.ok(ranks[1]! >= 0.8 * k, `second probe at rank ${ranks[1]}, chosen ${k}: ${ranks.join(', ')}`);
  assert.ok(Math.max(...ranks) <= 1.1 * k, `a probe far past rank ${k}: ${ranks.join(', ')}`);
});

test('ratio, fileRatio and factorRatio come from the one function, and readInfo reports the same', async () => {
  const out = tempDir();
  try {
    const o = await compressImage(samples.rgba8!.file, out.dir, { ...quick, rank: 6, colorMode: 'ycbcr' });
    const r = o.record;
    const info = await readInfo(r.output!);
    const expected = compressionRatios({
      rawBytes: r.width * r.height * 4,
      originalFileBytes: statSync(samples.rgba8!.file).size,
      compressedBytes: statSync(r.output!).size,
      planes: info.planes,
    });
    assert.deepEqual({ ratio: r.ratio, fileRatio: r.fileRatio, factorRatio: r.factorRatio }, expected);
    assert.deepEqual({ ratio: info.ratio, fileRatio: info.fileRatio, factorRatio: info.factorRatio }, expected);
    assert.equal(info.formatVersion, 2, 'the default 6-bit factors need version 2');
    assert.equal(info.rank, 6);
    assert.equal(info.alpha, 'lossless');
    assert.equal(info.original.name, path.basename(samples.rgba8!.file));
    assert.equal(info.original.bytes, r.originalFileBytes);
    assert.equal(info.nmf.backend, 'reference');
    assert.equal(JSON.parse(JSON.stringify(info)).planes.length, 3);
  } finally {
    out.cleanup();
  }
});

test('compareJpeg reports a JPEG of at most the same size, measured the same way', async () => {
  const out = tempDir();
  try {
    const o = await compressImage(samples.png8!.file, out.dir, { ...quick, rank: 12, compareJpeg: true });
    const r = o.record;
    assert.ok(r.jpegQuality! >= 1 && r.jpegQuality! <= 100);
    assert.ok(r.jpegBytes! <= r.compressedBytes || r.jpegQuality === 1);
    const original = (await readImage(samples.png8!.file)).pixels;
    assert.equal(r.jpegPsnr, psnr(original, o.jpeg!));
    assert.equal(r.jpegSsim, ssim(original, o.jpeg!));
    // One quality step up no longer fits.
    if (r.jpegQuality! < 100) {
      const bigger = await sharp(Buffer.from(original.data), { raw: { width: r.width, height: r.height, channels: 3 } })
        .jpeg({ quality: r.jpegQuality! + 1 })
        .toBuffer();
      assert.ok(bigger.length > r.compressedBytes);
    }
  } finally {
    out.cleanup();
  }
});

test('the record has every field of the service contract', async () => {
  const out = tempDir();
  try {
    const o = await compressImage(samples.gray8!.file, out.dir, { ...quick, rank: 4, backendReason: 'chosen by the test' });
    const asContract: ContractRecord = o.record;
    for (const field of ['input', 'output', 'status', 'error', 'width', 'height', 'channels', 'bitDepth', 'colorMode', 'rank', 'originalFileBytes', 'rawBytes', 'compressedBytes', 'ratio', 'fileRatio', 'factorRatio', 'psnr', 'ssim', 'relErr', 'iterations', 'backend', 'ms']) {
      assert.ok(field in asContract, field);
    }
    assert.equal(o.record.backend, 'reference');
    assert.equal(o.record.backendReason, 'chosen by the test');
    assert.ok(o.record.iterations >= 1 && o.record.iterations <= 15);
  } finally {
    out.cleanup();
  }
});

test('bad inputs: one line naming the file, and nothing written', async () => {
  const inputs = tempDir();
  const out = tempDir();
  try {
    for (const [file, reason] of await makeBadInputs(inputs.dir)) {
      await assert.rejects(compressImage(file, out.dir, { ...quick, rank: 3, preview: true }), (err: unknown) => {
        assert.ok(err instanceof UserError, `${file}: ${String(err)}`);
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message, reason);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
      assert.deepEqual(readdirSync(out.dir), [], `${file}: nothing written`);
    }
    await assert.rejects(compressImage(samples.png8!.file, out.dir, { ...quick, rank: 3, psnr: 30 }), /one of rank, psnr, ratio and maxBytes/);
    await assert.rejects(compressImage(samples.png8!.file, out.dir, { ...quick, rank: 500 }), /rank must be an integer from 3 to \d+ for this image in colour mode 'ycbcr' \(got 500\)/);
    await assert.rejects(compressImage(samples.png8!.file, path.join(out.dir, 'missing'), { ...quick, rank: 3 }), /cannot write/);
    assert.deepEqual(readdirSync(out.dir), []);
  } finally {
    inputs.cleanup();
    out.cleanup();
  }
});

test('an existing output is refused without overwrite (and left alone), replaced with it', async () => {
  const out = tempDir();
  try {
    const target = outputPaths(samples.png8!.file, out.dir).nmfz;
    writeFileSync(target, 'keep me');
    await assert.rejects(compressImage(samples.png8!.file, out.dir, { ...quick, rank: 3 }), /already exists; pass --overwrite/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    const o = await compressImage(samples.png8!.file, out.dir, { ...quick, rank: 3, overwrite: true });
    assert.equal(o.record.output, target);
    assert.notEqual(readFileSync(target, 'utf8'), 'keep me');
    const png = path.join(out.dir, 'rgb8.png');
    writeFileSync(png, 'keep me too');
    await assert.rejects(decompressFile(target, out.dir), /already exists/);
    assert.equal(readFileSync(png, 'utf8'), 'keep me too');
    assert.deepEqual(readdirSync(out.dir).sort(), ['rgb8.nmfz', 'rgb8.png']);
  } finally {
    out.cleanup();
  }
});

test('a cancelled compression throws CancelledError and writes nothing', async () => {
  const out = tempDir();
  try {
    const ac = new AbortController();
    const run = compressImage(samples.png8!.file, out.dir, {
      ...quick,
      psnr: 40,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.iteration === 3) ac.abort();
      },
    });
    await assert.rejects(run, (err: unknown) => err instanceof CancelledError);
    assert.deepEqual(readdirSync(out.dir), []);
  } finally {
    out.cleanup();
  }
});

test('decompress and info refuse corrupt, truncated and foreign files; nothing is written', async () => {
  const out = tempDir();
  const work = tempDir();
  try {
    const o = await compressImage(samples.png8!.file, work.dir, { ...quick, rank: 4 });
    const good = readFileSync(o.record.output!);
    const cases: [string, Buffer, RegExp][] = [
      ['flipped.nmfz', Buffer.from(good.map((v, i) => (i === good.length >> 1 ? v ^ 4 : v))), /checksum mismatch/],
      ['short.nmfz', good.subarray(0, good.length - 9), /truncated/],
      ['photo.nmfz', readFileSync(samples.jpeg!.file), /not a \.nmfz file/],
      ['empty.nmfz', Buffer.alloc(0), /empty file/],
    ];
    for (const [name, bytes, reason] of cases) {
      const file = path.join(work.dir, name);
      writeFileSync(file, bytes);
      for (const run of [() => decompressFile(file, out.dir), () => readInfo(file)]) {
        await assert.rejects(run(), (err: unknown) => {
          assert.ok(err instanceof UserError, String(err));
          assert.ok(err.message.startsWith(`${file}: `), err.message);
          assert.match(err.message, reason);
          return true;
        });
      }
      assert.deepEqual(readdirSync(out.dir), []);
    }
    await assert.rejects(decompressFile(path.join(work.dir, 'nope.nmfz'), out.dir), /no such file/);
  } finally {
    out.cleanup();
    work.cleanup();
  }
});

test('a .nmfz written by format version 1 still decodes to the pixels recorded with it', async () => {
  const out = tempDir();
  try {
    for (const name of ['coins-v1', 'horse16-v1']) {
      const file = path.join(out.dir, `${name}.nmfz`);
      copyFileSync(fixture('nmfz', `${name}.nmfz`), file);
      const info = await readInfo(file);
      const expected = JSON.parse(readFileSync(fixture('nmfz', `${name}.json`), 'utf8')) as { info: Record<string, unknown> };
      assert.deepEqual(JSON.parse(JSON.stringify({ ...info, file: undefined })), expected.info);
      const d = await decompressFile(file, out.dir, { format: 'png' });
      const decoded = await readImage(d.output);
      const reference = await readImage(fixture('nmfz', `${name}.decoded.png`));
      assert.deepEqual(decoded.pixels, reference.pixels);
    }
  } finally {
    out.cleanup();
  }
});

test('an unreachable PSNR is refused once ranks stop compressing, without fitting beyond that', async () => {
  const out = tempDir();
  try {
    const ranks: number[] = [];
    await assert.rejects(
      compressImage(samples.png8!.file, out.dir, { ...quick, psnr: 80, onProgress: (p) => p.probe && ranks.push(p.probe.rank) }),
      /: cannot reach 80 dB at a rank that still compresses \(best [\d.]+ dB at rank \d+\)/,
    );
    // 48×48 in YCbCr: 3·48·48 entries; rank k stores k·96 numbers, so k ≤ 36 keeps factorRatio ≥ 2.
    assert.ok(Math.max(...ranks) <= 36, `probed ${ranks.join(', ')}`);
    assert.deepEqual(readdirSync(out.dir), []);
  } finally {
    out.cleanup();
  }
});

test("the tiled default's SSIM floor: a build under it is made again at the PSNR its shortfall asks for, never past the cap", async () => {
  const build = (psnr: number, ssim: number, bytes: number) => ({ psnr, bytes: Buffer.alloc(bytes), decoded: { width: 1, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array([ssim * 100]) } }) as unknown as TiledEncoded;
  const ssimOf = async (d: { data: ArrayLike<number> }) => d.data[0]! / 100;
  const asked: number[] = [];
  // 0.88 at 38 dB: raised by 0.02 × 60 dB and a tenth, once, as the second build reaches the floor.
  const raised = await raisedToSsimFloor(build(38, 0.88, 1000), { maxBytes: 10_000 }, ssimOf, async (psnr) => (asked.push(psnr), build(psnr, 0.91, 2000)));
  assert.deepEqual(asked.map((p) => Math.round(p * 10) / 10), [39.3]);
  assert.equal(raised.psnr, asked[0]);
  // Above the floor, or a file at the cap already: kept as it is.
  for (const [ssim, bytes] of [[0.95, 1000], [0.8, 9500]] as const) {
    const kept = build(38, ssim, bytes);
    assert.equal(await raisedToSsimFloor(kept, { maxBytes: 10_000 }, ssimOf, async () => assert.fail('no second build')), kept);
  }
  // Still short after two: the last is kept.
  let calls = 0;
  const last = await raisedToSsimFloor(build(38, 0.8, 1000), { maxBytes: 10_000 }, ssimOf, async (psnr) => (calls++, build(psnr, 0.85, 1000 + calls)));
  assert.equal(calls, 2);
  assert.equal(last.bytes.length, 1002);
});
