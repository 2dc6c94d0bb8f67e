import { describe, expect, test } from 'vitest';
import { normaliseRecord } from './normalise.ts';
import type { RecordInput } from './normalise.ts';
import { PREPARED_FIELDS, PreparedBatchReader, PreparedBatchWriter } from './prepared-codec.ts';
import { prepareRecord, StringPool } from './prepared.ts';
import type { PreparedRecord } from './prepared.ts';

const INPUTS: RecordInput[] = [
  {
    givenName: 'Mary Ann',
    middleName: 'Jo',
    familyName: 'Smith Jones',
    suffix: 'Jr',
    birthDate: '1956-04-09',
    ssn: '123-45-6789',
    phone: '555-123-4567',
    email: 'mary.smithjones@example.org',
    addressLine1: '12 High Street',
    addressLine2: 'Flat 3',
    city: 'Springfield',
    state: 'IL',
    postalCode: '62704',
    sex: 'F',
  },
  { givenName: 'Mary', familyName: 'Smith Jones', birthDate: '1980-01', city: 'Springfield', sex: 'F' },
  { givenName: 'Zoë', familyName: "O'Brien", birthDate: '1990' },
  { familyName: 'de la Cruz', email: 'no-at-sign' },
  {},
];

/** Each input normalised and prepared with `pool`, in order. */
const prepared = (inputs: RecordInput[], pool: StringPool) =>
  inputs.map((input) => prepareRecord(normaliseRecord(structuredClone(input)).record, pool));

describe('prepared records sent as pool ids', () => {
  test('read back equal to the records written, batch after batch, through a structured clone', () => {
    const pool = new StringPool();
    const writer = new PreparedBatchWriter(pool);
    const reader = new PreparedBatchReader();
    const sent: PreparedRecord[] = [];
    const received: PreparedRecord[] = [];
    for (const batch of [INPUTS.slice(0, 2), INPUTS.slice(2), INPUTS]) {
      for (const record of prepared(batch, pool)) {
        writer.add(record);
        sent.push(record);
      }
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
    for (const record of prepared(INPUTS, pool)) writer.add(record);
    const first = writer.take();
    expect(first.added).toHaveLength(pool.size);
    expect(new Set(first.added).size).toBe(first.added.length);
    for (const record of prepared(INPUTS, pool)) writer.add(record);
    const again = writer.take();
    expect(again.added).toEqual([]);
    expect(again.pooled).toEqual(first.pooled);
  });

  test('covers every field of a prepared record', () => {
    const [full] = prepared(INPUTS, new StringPool());
    expect([...PREPARED_FIELDS].sort()).toEqual(Object.keys(full!).sort());
  });

  test('refuses a record prepared with another pool', () => {
    const writer = new PreparedBatchWriter(new StringPool());
    const [other] = prepared(INPUTS, new StringPool());
    expect(() => writer.add(other!)).toThrow(/not in the pool/);
  });
});
