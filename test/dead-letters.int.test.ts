import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { createHl7Service, type Hl7Service } from '../api/mllp.ts';
import { listDeadLetters, saveDeadLetter } from '../interop/index.ts';
import { adtUpsert, type SamplePatient } from '../interop/testing/hl7-samples.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

const patient = (mrn: string, authority: string, birth = '19720315'): SamplePatient => ({
  mrn,
  authority,
  family: 'Quennell',
  given: 'Odile',
  birth,
  sex: 'F',
  street: '4 Larch Way',
  city: 'Dover',
  state: 'DE',
  zip: '19901',
  phone: '3025550147',
});

const LIST = `query ($status: DeadLetterStatus) {
  deadLetters(channel: HL7, status: $status) { id channel status reason payload createdAt }
}`;
const REPLAY = `mutation ($id: ID!, $payload: String) {
  replayDeadLetter(id: $id, payload: $payload) { accepted ackCode deadLetter { id status reason } }
}`;

type Letter = { id: string; channel: string; status: string; reason: string; payload: string };

describe(`dead-letter list and replay over GraphQL on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let hl7: Hl7Service;
  let admin: string;
  let pipeline: string;

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'EHR', name: 'Hospital EHR' });
    admin = (await createApiKey(app.services.database.db, 'dl-admin', 'admin')).key;
    pipeline = (await createApiKey(app.services.database.db, 'dl-pipeline', 'pipeline')).key;
    hl7 = createHl7Service(app.services);
  });
  afterAll(async () => {
    await app?.close();
  });

  const openLetters = async () => (await app.gql<{ deadLetters: Letter[] }>(LIST, {}, { key: admin })).data!.deadLetters;

  test('lists a refused message to an admin only, with its payload and a value-free reason', async () => {
    const message = adtUpsert('A04', patient('C-1', 'CLINIC'), 'C-DL-1');
    expect((await hl7(message)).code).toBe('AE');
    const letter = (await openLetters()).find((l) => l.payload === message);
    expect(letter).toMatchObject({ channel: 'HL7', status: 'OPEN' });
    expect(letter!.reason).toMatch(/^204 /);
    expect(letter!.reason).not.toContain('Quennell');

    const denied = await app.gql(LIST, {}, { key: pipeline });
    expect(denied.data).toBeNull();
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('a replay refused again keeps the dead letter open with the new reason and keeps no second copy', async () => {
    const message = adtUpsert('A04', patient('C-2', 'CLINIC'), 'C-DL-2');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    const before = (await listDeadLetters(app.services.database.db, null, null)).length;
    const replay = await app.gql<{ replayDeadLetter: { accepted: boolean; ackCode: string; deadLetter: Letter } }>(
      REPLAY,
      { id: letter.id },
      { key: admin },
    );
    expect(replay.data!.replayDeadLetter).toMatchObject({ accepted: false, ackCode: 'AE', deadLetter: { id: letter.id, status: 'OPEN' } });
    expect(replay.data!.replayDeadLetter.deadLetter.reason).toMatch(/^204 /);
    expect(await listDeadLetters(app.services.database.db, null, null)).toHaveLength(before);
    expect(await app.services.ingest.resolve('CLINIC', 'C-2')).toBeNull();
  });

  test('once the cause is fixed, a replay stores the record, closes the dead letter and is audited as the admin', async () => {
    const message = adtUpsert('A04', patient('C-3', 'CLINIC'), 'C-DL-3');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    await app.services.catalog.registerSource({ code: 'CLINIC', name: 'Walk-in clinic' });

    const replay = await app.gql<{ replayDeadLetter: { accepted: boolean; ackCode: string; deadLetter: Letter } }>(
      REPLAY,
      { id: letter.id },
      { key: admin },
    );
    expect(replay.data!.replayDeadLetter).toMatchObject({ accepted: true, ackCode: 'AA', deadLetter: { status: 'REPLAYED' } });
    expect(await app.services.ingest.resolve('CLINIC', 'C-3')).not.toBeNull();
    expect((await openLetters()).map((l) => l.id)).not.toContain(letter.id);

    const audit = await queryRows<{ action: string; actor: string; outcome: string; object_type: string; object_ids: string[] }>(
      app.services.database.db,
      sql`select action, actor, outcome, object_type, object_ids from audit_log
          where action in ('mutation:replayDeadLetter', 'hl7:ingest') and actor = 'api-key:dl-admin' order by id`,
    );
    // The last two: the message as the admin processed it, then the mutation (an earlier test's refused replay is before them).
    expect(audit.slice(-2).map((a) => [a.action, a.outcome])).toEqual([
      ['hl7:ingest', 'SUCCESS'],
      ['mutation:replayDeadLetter', 'SUCCESS'],
    ]);
    expect(audit.at(-1)!.object_ids).toContain(`dead_letter:${letter.id}`);

    const again = await app.gql(REPLAY, { id: letter.id }, { key: admin });
    expect(again.errors?.[0]?.extensions?.code).toBe('DEAD_LETTER_CLOSED');
  });

  test('replays a corrected payload in place of the one received', async () => {
    const message = adtUpsert('A04', patient('E-4', 'EHR', '19720230'), 'C-DL-4');
    expect((await hl7(message)).code).toBe('AE');
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    expect(letter.reason).toMatch(/^102 /);
    const fixed = adtUpsert('A04', patient('E-4', 'EHR', '19720320'), 'C-DL-4');
    const replay = await app.gql<{ replayDeadLetter: { accepted: boolean } }>(REPLAY, { id: letter.id, payload: fixed }, { key: admin });
    expect(replay.data!.replayDeadLetter.accepted).toBe(true);
    expect(await app.services.ingest.resolve('EHR', 'E-4')).not.toBeNull();
  });

  test('a discarded dead letter leaves the open list and stays listed as DISCARDED', async () => {
    const message = adtUpsert('A04', patient('C-5', 'NOWHERE'), 'C-DL-5');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    const discarded = await app.gql<{ discardDeadLetter: Letter }>(
      `mutation ($id: ID!) { discardDeadLetter(id: $id) { status } }`,
      { id: letter.id },
      { key: admin },
    );
    expect(discarded.data!.discardDeadLetter.status).toBe('DISCARDED');
    expect((await openLetters()).map((l) => l.id)).not.toContain(letter.id);
    const listed = await app.gql<{ deadLetters: Letter[] }>(LIST, { status: 'DISCARDED' }, { key: admin });
    expect(listed.data!.deadLetters.map((l) => l.id)).toContain(letter.id);
  });

  test('two replays of one dead letter at once: exactly one ingests it, the other is refused with a typed error', async () => {
    const message = adtUpsert('A04', patient('W-6', 'WARD'), 'C-DL-6');
    expect((await hl7(message)).code).toBe('AE');
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    await app.services.catalog.registerSource({ code: 'WARD', name: 'Ward feed' });
    const [baseline] = await queryRows<{ last: number | string }>(
      app.services.database.db,
      sql`select coalesce(max(id), 0) as last from audit_log`,
    );

    const replays = await Promise.all(
      [1, 2].map(() => app.gql<{ replayDeadLetter: { accepted: boolean; deadLetter: Letter } }>(REPLAY, { id: letter.id }, { key: admin })),
    );
    const won = replays.filter((r) => r.data?.replayDeadLetter?.accepted === true);
    const lost = replays.filter((r) => r.errors !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]!.data!.replayDeadLetter.deadLetter.status).toBe('REPLAYED');
    expect(lost).toHaveLength(1);
    // Refused while the other replay runs, or (if it already finished) because the letter is closed.
    expect(['DEAD_LETTER_REPLAYING', 'DEAD_LETTER_CLOSED']).toContain(lost[0]!.errors![0]!.extensions?.code);
    expect(lost[0]!.errors![0]!.extensions?.field).toBe('id');

    const ingests = await queryRows<{ n: number | string }>(
      app.services.database.db,
      sql`select count(*) as n from audit_log where id > ${Number(baseline!.last)} and action = 'hl7:ingest'`,
    );
    expect(Number(ingests[0]!.n)).toBe(1);
    expect(await app.services.ingest.resolve('WARD', 'W-6')).not.toBeNull();
  });

  test('a dead letter claimed by a running replay refuses another replay and a discard until it is given back', async () => {
    const message = adtUpsert('A04', patient('C-7', 'NOWHERE'), 'C-DL-7');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    const claimed = await app.services.deadLetters.claimForReplay(letter.id);
    expect(claimed.status).toBe('REPLAYING');

    const replay = await app.gql(REPLAY, { id: letter.id }, { key: admin });
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'DEAD_LETTER_REPLAYING', field: 'id' });
    const discard = await app.gql(`mutation ($id: ID!) { discardDeadLetter(id: $id) { status } }`, { id: letter.id }, { key: admin });
    expect(discard.errors?.[0]?.extensions?.code).toBe('DEAD_LETTER_REPLAYING');
    const listed = await app.gql<{ deadLetters: Letter[] }>(LIST, { status: 'REPLAYING' }, { key: admin });
    expect(listed.data!.deadLetters.map((l) => l.id)).toContain(letter.id);

    await app.services.deadLetters.releaseClaim(claimed);
    const again = await app.gql<{ replayDeadLetter: { accepted: boolean; deadLetter: Letter } }>(REPLAY, { id: letter.id }, { key: admin });
    expect(again.data!.replayDeadLetter).toMatchObject({ accepted: false, deadLetter: { status: 'OPEN' } });
  });

  test('a dead letter left REPLAYING by a replay that stopped can be replayed again once its claim is older than the timeout', async () => {
    const message = adtUpsert('A04', patient('C-8', 'NOWHERE'), 'C-DL-8');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    // A replay claims the letter, then its server stops: nothing settles or releases the claim.
    const stale = await app.services.deadLetters.claimForReplay(letter.id);
    const early = await app.gql(REPLAY, { id: letter.id }, { key: admin });
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'DEAD_LETTER_REPLAYING', field: 'id' });

    // The claim grows older than MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS (default five minutes).
    await app.services.database.db.execute(
      sql`update dead_letters set claimed_at = claimed_at - interval '6 minutes' where id = ${letter.id}`,
    );
    const fixed = adtUpsert('A04', patient('C-8', 'EHR'), 'C-DL-8');
    const again = await app.gql<{ replayDeadLetter: { accepted: boolean; deadLetter: Letter } }>(
      REPLAY,
      { id: letter.id, payload: fixed },
      { key: admin },
    );
    expect(again.errors).toBeUndefined();
    expect(again.data!.replayDeadLetter).toMatchObject({ accepted: true, deadLetter: { status: 'REPLAYED' } });
    expect(await app.services.ingest.resolve('EHR', 'C-8')).not.toBeNull();

    // The stopped replay, had it only been slow, can neither settle nor release the letter the other replay took.
    await expect(app.services.deadLetters.settleReplay(stale, 'late answer')).rejects.toMatchObject({ code: 'DEAD_LETTER_CLAIM_LOST' });
    await app.services.deadLetters.releaseClaim(stale);
    expect((await app.services.deadLetters.get(letter.id))!).toMatchObject({ status: 'REPLAYED', claimedAt: null });
  });

  test('a dead letter whose replay claim expired can be discarded; a fresh claim cannot', async () => {
    const message = adtUpsert('A04', patient('C-9', 'NOWHERE'), 'C-DL-9');
    await hl7(message);
    const letter = (await openLetters()).find((l) => l.payload === message)!;
    await app.services.deadLetters.claimForReplay(letter.id);
    const DISCARD = `mutation ($id: ID!) { discardDeadLetter(id: $id) { status } }`;
    expect((await app.gql(DISCARD, { id: letter.id }, { key: admin })).errors?.[0]?.extensions?.code).toBe('DEAD_LETTER_REPLAYING');
    await app.services.database.db.execute(
      sql`update dead_letters set claimed_at = claimed_at - interval '6 minutes' where id = ${letter.id}`,
    );
    const discarded = await app.gql<{ discardDeadLetter: { status: string } }>(DISCARD, { id: letter.id }, { key: admin });
    expect(discarded.data?.discardDeadLetter.status).toBe('DISCARDED');
  });

  test('refuses to replay a FHIR dead letter, an unknown id, or from a non-admin', async () => {
    const fhirId = await saveDeadLetter(app.services.database.db, { channel: 'fhir', payload: '{}', reason: 'test' });
    const fhir = await app.gql(REPLAY, { id: fhirId }, { key: admin });
    expect(fhir.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'id' });
    const unknown = await app.gql(REPLAY, { id: '00000000-0000-4000-8000-000000000000' }, { key: admin });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const denied = await app.gql(REPLAY, { id: fhirId }, { key: pipeline });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
