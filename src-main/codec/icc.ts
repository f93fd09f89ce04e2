// ICC colour management for 16-bit pixels: matrix/TRC RGB and gray profiles converted to sRGB in float64.
//
// sharp converts embedded profiles well at 8 bits, but at 16 bits (libvips 8.18 through sharp 0.35) it either skips
// the conversion or quantises it to 8 bits. Almost every RGB working space a 16-bit file carries (Adobe RGB,
// ProPhoto, Display P3, Rec. 2020, sRGB itself) is a matrix/TRC profile, which is a few numbers and three curves:
// converting with those keeps all 16 bits.

const tagSig = (s: string): number => (s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3);

/** A tone reproduction curve: encoded value in [0, 1] → linear light in [0, 1]. */
export type Curve = (x: number) => number;

export type IccProfile =
  | { kind: 'rgb'; toXYZ: number[]; curves: [Curve, Curve, Curve] }
  | { kind: 'gray'; curve: Curve }
  | { kind: 'unsupported'; reason: string };

/** sRGB's colorants adapted to the ICC D50 white (as in the common sRGB profiles), rows X, Y, Z. */
const SRGB_TO_XYZ_D50 = [0.4360747, 0.3850649, 0.1430804, 0.2225045, 0.7168786, 0.0606169, 0.0139322, 0.0971045, 0.7141733];

