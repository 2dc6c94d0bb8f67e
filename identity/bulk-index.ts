import { decodeRecord, encodeRecord, type NormalisedRecord } from '../matching/index.ts';
import type { PlanContext } from './bulk-store.ts';
import { hashKeyWords } from './key-hash.ts';
import type { PlannedOp, PlannedRecord, StoredCandidate, StoredMember } from './plan.ts';

/**
 * What a bulk load remembers of the records it has written, so that each window of the files is planned as if
 * every record before it were stored, without holding the records themselves: each record's normalised values
 * as one JSON string, its id and identity, and per blocking key (by its 64-bit hash, in typed arrays) the first
 * records that carry it, up to online ingest's cap. A million records take a few hundred MB here.
 */

/** Table slots to begin with (a power of two; the table doubles at three quarters full). */
const INITIAL_KEYS = 1 << 16;

/**
 * An open-addressing table from a key's 64-bit hash to the records that carry it, oldest first, at most `cap`:
 * four 32-bit words a key and two a posting, instead of a string and an array object per key.
 */
class KeyPostings {
  private hi = new Int32Array(INITIAL_KEYS);
  private lo = new Int32Array(INITIAL_KEYS);
  /** The newest posting of the key, or -1 for an empty slot. */
  private head = new Int32Array(INITIAL_KEYS).fill(-1);
  private count = new Int32Array(INITIAL_KEYS);
  private keys = 0;
  private record = new Int32Array(INITIAL_KEYS);
  private next = new Int32Array(INITIAL_KEYS);
  private postings = 0;

  constructor(private readonly cap: number) {}

  /** The table slot of the hash (empty when the key is absent). */
  private slotOf(hi: number, lo: number): number {
    const mask = this.head.length - 1;
    let at = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.head[at] !== -1 && (this.hi[at] !== hi || this.lo[at] !== lo)) at = (at + 1) & mask;
    return at;
  }

  /** Adds the record to the key's postings unless the key has `cap` already. */
  add(key: string, recordSlot: number): void {
    if (this.keys * 4 >= this.head.length * 3) this.grow();
    const words = hashKeyWords(key);
    const at = this.slotOf(words[0]!, words[1]!);
    if (this.head[at] === -1) {
      this.hi[at] = words[0]!;
      this.lo[at] = words[1]!;
      this.keys += 1;
    } else if (this.count[at]! >= this.cap) return;
    if (this.postings === this.record.length) {
      this.record = grown(this.record, this.postings * 2);
      this.next = grown(this.next, this.postings * 2);
    }
    this.record[this.postings] = recordSlot;
    this.next[this.postings] = this.head[at]!;
    this.head[at] = this.postings;
    this.count[at]! += 1;
    this.postings += 1;
  }

  /** The first `limit` records carrying the key, oldest first. */
  list(key: string, limit: number): number[] {
    if (limit <= 0) return [];
    const words = hashKeyWords(key);
    const at = this.slotOf(words[0]!, words[1]!);
    if (this.head[at] === -1) return [];
    // The postings run newest first: the k-th of them is the (count - 1 - k)-th oldest.
    const count = this.count[at]!;
    const out = new Array<number>(Math.min(count, limit));
    let position = count - 1;
    for (let p = this.head[at]!; p !== -1; p = this.next[p]!, position--) if (position < limit) out[position] = this.record[p]!;
    return out;
  }

  private grow(): void {
    const { hi, lo, head, count } = this;
    const size = head.length * 2;
    this.hi = new Int32Array(size);
    this.lo = new Int32Array(size);
    this.head = new Int32Array(size).fill(-1);
    this.count = new Int32Array(size);
    for (let i = 0; i < head.length; i++) {
      if (head[i] === -1) continue;
      const at = this.slotOf(hi[i]!, lo[i]!);
      this.hi[at] = hi[i]!;
      this.lo[at] = lo[i]!;
      this.head[at] = head[i]!;
      this.count[at] = count[i]!;
    }
  }
}

function grown(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(size);
  out.set(array);
  return out;
}

