import { normaliseRecord, type NormalisedRecord } from './normalise.ts';

/**
 * Normalised records as arrays of their values (or JSON of them): a batch of arrays crosses between threads far
 * faster than cloning the records as objects, one string per record is a third of the object's memory, and
 * reading it back is lossless (every value is a string or null).
 */
const FIELDS = Object.keys(normaliseRecord({}).record) as Array<keyof NormalisedRecord>;

const valuesOf = (r: NormalisedRecord): Array<string | null> => FIELDS.map((f) => r[f]);

function recordOf(values: Array<string | null>): NormalisedRecord {
  const record: Record<string, string | null> = {};
  for (let k = 0; k < FIELDS.length; k++) record[FIELDS[k]!] = values[k]!;
  return record as unknown as NormalisedRecord;
}

/**
 * The records' values in field order, one array per record, to be serialized for another thread (as JSON by
 * `encodeRecords`, or by the structured clone); `recordsOfValues` makes them records again.
 */
export function recordValues(records: readonly NormalisedRecord[]): Array<Array<string | null>> {
  return records.map(valuesOf);
}

/** The records of `recordValues`, with their fields in the order normalisation gives them. */
export function recordsOfValues(values: ReadonlyArray<Array<string | null>>): NormalisedRecord[] {
  return values.map(recordOf);
}

/** One JSON string holding the records' values in field order. */
export function encodeRecords(records: readonly NormalisedRecord[]): string {
  return JSON.stringify(recordValues(records));
}

/** The records of `encodeRecords`, with their fields in the order normalisation gives them. */
export function decodeRecords(json: string): NormalisedRecord[] {
  return recordsOfValues(JSON.parse(json) as Array<Array<string | null>>);
}

/** One record as a JSON string of its values (`decodeRecord` reads it back). */
export const encodeRecord = (record: NormalisedRecord): string => JSON.stringify(valuesOf(record));

/** The record of `encodeRecord`. */
export const decodeRecord = (json: string): NormalisedRecord => recordOf(JSON.parse(json) as Array<string | null>);
