// A photo folder as people have them, built small in a temporary directory: nested folders, odd names, bad files, a link loop.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { fixture } from '../helpers/paths.js';

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A fixture image resized to `width`×`height` (small: quick to factorize) in the format the extension names. */
export async function smallImage(file: string, source: string, width = 64, height = 48): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const img = sharp(fixture('images', source)).resize(width, height, { fit: 'fill' });
  const ext = path.extname(file).toLowerCase();
  const out = ext === '.jpg' || ext === '.jpeg' ? img.jpeg({ quality: 90 }) : ext === '.webp' ? img.webp({ lossless: true }) : ext === '.tif' ? img.tiff() : img.png();
  await out.toFile(file);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header that claims width×height pixels, followed by almost no data: a decompression bomb's shape. */
export function hugePngHeader(width = 200_000, height = 200_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

/** Writes the bad inputs of the product text into dir; returns their paths by kind. */
export async function badInputs(dir: string): Promise<Record<'empty' | 'text' | 'truncatedJpeg' | 'truncatedPng' | 'huge' | 'unsupported', string>> {
  await mkdir(dir, { recursive: true });
  const files = {
    empty: path.join(dir, 'empty.png'),
    text: path.join(dir, 'text.png'),
    truncatedJpeg: path.join(dir, 'truncated.jpg'),
    truncatedPng: path.join(dir, 'half.png'),
    huge: path.join(dir, 'huge.png'),
    unsupported: path.join(dir, 'drawing.svg'),
  };
  await writeFile(files.empty, '');
  await writeFile(files.text, 'this is a text file, not a PNG\n');
  await copyFile(fixture('images', 'truncated.jpg'), files.truncatedJpeg);
  const png = await sharp(fixture('images', 'coffee.png')).resize(64, 48).png().toBuffer();
  await writeFile(files.truncatedPng, png.subarray(0, Math.floor(png.length / 2)));
  await writeFile(files.huge, hugePngHeader());
  await writeFile(files.unsupported, '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>\n');
  return files;
}

/** The images of the tree (relative paths), and everything else it holds. */
export const TREE_IMAGES = [
  'cam.png',
  'holiday 2023/beach day.jpg',
  'holiday 2023/été/café crème.webp',
  'holiday 2023/été/日本の猫.png',
  'work/scans/coins.tif',
  'work/scans/deep/er/horse.png',
];
export const TREE_BAD = ['bad/empty.png', 'bad/text.png', 'bad/truncated.jpg'];

/**
 * photos/
 *   cam.png, notes.txt (ignored), .hidden.png (ignored)
 *   holiday 2023/beach day.jpg, été/café crème.webp, été/日本の猫.png
 *   work/scans/coins.tif, deep/er/horse.png, loop -> ../.. (a link loop)
 *   bad/empty.png, text.png, truncated.jpg
 */
export async function photoTree(root: string): Promise<string> {
  const sources = ['camera.png', 'astronaut.png', 'coffee.png', 'chelsea.png', 'coins.png', 'horse.png'];
  for (const [i, rel] of TREE_IMAGES.entries()) await smallImage(path.join(root, rel), sources[i]!);
  await writeFile(path.join(root, 'notes.txt'), 'not an image');
  await smallImage(path.join(root, '.hidden.png'), 'camera.png');
  await mkdir(path.join(root, 'bad'), { recursive: true });
  await writeFile(path.join(root, 'bad', 'empty.png'), '');
  await writeFile(path.join(root, 'bad', 'text.png'), 'hello, I am not a PNG\n');
  await copyFile(fixture('images', 'truncated.jpg'), path.join(root, 'bad', 'truncated.jpg'));
  await symlink('../..', path.join(root, 'work', 'scans', 'loop'));
  return root;
}

/** Every file under dir (links not followed) with its SHA-256, by relative path. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
      else if (e.isSymbolicLink()) out.set(path.relative(dir, p), 'link');
    }
  };
  await walk(dir);
  return out;
}

/** Every file under dir, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

export async function mtimeOf(file: string): Promise<number> {
  return (await stat(file)).mtimeMs;
}

/** Parses RFC 4180 CSV (quoted fields with commas, quotes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
