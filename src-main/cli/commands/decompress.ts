// `nmf-studio decompress`: .nmfz files back to images (PNG, JPEG, WebP or TIFF).

import { mkdir } from 'node:fs/promises';
import { throwIfCancelled, UserError } from '../../engine/errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../../codec/image-io.js';
import { decompressFile } from '../../jobs/compress.js';
import { choice, flag, parse, str } from '../args.js';
import { formatBytes, formatMs } from '../progress.js';
import type { CommandContext } from '../main.js';

export const DECOMPRESS_HELP = `Usage: nmf-studio decompress <file.nmfz>... --out DIR [options]

Decodes .nmfz files and writes DIR/<name>.png (or .jpg, .webp, .tif): the reconstruction W·H of every
plane, with alpha restored exactly. Inputs are never modified; outputs are written under a temporary
name and renamed; an existing output is skipped unless --overwrite.

Options:
  --out DIR                 output folder (created if missing; required)
  --format png|jpeg|webp|tiff
                            image format (default png; PNG, WebP and TIFF are lossless, JPEG is quality 95;
                            16-bit images keep 16 bits in PNG and TIFF)
  --overwrite               replace existing outputs
  --json                    one JSON object per input, a line each: input, output, status, error, format,
                            width, height, channels, bitDepth, bytes, ms

Exit codes: 0 all decoded or skipped, 1 some file could not be decoded (the rest were), 2 bad usage.`;

export async function decompressCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    format: { type: 'string' },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flag(values, 'help')) {
    ctx.stdout(DECOMPRESS_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UserError('give at least one .nmfz file to decompress', 'usage');
  const outDir = str(values, 'out');
  if (!outDir) throw new UserError('--out DIR is required (the folder the images go into)', 'usage');
  const format: OutputFormat = choice(values, 'format', OUTPUT_FORMATS) ?? 'png';
  const overwrite = flag(values, 'overwrite');
  const json = flag(values, 'json');
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create the output folder ${outDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }

  let failed = 0;
  for (const input of positionals) {
    throwIfCancelled(ctx.signal);
    const t0 = performance.now();
    const base = { input, output: null as string | null, format };
    try {
      const r = await decompressFile(input, outDir, { format, overwrite });
      const ms = Math.round(performance.now() - t0);
      if (json) {
        const { input: _input, output, pixels: _pixels, ...fields } = r;
        ctx.stdout(JSON.stringify({ input, output, status: 'ok', error: null, ...fields, ms }));
      } else {
        ctx.stdout(`${input} → ${r.output}: ${r.width}×${r.height}, ${r.channels} channel${r.channels === 1 ? '' : 's'}, ${r.bitDepth}-bit, ${formatBytes(r.bytes)}, ${formatMs(ms)}`);
      }
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      if (err.kind === 'usage') throw err;
      // An existing output is left alone and its input counted as done, as compress does.
      const skipped = /already exists/.test(err.message);
      if (skipped) {
        if (json) ctx.stdout(JSON.stringify({ ...base, status: 'skipped', error: err.message }));
        else ctx.stdout(`skipped ${input}: ${err.message}`);
        continue;
      }
      failed++;
      if (json) ctx.stdout(JSON.stringify({ ...base, status: 'error', error: err.message }));
      ctx.stderr(`nmf-studio: ${err.message}`);
    }
  }
  return failed ? 1 : 0;
}
