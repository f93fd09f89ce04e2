// The rank allocator: from every block's error-against-rank curve and what a component costs, the ranks of all
// blocks at once, by equal slope. It knows nothing of layouts, tiles or planes: only curves and costs.

/** One block (a tile, or a whole plane) as the allocator sees it. */
export interface BlockCurve {
  /** residual[k]: the block's squared error at rank k, k = 0 … kmax; never increasing. */
  residual: ArrayLike<number>;
  /** How much the block's squared error counts in the total (a plane's weight in the image's PSNR). */
  weight: number;
  /** What one more component costs (stored entries, or bytes). */
  cost: number;
  /** The least rank the block takes (1: every tile keeps at least its mean). */
  minRank: number;
}

/** What the ranks must reach: at most `cost` in all, or at most `error` (weighted squared error) in all. */
export type AllocationTarget = { cost: number } | { error: number };

export interface Allocation {
  ranks: Int32Array;
  cost: number;
  error: number;
}

/** Each block's rank at slope λ: the components that each lower the weighted error by at least λ per unit of cost. */
function atSlope(blocks: readonly BlockCurve[], lambda: number, ranks: Int32Array): { cost: number; error: number } {
  let cost = 0;
  let error = 0;
  blocks.forEach((b, i) => {
    const kmax = b.residual.length - 1;
    let k = Math.min(b.minRank, kmax);
    const threshold = lambda * b.cost;
    while (k < kmax && b.weight * (b.residual[k]! - b.residual[k + 1]!) >= threshold) k++;
    ranks[i] = k;
    cost += k * b.cost;
    error += b.weight * b.residual[k]!;
  });
  return { cost, error };
}

/**
 * The ranks that meet the target at the least cost (or the least error), to within one component per block: the
 * slope λ is found by bisection (over log λ), so that every block spends where a unit of cost buys the most
 * error, largest σ² per stored number first. A cost target that even the least ranks exceed gives the least ranks;
 * an error target that the most ranks cannot reach gives the most. `tolerance` bounds the bisection (on log λ): an
 * estimate can take a coarser one.
 */
export function allocateRanks(blocks: readonly BlockCurve[], target: AllocationTarget, tolerance = 1e-9): Allocation {
  const ranks = new Int32Array(blocks.length);
  let steepest = 0;
  for (const b of blocks) {
    for (let k = 0; k + 1 < b.residual.length; k++) steepest = Math.max(steepest, (b.weight * (b.residual[k]! - b.residual[k + 1]!)) / b.cost);
  }
  const meets = (r: { cost: number; error: number }): boolean => ('cost' in target ? r.cost <= target.cost : r.error <= target.error);
  // λ large: the least ranks; λ near 0: the most. A cost target takes the smallest λ that meets it, an error target
  // the largest. Invariant: λ = pass meets the target, λ = fail does not; bisection over log λ between them.
  const hi = Math.max(steepest * 2, 1e-300);
  const lo = hi * 1e-30;
  let pass = 'cost' in target ? hi : lo;
  let fail = 'cost' in target ? lo : hi;
  const passing = atSlope(blocks, pass, ranks);
  // Not even the cheapest (for a cost) or the best (for an error) ranks meet it: the nearest there is.
  if (!meets(passing)) return { ranks, ...passing };
  // Everything meets it: the most ranks a cost allows, the least an error does.
  const failing = atSlope(blocks, fail, ranks);
  if (meets(failing)) return { ranks, ...failing };
  for (let i = 0; i < 200 && Math.abs(Math.log(pass / fail)) > tolerance; i++) {
    const mid = Math.sqrt(pass * fail);
    if (meets(atSlope(blocks, mid, ranks))) pass = mid;
    else fail = mid;
  }
  const r = atSlope(blocks, pass, ranks);
  if ('cost' in target) fill(blocks, ranks, r, target.cost);
  return { ranks, ...r };
}


/**
 * What a cost target leaves over at the slope found is spent on the steepest next components that still fit, one
 * at a time (a component's cost can exceed what is left while a cheaper one's does not).
 */
function fill(blocks: readonly BlockCurve[], ranks: Int32Array, totals: { cost: number; error: number }, budget: number): void {
  for (;;) {
    let best = -1;
    let bestSlope = 0;
    blocks.forEach((b, i) => {
      const k = ranks[i]!;
      if (k + 1 >= b.residual.length || totals.cost + b.cost > budget) return;
      const slope = (b.weight * (b.residual[k]! - b.residual[k + 1]!)) / b.cost;
      if (slope > bestSlope) {
        bestSlope = slope;
        best = i;
      }
    });
    if (best < 0) return;
    const b = blocks[best]!;
    const k = ranks[best]!;
    totals.error -= b.weight * (b.residual[k]! - b.residual[k + 1]!);
    totals.cost += b.cost;
    ranks[best] = k + 1;
  }
}
