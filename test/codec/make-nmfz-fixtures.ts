// Writes test/fixtures/nmfz/: .nmfz files of format version 1 with their decoded pixels and header, which every
// later version must still read the same. Run once per format version, never to refresh existing fixtures:
//   npm run build && node dist/test/codec/make-nmfz-fixtures.js

import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createReferenceBackend } from '../../src-main/engine/index.js';
import { compressImage, decompressFile, readInfo } from '../../src-main/jobs/compress.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from './images.js';

const outDir = fixture('nmfz');
mkdirSync(outDir, { recursive: true });
const tmp = tempDir();
const backend = createReferenceBackend();
try {
  // coins: 8-bit gray, one plane. horse16: 16-bit RGBA, YCbCr planes and a lossless alpha plane.
  const coins = path.join(tmp.dir, 'coins-v1.png');
  await sharp(fixture('images', 'coins.png')).resize({ width: 96 }).toColourspace('b-w').png().toFile(coins);
  const horse = path.join(tmp.dir, 'horse16-v1.png');
  const { data, info } = await sharp(fixture('images', 'horse.png')).resize({ width: 64 }).raw().toBuffer({ resolveWithObject: true });
  const deep = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) deep[i] = Math.min(65535, data[i]! * 257 + ((i * 29) % 150));
  await sharp(deep, { raw: { width: info.width, height: info.height, channels: 4 } }).toColourspace('rgb16').png().toFile(horse);
  for (const [input, settings] of [
    [coins, { rank: 10, colorMode: 'stacked' as const, bits: 8 as const }],
    [horse, { rank: 12, colorMode: 'ycbcr' as const, bits: 12 as const }],
  ] as const) {
    const name = path.parse(input).name;
    if (existsSync(path.join(outDir, `${name}.nmfz`))) throw new Error(`${name}.nmfz exists: fixtures are never rewritten`);
    const o = await compressImage(input, tmp.dir, { ...settings, backend, maxIter: 40 });
    const nmfz = path.join(outDir, `${name}.nmfz`);
    copyFileSync(o.record.output!, nmfz);
    const d = await decompressFile(nmfz, tmp.dir, { format: 'png', overwrite: true });
    copyFileSync(d.output, path.join(outDir, `${name}.decoded.png`));
    const header = await readInfo(nmfz);
    writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify({ info: { ...header, file: undefined }, psnr: o.record.psnr }, null, 1)}\n`);
    console.log(`${name}: ${o.record.compressedBytes} bytes, ${o.record.psnr.toFixed(2)} dB`);
  }
} finally {
  tmp.cleanup();
  await backend.dispose();
}
