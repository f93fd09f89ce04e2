// One tile of a tiled result as the tile overlay shows it when clicked: its place in the plane and its components.

import type { TileComponents, TileMap } from '../api/contract.js';
import type { PlaneName } from '../codec/colour.js';
import { dequantizePlane, type QuantizedPlane } from '../codec/quantize.js';
import type { QuantBits } from '../codec/types.js';
import { UserError } from '../engine/errors.js';
import { allocate } from '../engine/matrix.js';
import { componentInfos } from './rasters.js';

/**
 * Tile `tile` (row-major) of plane `plane`: from the stored codes of every plane's tiles (`quantized[plane][tile]`)
 * and the result's tile map. Its components are the stored ones, dequantised as the decoder does.
 */
export function tileComponents(map: TileMap, quantized: readonly (readonly QuantizedPlane[])[], bits: QuantBits, plane: number, tile: number): TileComponents {
  const info = map.planes[plane];
  const q = quantized[plane]?.[tile];
  if (!info || !q) throw new UserError(`no tile ${tile} in plane ${plane} (the image has ${map.planes.length} planes of ${map.tilesX}×${map.tilesY} tiles)`);
  const x = (tile % map.tilesX) * map.tileSize;
  const y = Math.floor(tile / map.tilesX) * map.tileSize;
  const { Wt, H } = dequantizePlane(q, bits);
  const W = allocate(q.rows, q.rank, 'float64');
  for (let j = 0; j < q.rank; j++) for (let i = 0; i < q.rows; i++) W.data[i * q.rank + j] = Wt[j * q.rows + i]!;
  // a component the encoder zeroed (scale 0) adds nothing and is not shown
  const components = componentInfos([{ name: info.name as PlaneName, W, H: { rows: q.rank, cols: q.cols, data: H } }]).filter((c) => c.energy > 0);
  return { plane, planeName: info.name, tile, x, y, width: q.cols, height: q.rows, rank: q.rank, components };
}
