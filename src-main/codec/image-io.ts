// Reading images into sRGB pixels with sharp (after the dimensions are checked) and writing pixels back out.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { UserError } from '../engine/errors.js';
import { convertToSrgb16, isSrgb, parseIcc } from './icc.js';
import type { IccProfile } from './icc.js';
import type { BitDepth, ImagePixels } from './types.js';

/** Formats accepted as input (AVIF arrives from sharp as 'heif' with av1 compression). */
export type InputFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'gif' | 'avif';
export const INPUT_FORMATS: readonly InputFormat[] = ['png', 'jpeg', 'webp', 'tiff', 'gif', 'avif'];

/** Formats `decompress` can write. PNG and TIFF keep 16 bits; JPEG and WebP are 8-bit. */
export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'tiff';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg', 'webp', 'tiff'];

/**
 * Largest image read by default: 100 megapixels. An RGB image that size already needs about 1.2 GB as a float32
 * matrix, and a header claiming more is far likelier to be a decompression bomb than a photo.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface SourceImage {
  pixels: ImagePixels;
  /** Base name of the file it came from. */
  name: string;
  format: InputFormat;
  fileBytes: number;
}

export interface ReadImageOptions {
  maxPixels?: number;
  /** Told the image's size from its header, before its pixels are decoded (to get ready for them meanwhile). */
  onSize?: (width: number, height: number) => void;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).trim();
}

/**
 * sharp's wording, shortened to the reason a person can act on. Once the header has been read, a failure is the
 * pixel data's: libvips keeps its messages per process, so with several decodes at once a truncated file sometimes
 * reports only 'Unknown error'.
 */
function describeSharpError(err: unknown, stage: 'header' | 'pixels'): string {
  const msg = firstLine(err instanceof Error ? err.message : String(err));
  if (/unsupported image format/i.test(msg)) return 'not an image in a supported format (PNG, JPEG, WebP, TIFF, GIF, AVIF)';
  if (/exceeds pixel limit/i.test(msg)) return 'the image has more pixels than allowed';
  if (stage === 'pixels' || /premature end|truncated|read error|unexpected end|Not a PNG|end of file|corrupt/i.test(msg)) {
    return `the image data is truncated or corrupt (${msg})`;
  }
  return `cannot decode the image (${msg})`;
}

function is16Bit(depth: string | undefined): boolean {
  return depth !== undefined && depth !== 'uchar' && depth !== 'char';
}

