// The window's first look at a reconstruction: the image shrunk to a few hundred pixels across and each of its
// planes factorized at a low rank, shown while the real encoding runs.

import sharp, { type OutputInfo } from 'sharp';
import type { Raster } from '../api/contract.js';
import { imageToPlanes, planeLayouts, splitRank } from '../codec/colour.js';
import type { ColorMode, ImagePixels } from '../codec/types.js';
import { createReferenceBackend, factorize, type CancelSignal, type Matrix } from '../engine/index.js';
import { previewRaster } from './rasters.js';

/** Longest side of the shrunk image: enough to see the picture, small enough to fit at once. */
export const COARSE_SIDE = 128;
/** Total rank over the planes, shared as the encoder shares it. */
export const COARSE_RANK = 32;
const COARSE_ITERATIONS = 25;

export interface CoarsePreview {
  raster: Raster;
  /** What it is, for the caption: 'coarse preview: rank 32 at 128×80'. */
  stage: string;
}

/**
 * A low-rank, low-resolution reconstruction of the image file. It runs on the plain TypeScript backend, so that it
 * does not wait for the chosen backend to start (a GPU takes seconds to probe); at this size that costs little.
 * Returns null where the file cannot be shrunk (the real encoding then reports why).
 */
export async function coarsePreview(file: string, mode: ColorMode, signal?: CancelSignal): Promise<CoarsePreview | null> {
  let shrunk: { data: Buffer; info: OutputInfo };
  try {
    shrunk = await sharp(file, { limitInputPixels: false })
      .rotate()
      .resize({ width: COARSE_SIDE, height: COARSE_SIDE, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch {
    return null;
  }
  const { width, height, channels } = shrunk.info;
  if (channels !== 1 && channels !== 3) return null;
  const img: ImagePixels = { width, height, channels, bitDepth: 8, data: new Uint8Array(shrunk.data.buffer, shrunk.data.byteOffset, shrunk.data.length) };
  const layouts = planeLayouts(img, mode);
  const planes = imageToPlanes(img, mode, 'float32');
  const ranks = splitRank(layouts, mode, Math.max(layouts.length, COARSE_RANK)).map((r, i) => Math.min(r, layouts[i]!.rows, layouts[i]!.cols));
  const backend = createReferenceBackend();
  const factors: { W: Matrix; H: Matrix }[] = [];
  for (const [i, V] of planes.entries()) {
    const fit = await factorize(V, { rank: ranks[i]!, solver: 'hals', init: 'nndsvda', maxIter: COARSE_ITERATIONS, tol: 0, backend, signal });
    factors.push({ W: fit.W, H: fit.H });
  }
  const total = ranks.reduce((a, b) => a + b, 0);
  return {
    raster: previewRaster(mode, layouts.map((l) => l.name), factors, { width, height }, COARSE_SIDE),
    stage: `coarse preview: rank ${total} at ${width}×${height}`,
  };
}
