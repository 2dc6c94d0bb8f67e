import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, describe, expect, test } from 'vitest';
import { resolveConfig } from './config.ts';
import {
  type GenerateOptions,
  RECORD_HEADER,
  type Relation,
  type RegistrySummary,
  type SynthRecord,
  TRUTH_HEADER,
  generateRegistry,
  siblingPath,
  writeRegistry,
} from './generate.ts';
import { csvLine } from './write.ts';

const workDir = mkdtempSync(join(tmpdir(), 'synth-test-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function collect(options: GenerateOptions): { records: SynthRecord[]; summary: RegistrySummary; relations: Relation[] } {
  const relations: Relation[] = [];
  const iterator = generateRegistry({ ...options, onRelation: (relation) => relations.push(relation) });
  const records: SynthRecord[] = [];
  for (let step = iterator.next(); ; step = iterator.next()) {
    if (step.done) return { records, summary: step.value, relations };
    records.push(step.value);
  }
}

const readCsv = (path: string): string[][] => parse(readFileSync(path, 'utf8')) as string[][];

describe('determinism and the files', () => {
  test('writes byte-identical files for the same seed and options', async () => {
    const first = await writeRegistry({ seed: 7, records: 3000, out: join(workDir, 'a', 'reg.csv'), relations: true });
    const second = await writeRegistry({ seed: 7, records: 3000, out: join(workDir, 'b', 'reg.csv'), relations: true });
    for (const kind of ['records', 'truth', 'relations'] as const) {
      expect(readFileSync(second.files[kind] as string, 'utf8')).toBe(readFileSync(first.files[kind] as string, 'utf8'));
    }
    expect(second.summary).toEqual(first.summary);
  });

  test('gives a different registry for a different seed', () => {
    const a = collect({ seed: 1, records: 500 }).records.map((record) => record.familyName);
    const b = collect({ seed: 2, records: 500 }).records.map((record) => record.familyName);
    expect(b).not.toEqual(a);
  });

  test('lines the truth file up with the records file, one row per record, with the contract headers', async () => {
    const { files, summary } = await writeRegistry({ seed: 3, records: 2500, out: join(workDir, 'c', 'synth.csv') });
    expect(files.truth).toBe(join(workDir, 'c', 'synth_truth.csv'));
    const records = readCsv(files.records);
    const truth = readCsv(files.truth);
    expect(records[0]).toEqual([...RECORD_HEADER]);
    expect(records[0]?.join(',')).toBe(
      'record_id,source,givenName,middleName,familyName,suffix,sex,birthDate,ssn,phone,email,addressLine1,addressLine2,city,state,postalCode',
    );
    expect(truth[0]).toEqual([...TRUTH_HEADER]);
    expect(records).toHaveLength(2501);
    expect(truth).toHaveLength(2501);
    expect(truth.slice(1).map((row) => row[0])).toEqual(records.slice(1).map((row) => row[0]));
    expect(new Set(records.slice(1).map((row) => row[0])).size).toBe(2500);
    expect(new Set(truth.slice(1).map((row) => row[1])).size).toBe(summary.people);
  });

  test.each([
    [{ records: 1234 }, 1234, null],
    [{ people: 800 }, null, 800],
  ])('stops at exactly the requested size (%o)', (limit, records, people) => {
    const { records: rows, summary } = collect({ seed: 5, ...limit });
    if (records !== null) expect(rows).toHaveLength(records);
    if (people !== null) expect(new Set(rows.map((row) => row.clusterId)).size).toBe(people);
    expect(summary.records).toBe(rows.length);
  });

  test.each([
    [{ seed: 1 }, /exactly one of records and people/],
    [{ seed: 1, records: 10, people: 10 }, /exactly one of records and people/],
    [{ seed: 1, records: 0 }, /positive integer/],
    [{ seed: -1, records: 10 }, /seed/],
  ])('rejects bad options %o', (options, message) => {
    expect(() => generateRegistry(options).next()).toThrow(message);
  });
});

describe('contents', () => {
  const sample = collect({ seed: 11, people: 6000 });
  // A registry without errors, blanks or moves, to check that look-alikes really share what they should.
  const clean = collect({ seed: 11, people: 6000, config: { errorScale: 0, missingScale: 0, population: { move: 0 } } });
  const byCluster = new Map<string, SynthRecord[]>();
  for (const record of clean.records) byCluster.set(record.clusterId, [...(byCluster.get(record.clusterId) ?? []), record]);
  const fold = (value: string): string => value.toUpperCase().replace(/[^A-Z0-9]/g, '');
  /** The family name without a suffix some systems append to it ("Smith Jr"). */
  const family = (record: SynthRecord): string => fold(record.familyName.replace(/ (jr|sr|ii|iii|2nd|3rd|junior|senior)\.?$/i, ''));
  /** House number and ZIP: the same home whatever the street-name formatting. */
  const home = (record: SynthRecord): string => `${record.addressLine1.split(' ')[0]}|${record.postalCode.slice(0, 5)}`;
  const pairsOf = (kind: Relation['kind'], registry = clean): Relation[] => registry.relations.filter((relation) => relation.kind === kind);
  /** True when some record of `a` and some record of `b` agree on every field the test compares. */
  const somePairAgrees = (relation: Relation, agree: (x: SynthRecord, y: SynthRecord) => boolean): boolean =>
    (byCluster.get(relation.a) ?? []).some((x) => (byCluster.get(relation.b) ?? []).some((y) => agree(x, y)));

  test('has a realistic spread of records per person, with singletons', () => {
    const perPerson = sample.records.length / sample.summary.people;
    expect(perPerson).toBeGreaterThan(2);
    expect(perPerson).toBeLessThan(2.7);
    expect(sample.summary.recordsPerPerson[1]).toBeGreaterThan(0.2 * sample.summary.people);
    expect(new Set(sample.records.map((record) => record.source))).toEqual(new Set(['hosp_a', 'hosp_b', 'lab', 'payer']));
  });

  test('contains twins: same birth date, family name and address, different given names', () => {
    expect(pairsOf('twin', sample).length).toBeGreaterThanOrEqual(5);
    const twins = pairsOf('twin');
    expect(twins.some((pair) => pair.similarNames)).toBe(true);
    for (const pair of twins) {
      const agrees = somePairAgrees(
        pair,
        (x, y) => x.birthDate === y.birthDate && family(x) === family(y) && home(x) === home(y) && fold(x.givenName) !== fold(y.givenName),
      );
      expect(agrees, `twins ${pair.a} / ${pair.b}`).toBe(true);
    }
  });

  test('contains Jr/Sr pairs: same given and family name and address, born 18 to 42 years apart', () => {
    expect(pairsOf('juniorSenior', sample).length).toBeGreaterThanOrEqual(10);
    const juniors = pairsOf('juniorSenior');
    for (const pair of juniors) {
      const agrees = somePairAgrees(pair, (x, y) => {
        const years = Math.abs(Number(x.birthDate.slice(0, 4)) - Number(y.birthDate.slice(0, 4)));
        return fold(x.givenName) === fold(y.givenName) && family(x) === family(y) && home(x) === home(y) && years >= 17 && years <= 43;
      });
      expect(agrees, `Jr/Sr ${pair.a} / ${pair.b}`).toBe(true);
    }
    const suffixes = new Set(sample.records.map((record) => fold(record.suffix)).filter((suffix) => suffix !== ''));
    expect(suffixes).toContain('JR');
    expect(suffixes).toContain('SR');
  });

  test('contains spouses: same address and phone, different given names and birth dates', () => {
    expect(pairsOf('spouse', sample).length).toBeGreaterThanOrEqual(100);
    const spouses = pairsOf('spouse');
    const shareHome = spouses.filter((pair) =>
      somePairAgrees(
        pair,
        (x, y) =>
          home(x) === home(y) &&
          x.phone !== '' &&
          fold(x.phone) === fold(y.phone) &&
          fold(x.givenName) !== fold(y.givenName) &&
          x.birthDate !== y.birthDate,
      ),
    );
    expect(shareHome.length).toBeGreaterThan(0.5 * spouses.length);
  });

  test('shows the realistic errors and format variants the matcher must survive', () => {
    const values = (field: keyof SynthRecord): string[] => sample.records.map((record) => record[field]);
    expect(values('ssn')).toContain('000-00-0000');
    expect(values('ssn').some((ssn) => /^\d{9}$/.test(ssn))).toBe(true);
    expect(values('ssn').some((ssn) => /^\d{3}-\d{2}-\d{4}$/.test(ssn))).toBe(true);
    expect(values('phone').some((phone) => /^\(\d{3}\) \d{3}-\d{4}$/.test(phone))).toBe(true);
    expect(values('phone').some((phone) => /^\d{10}$/.test(phone))).toBe(true);
    expect(values('phone').some((phone) => /^555-?555-?5555$|^5555555555$|^\(555\) 555-5555$/.test(phone))).toBe(true);
    expect(
      values('givenName').some(
        (name) => name === 'BILL' || name === 'Bill' || name === 'Liz' || name === 'LIZ' || name === 'Bob' || name === 'BOB',
      ),
    ).toBe(true);
    for (const [kind, count] of Object.entries(sample.summary.errors)) expect(count, kind).toBeGreaterThan(0);
    expect(sample.summary.marriedNameChanges).toBeGreaterThan(0);
    expect(sample.summary.movers).toBeGreaterThan(0);
    expect(sample.summary.recordsWithErrors / sample.records.length).toBeLessThan(0.3);
  });

  test("keeps SSNs unique per person and stable across that person's clean records", () => {
    const owner = new Map<string, string>();
    for (const record of clean.records) {
      if (record.ssn === '') continue;
      const digits = record.ssn.replace(/-/g, '');
      expect(owner.get(digits) ?? record.clusterId, digits).toBe(record.clusterId);
      owner.set(digits, record.clusterId);
    }
    expect(owner.size).toBeGreaterThan(0.9 * clean.summary.people);
  });

  test('changing the error rates leaves the population unchanged', () => {
    const clean = collect({ seed: 11, people: 6000, config: { errorScale: 0, missingScale: 0 } });
    expect(clean.summary.relations).toEqual(sample.summary.relations);
    expect(clean.summary.recordsPerPerson).toEqual(sample.summary.recordsPerPerson);
    expect(Object.values(clean.summary.errors).every((count) => count === 0)).toBe(true);
  });
});

describe('config and file helpers', () => {
  test.each([
    [{ errors: { givenTypo: 1.5 } }, /errors\.givenTypo/],
    [{ population: { twinBirth: -0.1 } }, /population\.twinBirth/],
    [{ referenceDate: '2025-13-01' }, /referenceDate/],
  ])('rejects an invalid config override %o', (overrides, message) => {
    expect(() => resolveConfig(overrides)).toThrow(message);
  });

  test('keeps the defaults for everything an override does not mention', () => {
    const config = resolveConfig({ errors: { nickname: 0.5 } });
    expect(config.errors.nickname).toBe(0.5);
    expect(config.errors.givenTypo).toBe(resolveConfig().errors.givenTypo);
  });

  test.each([
    ['bench/out/synth-100k.csv', 'bench/out/synth-100k_truth.csv'],
    ['out/reg.CSV', 'out/reg_truth.CSV'],
    ['registry', 'registry_truth.csv'],
  ])('puts the truth file for %s at %s', (out, truth) => {
    expect(siblingPath(out, 'truth')).toBe(truth);
  });

  test.each([[['R1', 'plain', '']], [['R2', 'Smith, Jr', 'say "hi"', 'two\nlines']]])(
    'writes CSV lines exactly as csv-stringify does (%o)',
    (row) => {
      expect(csvLine(row)).toBe(stringify([row]));
    },
  );
});
