// Viridis (perceptually uniform, colour-blind safe) as a small table, and matrix → RGBA heat-map pixels.

// matplotlib's viridis sampled at 17 evenly spaced points; linear interpolation between them is
// indistinguishable from the full 256-entry table at heat-map scale.
const VIRIDIS_STOPS = [
  0x440154, 0x48186a, 0x472d7b, 0x424086, 0x3b528b, 0x33638d, 0x2c728e, 0x26828e, 0x21918c, 0x1fa088, 0x28ae80,
  0x3fbc73, 0x5ec962, 0x84d44b, 0xaddc30, 0xd8e219, 0xfde725,
];

/** 256 RGB entries, built once. */
const LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  const last = VIRIDIS_STOPS.length - 1;
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * last;
    const k = Math.min(Math.floor(t), last - 1);
    const f = t - k;
    const a = VIRIDIS_STOPS[k]!;
    const b = VIRIDIS_STOPS[k + 1]!;
    for (let c = 0; c < 3; c++) {
      const shift = 16 - 8 * c;
      const ca = (a >> shift) & 255;
      const cb = (b >> shift) & 255;
      lut[i * 3 + c] = Math.round(ca + (cb - ca) * f);
    }
  }
  return lut;
})();

/** Colour of missing cells: outside viridis's range, so it can't be read as a value. */
export const MISSING_RGB: readonly [number, number, number] = [230, 40, 120];

export function viridisCss(t: number): string {
  const i = Math.max(0, Math.min(255, Math.round(t * 255)));
  return `rgb(${LUT[i * 3]}, ${LUT[i * 3 + 1]}, ${LUT[i * 3 + 2]})`;
}

/** CSS gradient stops for legends. */
export function viridisGradient(direction = 'to right'): string {
  const stops = VIRIDIS_STOPS.map((c, i) => `#${c.toString(16).padStart(6, '0')} ${((i / (VIRIDIS_STOPS.length - 1)) * 100).toFixed(1)}%`);
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

export interface ValueRange {
  min: number;
  max: number;
}

/** Min and max over the finite values (NaN = missing is skipped); {0, 1} for an empty or constant-free matrix. */
export function finiteRange(data: ArrayLike<number>): ValueRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === Infinity) return { min: 0, max: 1 };
  return { min, max };
}

/** RGBA pixels, one per cell, viridis over [range.min, range.max]; missing cells in MISSING_RGB. */
export function heatmapPixels(data: ArrayLike<number>, range: ValueRange): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(data.length * 4);
  const span = range.max - range.min;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const o = i * 4;
    if (Number.isNaN(v)) {
      out[o] = MISSING_RGB[0];
      out[o + 1] = MISSING_RGB[1];
      out[o + 2] = MISSING_RGB[2];
    } else {
      const t = span > 0 ? (v - range.min) / span : 0.5;
      const k = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
      out[o] = LUT[k]!;
      out[o + 1] = LUT[k + 1]!;
      out[o + 2] = LUT[k + 2]!;
    }
    out[o + 3] = 255;
  }
  return out;
}
