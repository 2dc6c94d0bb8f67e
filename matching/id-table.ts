/**
 * Dense ids for non-negative integer keys (below 2^53), in order of first appearance: an open-addressing hash
 * table on typed arrays. The batch blocker assigns tens of millions of ids; a `Map<number, number>` spends most
 * of that time boxing and rehashing.
 */
export class DenseIds {
  private keys: Float64Array;
  private ids: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity);
    this.ids = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Forgets every key, keeping the capacity: one table serves rule after rule without new allocations. */
  reset(): void {
    this.ids.fill(-1);
    this.size = 0;
  }

  /** The id of `key`, assigning the next one when the key is new. */
  idOf(key: number): number {
    let slot = slotOf(key) & this.mask;
    for (;;) {
      const id = this.ids[slot]!;
      if (id < 0) break;
      if (this.keys[slot] === key) return id;
      slot = (slot + 1) & this.mask;
    }
    this.keys[slot] = key;
    this.ids[slot] = this.size;
    if (++this.size * 2 > this.ids.length) this.grow();
    return this.size - 1;
  }

  private grow(): void {
    const keys = this.keys;
    const ids = this.ids;
    this.keys = new Float64Array(keys.length * 2);
    this.ids = new Int32Array(ids.length * 2).fill(-1);
    this.mask = this.ids.length - 1;
    for (let s = 0; s < ids.length; s++) {
      if (ids[s]! < 0) continue;
      let slot = slotOf(keys[s]!) & this.mask;
      while (this.ids[slot]! >= 0) slot = (slot + 1) & this.mask;
      this.keys[slot] = keys[s]!;
      this.ids[slot] = ids[s]!;
    }
  }
}

/** A 32-bit mix of both halves of the key (murmur3 finaliser constants). */
function slotOf(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
