import type { Database } from '../../platform/db/client.ts';
import { identities, identityEvents, links, reviewItems, sourceRecords, sources } from '../../platform/db/schema/index.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type RecordValues = Partial<
  Pick<
    typeof sourceRecords.$inferInsert,
    'givenName' | 'familyName' | 'sex' | 'birthDate' | 'ssn' | 'phone' | 'email' | 'addressLine1' | 'city' | 'state' | 'postalCode'
  >
>;

/**
 * A small synthetic index whose quality metrics are worked out by hand in catalog/quality-metrics.int.test.ts.
 * Source EHR1 has five active records full of deliberate defects and one deleted record; LAB1 has three clean
 * records received a month ago; EMPTY has none; OLD is inactive and empty.
 */
export async function seedQualityFixture(db: Database, now = Date.now()) {
  const ago = (ms: number) => new Date(now - ms);
  const [ehr, lab] = await db
    .insert(sources)
    .values([
      { code: 'EHR1', name: 'Main hospital EHR', kind: 'EHR' },
      { code: 'LAB1', name: 'Reference lab', kind: 'LAB' },
      { code: 'EMPTY', name: 'Registered, nothing sent yet' },
      { code: 'OLD', name: 'Retired feed', active: false },
    ])
    .returning();

  const record = (sourceId: string, localId: string, values: RecordValues, received: Date, updated: Date, deleted: Date | null = null) => ({
    sourceId,
    localId,
    ...values,
    raw: {},
    normalised: {},
    normaliserVersion: 'fixture',
    contentHash: localId,
    receivedAt: received,
    updatedAt: updated,
    deletedAt: deleted,
  });
  const ehrReceived = ago(2 * DAY);
  const ehrUpdated = ago(5 * HOUR);
  const labReceived = ago(30 * DAY);
  const labUpdated = ago(10 * HOUR);
  const rows = await db
    .insert(sourceRecords)
    .values([
      record(
        ehr!.id,
        'A-1',
        {
          givenName: 'Ann',
          familyName: 'Lee',
          sex: 'F',
          birthDate: '1980-02-29',
          ssn: '078-05-1120',
          phone: '415-555-0100',
          email: 'ann@mail.test.com',
          addressLine1: '1 Main St',
          city: 'Springfield',
          state: 'CA',
          postalCode: '94110',
        },
        ehrReceived,
        ehrUpdated,
      ),
      record(
        ehr!.id,
        'a-1 ',
        {
          givenName: 'Bob',
          familyName: 'Ray',
          sex: 'M',
          birthDate: '2100-01-01',
          ssn: '536-22-1234',
          phone: '555-5555',
          email: 'bob@@x.com',
          state: 'ZZ',
          postalCode: '9411',
        },
        ehrReceived,
        ehrUpdated,
      ),
      record(
        ehr!.id,
        'A-3',
        {
          givenName: '  ',
          familyName: 'Kim',
          sex: 'male',
          birthDate: '1981-02-29',
          phone: '+44 20 7946 0958',
          addressLine1: '2 Oak Ave',
          state: 'ny',
          postalCode: '10001-1234',
        },
        ehrReceived,
        ehrUpdated,
      ),
      record(
        ehr!.id,
        'A-4',
        {
          givenName: 'Dee',
          sex: 'Q',
          birthDate: '1975',
          ssn: '123456789',
          phone: '',
          email: 'dee@mail.com',
          addressLine1: '3 Elm',
          postalCode: '00000',
        },
        ehrReceived,
        ehrUpdated,
      ),
      record(
        ehr!.id,
        'A-5',
        {
          givenName: 'Eve',
          familyName: 'Fox',
          sex: 'U',
          birthDate: '1900-01-01',
          ssn: '111-11-1111',
          phone: '212 555 1234',
          state: 'TX',
          postalCode: '73301',
        },
        ehrReceived,
        ehrUpdated,
      ),
      record(
        ehr!.id,
        'A-6',
        { givenName: 'Zed', familyName: 'Orr', sex: 'M', birthDate: '1960-01-01' },
        ehrReceived,
        ago(3 * HOUR),
        ago(3 * HOUR),
      ),
      record(lab!.id, 'B-1', { givenName: 'Ann', familyName: 'Lee', sex: 'F', birthDate: '1980-02-29' }, labReceived, labUpdated),
      record(lab!.id, 'B-2', { givenName: 'Bob', familyName: 'Ray', sex: 'M', birthDate: '1979-03-01' }, labReceived, labUpdated),
      record(lab!.id, 'B-3', { givenName: 'Cal', familyName: 'Roe', sex: 'M', birthDate: '1990-07-04' }, labReceived, labUpdated),
    ])
    .returning();
  const [a1, a2, a3, a4, a5, a6, b1, b2, b3] = rows.map((r) => r.id) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];

  const ids = await db
    .insert(identities)
    .values([{}, {}, {}, {}, {}, { status: 'MERGED' }, {}])
    .returning();
  const [i1, i2, i3, i4, i5, , i7] = ids.map((r) => r.id) as [string, string, string, string, string, string, string];
  const link = (
    recordId: string,
    identityId: string,
    matchResult: 'MATCH' | 'POSSIBLE_MATCH' = 'MATCH',
    linkSource: 'AUTO' | 'MANUAL' = 'AUTO',
  ) => ({ recordId, identityId, matchResult, linkSource });
  await db
    .insert(links)
    .values([
      link(a1, i1),
      link(b1, i1),
      link(a2, i2),
      link(b2, i2),
      link(a3, i3),
      link(a4, i4),
      link(a5, i4, 'POSSIBLE_MATCH'),
      link(b3, i5),
      link(a6, i7, 'MATCH', 'MANUAL'),
    ]);

  const review = { probability: 0.6, weight: 1, priority: 1, explanation: {} };
  await db.insert(reviewItems).values([
    { ...review, kind: 'POSSIBLE_DUPLICATE', identityA: i3, identityB: i5, createdAt: ago(10 * DAY) },
    { ...review, kind: 'RECORD_MATCH', recordId: a5, identityA: i1, createdAt: ago(2 * DAY) },
    { ...review, kind: 'POSSIBLE_DUPLICATE', status: 'RESOLVED', identityA: i1, identityB: i2, createdAt: ago(20 * DAY) },
  ]);

  const created = (identityId: string, recordId: string, at: Date) => ({
    identityId,
    recordId,
    type: 'CREATED' as const,
    actor: 'fixture',
    at,
  });
  await db
    .insert(identityEvents)
    .values([
      created(i1, a1, ehrReceived),
      created(i3, a3, ehrReceived),
      created(i4, a4, ehrReceived),
      created(i5, b3, labReceived),
      created(i2, b2, labReceived),
    ]);
  return { sources: { ehr: ehr!, lab: lab! } };
}
