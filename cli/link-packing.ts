import { deserialize, serialize } from 'node:v8';
import { recordValues, recordsOfValues } from '../matching/index.ts';
import type { NormalisedRecord } from '../matching/index.ts';

/**
 * Records on their way to another link thread: their values (`recordValues`) in V8's serialization, the
 * structured clone's own format, which reads back in about two thirds of the time `JSON.parse` takes for the same
 * values and, as bytes, is copied to each worker without being serialized again.
 */
export type PackedRecords = Uint8Array;

export const packRecords = (records: readonly NormalisedRecord[]): PackedRecords => serialize(recordValues(records));

export const unpackRecords = (packed: PackedRecords): NormalisedRecord[] =>
  recordsOfValues(deserialize(packed) as Array<Array<string | null>>);
