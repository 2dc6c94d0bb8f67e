import { normaliseRecord, scorePair } from '../matching/index.ts';
import { sources } from '../platform/db/schema/index.ts';
import type { TestApp } from './app.ts';

/** Registers sources directly in the store (the catalog API is tested on its own). */
export async function seedSources(app: TestApp, codes: Array<string | { code: string; trustRank: number }>): Promise<void> {
  await app.services.database.db
    .insert(sources)
    .values(codes.map((c) => (typeof c === 'string' ? { code: c, name: c } : { code: c.code, name: c.code, trustRank: c.trustRank })))
    .onConflictDoNothing();
}

export const INGEST = `mutation Ingest($input: SourceRecordInput!) {
  ingestRecord(input: $input) {
    outcome
    record { id }
    identity { id version golden { givenName familyName birthDate phone } }
    candidates { probability grade blockers }
    reviewItem { id kind }
  }
}`;

export interface IngestData {
  ingestRecord: {
    outcome: string;
    record: { id: string };
    identity: { id: string; version: number; golden: Record<string, string | null> };
    candidates: Array<{ probability: number; grade: string; blockers: string[] }>;
    reviewItem: { id: string; kind: string } | null;
  };
}

/** Ingests through GraphQL and fails loudly on errors. */
export async function ingest(app: TestApp, input: Record<string, unknown>): Promise<IngestData['ingestRecord']> {
  const result = await app.gql<IngestData>(INGEST, { input });
  if (result.errors) throw new Error(`ingest failed: ${JSON.stringify(result.errors)}`);
  return result.data!.ingestRecord;
}

/** A synthetic patient; each seed gives a clearly different person (name, birth date, phone, address). */
export function person(seed: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const pick = <T>(list: readonly T[], salt: number): T => list[Math.abs(Math.imul(seed + salt, 2654435761) >> 7) % list.length]!;
  const given = pick(['Aiden', 'Beatrix', 'Corwin', 'Delphine', 'Ezekiel', 'Florence', 'Gideon', 'Harriet', 'Ignatius', 'Juniper'], 1);
  const family = pick(
    ['Okonkwo', 'Vasquez', 'Lindqvist', 'Abernathy', 'Castellano', 'Nakamura', 'Whitfield', 'Oyelaran', 'Brannigan', 'Szymanski'],
    2,
  );
  const place = pick(
    [
      ['Boston', 'MA', '02118'],
      ['Denver', 'CO', '80203'],
      ['Austin', 'TX', '78701'],
      ['Tacoma', 'WA', '98402'],
      ['Macon', 'GA', '31201'],
    ],
    3,
  );
  const street = pick(['Harbor Street', 'Quince Avenue', 'Larkspur Lane', 'Monument Road', 'Tilden Court'], 4);
  const digits = String(Math.abs(Math.imul(seed + 11, 2246822519)) % 10_000_000).padStart(7, '0');
  return {
    givenName: given,
    familyName: family,
    sex: seed % 2 ? 'F' : 'M',
    birthDate: `${1940 + (seed % 60)}-${String((seed % 12) + 1).padStart(2, '0')}-${String((seed % 28) + 1).padStart(2, '0')}`,
    phone: `${pick(['617', '303', '512', '253', '478'], 5)}${digits}`,
    addressLine1: `${((seed * 37) % 9000) + 100} ${street}`,
    city: place[0],
    state: place[1],
    postalCode: place[2],
    ...overrides,
  };
}

/**
 * A patient and a married-name record of hers that the active model is unsure about (scores between its
 * review and match thresholds): variants with less and less corroboration are tried until one falls in the band.
 */
export async function reviewBandCase(app: TestApp): Promise<{ base: Record<string, string>; variant: Record<string, string | undefined> }> {
  const base = {
    givenName: 'Maria',
    familyName: 'Lopez',
    birthDate: '1975-03-02',
    sex: 'F',
    city: 'Chicago',
    state: 'IL',
    postalCode: '60601',
    addressLine1: '4410 N Kenmore Ave',
  };
  const variants = [
    { givenName: 'Maria', familyName: 'Garcia', birthDate: '1975-03-02', sex: 'F', city: 'Chicago', postalCode: '60601' },
    { givenName: 'Maria', familyName: 'Garcia', birthDate: '1975-03-02', sex: 'F', city: 'Chicago' },
    { givenName: 'Maria', familyName: 'Garcia', birthDate: '1975-03-02', postalCode: '60601' },
    { givenName: 'Maria', familyName: 'Garcia-Lopez', birthDate: '1975-03-02', sex: 'F' },
    { givenName: 'Maria', familyName: 'Garcia', birthDate: '1975-03-02', sex: 'F', addressLine1: '4410 N Kenmore Ave' },
  ];
  const model = await app.services.models.active();
  const variant = variants.find((v) => {
    const p = scorePair(normaliseRecord(base).record, normaliseRecord(v).record, model).probability;
    return p >= model.thresholds.reviewThreshold && p < model.thresholds.matchThreshold;
  });
  if (!variant) throw new Error('no test variant scores between the review and match thresholds of the active model');
  return { base, variant };
}

/**
 * One patient seen three times: by a feed that sends the phone, by one that sends the address (with day and
 * month of birth swapped), and by a record carrying both, which matches each of the first two above the match
 * threshold while they match each other only in the review band.
 */
export function bridgeCase(familyName: string, n: number) {
  const base = { givenName: 'Annika', familyName, sex: 'F' };
  const address = { addressLine1: `${n} Alder Street`, city: 'Portland', state: 'OR', postalCode: `972${n}` };
  const phone = `50355501${n}`;
  return {
    byPhone: { ...base, birthDate: `19${n}-11-02`, phone },
    byAddress: { ...base, givenName: 'Anika', birthDate: `19${n}-11-20`, ...address },
    bridge: { ...base, birthDate: `19${n}-11-02`, phone, ...address, email: `annika@${familyName.toLowerCase()}.example` },
  };
}