/** Reads an image file: checks it, reads its header, then decodes it to sRGB pixels (alpha kept, EXIF orientation applied). */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<SourceImage> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new UserError(`${file}: is a folder, not an image file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`}`);
  }
  if (size === 0) throw new UserError(`${file}: empty file`);
  const bytes = await readFile(file);
  return decodeImage(bytes, file, opts);
}

/** Decodes image bytes; `label` names the source in error messages. */
export async function decodeImage(bytes: Buffer, label: string, opts: ReadImageOptions = {}): Promise<SourceImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new UserError(`${label}: empty file`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new UserError(`${label}: ${describeSharpError(err, 'header')}`);
  }
  let format: InputFormat;
  if (meta.format === 'heif') {
    if (meta.compression !== 'av1') throw new UserError(`${label}: HEIF/HEIC images are not supported (only AVIF)`);
    format = 'avif';
  } else if ((INPUT_FORMATS as readonly string[]).includes(meta.format)) {
    format = meta.format as InputFormat;
  } else {
    throw new UserError(`${label}: ${meta.format.toUpperCase()} images are not supported (use PNG, JPEG, WebP, TIFF, GIF or AVIF)`);
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  if (!(width > 0 && height > 0)) throw new UserError(`${label}: the image header gives no size`);
  if (width * height > maxPixels) {
    throw new UserError(
      `${label}: ${width}×${height} is ${(width * height / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(0)} megapixels`,
    );
  }
  opts.onSize?.(width, height);
  const gray = meta.channels !== undefined && meta.channels <= 2 && (meta.space === 'b-w' || meta.space === 'grey16');
  let bitDepth: BitDepth = is16Bit(meta.depth) ? 16 : 8;
  const alpha = meta.hasAlpha === true;
  // At 16 bits an embedded profile is applied here (see icc.ts), not by sharp; one this code cannot apply is left to
  // sharp at 8 bits, which is still right in colour if no longer 16-bit.
  let profile: IccProfile | null = null;
  if (bitDepth === 16 && meta.icc) {
    profile = parseIcc(meta.icc);
    if (profile.kind === 'unsupported' || (profile.kind === 'gray') !== gray) {
      profile = null;
      bitDepth = 8;
    }
  }

  // sharp converts an embedded ICC profile to sRGB on the way to these colour spaces. 8-bit gray with alpha is
  // read as sRGB (sharp's 'b-w' output drops alpha) and folded back to one gray channel below.
  const space = bitDepth === 16 ? (gray ? 'grey16' : 'rgb16') : gray && !alpha ? 'b-w' : 'srgb';
  let data: Buffer;
  let info: OutputInfo;
  try {
    const out = await sharp(bytes, { limitInputPixels: maxPixels, autoOrient: true, failOn: 'error', pages: 1, ignoreIcc: profile !== null })
      .toColourspace(space)
      .raw(bitDepth === 16 ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
    data = out.data;
    info = out.info;
  } catch (err) {
    throw new UserError(`${label}: ${describeSharpError(err, 'pixels')}`);
  }
  let pixels: ImagePixels;
  if (bitDepth === 16) {
    const samples = new Uint16Array(info.size / 2);
    // Copy: the Buffer may sit at an odd offset in a shared pool.
    new Uint8Array(samples.buffer).set(data.subarray(0, info.size));
    if (profile && !isSrgb(profile)) convertToSrgb16(samples, info.channels, profile);
    pixels = { width: info.width, height: info.height, channels: info.channels as 1 | 2 | 3 | 4, bitDepth, data: samples };
  } else if (gray && alpha && info.channels === 4) {
    const n = info.width * info.height;
    const ga = new Uint8Array(n * 2);
    for (let p = 0; p < n; p++) {
      ga[2 * p] = data[4 * p]!;
      ga[2 * p + 1] = data[4 * p + 3]!;
    }
    pixels = { width: info.width, height: info.height, channels: 2, bitDepth, data: ga };
  } else {
    pixels = {
      width: info.width,
      height: info.height,
      channels: info.channels as 1 | 2 | 3 | 4,
      bitDepth,
      data: new Uint8Array(data.buffer, data.byteOffset, info.size),
    };
  }
  if (pixels.data.length !== pixels.width * pixels.height * pixels.channels) {
    throw new Error(`decoded ${pixels.data.length} samples for ${pixels.width}×${pixels.height}×${pixels.channels}`);
  }
  return { pixels, name: path.basename(label), format, fileBytes: bytes.length };
}

export interface EncodeImageOptions {
  /** JPEG and WebP quality when lossy (default: WebP lossless, JPEG 95 with full-resolution chroma). */
  quality?: number;
}

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * Marks a PNG as sRGB with the sRGB chunk (and the gAMA and cHRM values the PNG specification asks to go with it),
 * inserted after IHDR: 57 bytes instead of a 480-byte profile, and no colour transform on the way, which sharp
 * cannot do exactly at 16 bits.
 */
function pngTaggedSrgb(png: Buffer): Buffer {
  const afterIhdr = 8 + 8 + 13 + 4;
  const gama = Buffer.alloc(4);
  gama.writeUInt32BE(45455);
  const chrm = Buffer.alloc(32);
  [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000].forEach((v, k) => chrm.writeUInt32BE(v, 4 * k));
  return Buffer.concat([png.subarray(0, afterIhdr), pngChunk('sRGB', Buffer.from([0])), pngChunk('gAMA', gama), pngChunk('cHRM', chrm), png.subarray(afterIhdr)]);
}

let srgbProfile: Promise<Buffer> | null = null;
/** The sRGB ICC profile sharp embeds, for files where it cannot embed it without changing 16-bit pixels. */
function srgbIcc(): Promise<Buffer> {
  srgbProfile ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then((b) => sharp(b).metadata())
    .then((m) => m.icc!);
  return srgbProfile;
}

/** Adds an ICC profile tag (34675) to the first IFD of a classic TIFF, by appending the profile and a new IFD. */
function tiffWithIcc(tiff: Buffer, icc: Buffer): Buffer {
  const le = tiff[0] === 0x49;
  const u16 = (o: number): number => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number): number => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  if (u16(2) !== 42) return tiff;
  const ifd = u32(4);
  const n = u16(ifd);
  const entries: Buffer[] = [];
  for (let k = 0; k < n; k++) entries.push(tiff.subarray(ifd + 2 + 12 * k, ifd + 14 + 12 * k));
  const tagOf = (e: Buffer): number => (le ? e.readUInt16LE(0) : e.readUInt16BE(0));
  if (entries.some((e) => tagOf(e) === 34675)) return tiff;
  const next = u32(ifd + 2 + 12 * n);
  const iccAt = tiff.length + (tiff.length & 1);
  const ifdAt = iccAt + icc.length + ((iccAt + icc.length) & 1);
  const out = Buffer.alloc(ifdAt + 2 + 12 * (n + 1) + 4);
  tiff.copy(out);
  icc.copy(out, iccAt);
  const entry = Buffer.alloc(12);
  const w16 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  w16(entry, 34675, 0);
  w16(entry, 7, 2); // UNDEFINED
  w32(entry, icc.length, 4);
  w32(entry, iccAt, 8);
  entries.push(entry);
  entries.sort((a, b) => tagOf(a) - tagOf(b));
  w16(out, n + 1, ifdAt);
  entries.forEach((e, k) => e.copy(out, ifdAt + 2 + 12 * k));
  w32(out, next, ifdAt + 2 + 12 * (n + 1));
  w32(out, ifdAt, 4);
  return out;
}

/**
 * Encodes pixels as an image file. Colour outputs carry an sRGB ICC profile (gray ones stay untagged, which
 * viewers read as sRGB gray). PNG, TIFF and WebP are lossless; 16-bit pixels stay 16-bit in PNG and TIFF and are
 * reduced to 8 bits for JPEG and WebP.
 */
export async function encodeImage(img: ImagePixels, format: OutputFormat, opts: EncodeImageOptions = {}): Promise<Buffer> {
  const gray = img.channels <= 2;
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  const keep16 = img.bitDepth === 16 && (format === 'png' || format === 'tiff');
  s = s.toColourspace(keep16 ? (gray ? 'grey16' : 'rgb16') : gray ? 'b-w' : 'srgb');
  // sharp's sRGB tagging is exact at 8 bits; PNG and 16-bit TIFF are tagged by hand (see pngTaggedSrgb).
  if (!gray && format !== 'png' && !keep16) s = s.withIccProfile('srgb');
  switch (format) {
    case 'png':
      return pngTaggedSrgb(await s.png({ compressionLevel: 9 }).toBuffer());
    case 'tiff': {
      const tiff = await s.tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer();
      return keep16 && !gray ? tiffWithIcc(tiff, await srgbIcc()) : tiff;
    }
    case 'webp':
      return opts.quality === undefined ? s.webp({ lossless: true, exact: true }).toBuffer() : s.webp({ quality: opts.quality }).toBuffer();
    case 'jpeg':
      return opts.quality === undefined
        ? s.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer()
        : s.jpeg({ quality: opts.quality }).toBuffer();
  }
}
