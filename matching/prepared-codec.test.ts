import { describe, expect, test } from 'vitest';
import { normaliseRecord } from './normalise.ts';
import type { RecordInput } from './normalise.ts';
import { PREPARED_FIELDS, PreparedBatchReader, PreparedBatchWriter } from './prepared-codec.ts';
import { POOLED_FIELDS, prepareRecord, StringPool } from './prepared.ts';
import type { PreparedRecord } from './prepared.ts';

/** A father (every field, a double-barrelled family name, a suffix), his daughter, and sparser records. */
const FATHER: RecordInput = {
  givenName: 'John Paul',
  middleName: 'Lee',
  familyName: 'Garcia Lopez',
  suffix: 'Sr',
  sex: 'M',
  birthDate: '1949-11-30',
  ssn: '219-09-9999',
  phone: '(415) 555-0100',
  email: 'jp.garcia@example.com',
  addressLine1: '400 Mission Street',
  addressLine2: 'Apt 12',
  city: 'San Francisco',
  state: 'CA',
  postalCode: '94105',
};
const INPUTS: RecordInput[] = [
  FATHER,
  { givenName: 'Ana', familyName: FATHER.familyName, birthDate: '1980-01', city: FATHER.city, sex: 'F' },
  { givenName: 'Zoë', familyName: "O'Brien", birthDate: '1990' },
  { familyName: 'de la Cruz', email: 'no-at-sign' },
  {},
];

/** Each input normalised and prepared with `pool`, in order, with the pool ids `prepareRecord` noted. */
const preparedWithIds = (inputs: RecordInput[], pool: StringPool) =>
  inputs.map((input) => {
    const ids = new Int32Array(POOLED_FIELDS.length).fill(-2);
    return { record: prepareRecord(normaliseRecord(structuredClone(input)).record, pool, ids), ids };
  });
const prepared = (inputs: RecordInput[], pool: StringPool) => preparedWithIds(inputs, pool).map(({ record }) => record);

/** Each input normalised, as the thread that prepares it receives it. */
const normalised = (inputs: RecordInput[]) => inputs.map((input) => normaliseRecord(structuredClone(input)).record);

describe('prepared records sent as pool ids', () => {
  test('prepared as prepareRecord prepares them, and read back equal, batch after batch, through a structured clone', () => {
    const writer = new PreparedBatchWriter(new StringPool());
    const reader = new PreparedBatchReader();
    const sent: PreparedRecord[] = [];
    const received: PreparedRecord[] = [];
    for (const batch of [INPUTS.slice(0, 2), INPUTS.slice(2), INPUTS]) {
      const here = writer.prepare(normalised(batch));
      expect(here).toEqual(normalised(batch).map((record) => prepareRecord(record)));
      sent.push(...here);
      reader.read(structuredClone(writer.take()), received);
    }
    expect(received).toHaveLength(INPUTS.length * 2);
    expect(received).toEqual(sent);
    // The same fields in the same order, so the records a worker builds have the shape of the ones prepared here.
    expect(received.map((r) => Object.keys(r))).toEqual(sent.map((r) => Object.keys(r)));
  });

  test('sends each pooled string once: a batch of values seen before adds none', () => {
    const pool = new StringPool();
    const writer = new PreparedBatchWriter(pool);
    writer.prepare(normalised(INPUTS));
    const first = writer.take();
    expect(first.added).toHaveLength(pool.size);
    expect(new Set(first.added).size).toBe(first.added.length);
    writer.prepare(normalised(INPUTS));
    const again = writer.take();
    expect(again.added).toEqual([]);
    expect(again.pooled).toEqual(first.pooled);
  });

  test('holds a batch of any size (here 2,500 records, more than the writer first makes room for)', () => {
    const writer = new PreparedBatchWriter(new StringPool());
    const sent = writer.prepare(normalised(Array.from({ length: 500 }, () => INPUTS).flat()));
    const received: PreparedRecord[] = [];
    new PreparedBatchReader().read(structuredClone(writer.take()), received);
    expect(received).toHaveLength(2_500);
    expect(received).toEqual(sent);
  });

  test('covers every field of a prepared record', () => {
    const [full] = prepared(INPUTS, new StringPool());
    expect([...PREPARED_FIELDS].sort()).toEqual(Object.keys(full!).sort());
  });

  test('notes the id of every pooled value as it is interned (-1 for none)', () => {
    const pool = new StringPool();
    for (const { record, ids } of preparedWithIds(INPUTS, pool))
      POOLED_FIELDS.forEach((field, slot) => expect([field, ids[slot]]).toEqual([field, pool.idOf(record[field])]));
  });
});
