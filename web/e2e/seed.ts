/**
 * Synthetic data for the console's browser tests and benchmark, sent through the GraphQL API as a client would.
 * Every person is made up; names come from short fixed lists and dates from the seed number.
 */

export type Gql = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>) => Promise<T>;

/** A GraphQL caller over HTTP with a Bearer key (none in local mode); throws on any error so a seeding mistake fails loudly. */
export function httpGql(baseUrl: string, key?: string): Gql {
  return async <T>(query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(`GraphQL seeding failed: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}

const GIVEN = [
  'Aurelia',
  'Bartholomew',
  'Cressida',
  'Desmond',
  'Eulalia',
  'Fitzgerald',
  'Griselda',
  'Horatio',
  'Isadora',
  'Jasper',
  'Kerensa',
  'Leopold',
];
const FAMILY = [
  'Quennell',
  'Ravensworth',
  'Stolzfus',
  'Thistlewood',
  'Umberfield',
  'Vantongeren',
  'Wetherby',
  'Yarborough',
  'Zabriskie',
  'Ashcombe',
  'Blenkinsop',
  'Cattermole',
];
const MARRIED = [
  'Dunmore',
  'Eversleigh',
  'Farquharson',
  'Gallimore',
  'Hazeldine',
  'Illingworth',
  'Jellicoe',
  'Kingswell',
  'Lockwood',
  'Merriweather',
  'Northcote',
  'Oakenshaw',
];
const CITIES: ReadonlyArray<readonly [string, string, string]> = [
  ['Springfield', 'IL', '62701'],
  ['Salem', 'OR', '97301'],
  ['Dover', 'DE', '19901'],
  ['Helena', 'MT', '59601'],
];

/** One synthetic person, distinct for every seed. */
export function syntheticPerson(seed: number): Record<string, string> {
  const [city, state, postalCode] = CITIES[seed % CITIES.length]!;
  return {
    givenName: GIVEN[seed % GIVEN.length]!,
    familyName: FAMILY[Math.floor(seed / GIVEN.length) % FAMILY.length]!,
    sex: seed % 2 ? 'F' : 'M',
    birthDate: `${1950 + (seed % 45)}-${String((seed % 12) + 1).padStart(2, '0')}-${String((seed % 27) + 1).padStart(2, '0')}`,
    addressLine1: `${100 + seed * 7} Juniper Row`,
    city,
    state,
    postalCode,
    phone: `555${String(1_000_000 + seed * 7919).slice(-7)}`,
  };
}

/** The same person as a second source knows her after a change of family name: the matcher sends it to review. */
export function marriedNameVariant(seed: number): Record<string, string> {
  const base = syntheticPerson(seed);
  return {
    givenName: base.givenName!,
    familyName: MARRIED[seed % MARRIED.length]!,
    birthDate: base.birthDate!,
    sex: base.sex!,
    city: base.city!,
  };
}

export const SOURCES = [
  { code: 'clinic', name: 'Riverside Clinic', kind: 'EHR', trustRank: 70, owner: 'Clinical systems' },
  { code: 'lab', name: 'Central Lab', kind: 'LAB', trustRank: 40, owner: 'Laboratory' },
] as const;

const REGISTER = `mutation Register($input: RegisterSourceInput!) { registerSource(input: $input) { code } }`;
const INGEST_MANY = `mutation IngestMany($input: [SourceRecordInput!]!) {
  ingestRecords(input: $input) { outcome record { id } identity { id } reviewItem { id } }
}`;

export interface IngestOutcome {
  outcome: string;
  record: { id: string };
  identity: { id: string };
  reviewItem: { id: string } | null;
}

/** Registers the two sources the cases come from, unless the index has them already (a benchmark's may). */
export async function registerSources(gql: Gql): Promise<void> {
  const existing = new Set((await gql<{ sources: Array<{ code: string }> }>('{ sources { code } }')).sources.map((s) => s.code));
  for (const source of SOURCES) if (!existing.has(source.code)) await gql(REGISTER, { input: source });
}

/** Ingests records in batches of at most 1,000 (the API's limit). */
export async function ingestMany(gql: Gql, records: Array<Record<string, unknown>>): Promise<IngestOutcome[]> {
  const results: IngestOutcome[] = [];
  for (let i = 0; i < records.length; i += 1000) {
    const data = await gql<{ ingestRecords: IngestOutcome[] }>(INGEST_MANY, { input: records.slice(i, i + 1000) });
    results.push(...data.ingestRecords);
  }
  return results;
}

export interface ReviewCase {
  seed: number;
  reviewItemId: string;
  baseIdentityId: string;
  recordId: string;
}

/** For each seed, a clinic record and a lab record of the same person under a married name; returns the review items. */
export async function seedReviewCases(gql: Gql, seeds: readonly number[]): Promise<ReviewCase[]> {
  const bases = await ingestMany(
    gql,
    seeds.map((seed) => ({ source: 'clinic', localId: `C-${seed}`, ...syntheticPerson(seed) })),
  );
  const variants = await ingestMany(
    gql,
    seeds.map((seed) => ({ source: 'lab', localId: `L-${seed}`, ...marriedNameVariant(seed) })),
  );
  return seeds.flatMap((seed, i) => {
    const item = variants[i]!.reviewItem;
    return item ? [{ seed, reviewItemId: item.id, baseIdentityId: bases[i]!.identity.id, recordId: variants[i]!.record.id }] : [];
  });
}

/** One identity with `count` linked records (the same person from many feeds and visits). */
export async function seedLargeIdentity(gql: Gql, seed: number, count: number): Promise<string> {
  const person = syntheticPerson(seed);
  const results = await ingestMany(
    gql,
    Array.from({ length: count }, (_, i) => ({ source: i % 2 ? 'lab' : 'clinic', localId: `BIG-${seed}-${i}`, ...person })),
  );
  return results[0]!.identity.id;
}