export function srgbDecode(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

export function srgbEncode(l: number): number {
  return l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055;
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

function mul3(m: number[], n: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r * 3 + c]! += m[r * 3 + k]! * n[k * 3 + c]!;
  return out;
}

function readCurve(view: DataView, offset: number, size: number): Curve | null {
  if (size < 12) return null;
  const type = view.getUint32(offset);
  if (type === tagSig('curv')) {
    const n = view.getUint32(offset + 8);
    if (size < 12 + 2 * n) return null;
    if (n === 0) return (x) => x;
    if (n === 1) {
      const gamma = view.getUint16(offset + 12) / 256;
      return (x) => x ** gamma;
    }
    const table = new Float64Array(n);
    for (let k = 0; k < n; k++) table[k] = view.getUint16(offset + 12 + 2 * k) / 65535;
    return (x) => {
      const p = Math.min(Math.max(x, 0), 1) * (n - 1);
      const k = Math.min(n - 2, Math.floor(p));
      const t = p - k;
      return table[k]! * (1 - t) + table[k + 1]! * t;
    };
  }
  if (type === tagSig('para')) {
    const fn = view.getUint16(offset + 8);
    const count = [1, 3, 4, 5, 7][fn];
    if (count === undefined || size < 12 + 4 * count) return null;
    const p = Array.from({ length: 7 }, (_, k) => (k < count ? view.getInt32(offset + 12 + 4 * k) / 65536 : 0));
    const [g, a, b, c, d, e, f] = p as [number, number, number, number, number, number, number];
    switch (fn) {
      case 0:
        return (x) => x ** g;
      case 1:
        return (x) => (x >= -b / a ? (a * x + b) ** g : 0);
      case 2:
        return (x) => (x >= -b / a ? (a * x + b) ** g + c : c);
      case 3:
        return (x) => (x >= d ? (a * x + b) ** g : c * x);
      default:
        return (x) => (x >= d ? (a * x + b) ** g + e : c * x + f);
    }
  }
  return null;
}

/** Reads the parts of an ICC profile a matrix/TRC conversion needs; anything else is 'unsupported' with a reason. */
export function parseIcc(bytes: Uint8Array): IccProfile {
  if (bytes.length < 132) return { kind: 'unsupported', reason: 'profile too short' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const space = view.getUint32(16);
  const pcs = view.getUint32(20);
  if (pcs !== tagSig('XYZ ')) return { kind: 'unsupported', reason: 'Lab connection space' };
  const tags = new Map<number, { offset: number; size: number }>();
  const count = view.getUint32(128);
  for (let t = 0; t < count && 132 + 12 * t + 12 <= bytes.length; t++) {
    const at = 132 + 12 * t;
    const offset = view.getUint32(at + 4);
    const size = view.getUint32(at + 8);
    if (offset + size <= bytes.length) tags.set(view.getUint32(at), { offset, size });
  }
  const curve = (sig: string): Curve | null => {
    const t = tags.get(tagSig(sig));
    return t ? readCurve(view, t.offset, t.size) : null;
  };
  if (space === tagSig('GRAY')) {
    const k = curve('kTRC');
    return k ? { kind: 'gray', curve: k } : { kind: 'unsupported', reason: 'gray profile without a kTRC curve' };
  }
  if (space !== tagSig('RGB ')) return { kind: 'unsupported', reason: 'not an RGB or gray profile' };
  const xyz = (sig: string): number[] | null => {
    const t = tags.get(tagSig(sig));
    if (!t || t.size < 20 || view.getUint32(t.offset) !== tagSig('XYZ ')) return null;
    return [0, 1, 2].map((k) => view.getInt32(t.offset + 8 + 4 * k) / 65536);
  };
  const r = xyz('rXYZ');
  const g = xyz('gXYZ');
  const b = xyz('bXYZ');
  const cr = curve('rTRC');
  const cg = curve('gTRC');
  const cb = curve('bTRC');
  if (!r || !g || !b || !cr || !cg || !cb) return { kind: 'unsupported', reason: 'not a matrix/TRC profile' };
  return { kind: 'rgb', toXYZ: [r[0]!, g[0]!, b[0]!, r[1]!, g[1]!, b[1]!, r[2]!, g[2]!, b[2]!], curves: [cr, cg, cb] };
}

/** True when a profile is sRGB to within what 16-bit samples can show: converting would only add rounding. */
export function isSrgb(p: IccProfile): boolean {
  if (p.kind === 'gray') {
    for (let x = 0; x <= 1; x += 1 / 64) if (Math.abs(p.curve(x) - srgbDecode(x)) > 2e-4) return false;
    return true;
  }
  if (p.kind !== 'rgb') return false;
  if (p.toXYZ.some((v, k) => Math.abs(v - SRGB_TO_XYZ_D50[k]!) > 2e-3)) return false;
  for (const c of p.curves) for (let x = 0; x <= 1; x += 1 / 64) if (Math.abs(c(x) - srgbDecode(x)) > 2e-4) return false;
  return true;
}

/**
 * Converts 16-bit samples (colour channels first, alpha untouched) from a matrix/TRC profile to sRGB, in place:
 * decode each channel through its curve, colorants → XYZ (D50) → sRGB's linear RGB, clip to the gamut, sRGB-encode,
 * round. This is the relative colorimetric result, which is what matrix/TRC profiles give for every intent.
 */
export function convertToSrgb16(data: Uint16Array, channels: number, profile: IccProfile): void {
  if (profile.kind === 'unsupported') throw new Error(profile.reason);
  const n = data.length / channels;
  const lut = (c: Curve): Float64Array => {
    const t = new Float64Array(65536);
    for (let v = 0; v < 65536; v++) t[v] = c(v / 65535);
    return t;
  };
  const enc = (l: number): number => Math.round(srgbEncode(l < 0 ? 0 : l > 1 ? 1 : l) * 65535);
  if (profile.kind === 'gray') {
    const t = lut(profile.curve);
    for (let p = 0; p < n; p++) data[p * channels] = enc(t[data[p * channels]!]!);
    return;
  }
  const [tr, tg, tb] = profile.curves.map(lut) as [Float64Array, Float64Array, Float64Array];
  const m = mul3(invert3(SRGB_TO_XYZ_D50), profile.toXYZ);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m as [number, number, number, number, number, number, number, number, number];
  for (let p = 0; p < n; p++) {
    const i = p * channels;
    const r = tr[data[i]!]!;
    const g = tg[data[i + 1]!]!;
    const b = tb[data[i + 2]!]!;
    data[i] = enc(m0 * r + m1 * g + m2 * b);
    data[i + 1] = enc(m3 * r + m4 * g + m5 * b);
    data[i + 2] = enc(m6 * r + m7 * g + m8 * b);
  }
}
