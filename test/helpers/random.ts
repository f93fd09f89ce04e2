// The seeded random numbers of the tests and benchmarks: a 32-bit xorshift, the same sequence on every machine.

/** Uniform numbers in [0, 1) from a 32-bit xorshift started at `seed` (0 starts as 1, which xorshift needs). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}
