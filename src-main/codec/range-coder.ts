// The tiled layout's factor codes entropy-coded: each code's zig-zag delta (as packCodes makes it) coded bit by bit,
// most significant first, by a binary range coder whose probabilities adapt as they go. The context of a delta is the
// kind of sequence (a W column or an H row) and the delta before it, capped at 15 (or "first of its sequence").
//
// Why not Brotli, which the other layouts use: on the photo set's tiled payloads this comes 4–7 % smaller (the
// deltas are noise-like numbers, which LZ matching finds little in, and a context of the previous delta catches the
// smooth components' runs of small ones), and it runs in a few tens of milliseconds where Brotli's quality 10 took
// 0.6–1.6 s, on the path between the last fit and the file.
//
// The coder is LZMA's (Igor Pavlov's range coder, public domain): 32-bit range, carries propagated through a cached
// byte. Probabilities are 12-bit, each the mean of a fast (1/16) and a slow (1/128) estimate, all in integers, so
// that any decoder (docs/FORMAT.md specifies it) repeats the encoder's arithmetic exactly.

import { blockKernel } from '../backends/cpu/block-kernel.js';
import type { QuantizedPlane } from './quantize.js';

/** Code widths this coding holds (a bit tree of 2^bits nodes per context). */
export type RangeBits = 6 | 8;

const PROB_BITS = 12;
const PROB_ONE = 1 << PROB_BITS;
const FAST_SHIFT = 4;
const SLOW_SHIFT = 7;
/** A delta's context: min(previous delta, 15), or 16 at the start of a sequence; times two kinds (W, H). */
const PREVIOUS_CAP = 15;
const START = PREVIOUS_CAP + 1;
const CONTEXTS = 2 * (START + 1);
const TOP = 2 ** 24;
const LOW_SPAN = 2 ** 32;

/** The codes of one tile (rows, cols, rank and its W and H codes, as QuantizedPlane holds them). */
export type TileCodes = Pick<QuantizedPlane, 'rows' | 'cols' | 'rank' | 'wCodes' | 'hCodes'>;

class Models {
  readonly fast: Uint16Array;
  readonly slow: Uint16Array;
  constructor(bits: RangeBits) {
    this.fast = new Uint16Array(CONTEXTS << bits).fill(PROB_ONE / 2);
    this.slow = new Uint16Array(CONTEXTS << bits).fill(PROB_ONE / 2);
  }
}

/** The encoder's bytes, and the carry it may still owe them: LZMA's ShiftLow. */
class ByteSink {
  bytes: Uint8Array;
  length = 0;
  private cache = 0;
  private cacheSize = 1;
  constructor(expected: number) {
    this.bytes = new Uint8Array(Math.max(64, expected));
  }
  /**
   * Moves the top byte of low's 32 bits out, returning what is left of low. A byte of 0xff is held back (counted in
   * cacheSize) until it is known whether a carry will still turn it, and the byte before it, over.
   */
  shift(low: number): number {
    if (low < 0xff000000 || low >= LOW_SPAN) {
      const carry = low >= LOW_SPAN ? 1 : 0;
      if (this.length + this.cacheSize > this.bytes.length) {
        const grown = new Uint8Array(2 * this.bytes.length + this.cacheSize);
        grown.set(this.bytes);
        this.bytes = grown;
      }
      this.bytes[this.length++] = (this.cache + carry) & 0xff;
      for (; this.cacheSize > 1; this.cacheSize--) this.bytes[this.length++] = (0xff + carry) & 0xff;
      this.cacheSize = 0;
      this.cache = Math.floor(low / TOP) & 0xff;
    }
    this.cacheSize++;
    return (low % TOP) * 256;
  }
}

/**
 * The codes of these tiles (in file order: each tile's k W columns, then its k H rows, every sequence
 * delta-coded from 0) range-coded into bytes: by the WebAssembly block kernel where it runs (the same bytes, in a tenth
 * of the time: a photograph's million codes took a quarter of a second here), else by encodeTileCodesHere.
 */
export function encodeTileCodes(tiles: readonly TileCodes[], bits: RangeBits): Uint8Array {
  return blockKernel()?.rangeEncode(tiles, bits, CONTEXTS << bits, PROB_ONE / 2) ?? encodeTileCodesHere(tiles, bits);
}

