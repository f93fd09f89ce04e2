// `nmf-studio info`: the header of .nmfz files as JSON (size, rank, planes, settings, ratios); the factors are not decoded.

import { throwIfCancelled, UserError } from '../../engine/errors.js';
import { readInfo } from '../../jobs/compress.js';
import { flag, parse } from '../args.js';
import type { CommandContext } from '../main.js';

export const INFO_HELP = `Usage: nmf-studio info <file.nmfz>...

Prints the header of a .nmfz file as JSON: file, formatVersion, width, height, channels, bitDepth,
colorMode, rank, planes (name, rows, cols, rank; deblock in the tiled layout), layout and tileSize (the
tiled layout, format version 3), quantization, alpha, nmf (the settings it was made
with), original (name, format, bytes), software, quality (psnr, ssim, relErr against the original, as
measured when the file was written; absent in files written before it was kept), compressedBytes,
rawBytes, ratio, fileRatio, factorRatio. The header's checksum is verified. With several files, one JSON object per line.

Exit codes: 0 success, 1 some file is not a readable .nmfz file, 2 bad usage.`;

export async function infoCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(args, { help: { type: 'boolean', short: 'h' } });
  if (flag(values, 'help')) {
    ctx.stdout(INFO_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UserError('give a .nmfz file', 'usage');
  let failed = 0;
  for (const file of positionals) {
    throwIfCancelled(ctx.signal);
    try {
      const info = await readInfo(file);
      ctx.stdout(positionals.length === 1 ? JSON.stringify(info, null, 2) : JSON.stringify(info));
    } catch (err) {
      if (!(err instanceof UserError) || err.kind === 'usage') throw err;
      failed++;
      ctx.stderr(`nmf-studio: ${err.message}`);
    }
  }
  return failed ? 1 : 0;
}
