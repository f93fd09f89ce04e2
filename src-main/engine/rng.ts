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
// rounding once agrees with glibc 2.36 on all but 4 normals in 10 000 (each then 1 ulp apart).

const SPLIT = 134217729; // 2²⁷ + 1: Dekker's splitter for exact products without FMA
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
const THIRD_HI = 0.3333333333333333;
const THIRD_LO = 1.850371707708594e-17;
const FIFTH_HI = 0.2;
const FIFTH_LO = -1.1102230246251566e-17;
const bits = new DataView(new ArrayBuffer(8));

/** The low part of the last twoProduct: a·b = returned value + productLow, exactly. */
let productLow = 0;

function twoProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  productLow = al * bl - (p - ah * bh - al * bh - ah * bl);
  return p;
}

/** The high and low parts of the last mulAdd. */
let ddHigh = 0;
let ddLow = 0;

/** (xh + xl)·(yh + yl) + (ch + cl) in double-double, into ddHigh + ddLow. */
function mulAdd(xh: number, xl: number, yh: number, yl: number, ch: number, cl: number): void {
  const p = twoProduct(xh, yh);
  const q = productLow + xh * yl + xl * yh;
  const s = p + ch;
  const b = s - p;
  const err = p - (s - b) + (ch - b) + q + cl;
  ddHigh = s + err;
  ddLow = err - (ddHigh - s);
}

/** ln(x) correctly rounded (but for arguments within about 2⁻⁷⁰ of a rounding boundary), x positive and normal. */
export function roundedLog(x: number): number {
  if (!(x >= 2.2250738585072014e-308) || x === Infinity) return Math.log(x);
  // x = m·2^e with m in [√½, √2)
  bits.setFloat64(0, x);
  const high = bits.getUint32(0);
  let e = ((high >>> 20) & 0x7ff) - 1023;
  bits.setUint32(0, (high & 0x800fffff) | 0x3ff00000);
  let m = bits.getFloat64(0);
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …) with s = (m − 1)/(m + 1), |s| ≤ 0.172; m − 1 is exact.
  const num = m - 1;
  const dh = m + 1;
  const dl = m - (dh - 1);
  const sh = num / dh;
  const ph = twoProduct(sh, dh);
  const sl = (num - ph - (productLow + sh * dl)) / dh;
  const z0 = twoProduct(sh, sh);
  const z0l = productLow + 2 * sh * sl;
  const zh = z0 + z0l;
  const zl = z0l - (zh - z0);
  // The terms from s⁷ on are below 4·10⁻⁶ of the sum: plain doubles carry them far enough.
  let tail = 0;
  for (let k = 17; k >= 3; k--) tail = tail * zh + 1 / (2 * k + 1);
  mulAdd(zh, zl, tail, 0, FIFTH_HI, FIFTH_LO);
  mulAdd(zh, zl, ddHigh, ddLow, THIRD_HI, THIRD_LO);
  mulAdd(zh, zl, ddHigh, ddLow, 1, 0);
  const lh = twoProduct(sh, ddHigh);
  const ll = productLow + sh * ddLow + sl * ddHigh;
  const eh = twoProduct(e, LN2_HI);
  const el = productLow + e * LN2_LO;
  const sum = eh + 2 * lh;
  const b = sum - eh;
  const err = eh - (sum - b) + (2 * lh - b);
  return sum + (err + el + 2 * ll);
}
