import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { dequantizePlane } from '../../src-main/codec/quantize.js';
import { UserError } from '../../src-main/engine/errors.js';
import { createReferenceBackend } from '../../src-main/engine/index.js';
import { compressImage } from '../../src-main/jobs/compress.js';
import { tileComponents } from '../../src-main/jobs/tile-components.js';
import { fixture } from '../helpers/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nmf-tile-components-'));
const backend = createReferenceBackend();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await backend.dispose();
});

test('a tile of a tiled result: its place, its rank as the tile map says, and one picture per stored component', async () => {
  // 300×200: tiles of the size the encoder chose, the last column and row smaller
  const input = path.join(dir, 'cat.png');
  await sharp(fixture('images', 'chelsea.png')).resize(300, 200, { fit: 'fill' }).png().toFile(input);
  const outcome = await compressImage(input, dir, { layout: 'tiled', psnr: 30, backend, maxIter: 20 });
  const map = outcome.tiles;
  const quantized = outcome.content.tiles;
  assert.ok(map && quantized, 'a tiled result');
  const T = map.tileSize;
  const X = map.tilesX;
  assert.deepEqual([X, map.tilesY], [Math.ceil(300 / T), Math.ceil(200 / T)]);
  const bits = outcome.content.header.quantization.bits;

  let seen = 0;
  for (const [p, plane] of map.planes.entries()) {
    for (let t = 0; t < map.tilesX * map.tilesY; t++) {
      const tile = tileComponents(map, quantized, bits, p, t);
      assert.equal(tile.planeName, plane.name);
      assert.equal(tile.rank, plane.ranks[t], `plane ${plane.name} tile ${t}`);
      const [x, y] = [(t % X) * T, Math.floor(t / X) * T];
      assert.deepEqual([tile.x, tile.y], [x, y]);
      assert.deepEqual([tile.width, tile.height], [Math.min(T, 300 - x), Math.min(T, 200 - y)]);
      // one per component with something stored, largest energy first, shares adding up to 1
      const stored: number = Array.from(quantized[p]![t]!.scales).filter((s) => s > 0).length;
      assert.equal(tile.components.length, stored);
      const energies = tile.components.map((c) => c.energy);
      assert.deepEqual(energies, [...energies].sort((a, b) => b - a));
      if (stored) assert.ok(Math.abs(energies.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      for (const c of tile.components) {
        assert.ok(c.index >= 0 && c.index < tile.rank);
        assert.equal(c.thumbnail.rgba.length, c.thumbnail.width * c.thumbnail.height * 4);
        assert.deepEqual([c.thumbnail.width, c.thumbnail.height], [tile.width, tile.height]);
      }
      // The brightest component's picture peaks where its stored w·hᵀ does.
      if (stored) {
        const j = tile.components[0]!.index;
        const { Wt, H } = dequantizePlane(quantized[p]![t]!, bits);
        let best = -1;
        let at = 0;
        for (let i = 0; i < tile.height; i++) for (let l = 0; l < tile.width; l++) {
          const v = Wt[j * tile.height + i]! * H[j * tile.width + l]!;
          if (v > best) [best, at] = [v, i * tile.width + l];
        }
        assert.equal(tile.components[0]!.thumbnail.rgba[at * 4], 255);
      }
      seen += tile.rank;
    }
  }
  assert.equal(seen, outcome.record.rank, 'the tiles’ ranks add up to the record’s');
  const past = X * map.tilesY;
  assert.throws(() => tileComponents(map, quantized, bits, 0, past), (e: unknown) => e instanceof UserError && new RegExp(`no tile ${past} in plane 0`).test(e.message));
  assert.throws(() => tileComponents(map, quantized, bits, 3, 0), UserError);
});