/** encodeTileCodes in TypeScript: the reference the kernel is held to. */
export function encodeTileCodesHere(tiles: readonly TileCodes[], bits: RangeBits): Uint8Array {
  const { fast, slow } = new Models(bits);
  const mask = (1 << bits) - 1;
  const half = 1 << (bits - 1);
  let symbols = 0;
  for (const t of tiles) symbols += t.rank * (t.rows + t.cols);
  const sink = new ByteSink(Math.ceil(symbols * 0.75));
  // The coder's state in locals (numbers past 2^31 stay unboxed in registers, not on the heap).
  let low = 0;
  let range = 0xffffffff;
  for (const t of tiles) {
    for (let kind = 0; kind < 2; kind++) {
      const codes = kind === 0 ? t.wCodes : t.hCodes;
      const length = kind === 0 ? t.rows : t.cols;
      for (let start = 0; start < codes.length; start += length) {
        let prev = 0;
        let context = kind * (START + 1) + START;
        for (let i = start; i < start + length; i++) {
          const q = codes[i]!;
          let d = (q - prev) & mask;
          prev = q;
          if (d >= half) d -= mask + 1;
          const z = d >= 0 ? 2 * d : -2 * d - 1;
          const base = context << bits;
          let node = 1;
          for (let b = bits - 1; b >= 0; b--) {
            const bit = (z >>> b) & 1;
            const at = base + node;
            const f = fast[at]!;
            const g = slow[at]!;
            const bound = (range >>> PROB_BITS) * ((f + g) >>> 1);
            if (bit === 0) {
              range = bound;
              fast[at] = f + ((PROB_ONE - f) >>> FAST_SHIFT);
              slow[at] = g + ((PROB_ONE - g) >>> SLOW_SHIFT);
            } else {
              low += bound;
              range -= bound;
              fast[at] = f - (f >>> FAST_SHIFT);
              slow[at] = g - (g >>> SLOW_SHIFT);
            }
            node = (node << 1) | bit;
            while (range < TOP) {
              range = (range * 256) >>> 0;
              low = sink.shift(low);
            }
          }
          context = kind * (START + 1) + (z < PREVIOUS_CAP ? z : PREVIOUS_CAP);
        }
      }
    }
  }
  for (let i = 0; i < 5; i++) low = sink.shift(low);
  return sink.bytes.slice(0, sink.length);
}

/**
 * Inverse of encodeTileCodes for tiles of these shapes. Throws a RangeError when the bytes end before the codes do
 * or run on after them (a corrupt file; the caller names it).
 */
export function decodeTileCodes(
  bytes: Uint8Array,
  shapes: readonly { rows: number; cols: number; rank: number }[],
  bits: RangeBits,
): { wCodes: Uint16Array; hCodes: Uint16Array }[] {
  const { fast, slow } = new Models(bits);
  const mask = (1 << bits) - 1;
  const n = bytes.length;
  // Past the end reads as zeros, counted: a file is corrupt if its codes needed them.
  let pos = 0;
  let code = 0;
  let range = 0xffffffff;
  for (; pos < 5; pos++) code = ((code * 256) >>> 0) + (pos < n ? bytes[pos]! : 0);
  const out = shapes.map((t) => ({ wCodes: new Uint16Array(t.rank * t.rows), hCodes: new Uint16Array(t.rank * t.cols) }));
  for (let ti = 0; ti < shapes.length; ti++) {
    for (let kind = 0; kind < 2; kind++) {
      const codes = kind === 0 ? out[ti]!.wCodes : out[ti]!.hCodes;
      const length = kind === 0 ? shapes[ti]!.rows : shapes[ti]!.cols;
      for (let start = 0; start < codes.length; start += length) {
        let prev = 0;
        let context = kind * (START + 1) + START;
        for (let i = start; i < start + length; i++) {
          const base = context << bits;
          let node = 1;
          for (let b = 0; b < bits; b++) {
            const at = base + node;
            const f = fast[at]!;
            const g = slow[at]!;
            const bound = (range >>> PROB_BITS) * ((f + g) >>> 1);
            if (code < bound) {
              range = bound;
              fast[at] = f + ((PROB_ONE - f) >>> FAST_SHIFT);
              slow[at] = g + ((PROB_ONE - g) >>> SLOW_SHIFT);
              node <<= 1;
            } else {
              code -= bound;
              range -= bound;
              fast[at] = f - (f >>> FAST_SHIFT);
              slow[at] = g - (g >>> SLOW_SHIFT);
              node = (node << 1) | 1;
            }
            while (range < TOP) {
              range = (range * 256) >>> 0;
              code = ((code * 256) >>> 0) + (pos < n ? bytes[pos]! : 0);
              pos++;
            }
          }
          const z = node - (1 << bits);
          prev = (prev + ((z >>> 1) ^ -(z & 1))) & mask;
          codes[i] = prev;
          context = kind * (START + 1) + (z < PREVIOUS_CAP ? z : PREVIOUS_CAP);
        }
      }
    }
  }
  if (pos > n) throw new RangeError(`the factor codes run past the end of their ${n} bytes`);
  if (pos < n) throw new RangeError(`${n - pos} unexpected bytes after the factor codes`);
  return out;
}
