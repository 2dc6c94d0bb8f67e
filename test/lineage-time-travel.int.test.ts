import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GOLDEN_FIELDS } from '../lineage/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const FIELDS = GOLDEN_FIELDS.join(' ');

interface State {
  identityId: string;
  golden: Record<string, string | null>;
  records: Array<{ id: string; values: Record<string, string | null> }>;
  provenance: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`identityAsOf on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, [
      { code: 'ehr', trustRank: 60 },
      { code: 'lab', trustRank: 80 },
      { code: 'clinic', trustRank: 40 },
    ]);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The identity as the live API shows it now. */
  async function live(id: string): Promise<State> {
    const result = await app.gql<{
      identity: {
        id: string;
        golden: Record<string, string | null>;
        records: Array<Record<string, string | null> & { id: string }>;
        provenance: Array<{ id: string }>;
      };
    }>(`query($id: ID!) { identity(id: $id) { id golden { ${FIELDS} } records { id ${FIELDS} } provenance(current: true) { id } } }`, {
      id,
    });
    expect(result.errors).toBeUndefined();
    const identity = result.data!.identity;
    return {
      identityId: identity.id,
      golden: identity.golden,
      records: identity.records.map(({ id: recordId, ...values }) => ({ id: recordId, values })).sort((a, b) => a.id.localeCompare(b.id)),
      provenance: identity.provenance.map((p) => p.id).sort(),
    };
  }

  /** The identity as identityAsOf rebuilds it. */
  async function asOf(id: string, at: Date): Promise<State | null> {
    const result = await app.gql<{
      identityAsOf: {
        identityId: string;
        golden: Record<string, string | null>;
        records: Array<{ record: { id: string }; values: Record<string, string | null> }>;
        provenance: Array<{ id: string; validTo: string | null }>;
      } | null;
    }>(
      `query($id: ID!, $at: DateTime!) { identityAsOf(id: $id, at: $at) { identityId golden { ${FIELDS} } records { record { id } values { ${FIELDS} } } provenance { id validTo } } }`,
      { id, at: at.toISOString() },
    );
    expect(result.errors).toBeUndefined();
    const snapshot = result.data!.identityAsOf;
    if (!snapshot) return null;
    return {
      identityId: snapshot.identityId,
      golden: snapshot.golden,
      records: snapshot.records.map((r) => ({ id: r.record.id, values: r.values })).sort((a, b) => a.id.localeCompare(b.id)),
      provenance: snapshot.provenance.map((p) => p.id).sort(),
    };
  }

  /** Lets the step's transaction settle, notes the instant, and leaves a gap before the next step. */
  async function instant(): Promise<Date> {
    await sleep(5);
    const at = new Date();
    await sleep(5);
    return at;
  }

  test('returns each earlier state exactly after later updates, merges, unlinks and deletes', async () => {
    const before = await instant();
    const ehr = await ingest(app, { source: 'ehr', localId: 'E-1', ...person(1) });
    const a = ehr.identity.id;
    const states: Array<{ at: Date; id: string; state: State; label: string }> = [];
    const note = async (label: string, id = a) => {
      const state = await live(id);
      states.push({ at: await instant(), id, state, label });
    };
    await note('one record');

    const given = String(person(1).givenName);
    const lab = await ingest(app, {
      source: 'lab',
      localId: 'L-1',
      ...person(1, { givenName: given.slice(0, 2) + given[3] + given[2] + given.slice(4), phone: '3035550111' }),
    });
    expect(lab.identity.id).toBe(a);
    await note('second record linked');

    await ingest(app, {
      source: 'ehr',
      localId: 'E-1',
      ...person(1, { addressLine1: '77 Larkspur Lane', city: 'Denver', state: 'CO', postalCode: '80203' }),
    });
    await note('record updated');

    const other = await ingest(app, { source: 'clinic', localId: 'C-2', ...person(2) });
    const b = other.identity.id;
    expect(b).not.toBe(a);
    await note('other identity before its merge', b);
    const merged = await app.gql(
      'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same patient") { id } }',
      { s: a, m: b },
    );
    expect(merged.errors).toBeUndefined();
    await note('after merge');

    const split = await app.gql<{ unlinkRecord: { identity: { id: string } } }>(
      'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "not the same patient") { identity { id } } }',
      { r: lab.record.id },
    );
    const c = split.data!.unlinkRecord.identity.id;
    await note('after unlink');
    await note('split-off identity', c);

    await app.gql('mutation { deleteRecord(source: "ehr", localId: "E-1", reason: "withdrawn") { id } }');
    await note('after delete');

    expect(await asOf(a, before)).toBeNull();
    for (const { at, id, state, label } of states) {
      expect(await asOf(id, at), label).toEqual(state);
    }
    // The merged identity's id stood for itself before the merge and for the survivor after it.
    const afterMerge = states.find((s) => s.label === 'after merge')!;
    expect(await asOf(b, afterMerge.at)).toEqual(afterMerge.state);
  });

  test('reports the merges it followed', async () => {
    const x = await ingest(app, { source: 'ehr', localId: 'E-10', ...person(10) });
    const y = await ingest(app, { source: 'lab', localId: 'L-11', ...person(11) });
    await app.gql('mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "duplicate") { id } }', {
      s: x.identity.id,
      m: y.identity.id,
    });
    const result = await app.gql<{ identityAsOf: { requestedId: string; identityId: string; redirectedFrom: string[] } }>(
      'query($id: ID!, $at: DateTime!) { identityAsOf(id: $id, at: $at) { requestedId identityId redirectedFrom } }',
      { id: y.identity.id, at: new Date().toISOString() },
    );
    expect(result.data!.identityAsOf).toEqual({ requestedId: y.identity.id, identityId: x.identity.id, redirectedFrom: [y.identity.id] });
  });

  test('rejects an instant that is not an ISO date-time', async () => {
    const x = await ingest(app, { source: 'ehr', localId: 'E-20', ...person(20) });
    const result = await app.gql('query($id: ID!, $at: DateTime!) { identityAsOf(id: $id, at: $at) { identityId } }', {
      id: x.identity.id,
      at: 'yesterday',
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });
});
