import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { and, eq, or } from 'drizzle-orm';
import { auditLog, changeEvents, identities, identityEvents, reviewItems } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { bridgeCase, seedSources } from './fixtures.ts';

const INGEST = `mutation Ingest($input: SourceRecordInput!) {
  ingestRecord(input: $input) {
    outcome
    record { id }
    identity { id records { localId } golden { phone postalCode } }
    reviewItem { id kind }
    mergedIdentityIds
  }
}`;

interface Ingested {
  outcome: string;
  record: { id: string };
  identity: { id: string; records: Array<{ localId: string }>; golden: Record<string, string | null> };
  reviewItem: { id: string; kind: string } | null;
  mergedIdentityIds: string[];
}

describe(`automatic merge of identities a record bridges, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab', 'payer']);
  });
  afterAll(async () => {
    await app?.close();
  });

  const ingest = async (input: Record<string, unknown>): Promise<Ingested> => {
    const result = await app.gql<{ ingestRecord: Ingested }>(INGEST, { input });
    if (result.errors) throw new Error(`ingest failed: ${JSON.stringify(result.errors)}`);
    return result.data!.ingestRecord;
  };
  const db = () => app.services.database.db;
  const identity = async (id: string) => (await db().select().from(identities).where(eq(identities.id, id)))[0]!;
  const reviewsBetween = (a: string, b: string) =>
    db()
      .select()
      .from(reviewItems)
      .where(
        or(
          and(eq(reviewItems.identityA, a), eq(reviewItems.identityB, b)),
          and(eq(reviewItems.identityA, b), eq(reviewItems.identityB, a)),
        ),
      );

  test('merges the two identities when the merge guard passes, as a steward merge is recorded', async () => {
    const c = bridgeCase('Thorsdottir', 84);
    const phone = await ingest({ source: 'lab', localId: 'AM-1', ...c.byPhone });
    const address = await ingest({ source: 'ehr', localId: 'AM-2', ...c.byAddress });
    expect(phone.outcome).toBe('CREATED');
    expect(address.outcome).toBe('REVIEW');
    expect(address.identity.id).not.toBe(phone.identity.id);

    const bridge = await ingest({ source: 'payer', localId: 'AM-3', ...c.bridge });
    expect(bridge.outcome).toBe('LINKED');
    const survivor = bridge.identity.id;
    const merged = survivor === phone.identity.id ? address.identity.id : phone.identity.id;
    expect([phone.identity.id, address.identity.id]).toContain(survivor);
    expect(bridge.mergedIdentityIds).toEqual([merged]);
    expect(bridge.identity.records.map((r) => r.localId).sort()).toEqual(['AM-1', 'AM-2', 'AM-3']);
    // The golden record takes the phone of one and the postal code of the other.
    expect(bridge.identity.golden).toMatchObject({ phone: '5035550184', postalCode: '97284' });
    expect(await identity(merged)).toMatchObject({ status: 'MERGED', mergedInto: survivor });

    const events = await db().select().from(identityEvents).where(eq(identityEvents.type, 'MERGED'));
    const mergeEvents = events.filter((e) => [survivor, merged].includes(e.identityId));
    expect(mergeEvents.map((e) => [e.identityId, e.otherIdentityId, e.actor]).sort()).toEqual(
      [
        [survivor, merged, 'matcher'],
        [merged, survivor, 'matcher'],
      ].sort(),
    );
    expect(mergeEvents[0]!.evidence).toMatchObject({
      automatic: true,
      decision: 'MERGE',
      bridgingRecordId: bridge.record.id,
      guard: { passed: true },
      triggeredBy: expect.any(String),
    });
    expect(mergeEvents[0]!.modelVersion).toEqual(expect.any(String));
    expect(mergeEvents[0]!.reason).toMatch(/merge guard passed/);

    // The steward no longer has to decide the review the second record opened.
    const reviews = await reviewsBetween(survivor, merged);
    expect(reviews.length).toBeGreaterThan(0);
    expect(reviews.every((r) => r.status === 'RESOLVED' && r.decidedBy === 'matcher' && r.decision === 'MATCH')).toBe(true);

    const [change] = await db()
      .select()
      .from(changeEvents)
      .where(and(eq(changeEvents.type, 'IDENTITIES_MERGED'), eq(changeEvents.identityId, merged)));
    expect(change).toMatchObject({
      actor: 'matcher',
      recordId: bridge.record.id,
      data: { retiredId: merged, survivingId: survivor, automatic: true },
    });
    const audit = (await db().select().from(auditLog).where(eq(auditLog.action, 'autoMerge'))).filter((e) =>
      e.objectIds.includes(`identity:${merged}`),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'matcher', outcome: 'SUCCESS', objectType: 'identity' });
    expect(audit[0]!.objectIds).toEqual(expect.arrayContaining([`identity:${survivor}`, `record:${bridge.record.id}`]));
    // PHI stays out of the audit details: ids, versions and scores only.
    expect(JSON.stringify(audit[0]!.details)).not.toMatch(/Annika|Thorsdottir|5035550184/);
  });

  test.each([
    ['twins who share birth date, family name, address and phone', 'Vasilescu', 'Mirela', 'Oana', 'twin'],
    ['a father and son of one name without a suffix', 'Okafor', 'Chidi', 'Chidi', 'generation_gap'],
  ])('keeps %s apart and opens a possible-duplicate review', async (_kind, familyName, first, second, reason) => {
    const shared = {
      familyName,
      sex: 'M',
      addressLine1: '12 Birch Row',
      city: 'Salem',
      state: 'OR',
      postalCode: '97301',
      phone: '5035550100',
    };
    const a = await ingest({ source: 'ehr', localId: `${familyName}-1`, ...shared, givenName: first, birthDate: '1990-06-15' });
    const bDate = reason === 'generation_gap' ? '1958-02-03' : '1990-06-15';
    const b = await ingest({ source: 'lab', localId: `${familyName}-2`, ...shared, givenName: second, birthDate: bDate });
    expect(b.identity.id).not.toBe(a.identity.id);
    // A record that tells them apart by neither given name nor birth date matches both.
    const vague = await ingest({
      source: 'payer',
      localId: `${familyName}-3`,
      ...shared,
      givenName: reason === 'twin' ? null : first,
      birthDate: reason === 'twin' ? '1990-06-15' : null,
      email: `family@${familyName.toLowerCase()}.example`,
    });
    expect(vague.mergedIdentityIds).toEqual([]);
    expect((await identity(a.identity.id)).status).toBe('ACTIVE');
    expect((await identity(b.identity.id)).status).toBe('ACTIVE');
    const open = (await reviewsBetween(a.identity.id, b.identity.id)).filter((r) => r.kind === 'POSSIBLE_DUPLICATE' && r.status === 'OPEN');
    expect(open).toHaveLength(1);
    expect((open[0]!.explanation as { blockers: string[] }).blockers).toContain(reason);
  });

  test('weighs every record of the identities, also one the bridging record shares no key with', async () => {
    const c = bridgeCase('Halvorsen', 62);
    const phone = await ingest({ source: 'lab', localId: 'MG-1', ...c.byPhone });
    expect((await ingest({ source: 'ehr', localId: 'MG-2', ...c.byPhone })).identity.id).toBe(phone.identity.id);
    const address = await ingest({ source: 'ehr', localId: 'MG-3', ...c.byAddress, ssn: '521-33-6020' });
    expect(address.identity.id).not.toBe(phone.identity.id);
    // A steward put a record into the phone identity that shares no blocking key with the bridging record (no
    // name, birth date, phone or address in common) and whose SSN is not the address record's: never a candidate.
    const other = await ingest({
      source: 'payer',
      localId: 'MG-4',
      givenName: 'Zuleika',
      familyName: 'Mbeki',
      sex: 'F',
      ssn: '417-28-9031',
    });
    const merged = await app.gql(
      'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same person") { id } }',
      {
        s: phone.identity.id,
        m: other.identity.id,
      },
    );
    expect(merged.errors).toBeUndefined();

    const bridge = await ingest({ source: 'payer', localId: 'MG-5', ...c.bridge });
    expect(bridge.outcome).toBe('LINKED');
    expect(bridge.mergedIdentityIds).toEqual([]);
    expect((await identity(phone.identity.id)).status).toBe('ACTIVE');
    expect((await identity(address.identity.id)).status).toBe('ACTIVE');
    const open = (await reviewsBetween(phone.identity.id, address.identity.id)).filter(
      (r) => r.kind === 'POSSIBLE_DUPLICATE' && r.status === 'OPEN',
    );
    expect(open).toHaveLength(1);
    expect((open[0]!.explanation as { blockers: string[] }).blockers).toEqual(['ssn_conflict']);
  });

  test('neither merges nor flags two identities a steward declared different people', async () => {
    const c = bridgeCase('Lindqvist', 71);
    const phone = await ingest({ source: 'lab', localId: 'ND-1', ...c.byPhone });
    const address = await ingest({ source: 'ehr', localId: 'ND-2', ...c.byAddress });
    const marked = await app.gql('mutation($a: ID!, $b: ID!) { markNotDuplicate(a: $a, b: $b, reason: "different people") { id } }', {
      a: phone.identity.id,
      b: address.identity.id,
    });
    expect(marked.errors).toBeUndefined();
    const bridge = await ingest({ source: 'payer', localId: 'ND-3', ...c.bridge });
    expect(bridge.outcome).toBe('LINKED');
    expect(bridge.mergedIdentityIds).toEqual([]);
    expect((await identity(phone.identity.id)).status).toBe('ACTIVE');
    expect((await identity(address.identity.id)).status).toBe('ACTIVE');
    const open = (await reviewsBetween(phone.identity.id, address.identity.id)).filter((r) => r.status === 'OPEN');
    expect(open).toEqual([]);
  });

  test('concurrent ingests of bridging records end with one identity, without error', async () => {
    const c = bridgeCase('Castellano', 66);
    const phone = await ingest({ source: 'lab', localId: 'CC-1', ...c.byPhone });
    const address = await ingest({ source: 'ehr', localId: 'CC-2', ...c.byAddress });
    const results = await Promise.all(
      ['CC-3', 'CC-4', 'CC-5'].map((localId, i) => ingest({ source: 'payer', localId, ...c.bridge, email: `a${i}@castellano.example` })),
    );
    const survivors = new Set(results.map((r) => r.identity.id));
    expect(survivors.size).toBe(1);
    const [survivor] = [...survivors];
    expect([phone.identity.id, address.identity.id]).toContain(survivor);
    expect(results.flatMap((r) => r.mergedIdentityIds)).toHaveLength(1);
    const final = await ingest({ source: 'payer', localId: 'CC-5', ...c.bridge, email: 'a2@castellano.example' });
    expect(final.outcome).toBe('UNCHANGED');
    expect(final.identity.records.map((r) => r.localId).sort()).toEqual(['CC-1', 'CC-2', 'CC-3', 'CC-4', 'CC-5']);
  });
});
