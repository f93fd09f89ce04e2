// NumPy's legacy RandomState, number for number: the Mersenne Twister (MT19937) seeded from an integer as
// `np.random.RandomState(seed)` seeds it, 53-bit doubles and the polar Gaussian with its cached second value,
// so that scikit-learn's `random_state=seed` starts are reproduced.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The largest seed NumPy's RandomState accepts (it refuses anything outside 0 … 2³² − 1). */
export const MAX_SEED = 2 ** 32 - 1;

export class RandomState {
  private readonly key = new Int32Array(N);
  private pos = N;
  private hasGauss = false;
  private gauss = 0;

  /** `seed` must be a whole number in 0 … 2³² − 1, as NumPy requires. */
  constructor(seed = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new RangeError(`seed must be a whole number from 0 to ${MAX_SEED} (got ${seed})`);
    // NumPy's mt19937_seed (Knuth's linear initialisation; an integer seed does not go through init_by_array).
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  /** Next 32 random bits as an unsigned integer (NumPy's mt19937_next32). */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits: `RandomState.random_sample()`. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * A standard normal deviate: `RandomState.standard_normal()`, NumPy's legacy_gauss (Marsaglia's polar
   * method; each accepted pair gives two values, the second kept for the next call).
   */
  standardNormal(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const kept = this.gauss;
      this.gauss = 0;
      return kept;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * roundedLog(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** The next 624 words of the state (NumPy's mt19937_gen). */
  private twist(): void {
    const key = this.key;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (key[i]! & UPPER_MASK) | (key[i + 1]! & LOWER_MASK);
      key[i] = key[i + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      const y = (key[i]! & UPPER_MASK) | (key[i + 1]! & LOWER_MASK);
      key[i] = key[i + M - N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (key[N - 1]! & UPPER_MASK) | (key[0]! & LOWER_MASK);
    key[N - 1] = key[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }
}

// NumPy's polar method calls the C library's log. V8's Math.log (fdlibm, error < 1 ulp) misses the correctly
// rounded value for about 7 % of arguments and so changed 3 % of the normals in their last bit; glibc's log
// is correctly rounded for all but about 0.07 % of them. Computing ln(x) to about 2⁻⁷⁰ in double-double and
// rounding once agrees with glibc 2.36 on all but 4 normals in 10 000 (those then 1 or 2 ulp apart).

const SPLIT = 134217729; // 2²⁷ + 1: Dekker's splitter for exact products without FMA
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
/** LN2_HI split in two halves of 26 bits for Dekker's product. */
const LN2_HI_HI = SPLIT * LN2_HI - (SPLIT * LN2_HI - LN2_HI);
const LN2_HI_LO = LN2_HI - LN2_HI_HI;
const THIRD_HI = 0.3333333333333333;
const THIRD_LO = 1.850371707708594e-17;
const FIFTH_HI = 0.2;
const FIFTH_LO = -1.1102230246251566e-17;
/** 1/(2k + 1) for k = 3 … 15: the series' terms after s⁵/5 (z¹⁵ < 2⁻⁷⁵ for |s| ≤ 0.172). */
const TAIL = Float64Array.from({ length: 13 }, (_, i) => 1 / (2 * (i + 3) + 1));
const word = new Float64Array(1);
/** word's upper 32 bits (sign, exponent, top of the fraction), little-endian as every JS engine here is. */
const wordBits = new Uint32Array(word.buffer);

/** ln(x) correctly rounded (but for arguments within about 2⁻⁷⁰ of a rounding boundary), x positive and normal. */
export function roundedLog(x: number): number {
  if (!(x >= 2.2250738585072014e-308) || x === Infinity) return Math.log(x);
  // x = m·2^e with m in [√½, √2)
  word[0] = x;
  const high = wordBits[1]!;
  let e = ((high >>> 20) & 0x7ff) - 1023;
  wordBits[1] = (high & 0x800fffff) | 0x3ff00000;
  let m = word[0];
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …) with s = (m − 1)/(m + 1), |s| ≤ 0.172; m − 1 is exact.
  // Written out inline (Dekker's products, double-double sums): calls taking doubles would box them.
  const num = m - 1;
  const dh = m + 1;
  const dl = m - (dh - 1);
  const sh = num / dh;
  let t = SPLIT * sh;
  const shHi = t - (t - sh);
  const shLo = sh - shHi;
  t = SPLIT * dh;
  const dhHi = t - (t - dh);
  const dhLo = dh - dhHi;
  const p = sh * dh;
  const pLow = shLo * dhLo - (p - shHi * dhHi - shLo * dhHi - shHi * dhLo);
  const sl = (num - p - (pLow + sh * dl)) / dh;
  // z = s² in double-double
  const z0 = sh * sh;
  const z0l = shLo * shLo - (z0 - shHi * shHi - 2 * shLo * shHi) + 2 * sh * sl;
  const zh = z0 + z0l;
  const zl = z0l - (zh - z0);
  t = SPLIT * zh;
  const zHi = t - (t - zh);
  const zLo = zh - zHi;
  // The terms from s⁷ on are below 4·10⁻⁶ of the sum: plain doubles carry them far enough.
  let ch = 0;
  for (let i = TAIL.length - 1; i >= 0; i--) ch = ch * zh + TAIL[i]!;
  let cl = 0;
  // c ← z·c + 1/5, then z·c + 1/3, then z·c + 1, each in double-double
  for (let step = 0; step < 3; step++) {
    const addHi = step === 0 ? FIFTH_HI : step === 1 ? THIRD_HI : 1;
    const addLo = step === 0 ? FIFTH_LO : step === 1 ? THIRD_LO : 0;
    t = SPLIT * ch;
    const cHi = t - (t - ch);
    const cLo = ch - cHi;
    const q = zh * ch;
    const qLow = zLo * cLo - (q - zHi * cHi - zLo * cHi - zHi * cLo) + zh * cl + zl * ch;
    const sum = q + addHi;
    const b = sum - q;
    const err = q - (sum - b) + (addHi - b) + qLow + addLo;
    ch = sum + err;
    cl = err - (ch - sum);
  }
  // ln m = 2·s·c
  t = SPLIT * ch;
  const cHi = t - (t - ch);
  const cLo = ch - cHi;
  const lh = sh * ch;
  const ll = shLo * cLo - (lh - shHi * cHi - shLo * cHi - shHi * cLo) + sh * cl + sl * ch;
  // + e·ln 2, e·LN2_HI again as Dekker's exact product
  t = SPLIT * e;
  const eHi = t - (t - e);
  const eLo = e - eHi;
  const eh = e * LN2_HI;
  const el = eLo * LN2_HI_LO - (eh - eHi * LN2_HI_HI - eLo * LN2_HI_HI - eHi * LN2_HI_LO) + e * LN2_LO;
  const sum = eh + 2 * lh;
  const b = sum - eh;
  const err = eh - (sum - b) + (2 * lh - b);
  return sum + (err + el + 2 * ll);
}