/** The records a bulk load has planned so far (see the file's comment). */
export class LoadIndex {
  private readonly keys: KeyPostings;
  private readonly records: string[] = [];
  private readonly recordIds: string[] = [];
  private identityOfRecord = new Int32Array(1024);
  private readonly identityIds: string[] = [];
  private readonly identityIndex = new Map<string, number>();
  /** Record slots of each identity, in load order. */
  private readonly members: number[][] = [];
  /** Whether each identity was stored before the load (its members before the load are read, not held here). */
  private readonly storedBefore: boolean[] = [];
  /** Reviews the load has opened (`pairKey` and `record|identity`), so a later window opens none twice. */
  readonly openReviews = new Set<string>();
  /** The values decoded for the window being viewed and for the one before it, by record slot (see `normalised`). */
  private decoded = new Map<number, NormalisedRecord>();
  private decodedBefore = new Map<number, NormalisedRecord>();

  /**
   * @param cap online ingest's cap on candidates per key
   * @param maxMembers most further members of an identity the merge guard is given (as the stored read caps them)
   */
  constructor(
    private readonly cap: number,
    private readonly maxMembers: number,
  ) {
    this.keys = new KeyPostings(cap);
  }

  get size(): number {
    return this.records.length;
  }

  /**
   * The load's earlier records a window meets by `keys`, after the `storedCount` records stored before the load
   * that each key returns (the cap counts those first, as online). One candidate object per record.
   */
  view(keys: Iterable<string>, storedCount: (key: string) => number): Map<string, StoredCandidate[]> {
    this.decodedBefore = this.decoded;
    this.decoded = new Map();
    const candidates = new Map<number, StoredCandidate>();
    const byKey = new Map<string, StoredCandidate[]>();
    for (const key of new Set(keys)) {
      const slots = this.keys.list(key, this.cap - storedCount(key));
      if (slots.length === 0) continue;
      byKey.set(
        key,
        slots.map((slot) => {
          let c = candidates.get(slot);
          if (!c) {
            c = { recordId: this.recordIds[slot]!, identityId: this.identityOf(slot), normalised: this.normalised(slot), keys: [] };
            candidates.set(slot, c);
          }
          c.keys.push(key);
          return c;
        }),
      );
    }
    return byKey;
  }

