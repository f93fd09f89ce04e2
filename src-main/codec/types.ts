// The shapes that pass between image decoding, the colour modes, the .nmfz container and the metrics.

/** How the colour channels become matrices: one matrix side by side, one per RGB channel, or one per YCbCr channel. */
export type ColorMode = 'stacked' | 'channels' | 'ycbcr';
export const COLOR_MODES: readonly ColorMode[] = ['stacked', 'channels', 'ycbcr'];

/** Bits per stored factor entry (6 needs format version 2, see docs/FORMAT.md). */
export type QuantBits = 6 | 8 | 12 | 16;
export const QUANT_BITS: readonly QuantBits[] = [6, 8, 12, 16];

export type BitDepth = 8 | 16;

/** Decoded pixels, interleaved row-major, alpha last when present, in sRGB (or gray). */
export interface ImagePixels {
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitDepth: BitDepth;
  readonly data: Uint8Array | Uint16Array;
}

export function hasAlpha(img: { channels: number }): boolean {
  return img.channels === 2 || img.channels === 4;
}

export function colourChannels(img: { channels: number }): 1 | 3 {
  return img.channels <= 2 ? 1 : 3;
}

/**
 * A decoded value as a sample: rounded to the nearest integer (halves up, as Math.round) and clamped to 0 … max.
 * Math.floor and a correction instead of Math.round, which is several times slower on CPUs without SSE4.1's
 * rounding instruction; the correction makes it exact where v + 0.5 rounds up to the next integer.
 */
export function toSample(v: number, max: number): number {
  let r = Math.floor(v + 0.5);
  if (v < r - 0.5) r -= 1;
  return r < 0 ? 0 : r > max ? max : r;
}

export function maxValue(bitDepth: BitDepth): number {
  return bitDepth === 16 ? 65535 : 255;
}
