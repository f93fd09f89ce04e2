// Decimal number scanning and shortest round-trip formatting shared by the text readers and writers.

import type { DType } from '../engine/matrix.js';

/** Exact powers of ten: every one up to 1e22 is exactly representable as a double. */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MAX_EXACT = 9007199254740992; // 2^53
/** Digits gathered into the high part of the mantissa: 10^15 < 2^53, so it stays exact. */
const HIGH_DIGITS = 15;
/** Up to 19 significant digits (numpy's '%.18e') fit the two-part mantissa: 10^19 < 2^64. */
const MAX_DIGITS = 19;

/** Where the last scanDecimal call stopped (one past the last character of the number). */
export const scan = { end: 0 };

// Double-double arithmetic for mantissas beyond 2^53 and exponents beyond ±22: about 104 correct bits,
// enough to round correctly unless the value lies within 2^-99 of a halfway point, which is then left
// to Number(). Splitting (Dekker) stands in for the fused multiply-add JavaScript lacks.
const SPLITTER = 134217729; // 2^27 + 1
let ddHi = 0;
let ddLo = 0;

function twoProduct(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  ddHi = p;
  ddLo = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** (ddHi, ddLo) ← (hi + lo) × p, p an exact power of ten. */
function ddMul(hi: number, lo: number, p: number): void {
  twoProduct(hi, p);
  const e = ddLo + lo * p;
  const s = ddHi + e;
  ddLo = e - (s - ddHi);
  ddHi = s;
}

/** (ddHi, ddLo) ← (hi + lo) / p, p an exact power of ten. */
function ddDiv(hi: number, lo: number, p: number): void {
  const q1 = hi / p;
  twoProduct(q1, p);
  const s = hi - ddHi;
  const v = s - hi;
  const f = hi - (s - v) - (ddHi + v) - ddLo + lo;
  const q2 = (s + f) / p;
  const r = q1 + q2;
  ddLo = q2 - (r - q1);
  ddHi = r;
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** Half the spacing of doubles at each binary exponent. */
const HALF_ULP = Array.from({ length: 2048 }, (_, e) => 2 ** (Math.max(e, 1) - 1076));

/**
 * hi × 10^exponent + lo × 10^exponent rounded to a double, or NaN where double-double precision cannot
 * decide the rounding (near a halfway point, a power of two, or outside the normal range).
 */
function roundDoubleDouble(hi: number, lo: number, exponent: number): number {
  ddHi = hi;
  ddLo = lo;
  let e = exponent;
  while (e > 0) {
    const k = e > 22 ? 22 : e;
    ddMul(ddHi, ddLo, POW10[k]!);
    e -= k;
  }
  while (e < 0) {
    const k = e < -22 ? 22 : -e;
    ddDiv(ddHi, ddLo, POW10[k]!);
    e += k;
  }
  const r = ddHi;
  const tail = ddLo;
  bits[0] = r;
  const high = words[HIGH_WORD]!;
  const biased = (high >>> 20) & 0x7ff;
  if (biased < 64 || biased > 2000) return NaN;
  if ((high & 0xfffff) === 0 && words[1 - HIGH_WORD] === 0) return NaN;
  const margin = HALF_ULP[biased]! - (tail < 0 ? -tail : tail);
  return margin > r * 1.6e-30 ? r : NaN; // 1.6e-30 ≈ 2^-99
}

/**
 * Reads a decimal number ([+-] digits [. digits] [e[+-]digits]) starting at b[i] and returns it, or NaN
 * when no number starts there. scan.end tells where it stopped; the caller decides whether what follows
 * ends the cell. `dec` is the character code of the decimal separator ('.' or ','). The bytes must end
 * in a non-digit (the readers guarantee a final newline).
 *
 * The result is the correctly rounded double, as Number() gives, without building a string in the
 * common cases: a mantissa below 2^53 with an exponent within ±22 is one exact operation (Clinger's fast
 * path); up to 19 digits and exponents within ±66 go through double-double arithmetic; the rare rest
 * (more digits, halfway cases) falls back to Number() on the text.
 */
export function scanDecimal(b: Uint8Array, i: number, dec: number): number {
  const start = i;
  let c = b[i]!;
  let negative = false;
  if (c === 45) {
    negative = true;
    c = b[++i]!;
  } else if (c === 43) {
    c = b[++i]!;
  }
  let high = 0; // the first HIGH_DIGITS significant digits
  let low = 0; // the next ones, up to MAX_DIGITS in all
  let lowDigits = 0;
  let significant = 0; // significant digits (leading zeros excluded)
  let fraction = 0; // digits after the decimal separator
  let zeros = 0; // leading zeros
  while (c === 48) {
    zeros++;
    c = b[++i]!;
  }
  while (c >= 48 && c <= 57) {
    if (significant < HIGH_DIGITS) high = high * 10 + (c - 48);
    else if (significant < MAX_DIGITS) {
      low = low * 10 + (c - 48);
      lowDigits++;
    }
    significant++;
    c = b[++i]!;
  }
  if (c === dec) {
    c = b[++i]!;
    if (significant === 0) {
      while (c === 48) {
        zeros++;
        fraction++;
        c = b[++i]!;
      }
    }
    while (c >= 48 && c <= 57) {
      if (significant < HIGH_DIGITS) high = high * 10 + (c - 48);
      else if (significant < MAX_DIGITS) {
        low = low * 10 + (c - 48);
        lowDigits++;
      }
      significant++;
      fraction++;
      c = b[++i]!;
    }
  }
  if (significant === 0 && zeros === 0) {
    scan.end = start;
    return NaN;
  }
  let exponent = 0;
  if (c === 101 || c === 69) {
    let j = i + 1;
    let e = b[j]!;
    let expNegative = false;
    if (e === 45) {
      expNegative = true;
      e = b[++j]!;
    } else if (e === 43) {
      e = b[++j]!;
    }
    if (e >= 48 && e <= 57) {
      while (e >= 48 && e <= 57) {
        if (exponent < 100000) exponent = exponent * 10 + (e - 48);
        e = b[++j]!;
      }
      if (expNegative) exponent = -exponent;
      i = j;
    }
  }
  scan.end = i;
  const e10 = exponent - fraction;
  let value = NaN;
  if (significant === 0) value = 0;
  else if (significant <= MAX_DIGITS) {
    if (lowDigits === 0) {
      if (e10 >= -22 && e10 <= 22) value = e10 < 0 ? high / POW10[-e10]! : high * POW10[e10]!;
      else if (e10 >= -66 && e10 <= 66) value = roundDoubleDouble(high, 0, e10);
    } else {
      // The mantissa high × 10^lowDigits + low as an exact double-double.
      twoProduct(high, POW10[lowDigits]!);
      const add = ddLo + low;
      const hi = ddHi + add;
      const lo = add - (hi - ddHi);
      if (lo === 0 && hi <= MAX_EXACT && e10 >= -22 && e10 <= 22) value = e10 < 0 ? hi / POW10[-e10]! : hi * POW10[e10]!;
      else if (e10 >= -66 && e10 <= 66) value = roundDoubleDouble(hi, lo, e10);
    }
  }
  if (value !== value) {
    let text = String.fromCharCode.apply(null, Array.from(b.subarray(start, i)));
    if (dec !== 46) text = text.replace(String.fromCharCode(dec), '.');
    return Number(text);
  }
  return negative ? -value : value;
}

/** Cell texts that mean "no value here" (pandas' defaults, trimmed of the odd ones). */
const MISSING_WORDS = new Set(['', 'NaN', 'nan', 'NAN', '-NaN', '-nan', '+NaN', '+nan', 'NA', 'N/A', 'n/a', 'na', '#N/A', '#NA', '<NA>', 'NULL', 'null', 'None']);
const INFINITE = /^[+-]?(inf|infinity)$/i;

export type CellKind = 'number' | 'missing' | 'infinite' | 'text';

export const cellValue = { value: 0 };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$/;

/** What a cell's (trimmed) text holds; for 'number' and 'infinite' cellValue.value is the number. */
export function classifyCell(text: string, dec = 46): CellKind {
  if (MISSING_WORDS.has(text)) return 'missing';
  if ((dec === 46 ? DECIMAL : DECIMAL_COMMA).test(text)) {
    const v = Number(dec === 46 ? text : text.replace(',', '.'));
    cellValue.value = v;
    return Number.isFinite(v) ? 'number' : 'infinite';
  }
  if (INFINITE.test(text)) {
    cellValue.value = text.charCodeAt(0) === 45 ? -Infinity : Infinity;
    return 'infinite';
  }
  return 'text';
}

/** True for a cell text written as a whole number (column names such as years or indices). */
export function isIntegerText(text: string): boolean {
  return /^[+-]?\d+$/.test(text);
}

/** The fewest significant digits (1 to 9) for which v.toPrecision reads back to the float32 v. */
function float32Precision(v: number): number {
  // Rounding to p+1 digits lands at least as close as rounding to p did (that p-digit decimal is also a
  // (p+1)-digit one), so the digit counts that work form a range ending at 9: bisect for its start.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    if (Math.fround(Number(v.toPrecision(p))) === v) hi = p;
    else lo = p + 1;
  }
  return lo;
}

/**
 * The shortest decimal text that reads back to exactly the same value at the given precision.
 * float64: JavaScript's own Number → String (shortest round trip by specification).
 * float32: the fewest significant digits whose nearest float32 is the value; a float32 printed as a
 * double would show noise digits (0.1f is 0.10000000149011612 as a double).
 * NaN (missing) is written as an empty string.
 */
export function formatNumber(v: number, dtype: DType = 'float64'): string {
  if (v !== v) return '';
  if (dtype === 'float64' || v === 0 || !Number.isFinite(v)) return String(v);
  const a = v < 0 ? -v : v;
  let e = Math.floor(Math.log10(a));
  if (e < -30 || e > 30) return String(Number(v.toPrecision(float32Precision(v))));
  if (a < pow10(e)) e--;
  else if (a >= pow10(e + 1)) e++;
  // p significant digits of a are n × 10^-k with k = p − 1 − e. Where 10^k is exact, n and its neighbours
  // are tried with plain arithmetic (c / 10^k is then the correctly rounded double of that decimal); the
  // digit counts that work form a range ending at 9 (see float32Precision), so bisect for its start.
  let lo = 1;
  let hi = 9;
  let digits = -1;
  let places = 0;
  while (lo <= hi) {
    const p = (lo + hi) >> 1;
    const k = p - 1 - e;
    if (k > 22 || k < -22) return String(Number(v.toPrecision(float32Precision(v))));
    const scale = POW10[k < 0 ? -k : k]!;
    const n = Math.round(k >= 0 ? a * scale : a / scale);
    // n is the nearest p-digit decimal unless a × 10^k rounded across a half: then a neighbour is.
    let found = -1;
    if (Math.fround(k >= 0 ? n / scale : n * scale) === a) found = n;
    else if (Math.fround(k >= 0 ? (n - 1) / scale : (n - 1) * scale) === a) found = n - 1;
    else if (Math.fround(k >= 0 ? (n + 1) / scale : (n + 1) * scale) === a) found = n + 1;
    if (found >= 0) {
      digits = found;
      places = k;
      hi = p - 1;
    } else {
      lo = p + 1;
    }
  }
  if (digits < 0) return String(Number(v.toPrecision(float32Precision(v))));
  return (v < 0 ? '-' : '') + decimalText(digits, places);
}

/** 10^e for comparisons (inexact for e < 0, which is fine for locating a decade). */
function pow10(e: number): number {
  return e >= 0 ? POW10[e]! : 1 / POW10[-e]!;
}

/** n × 10^-k written as JavaScript writes numbers: plain from 1e-6 up to 1e21, exponent notation outside. */
function decimalText(n: number, k: number): string {
  let digits = String(n);
  let trailing = digits.length;
  while (trailing > 1 && digits.charCodeAt(trailing - 1) === 48) trailing--;
  k -= digits.length - trailing;
  digits = digits.slice(0, trailing);
  const exponent = digits.length - 1 - k; // of the leading digit
  if (exponent >= -6 && exponent < 21) {
    if (k <= 0) return digits + '0'.repeat(-k);
    if (exponent >= 0) return `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
    return `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
}
