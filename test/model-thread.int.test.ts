import { Writable } from 'node:stream';
import { isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateRegistry } from '../bench/synth/generate.ts';
import {
  IN_PROCESS_COMPUTE,
  ModelLifecycle,
  ModelRegistry,
  ModelThread,
  startModelLifecycle,
  type TrainingJob,
} from '../identity/index.ts';
import { defaultModel, type NormalisedRecord } from '../matching/index.ts';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { synthApiInput } from './synth-input.ts';
import { until } from './wait.ts';

/**
 * The model lifecycle trains, evaluates and re-matches in a worker thread, so the service's event loop keeps
 * serving ingest meanwhile. What the worker computes must be what the calling thread computes from the same
 * stored records, and a worker that fails must fail its step with a typed error, not the service.
 */
const RECORDS = 300;

describe(`the model lifecycle's worker thread on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let stored: NormalisedRecord[];
  const thread = new ModelThread();
  const job = (records: NormalisedRecord[]): TrainingJob => ({
    records,
    active: defaultModel(),
    seed: 7,
    createdAt: '2026-01-01T00:00:00.000Z',
    version: 'model-thread-test',
    evaluate: {},
  });

  beforeAll(async () => {
    app = await createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });
    const records = [...generateRegistry({ seed: 47, records: RECORDS })];
    for (let i = 0; i < RECORDS; i += 50)
      await app.services.ingest.ingestMany(records.slice(i, i + 50).map(synthApiInput) as never, { actor: 'test' });
    // As training reads them: the stored normalised values, through the database's JSON.
    const rows = await app.services.database.db
      .select({ normalised: sourceRecords.normalised })
      .from(sourceRecords)
      .where(isNull(sourceRecords.deletedAt));
    stored = rows.map((r) => r.normalised as unknown as NormalisedRecord);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('trains and evaluates the same candidate in a worker thread as in the calling thread', async () => {
    const here = await IN_PROCESS_COMPUTE.train(job(stored));
    const there = await thread.train(job(stored));
    expect(here.model.training!.candidatePairs).toBeGreaterThan(0);
    expect(here.evaluation!.comparedPairs).toBeGreaterThan(0);
    expect(there.model).toEqual(here.model);
    expect(there.evaluation).toEqual(here.evaluation);

    // Trained on a sample and evaluated on every stored record, as the lifecycle does with a training sample.
    const sampled = { ...job(stored.slice(0, 150)), evaluate: { on: stored } };
    const [sampleHere, sampleThere] = [await IN_PROCESS_COMPUTE.train(sampled), await thread.train(sampled)];
    expect(sampleThere.model).toEqual(sampleHere.model);
    expect(sampleThere.evaluation).toEqual(sampleHere.evaluation);
    expect(sampleThere.evaluation!.candidatePairs).toBe(here.evaluation!.candidatePairs);
  }, 120_000);

  test('the event loop goes on serving while the worker trains, and stands still while the calling thread does', async () => {
    /** How many turns the event loop took while `work` ran (a request waiting on the loop is served on one). */
    const turnsDuring = async (work: () => Promise<unknown>) => {
      let turns = 0;
      let running = true;
      const spin = () => {
        if (!running) return;
        turns += 1;
        setImmediate(spin);
      };
      setImmediate(spin);
      await work();
      running = false;
      return turns;
    };
    expect(await turnsDuring(() => IN_PROCESS_COMPUTE.train(job(stored)))).toBe(0);
    expect(await turnsDuring(() => thread.train(job(stored)))).toBeGreaterThan(10);
  }, 120_000);

  test('proposes the same re-matching merges in a worker thread as in the calling thread', async () => {
    const { model } = await IN_PROCESS_COMPUTE.train(job(stored));
    // Every record its own identity: every link the clustering keeps is a proposed merge.
    const identityOf = stored.map((_, i) => `identity-${i}`);
    const here = await IN_PROCESS_COMPUTE.proposeMerges(stored, identityOf, model);
    expect(here.length).toBeGreaterThan(0);
    expect(await thread.proposeMerges(stored, identityOf, model)).toEqual(here);
  }, 120_000);

  test('a worker that throws fails the step with a typed error', async () => {
    // Blocking rules that are not rules: training throws inside the worker.
    const broken = { ...job(stored), active: { ...defaultModel(), blockingRules: [{ name: 'broken', keys: 42 }] } as never };
    await expect(thread.train(broken)).rejects.toMatchObject({ name: 'ModelWorkerError', code: 'MODEL_WORKER_FAILED' });
  }, 60_000);

  test('a lifecycle whose worker runs out of memory logs a typed failure, stores nothing and the service goes on', async () => {
    const db = app.services.database.db;
    const lines: Array<Record<string, unknown>> = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const starved = new ModelRegistry(db, new ModelThread({ resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 } }));
    const logger = createLogger('info', capture);
    const lifecycle = new ModelLifecycle(db, starved, logger, { trainAfter: 100, retrainMs: 0, retrainGrowth: 0, retrainQuietMs: 0 });
    await expect(lifecycle.run('FIRST_RECORDS')).rejects.toMatchObject({ code: 'MODEL_WORKER_FAILED' });

    // Run as the server runs it, by the leased job: the failure is a log line with its code, and the job goes on.
    const job = startModelLifecycle(db, lifecycle, { everyMs: 50, holder: 'model-thread-test', leaseMs: 1_000, logger });
    try {
      const failed = await until(() => lines.find((l) => l.msg === 'scheduled job failed'), 60_000);
      expect(failed).toMatchObject({ job: 'model-lifecycle', errorName: 'ModelWorkerError', errorCode: 'MODEL_WORKER_FAILED' });
      const after = await app.services.ingest.ingest(
        { source: 'LAB', localId: 'after-worker-failure', givenName: 'Ines', familyName: 'Marlow', birthDate: '1980-05-06', sex: 'F' },
        { actor: 'test' },
      );
      expect(after.recordId).toBeTruthy();
    } finally {
      await job.stop();
    }
    expect(await starved.events({ limit: 10 })).toEqual([]);
    expect(await app.services.models.activeVersion(db)).toBe(defaultModel().version);
  }, 120_000);
});