  /** Identities stored before the load that hold records of it carrying any of `keys` (their members are read). */
  storedIdentitiesOf(keys: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const key of new Set(keys))
      for (const slot of this.keys.list(key, this.cap)) {
        const identity = this.identityOfRecord[slot]!;
        if (this.storedBefore[identity]) out.add(this.identityIds[identity]!);
      }
    return [...out];
  }

  /**
   * The planner's context for a window: per key the records stored before the load (`stored`, read from the
   * database), then the load's own (`view`); the further members of every candidate identity, the database's
   * then the load's, at most `maxMembers` besides the candidates; member counts (the database counts those it
   * returns, committed load records included; the load counts the identities it created); open reviews.
   */
  context(view: Map<string, StoredCandidate[]>, stored: PlanContext, storedIdentities: string[]): PlanContext {
    const storedByKey = new Map(stored.storedByKey);
    for (const [key, list] of view) {
      const before = storedByKey.get(key);
      // The view's list is the window's own: most keys meet nothing stored before the load, and need no copy.
      storedByKey.set(key, before ? [...before, ...list] : list);
    }
    const candidateIds = new Set<string>();
    const identities = new Set<string>();
    for (const list of storedByKey.values())
      for (const c of list) {
        candidateIds.add(c.recordId);
        identities.add(c.identityId);
      }
    for (const id of storedIdentities) identities.add(id);
    const members: StoredMember[] = [...stored.members];
    const given = new Map<string, number>();
    for (const m of stored.members) given.set(m.identityId, (given.get(m.identityId) ?? 0) + 1);
    const memberCount = new Map(stored.memberCount);
    for (const identityId of identities) {
      const index = this.identityIndex.get(identityId);
      if (index === undefined) continue;
      if (!this.storedBefore[index]) memberCount.set(identityId, this.members[index]!.length);
      let room = this.maxMembers - (given.get(identityId) ?? 0);
      for (const slot of this.members[index]!) {
        if (room <= 0) break;
        if (candidateIds.has(this.recordIds[slot]!)) continue;
        members.push({ identityId, recordId: this.recordIds[slot]!, normalised: this.normalised(slot) });
        room -= 1;
      }
    }
    const openReviews = new Set([...stored.openReviews, ...this.openReviews]);
    return { storedByKey, members, memberCount, notDuplicates: stored.notDuplicates, openReviews };
  }

  /**
   * Remembers a planned window: each record (in file order) with its identity and keys, then the plan's merges
   * (a merged identity's records are the survivor's from then on).
   */
  add(
    window: { recordIds: string[]; normalised: NormalisedRecord[]; keys: string[][] },
    plan: { records: PlannedRecord[]; ops: PlannedOp[] },
  ): void {
    const created = new Set(plan.ops.flatMap((op) => (op.kind === 'CREATE_IDENTITY' ? [op.identityId] : [])));
    for (const r of plan.records) {
      const slot = this.records.length;
      this.records.push(encodeRecord(window.normalised[r.index]!));
      this.recordIds.push(window.recordIds[r.index]!);
      const identity = this.identity(r.identityId, !created.has(r.identityId));
      if (slot === this.identityOfRecord.length) this.identityOfRecord = grown(this.identityOfRecord, slot * 2);
      this.identityOfRecord[slot] = identity;
      this.members[identity]!.push(slot);
      for (const key of new Set(window.keys[r.index]!)) this.keys.add(key, slot);
    }
    for (const op of plan.ops) {
      if (op.kind !== 'MERGE') continue;
      const survivor = this.identity(op.survivorId, !created.has(op.survivorId));
      const merged = this.identity(op.mergedId, !created.has(op.mergedId));
      for (const slot of this.members[merged]!) this.identityOfRecord[slot] = survivor;
      // Records stored before the load may now be the survivor's: read its members as a stored identity's.
      this.storedBefore[survivor] ||= this.storedBefore[merged]!;
      this.members[survivor]!.push(...this.members[merged]!);
      this.members[merged] = [];
    }
  }

  private identity(id: string, storedBefore: boolean): number {
    let index = this.identityIndex.get(id);
    if (index === undefined) {
      index = this.identityIds.push(id) - 1;
      this.identityIndex.set(id, index);
      this.members.push([]);
      this.storedBefore.push(storedBefore);
    }
    return index;
  }

  private identityOf(slot: number): string {
    return this.identityIds[this.identityOfRecord[slot]!]!;
  }

  /**
   * The record's values, decoded once for the window (`view` and `context` share them) and taken over from the
   * window before when it met the record too: the first records of a common key are met window after window, and
   * decoding them again each time costs time and leaves the collector a fresh copy each time. Nothing changes a
   * record's values once normalised, so sharing them is safe; the planner's prepared forms (kept per values
   * object) are shared with them.
   */
  private normalised(slot: number): NormalisedRecord {
    let values = this.decoded.get(slot);
    if (values === undefined) {
      values = this.decodedBefore.get(slot) ?? decodeRecord(this.records[slot]!);
      this.decoded.set(slot, values);
    }
    return values;
  }
}

/** Bit probes per key of `StoredKeyFilter`: under 1 % false positives at 10 bits a key, far fewer at 20. */
const FILTER_PROBES = 6;

/**
 * A Bloom filter of the blocking keys of records stored before the load, by their 64-bit hashes: a window of a load
 * into a stored index carries about 170,000 distinct keys, of which a few percent meet a stored record, and each
 * key the database probes costs it an index lookup whether or not anything is found. Asking the filter first
 * leaves out the keys no stored record carries; a false positive only costs the probe it would have cost anyway.
 * 8-16 bits for each key it is sized for (rounded up to a power of two): 2 MB for 2M keys, at most 256 MB.
 */
export class StoredKeyFilter {
  private readonly bits: Int32Array;
  private readonly mask: number;

  /** @param keys about how many distinct keys it will hold (more only raise the false positives) */
  constructor(keys: number) {
    let size = 1 << 16;
    while (size < keys * 8 && size < 2 ** 31) size *= 2;
    this.bits = new Int32Array(size / 32);
    this.mask = size - 1;
  }

  /** Adds a key by the high and low words of its hash (`hashKeyWords`). */
  addWords(hi: number, lo: number): void {
    const step = hi | 1;
    for (let i = 0; i < FILTER_PROBES; i++) {
      const bit = (lo + Math.imul(i, step)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** Whether a stored record may carry the key (false: none does). */
  has(key: string): boolean {
    const words = hashKeyWords(key);
    const lo = words[1]!;
    const step = words[0]! | 1;
    for (let i = 0; i < FILTER_PROBES; i++) {
      const bit = (lo + Math.imul(i, step)) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
