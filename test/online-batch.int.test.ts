import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateRegistry, type SynthRecord } from '../bench/synth/generate.ts';
import { defaultModel, linkRecords, normaliseRecord, pairwiseScore, type PairwiseScore } from '../matching/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { synthApiInput } from './synth-input.ts';

/**
 * Online = batch: a small synthetic registry (with its twins, Jr/Sr, spouses and siblings) ingested record by
 * record into an empty index must end as precise as `mpi link`'s clustering of the same file with the same
 * model, and find about as many of the true pairs. Both decide under the same merge guard (`recordsMayMerge`).
 */
const RECORDS = 300;

/** The registry's records as a pipeline would send them: ISO birth dates, blanks left out. */
function registry(): SynthRecord[] {
  const records: SynthRecord[] = [];
  for (const r of generateRegistry({ seed: 23, records: RECORDS })) records.push(r);
  return records;
}

describe(`online ingest and mpi link agree on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const records = registry();
  let online: PairwiseScore;
  let batch: PairwiseScore;

  beforeAll(async () => {
    app = await createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });
    const identityOf = new Map<string, string>();
    for (const r of records) {
      const result = await app.services.ingest.ingest(synthApiInput(r) as never, { actor: 'test' });
      identityOf.set(r.recordId, result.identityId);
    }
    // A merge or a later record may move an identity: read where every record ended.
    for (const r of records) identityOf.set(r.recordId, (await app.services.ingest.resolve(r.source, r.recordId))!.id);
    online = pairwiseScore(
      records.length,
      (i) => identityOf.get(records[i]!.recordId)!,
      (i) => records[i]!.clusterId,
    );
    const normalised = records.map((r) => normaliseRecord(synthApiInput(r)).record);
    const linked = linkRecords(normalised, defaultModel());
    batch = pairwiseScore(
      records.length,
      (i) => linked.clusterOf[i]!,
      (i) => records[i]!.clusterId,
    );
  }, 240_000);
  afterAll(async () => {
    await app?.close();
  });

  test('the registry has true pairs and look-alikes to get wrong', () => {
    expect(online.truePairs).toBeGreaterThan(50);
  });

  test('record-by-record ingest is as precise as batch linking of the same records', () => {
    expect(batch.precision).toBeGreaterThanOrEqual(0.97);
    expect(online.precision).toBeGreaterThanOrEqual(batch.precision - 0.005);
  });

  test('record-by-record ingest finds about as many true pairs as batch linking', () => {
    expect(online.f1).toBeGreaterThanOrEqual(batch.f1 - 0.03);
  });
});
