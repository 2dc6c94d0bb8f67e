import { normaliseRecord } from '../matching/index.ts';
import type { NormalisedRecord } from '../matching/index.ts';

/**
 * Normalised records cross between threads as JSON arrays of their values: one string per chunk is copied once,
 * far faster than cloning millions of objects, and parsing it back is lossless (every value is a string or null).
 */
const FIELDS = Object.keys(normaliseRecord({}).record) as Array<keyof NormalisedRecord>;

/** One JSON string holding the records' values in field order. */
export function encodeRecords(records: readonly NormalisedRecord[]): string {
  return JSON.stringify(records.map((r) => FIELDS.map((f) => r[f])));
}

/** The records of `encodeRecords`, with their fields in the order normalisation gives them. */
export function decodeRecords(json: string): NormalisedRecord[] {
  const rows = JSON.parse(json) as Array<Array<string | null>>;
  return rows.map((values) => {
    const record: Record<string, string | null> = {};
    for (let k = 0; k < FIELDS.length; k++) record[FIELDS[k]!] = values[k]!;
    return record as unknown as NormalisedRecord;
  });
}
