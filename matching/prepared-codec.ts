import type { NormalisedRecord } from './normalise.ts';
import { emailLocalOf, POOLED_FIELDS as POOLED, POOLED_SLOT as SLOT, prepareRecord } from './prepared.ts';
import type { PreparedRecord, StringPool } from './prepared.ts';

/**
 * Prepared records sent from the thread that prepared them (and owns their `StringPool`) to threads that keep a
 * copy: the pooled values as pool ids, with the strings the pool gained since the last batch, so the receiving
 * thread builds the same records by indexing its copy of the pool instead of normalising, hashing and looking up
 * every value again. Batches must be read in the order they were written.
 */
export interface PreparedBatch {
  /** The strings the pool gained since the batch before, in id order. */
  added: string[];
  /** Per record, the pool id of each of `POOLED` (-1: null). */
  pooled: Int32Array;
  /** Per record, each of `UNPOOLED` as it is. */
  text: Array<string | null>;
  /** Per record, its family-name tokens: a count (-1: none), then that many pool ids. */
  tokens: Int32Array;
  /** Per record, its birth year, month and day. */
  dates: Int32Array;
}

/** The string fields sent as they are: identifiers, mostly distinct (and the sex, one character). */
const UNPOOLED = ['sex', 'ssn', 'phone', 'email', 'addressLine1'] as const satisfies ReadonlyArray<keyof PreparedRecord>;

/** Every field a prepared record has, by how it is sent (a test holds this to `prepareRecord`'s output). */
export const PREPARED_FIELDS: ReadonlyArray<keyof PreparedRecord> = [
  ...POOLED,
  ...UNPOOLED,
  'familyTokens',
  'birthYear',
  'birthMonth',
  'birthDay',
  'emailLocal',
];

const P = POOLED.length;
const U = UNPOOLED.length;
/** Each of `UNPOOLED`'s position among a record's `text`. */
const TEXT = Object.fromEntries(UNPOOLED.map((field, at) => [field, at])) as Record<(typeof UNPOOLED)[number], number>;

/**
 * Writes batches of the records prepared with one pool, remembering how much of the pool was sent. The pool ids of
 * a record's values are the ones `prepareRecord` noted as it interned them: finding them again afterwards is a
 * second lookup in the pool per value, as slow as the first.
 */
export class PreparedBatchWriter {
  private sent = 0;
  /** Records added since the last batch. */
  private count = 0;
  private pooled = new Int32Array(P * 1024);
  private dates = new Int32Array(3 * 1024);
  private text: Array<string | null> = [];
  private tokens: number[] = [];

  /** Where `prepareRecord` notes the ids of the record being prepared (`prepare`). */
  private readonly ids = new Int32Array(P);

  constructor(private readonly pool: StringPool) {}

  /** Prepares records with this writer's pool and adds them, in order. */
  prepare(records: readonly NormalisedRecord[]): PreparedRecord[] {
    return records.map((record) => {
      const prepared = prepareRecord(record, this.pool, this.ids);
      this.add(prepared);
      return prepared;
    });
  }

  /** Adds the record just prepared with this writer's pool, with the `ids` `prepareRecord` noted. */
  private add(r: PreparedRecord): void {
    if (this.count * 3 === this.dates.length) {
      this.pooled = grown(this.pooled);
      this.dates = grown(this.dates);
    }
    this.pooled.set(this.ids, this.count * P);
    this.dates[this.count * 3] = r.birthYear;
    this.dates[this.count * 3 + 1] = r.birthMonth;
    this.dates[this.count * 3 + 2] = r.birthDay;
    this.count++;
    for (let k = 0; k < U; k++) this.text.push(r[UNPOOLED[k]!]);
    if (r.familyTokens === null) this.tokens.push(-1);
    else {
      this.tokens.push(r.familyTokens.length);
      for (const token of r.familyTokens) this.tokens.push(this.pool.idOf(token));
    }
  }

  /** The records added since the last batch, as the next batch. */
  take(): PreparedBatch {
    const added = this.pool.valuesFrom(this.sent);
    this.sent += added.length;
    const batch = {
      added,
      pooled: this.pooled.slice(0, this.count * P),
      text: this.text,
      tokens: Int32Array.from(this.tokens),
      dates: this.dates.slice(0, this.count * 3),
    };
    this.count = 0;
    this.text = [];
    this.tokens = [];
    return batch;
  }
}

/** A copy of `array` twice as long. */
function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const copy = new Int32Array(array.length * 2);
  copy.set(array);
  return copy;
}

/** Reads the batches of one `PreparedBatchWriter`, in order, into records equal to the ones it was given. */
export class PreparedBatchReader {
  /** The writer's pool, as far as it has been sent. */
  private readonly values: string[] = [];

  read(batch: PreparedBatch, into: PreparedRecord[]): void {
    for (const value of batch.added) this.values.push(value);
    const v = this.values;
    const { pooled, text, dates, tokens } = batch;
    const count = dates.length / 3;
    const s = (at: number) => (at < 0 ? null : v[at]!);
    let t = 0;
    for (let i = 0; i < count; i++) {
      const p = i * P;
      const u = i * U;
      const n = tokens[t++]!;
      let familyTokens: string[] | null = null;
      if (n >= 0) {
        familyTokens = new Array<string>(n);
        for (let k = 0; k < n; k++) familyTokens[k] = v[tokens[t++]!]!;
      }
      // The fields in the order `prepareRecord` writes them, so the records share its objects' shape.
      into.push({
        givenName: s(pooled[p + SLOT.givenName]!),
        middleName: s(pooled[p + SLOT.middleName]!),
        familyName: s(pooled[p + SLOT.familyName]!),
        suffix: s(pooled[p + SLOT.suffix]!),
        sex: text[u + TEXT.sex] as PreparedRecord['sex'],
        birthDate: s(pooled[p + SLOT.birthDate]!),
        ssn: text[u + TEXT.ssn]!,
        phone: text[u + TEXT.phone]!,
        email: text[u + TEXT.email]!,
        addressLine1: text[u + TEXT.addressLine1]!,
        addressLine2: s(pooled[p + SLOT.addressLine2]!),
        city: s(pooled[p + SLOT.city]!),
        state: s(pooled[p + SLOT.state]!),
        postalCode: s(pooled[p + SLOT.postalCode]!),
        givenPhonetic: s(pooled[p + SLOT.givenPhonetic]!),
        familyPhonetic: s(pooled[p + SLOT.familyPhonetic]!),
        streetNumber: s(pooled[p + SLOT.streetNumber]!),
        streetName: s(pooled[p + SLOT.streetName]!),
        givenFirst: s(pooled[p + SLOT.givenFirst]!),
        givenCompact: s(pooled[p + SLOT.givenCompact]!),
        familyCompact: s(pooled[p + SLOT.familyCompact]!),
        middleFirst: s(pooled[p + SLOT.middleFirst]!),
        familyTokens,
        birthYear: dates[i * 3]!,
        birthMonth: dates[i * 3 + 1]!,
        birthDay: dates[i * 3 + 2]!,
        birthDigits: s(pooled[p + SLOT.birthDigits]!),
        // Derived again rather than sent: a slice of the address, where a copy sent would be a string of its own.
        emailLocal: emailLocalOf(text[u + TEXT.email]!),
      });
    }
  }
}
