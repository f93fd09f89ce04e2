// The range coder of version 4's factor codes: exact round trips on every shape and code width it holds, real
// compression where the codes have structure, none invented where they have none, and corrupt bytes refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTileCodes, encodeTileCodes, encodeTileCodesHere } from '../../src-main/codec/range-coder.js';
import { BlockKernel } from '../../src-main/backends/cpu/block-kernel.js';
import type { RangeBits, TileCodes } from '../../src-main/codec/range-coder.js';
import { RandomState } from '../../src-main/engine/rng.js';

function tile(rows: number, cols: number, rank: number, code: (i: number, kind: 'w' | 'h') => number): TileCodes {
  return {
    rows,
    cols,
    rank,
    wCodes: Uint16Array.from({ length: rank * rows }, (_, i) => code(i, 'w')),
    hCodes: Uint16Array.from({ length: rank * cols }, (_, i) => code(i, 'h')),
  };
}

function roundTrip(tiles: TileCodes[], bits: RangeBits): Uint8Array {
  const bytes = encodeTileCodes(tiles, bits);
  // Both encoders, the WebAssembly kernel's (where it runs) and the TypeScript one, write the same bytes.
  assert.deepEqual(encodeTileCodesHere(tiles, bits), bytes);
  const kernel = BlockKernel.create('simd');
  if (kernel) assert.deepEqual(kernel.rangeEncode(tiles, bits, 34 << bits, 2048), bytes);
  const back = decodeTileCodes(bytes, tiles, bits);
  assert.equal(back.length, tiles.length);
  back.forEach((b, i) => {
    assert.deepEqual(b.wCodes, tiles[i]!.wCodes, `tile ${i} W`);
    assert.deepEqual(b.hCodes, tiles[i]!.hCodes, `tile ${i} H`);
  });
  return bytes;
}

test('codes of every shape come back exactly, 6- and 8-bit, including the extremes that make carries', () => {
  const rng = new RandomState(7);
  for (const bits of [6, 8] as const) {
    const top = (1 << bits) - 1;
    const tiles = [
      tile(1, 1, 1, () => top),
      tile(5, 9, 0, () => 0),
      tile(128, 128, 20, () => Math.floor(rng.randomSample() * (top + 1))),
      tile(7, 300, 3, (i) => (i % 2 ? top : 0)), // the largest deltas, back and forth
      tile(64, 64, 4, () => top), // one long run: probabilities pushed to their limits
      tile(33, 17, 5, (i) => Math.floor(top / 2 + (top / 2) * Math.sin(i / 9))),
    ];
    roundTrip(tiles, bits);
  }
  assert.deepEqual(decodeTileCodes(encodeTileCodes([], 6), [], 6), []);
});

test('smooth profiles cost a fraction of a byte per code, noise close to its bits (the models learn what is there)', () => {
  const rng = new RandomState(3);
  const smooth = [tile(128, 128, 10, (i) => Math.round(31 + 25 * Math.sin(i / 40)))];
  const noise = [tile(128, 128, 10, () => Math.floor(rng.randomSample() * 64))];
  const codes = 10 * 256;
  const smoothBytes = roundTrip(smooth, 6).length;
  const noiseBytes = roundTrip(noise, 6).length;
  assert.ok(smoothBytes < 0.25 * codes, `smooth: ${(smoothBytes / codes).toFixed(3)} bytes per code`);
  // Uniform 6-bit codes hold 6 bits each, deltas of them nearly as much: no coder can do much better than 0.75.
  assert.ok(noiseBytes > 0.72 * codes && noiseBytes < 0.8 * codes, `noise: ${(noiseBytes / codes).toFixed(3)} bytes per code`);
});

test('bytes cut short or running on are refused, not decoded into other codes', () => {
  const rng = new RandomState(11);
  const tiles = [tile(40, 50, 6, () => Math.floor(rng.randomSample() * 64))];
  const bytes = encodeTileCodes(tiles, 6);
  assert.throws(() => decodeTileCodes(bytes.subarray(0, bytes.length - 3), tiles, 6), /the factor codes run past the end of their \d+ bytes/);
  const longer = new Uint8Array(bytes.length + 2);
  longer.set(bytes);
  assert.throws(() => decodeTileCodes(longer, tiles, 6), /2 unexpected bytes after the factor codes/);
  // Shapes other than those coded read a different number of codes: refused as well.
  assert.throws(() => decodeTileCodes(bytes, [{ ...tiles[0]!, rank: 7 }], 6), /run past the end|unexpected bytes/);
});
