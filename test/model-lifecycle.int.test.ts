import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScheduledJobs } from '../api/jobs.ts';
import { generateRegistry } from '../bench/synth/generate.ts';
import { LIFECYCLE_ACTOR, ModelLifecycle, QUIET_RETRAIN_MIN_GROWTH, type ModelEventRow } from '../identity/index.ts';
import { defaultModel } from '../matching/index.ts';
import type { ElectedJob } from '../platform/lease.ts';
import { createLogger } from '../platform/logger.ts';
import { links, matchModels, notDuplicates } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { synthApiInput } from './synth-input.ts';
import { until } from './wait.ts';

/**
 * The model lifecycle runs itself: a synthetic registry ingested into an empty index gets a trained model once
 * its first N records are stored, through the leased job as a server runs it, with every step a model event.
 */
const TRAIN_AFTER = 250;
const RECORDS = 320;

const EVENTS = `query Events($version: String, $type: MatchModelEventType) {
  matchModelEvents(version: $version, type: $type) { id version type actor data at }
}`;

describe(`the self-running model lifecycle on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let jobs: ElectedJob[] = [];
  const records = [...generateRegistry({ seed: 31, records: RECORDS })];

  const events = async (version?: string) => {
    const result = await app.gql<{ matchModelEvents: Array<ModelEventRow & { id: string }> }>(EVENTS, { version });
    expect(result.errors).toBeUndefined();
    return result.data!.matchModelEvents;
  };
  const activeVersion = () => app.services.models.activeVersion(app.services.database.db);

  beforeAll(async () => {
    app = await createTestApp({
      env: {
        MPI_AUTO_REGISTER_SOURCES: 'true',
        MPI_MODEL_TRAIN_AFTER: String(TRAIN_AFTER),
        MPI_MODEL_CHECK_SECONDS: '0.05',
        MPI_EVENTS_LEASE_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await Promise.all(jobs.map((job) => job.stop()));
    await app?.close();
  });

  test('trains, evaluates and activates a model by itself once the first N records are stored', async () => {
    jobs = startScheduledJobs(app.services);
    expect(jobs.map((j) => j.name)).toContain('model-lifecycle');
    for (let i = 0; i < TRAIN_AFTER - 50; i += 50)
      await app.services.ingest.ingestMany(records.slice(i, i + 50).map(synthApiInput) as never, { actor: 'test' });
    // Below N records nothing is trained, however often the job looks.
    await new Promise((r) => setTimeout(r, 300));
    expect(await events()).toEqual([]);
    expect(await activeVersion()).toBe(defaultModel().version);

    for (let i = TRAIN_AFTER - 50; i < RECORDS; i += 50)
      await app.services.ingest.ingestMany(records.slice(i, i + 50).map(synthApiInput) as never, { actor: 'test' });
    const activated = await until(async () => (await events()).find((e) => e.type === 'ACTIVATED'), 60_000);
    const steps = (await events(activated.version)).reverse();
    expect(steps.map((e) => e.type)).toEqual(['TRAINED', 'EVALUATED', 'ACTIVATED']);
    expect(steps.every((e) => e.actor === LIFECYCLE_ACTOR)).toBe(true);
    const [trained, evaluated] = steps;
    expect(trained!.data).toMatchObject({ trigger: 'FIRST_RECORDS' });
    expect(trained!.data.records).toBeGreaterThanOrEqual(TRAIN_AFTER);
    expect(trained!.data.candidatePairs).toBeGreaterThan(0);
    expect(evaluated!.data).toMatchObject({ accept: true, reasons: [], active: { version: defaultModel().version } });
    expect(evaluated!.data.comparedPairs).toBeGreaterThan(0);
    expect(evaluated!.data.candidate).toMatchObject({
      version: activated.version,
      links: expect.any(Number),
      expectedPrecision: expect.any(Number),
    });
    expect(activated.data).toMatchObject({ previous: defaultModel().version, trigger: 'FIRST_RECORDS' });
    expect(await activeVersion()).toBe(activated.version);
    // New records are decided by the trained model.
    const after = await app.services.ingest.ingest({ ...synthApiInput(records[0]!), localId: 'after-training' } as never, {
      actor: 'test',
    });
    const [link] = await app.services.database.db.select().from(links).where(eq(links.recordId, after.recordId));
    expect(link!.modelVersion).toBe(activated.version);
    // The trained model is calibrated on its own linkage, and explanations state the calibrated probability.
    const spec = await app.gql<{ matchModel: { calibration?: { method: string; clear: unknown[] } } }>('{ matchModel }');
    expect(spec.data!.matchModel.calibration).toMatchObject({ method: 'cluster-consistency', clear: expect.any(Array) });
    const { source: _source, localId: _localId, ...fields } = synthApiInput(records[0]!);
    const matched = await app.gql<{ match: Array<{ explanation: { calibratedProbability: number | null } }> }>(
      'query($i: RecordFieldsInput!) { match(input: $i) { explanation { calibratedProbability } } }',
      { i: fields },
    );
    expect(matched.errors).toBeUndefined();
    expect(matched.data!.match[0]!.explanation.calibratedProbability).toBeGreaterThan(0.5);
    // Trained once: the next check finds nothing due (records have not doubled, the schedule is a day away).
    expect(await app.services.lifecycle.due()).toBeNull();
  }, 120_000);

  test('keeps manual links and not-duplicate decisions when a new model is activated', async () => {
    await Promise.all(jobs.map((job) => job.stop()));
    jobs = [];
    const db = app.services.database.db;
    const a = await app.services.ingest.ingest(
      { source: 'LAB', localId: 'nd-a', givenName: 'Orla', familyName: 'Quennell', birthDate: '1971-03-09', sex: 'F' },
      { actor: 'test' },
    );
    const b = await app.services.ingest.ingest(
      { source: 'LAB', localId: 'nd-b', givenName: 'Tobias', familyName: 'Varga', birthDate: '1988-11-23', sex: 'M' },
      { actor: 'test' },
    );
    const c = await app.services.ingest.ingest(
      { source: 'LAB', localId: 'nd-c', givenName: 'Tobias', familyName: 'Varga', birthDate: '1988-11-23', sex: 'M', phone: '5550101' },
      { actor: 'test' },
    );
    expect(c.identityId).toBe(b.identityId);
    const steward = { actor: 'test:steward', reason: 'checked the charts' };
    await app.services.steward.markNotDuplicate(a.identityId, b.identityId, steward);
    const moved = await app.services.steward.unlink(c.recordId, a.identityId, steward);
    expect(moved.to).toBe(a.identityId);

    const run = await app.services.lifecycle.run('SCHEDULE');
    expect(run.activated).toBe(true);
    expect(await activeVersion()).toBe(run.version);

    const pair = a.identityId < b.identityId ? [a.identityId, b.identityId] : [b.identityId, a.identityId];
    const kept = await db
      .select()
      .from(notDuplicates)
      .where(and(eq(notDuplicates.identityA, pair[0]!), eq(notDuplicates.identityB, pair[1]!)));
    expect(kept).toHaveLength(1);
    const [manual] = await db.select().from(links).where(eq(links.recordId, c.recordId));
    expect(manual).toMatchObject({ identityId: a.identityId, linkSource: 'MANUAL' });
    // A changed copy of the manually placed record stays where the steward put it under the new model too.
    const again = await app.services.ingest.ingest(
      { source: 'LAB', localId: 'nd-c', givenName: 'Tobias', familyName: 'Varga', birthDate: '1988-11-23', sex: 'M', phone: '5550102' },
      { actor: 'test' },
    );
    expect(again.identityId).toBe(a.identityId);
    // And the identities marked different people are not joined by a new record matching one of them.
    const d = await app.services.ingest.ingest(
      { source: 'EHR', localId: 'nd-d', givenName: 'Tobias', familyName: 'Varga', birthDate: '1988-11-23', sex: 'M' },
      { actor: 'test' },
    );
    expect((await app.services.identity.getIdentity(a.identityId))!.status).toBe('ACTIVE');
    expect((await app.services.identity.getIdentity(b.identityId))!.status).toBe('ACTIVE');
    expect([a.identityId, b.identityId]).toContain(d.identityId);
  }, 120_000);

  test('rejects a candidate trained on a degenerate sample and keeps the active model', async () => {
    const before = await activeVersion();
    // A feed that sent one test patient over and over: every training record is the same person.
    const degenerate = new ModelLifecycle(app.services.database.db, app.services.models, createLogger('silent'), {
      trainAfter: 1,
      retrainMs: 0,
      retrainGrowth: 0,
      retrainQuietMs: 0,
      trainingSample: (stored) => stored.map(() => stored[0]!),
    });
    const run = await degenerate.run('SCHEDULE');
    expect(run.activated).toBe(false);
    expect(run.comparison.reasons.length).toBeGreaterThan(0);
    expect(await activeVersion()).toBe(before);
    const [stored] = await app.services.database.db.select().from(matchModels).where(eq(matchModels.version, run.version));
    expect(stored).toMatchObject({ active: false, createdBy: LIFECYCLE_ACTOR });
    const steps = (await events(run.version)).reverse();
    expect(steps.map((e) => e.type)).toEqual(['TRAINED', 'EVALUATED', 'REJECTED']);
    expect(steps[2]!.data).toMatchObject({ kept: before, reasons: run.comparison.reasons });
    expect(steps[1]!.data).toMatchObject({ accept: false });
    const rejected = await app.gql<{ matchModelEvents: Array<{ version: string }> }>(EVENTS, { type: 'REJECTED' });
    expect(rejected.data!.matchModelEvents.map((e) => e.version)).toEqual([run.version]);
  }, 120_000);

  test('retrains on the whole index once the feed goes quiet after it grew, and not while records come in', async () => {
    const models = app.services.models;
    const quietMs = 10 * 60_000;
    const lifecycle = new ModelLifecycle(app.services.database.db, models, createLogger('silent'), {
      trainAfter: 1,
      retrainMs: 0,
      retrainGrowth: 0,
      retrainQuietMs: quietMs,
    });
    // The last training recorded the size of the index it was trained on.
    const trainedOn = Number((await models.lastTraining())!.data.stored);
    expect(trainedOn).toBe(await models.storedRecords());
    // The checks' own clock: the lifecycle sees quiet only between checks that find the same number of records.
    let clock = Date.now();
    const at = (ms: number) => (clock += ms);
    // Quiet, but nothing came in since the last training: nothing to learn.
    expect(await lifecycle.due(at(0))).toBeNull();
    expect(await lifecycle.due(at(quietMs))).toBeNull();

    // A load: enough new records to grow the index by the floor, sent in two parts with a check between them.
    const load = [...generateRegistry({ seed: 37, records: Math.ceil(trainedOn * (QUIET_RETRAIN_MIN_GROWTH - 1)) + 2 })].map((r) => ({
      ...synthApiInput(r),
      localId: `quiet-${r.recordId}`,
    }));
    const half = Math.floor(load.length / 2);
    await app.services.ingest.ingestMany(load.slice(0, half) as never, { actor: 'test' });
    expect(await lifecycle.due(at(1))).toBeNull();
    await app.services.ingest.ingestMany(load.slice(half) as never, { actor: 'test' });
    const stored = await models.storedRecords();
    expect(stored).toBeGreaterThanOrEqual(trainedOn * QUIET_RETRAIN_MIN_GROWTH);
    // Records came in since the last check: the feed is not quiet yet, however long ago the first part came.
    expect(await lifecycle.due(at(1))).toBeNull();
    expect(await lifecycle.due(at(quietMs - 1))).toBeNull();
    expect(await lifecycle.due(at(1))).toBe('QUIET');

    const run = await lifecycle.runIfDue(at(0));
    expect(run!.trigger).toBe('QUIET');
    const [trained] = await models.events({ version: run!.version, type: 'TRAINED', limit: 1 });
    expect(trained!.data).toMatchObject({ trigger: 'QUIET', records: stored, stored, seconds: expect.any(Number) });
    // Trained on the whole index: the next quiet period has nothing new to learn from.
    expect(await lifecycle.due(at(2 * quietMs))).toBeNull();
  }, 120_000);

  test('measures growth against the index it trained on, not the sample training read', async () => {
    const models = app.services.models;
    // As on an index larger than MAX_TRAINING_RECORDS, where training reads a sample of the stored records.
    const sampled = new ModelLifecycle(app.services.database.db, models, createLogger('silent'), {
      trainAfter: 1,
      retrainMs: 0,
      retrainGrowth: 2,
      retrainQuietMs: 0,
      trainingSample: (stored) => stored.slice(0, 100),
    });
    const run = await sampled.run('SCHEDULE');
    const stored = await models.storedRecords();
    const [trained] = await models.events({ version: run.version, type: 'TRAINED', limit: 1 });
    expect(trained!.data).toMatchObject({ records: 100, stored });
    expect(stored).toBeGreaterThan(2 * 100);
    // The index has not doubled since: a check must not train again (it would at every check, forever).
    expect(await sampled.due()).toBeNull();
  }, 120_000);
});
