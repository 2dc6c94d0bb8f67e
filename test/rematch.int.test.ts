import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { rematchIdentities } from '../identity/index.ts';
import { defaultModel, type MatchModel } from '../matching/index.ts';
import { auditLog, identities, identityEvents, links } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { seedSources } from './fixtures.ts';

/**
 * Records linked under a model that was too cautious are re-matched when a better one activates: identities the
 * new model joins merge where the merge guard passes, and nothing a steward decided is undone.
 */
function model(version: string, prior: number): MatchModel {
  return { ...defaultModel({ createdAt: '2025-01-01T00:00:00.000Z', version }), prior };
}
/** A prior so low that no pair reaches the match threshold: every record starts an identity of its own. */
const CAUTIOUS = model('rematch-cautious', 1e-15);
const ACTIVATED = model('rematch-activated', 1e-4);

const home = { addressLine1: '48 Quarry Lane', city: 'Duluth', state: 'MN', postalCode: '55802', phone: '2185550148' };

describe(`re-matching after a model activation, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab', 'payer']);
    await app.services.models.import(CAUTIOUS, 'test', true);
  });
  afterAll(async () => {
    await app?.close();
  });

  const db = () => app.services.database.db;
  const ingest = (source: string, localId: string, fields: Record<string, string>) =>
    app.services.ingest.ingest({ source, localId, ...fields }, { actor: 'test' });
  const identityOf = async (recordId: string) => (await db().select().from(links).where(eq(links.recordId, recordId)))[0]!.identityId;
  const status = async (id: string) => (await db().select().from(identities).where(eq(identities.id, id)))[0]!.status;

  test('merges what the new model links, keeps twins, not-duplicate decisions and manual links apart', async () => {
    const maren = { givenName: 'Maren', familyName: 'Solberg', birthDate: '1968-02-14', sex: 'F', ...home };
    const a1 = await ingest('ehr', 'RM-1', maren);
    const a2 = await ingest('lab', 'RM-2', { ...maren, givenName: 'Marenn', phone: '' });
    const a3 = await ingest('payer', 'RM-3', { ...maren, email: 'maren@solberg.example' });
    // Twins at one address: same birth date and family name, different given names.
    const twin = { familyName: 'Brekke', birthDate: '2011-09-30', sex: 'M', ...home };
    const t1 = await ingest('ehr', 'RM-4', { ...twin, givenName: 'Anders' });
    const t2 = await ingest('lab', 'RM-5', { ...twin, givenName: 'Aksel' });
    // One person's two records that a steward declared different people.
    const olav = { givenName: 'Olav', familyName: 'Haugen', birthDate: '1950-05-05', sex: 'M', postalCode: '55803' };
    const n1 = await ingest('ehr', 'RM-6', olav);
    const n2 = await ingest('lab', 'RM-7', olav);
    // And records of one person, one of which a steward placed by hand.
    const sigrid = { givenName: 'Sigrid', familyName: 'Lunde', birthDate: '1983-12-01', sex: 'F', postalCode: '55804' };
    const m1 = await ingest('ehr', 'RM-8', sigrid);
    const m2 = await ingest('lab', 'RM-9', sigrid);
    const m3 = await ingest('payer', 'RM-10', sigrid);
    const all = [a1, a2, a3, t1, t2, n1, n2, m1, m2, m3];
    expect(new Set(all.map((r) => r.identityId)).size).toBe(all.length);
    const steward = { actor: 'test:steward', reason: 'checked the charts' };
    await app.services.steward.markNotDuplicate(n1.identityId, n2.identityId, steward);
    await app.services.steward.unlink(m3.recordId, m1.identityId, steward);

    await app.services.models.import(ACTIVATED, 'test', true);
    const summary = await rematchIdentities(db(), ACTIVATED, { actor: 'test' });

    const maren1 = await identityOf(a1.recordId);
    expect(await identityOf(a2.recordId)).toBe(maren1);
    expect(await identityOf(a3.recordId)).toBe(maren1);
    expect(await status(maren1)).toBe('ACTIVE');
    expect(await identityOf(t1.recordId)).not.toBe(await identityOf(t2.recordId));
    expect(await identityOf(n1.recordId)).toBe(n1.identityId);
    expect(await identityOf(n2.recordId)).toBe(n2.identityId);
    expect(await identityOf(m1.recordId)).toBe(m1.identityId);
    expect(await identityOf(m3.recordId)).toBe(m1.identityId);
    expect(await identityOf(m2.recordId)).toBe(m2.identityId);
    expect(summary).toMatchObject({ records: all.length, merged: 2 });
    expect(summary.refused).toMatchObject({ not_duplicate: 1, manual_link: 1 });

    // Each merge is recorded as the matcher's, with the new model's version, and audited.
    const merged = [a1, a2, a3].map((r) => r.identityId).filter((id) => id !== maren1);
    for (const id of merged) {
      expect(await status(id)).toBe('MERGED');
      const [event] = await db()
        .select()
        .from(identityEvents)
        .where(and(eq(identityEvents.identityId, id), eq(identityEvents.type, 'MERGED')));
      expect(event).toMatchObject({ actor: 'matcher', modelVersion: ACTIVATED.version, otherIdentityId: maren1 });
      expect(event!.reason).toMatch(/newly activated match model/);
    }
    const audits = (await db().select().from(auditLog).where(eq(auditLog.action, 'autoMerge'))).filter((e) =>
      merged.some((id) => e.objectIds.includes(`identity:${id}`)),
    );
    expect(audits).toHaveLength(2);
    expect(JSON.stringify(audits.map((a) => a.details))).not.toMatch(/Maren|Solberg|Quarry/);

    // A second pass finds nothing left to merge.
    const again = await rematchIdentities(db(), ACTIVATED, { actor: 'test' });
    expect(again.merged).toBe(0);
  });

  test('past its record cap re-matches the newest records, those linked since the last training', async () => {
    await app.services.models.import(model('rematch-cautious-2', 1e-15), 'test', true);
    // Older records of other people, then two records of one person that the cautious model kept apart.
    for (const [i, givenName] of ['Ingrid', 'Tove', 'Eirik', 'Halvard', 'Liv', 'Ragnar'].entries())
      await ingest('ehr', `RC-${i}`, { givenName, familyName: 'Dahl', birthDate: `19${40 + i}-03-0${i + 1}`, postalCode: '55810' });
    const kari = { givenName: 'Kari', familyName: 'Nordby', birthDate: '1979-07-21', sex: 'F', postalCode: '55811' };
    const k1 = await ingest('ehr', 'RC-K1', kari);
    const k2 = await ingest('lab', 'RC-K2', kari);
    expect(k2.identityId).not.toBe(k1.identityId);

    const activated = model('rematch-activated-2', 1e-4);
    await app.services.models.import(activated, 'test', true);
    const summary = await rematchIdentities(db(), activated, { actor: 'test' }, { maxRecords: 2 });

    expect(summary).toMatchObject({ records: 2, merged: 1 });
    expect(await identityOf(k2.recordId)).toBe(await identityOf(k1.recordId));
  });
});
