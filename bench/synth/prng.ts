// Seeded randomness for the synthetic registry. Our own small generator (sfc32, seeded through splitmix32)
// rather than Math.random, so that a seed reproduces the registry byte for byte on any machine.

/** Mixes a 32-bit value (splitmix32 finaliser); used to derive independent seeds from one user seed. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seeded pseudo-random stream (sfc32: 128-bit state, passes PractRand, a few ns per draw). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `stream` derives an independent sequence from the same seed (population vs. record errors vs. order). */
  constructor(seed: number, stream = 0) {
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.a = mix32(low ^ 0x3c6ef372);
    this.b = mix32(high ^ mix32(stream));
    this.c = mix32(this.a ^ (stream + 0x1b873593));
    this.d = 1;
    // The first outputs of sfc32 still echo the seed; discard them.
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A normally distributed value (Box-Muller). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** Draws items in proportion to their weights (cumulative table + binary search: O(log n) per draw). */
export class WeightedTable<T> {
  private readonly items: readonly T[];
  private readonly cumulative: Float64Array;

  constructor(items: readonly T[], weights: readonly number[]) {
    if (items.length === 0 || items.length !== weights.length) {
      throw new Error('weighted table needs one positive weight per item');
    }
    this.items = items;
    this.cumulative = new Float64Array(weights.length);
    let total = 0;
    weights.forEach((weight, i) => {
      total += Math.max(0, weight);
      this.cumulative[i] = total;
    });
    if (total <= 0) throw new Error('weighted table needs a positive total weight');
  }

  /** Builds a table from `[item, weight]` pairs. */
  static of<T>(pairs: ReadonlyArray<readonly [T, number]>): WeightedTable<T> {
    return new WeightedTable(
      pairs.map(([item]) => item),
      pairs.map(([, weight]) => weight),
    );
  }

  get size(): number {
    return this.items.length;
  }

  /** One weighted draw. */
  sample(rng: Rng): T {
    const target = rng.next() * (this.cumulative[this.cumulative.length - 1] as number);
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}
