import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'csv-stringify/sync';
import { runImport } from '../cli/import.ts';
import { runLink } from '../cli/link.ts';
import { runLoad } from '../cli/load.ts';
import { createHl7Service } from '../api/mllp.ts';
import { adtUpsert } from '../interop/testing/hl7-samples.ts';
import { dateRequired, ISO_DATE_REQUIRED, toIsoDate } from '../matching/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

/**
 * One bad value, one verdict: `mpi link` (offline), `mpi import` (through GraphQL), `mpi load` (straight into the
 * database), GraphQL, FHIR and HL7 refuse the same value with the same code and message, naming the field (and, for
 * files, the line); a broken CSV quote is reported in the same words by the three commands; a bad SSN is refused
 * nowhere, and said in the same words where a channel answers per record.
 */
const FHIR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.18';
const COLUMNS = ['record_id', 'given_name', 'family_name', 'sex', 'birth_date'];
const FIELD_OF: Record<string, string> = {
  record_id: 'localId',
  given_name: 'givenName',
  family_name: 'familyName',
  sex: 'sex',
  birth_date: 'birthDate',
};

interface Case {
  name: string;
  column: keyof typeof FIELD_OF;
  value: string;
  code: string;
  message: string;
}

const CASES: Case[] = [
  {
    name: 'an impossible day written YYYYMMDD',
    column: 'birth_date',
    value: '19551192',
    code: 'INVALID_DATE',
    message: 'day is out of range for its month',
  },
  {
    name: 'an impossible ISO day',
    column: 'birth_date',
    value: '1990-02-30',
    code: 'INVALID_DATE',
    message: 'day is out of range for its month',
  },
  { name: 'a month out of range', column: 'birth_date', value: '1990-13-01', code: 'INVALID_DATE', message: 'month is out of range' },
  { name: 'a value that is no date', column: 'birth_date', value: 'hello', code: 'INVALID_DATE', message: ISO_DATE_REQUIRED },
  { name: 'a year before 1870', column: 'birth_date', value: '1850-01-01', code: 'INVALID_DATE', message: 'year is implausibly early' },
  {
    name: 'a year before 1870 written YYYYMMDD',
    column: 'birth_date',
    value: '18500101',
    code: 'INVALID_DATE',
    message: 'year is implausibly early',
  },
  { name: 'a date in the future', column: 'birth_date', value: '2999-01-01', code: 'FUTURE_DATE', message: 'is in the future' },
  {
    name: 'a control character',
    column: 'given_name',
    value: 'An\u0007n',
    code: 'INVALID_CHARACTERS',
    message: 'must not contain control characters',
  },
  {
    name: 'a bidirectional control',
    column: 'family_name',
    value: 'Lee\u202e',
    code: 'INVALID_CHARACTERS',
    message: 'must not contain bidirectional control characters',
  },
  { name: 'an unknown sex code', column: 'sex', value: 'Q', code: 'INVALID', message: 'is not a recognised code' },
  {
    name: 'a control character in the id',
    column: 'record_id',
    value: 'V-\u0007',
    code: 'INVALID_CHARACTERS',
    message: 'must not contain control characters',
  },
  {
    name: 'an id of 129 characters',
    column: 'record_id',
    value: 'V'.repeat(129),
    code: 'TOO_LONG',
    message: 'must be at most 128 characters',
  },
];

/** A valid person with one value replaced. */
function rowOf(id: string, seed: number, c?: Case): string[] {
  const p = person(seed) as Record<string, string>;
  const values: Record<string, string> = {
    record_id: id,
    given_name: p.givenName!,
    family_name: p.familyName!,
    sex: p.sex!,
    birth_date: p.birthDate!,
    ...(c ? { [c.column]: c.value } : {}),
  };
  return COLUMNS.map((column) => values[column]!);
}

/** What every channel must report for the CSV: one line per case, from line 3 (line 2 is a valid row). */
const EXPECTED = CASES.map((c, i) => ({ line: i + 3, field: FIELD_OF[c.column]!, code: c.code, message: c.message }));

const parseReport = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

describe(`one bad value, one verdict in every channel on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let dir: string;
  let file: string;
  let broken: string;
  const inProcess = ((url: string, init?: RequestInit) => app.yoga.fetch(new Request(url, init))) as typeof fetch;

  beforeAll(async () => {
    app = await createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });
    await app.services.catalog.registerSource({ code: 'fhir', name: 'FHIR feed', system: FHIR_SYSTEM });
    await app.services.catalog.registerSource({ code: 'hl7', name: 'HL7 feed' });
    dir = await mkdtemp(join(tmpdir(), 'mpi-vocabulary-'));
    file = join(dir, 'values.csv');
    await writeFile(file, stringify([COLUMNS, rowOf('V-ok', 1), ...CASES.map((c, i) => rowOf(`V-${i}`, 10 + i, c))]));
    broken = join(dir, 'broken.csv');
    await writeFile(broken, `${COLUMNS.join(',')}\n${rowOf('Q-1', 1).join(',')}\nQ-2,"Ann,Lee,F,1980-01-01\nQ-3,Bo,Ray,M,1981-02-03\n`);
  });
  afterAll(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('mpi link leaves each row out with the line, field, code and message', async () => {
    const summary = await runLink({ files: [file], out: join(dir, 'clusters.csv'), threads: 1, warn: () => undefined });
    expect(summary).toMatchObject({ records: 1, rejected: CASES.length });
    const report = parseReport(await readFile(summary.errorReport!, 'utf8'));
    expect(
      report.map(([f, line, field, code, ...message]) => ({ f, line: Number(line), field, code, message: message.join(',') })),
    ).toEqual(EXPECTED.map((e) => ({ f: file, ...e })));
  });

  test('mpi import rejects the same rows in the same words', async () => {
    const summary = await runImport({
      file,
      source: 'import',
      url: 'http://localhost/graphql',
      fetch: inProcess,
      warn: () => undefined,
    });
    expect(summary).toMatchObject({ rows: CASES.length + 1, created: 1, errors: CASES.length });
    const report = parseReport(await readFile(summary.errorReport!, 'utf8'));
    expect(report.map(([line, field, code, ...message]) => ({ line: Number(line), field, code, message: message.join(',') }))).toEqual(
      EXPECTED,
    );
  });

  test('mpi load rejects the same rows in the same words', async () => {
    const summary = await runLoad({ MPI_AUTO_REGISTER_SOURCES: true }, app.services.database, [{ source: 'load', files: [file] }], {
      warn: () => undefined,
    });
    expect(summary).toMatchObject({ loaded: 1, rejected: CASES.length });
    expect(summary.problems.map(({ line, field, code, message }) => ({ line, field, code, message }))).toEqual(EXPECTED);
  });

  // GraphQL and FHIR take dates as YYYY-MM-DD only (a real date in another layout is refused as such there).
  const apiCases = CASES.filter((c) => c.column !== 'birth_date' || !/^\d{8}$/.test(c.value) || toIsoDate(c.value) === null);

  test.each(apiCases)('GraphQL ingestRecord refuses $name with the same code and message', async (c) => {
    const input: Record<string, string> = {
      source: 'graphql',
      localId: c.column === 'record_id' ? c.value : `G-${c.column}-${c.value.length}`,
    };
    const row = rowOf('x', 3, c);
    COLUMNS.slice(1).forEach((column, i) => (input[FIELD_OF[column]!] = row[i + 1]!));
    const res = await app.gql('mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }', { input });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ field: `input.${FIELD_OF[c.column]}`, code: c.code, message: c.message }],
    });
  });

  test.each(CASES.filter((c) => c.column === 'birth_date' && /^\d{4}-\d{2}-\d{2}$/.test(c.value)))(
    'FHIR Patient create refuses $name with the same message',
    async (c) => {
      const res = await app.fetch('/fhir/Patient', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Patient',
          identifier: [{ system: FHIR_SYSTEM, value: `F-${c.value}` }],
          name: [{ family: 'Lee', given: ['Ann'] }],
          birthDate: c.value,
        }),
      });
      // 400 for a date that is no day at all, 422 for a real day the service refuses (FHIR's business-rule status).
      expect([400, 422]).toContain(res.status);
      const outcome = (await res.json()) as { issue: Array<{ diagnostics?: string; expression?: string[] }> };
      expect(outcome.issue).toContainEqual(expect.objectContaining({ diagnostics: expect.stringContaining(c.message) }));
    },
  );

  test.each(CASES.filter((c) => c.column === 'birth_date'))('HL7 PID-7 refuses $name in the same words', async (c) => {
    const hl7 = createHl7Service(app.services);
    const p = person(40) as Record<string, string>;
    const birth = c.value.replace(/-/g, '');
    const raw = adtUpsert('A04', { mrn: `H-${birth}`, authority: 'hl7', family: p.familyName, given: p.givenName, birth });
    const { ack } = await hl7(raw);
    const [msa, err] = (ack ?? '').split('\r').slice(1);
    expect(msa?.split('|')[1]).toBe('AE');
    // HL7 writes dates YYYYMMDD: a value that is no date is told so in that layout, in the shared words.
    const message = c.message === ISO_DATE_REQUIRED ? dateRequired('an HL7 date (YYYYMMDD)') : c.message;
    expect(err).toContain('PID^1^7');
    expect(err).toContain(message);
  });

  test('HL7 PID-8 refuses an unknown sex code in the same words', async () => {
    const hl7 = createHl7Service(app.services);
    const { ack, code } = await hl7(adtUpsert('A04', { mrn: 'H-sex', authority: 'hl7', family: 'Lee', given: 'Ann', sex: 'Q' }));
    expect(code).toBe('AE');
    const err = (ack ?? '').split('\r').find((segment) => segment.startsWith('ERR|'));
    expect(err).toContain('PID^1^8');
    expect(err).toContain('PID-8: sex: is not a recognised code');
  });

  describe('an SSN with the wrong number of digits is refused nowhere', () => {
    const problem = { code: 'INVALID', message: 'has the wrong number of digits' };
    const SSN_COLUMNS = [...COLUMNS, 'ssn'];
    let ssnFile: string;
    beforeAll(async () => {
      ssnFile = join(dir, 'ssn.csv');
      await writeFile(ssnFile, stringify([SSN_COLUMNS, [...rowOf('S-1', 50), '12-34']]));
    });

    test('mpi link, import and load take the row', async () => {
      const linked = await runLink({ files: [ssnFile], out: join(dir, 'ssn-clusters.csv'), threads: 1, warn: () => undefined });
      expect(linked).toMatchObject({ records: 1, rejected: 0 });
      const imported = await runImport({
        file: ssnFile,
        source: 'import-ssn',
        url: 'http://localhost/graphql',
        fetch: inProcess,
        warn: () => undefined,
      });
      expect(imported).toMatchObject({ rows: 1, created: 1, errors: 0 });
      const loaded = await runLoad({ MPI_AUTO_REGISTER_SOURCES: true }, app.services.database, [{ source: 'load-ssn', files: [ssnFile] }], {
        warn: () => undefined,
      });
      expect(loaded).toMatchObject({ loaded: 1, rejected: 0 });
    });

    test('GraphQL ingestRecord takes the record and warns', async () => {
      const res = await app.gql(
        'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome warnings { field code message } } }',
        {
          input: { source: 'graphql', localId: 'G-ssn', familyName: 'Lee', givenName: 'Ann', ssn: '12-34' },
        },
      );
      expect(res.errors).toBeUndefined();
      expect((res.data as { ingestRecord: { warnings: unknown[] } }).ingestRecord.warnings).toEqual([{ field: 'input.ssn', ...problem }]);
    });

    test('FHIR takes the Patient and warns, naming the element', async () => {
      const res = await app.fetch('/fhir/Patient', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
        body: JSON.stringify({
          resourceType: 'Patient',
          identifier: [
            { system: FHIR_SYSTEM, value: 'F-ssn' },
            { system: 'http://hl7.org/fhir/sid/us-ssn', value: '12-34' },
          ],
          name: [{ family: 'Lee', given: ['Ann'] }],
        }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-mpi-warning')).toBe(`Patient.identifier[1].value: ${problem.message}`);
      const outcome = (await res.json()) as { issue: unknown[] };
      expect(outcome.issue).toContainEqual({
        severity: 'warning',
        code: 'value',
        diagnostics: problem.message,
        expression: ['Patient.identifier[1].value'],
      });
    });

    test('HL7 accepts the message (AA) and warns in an ERR segment of severity W naming PID-19', async () => {
      const hl7 = createHl7Service(app.services);
      const { ack, code } = await hl7(adtUpsert('A04', { mrn: 'H-ssn', authority: 'hl7', family: 'Lee', given: 'Ann', ssn: '12-34' }));
      expect(code).toBe('AA');
      const err = (ack ?? '').split('\r').find((segment) => segment.startsWith('ERR|'));
      expect(err?.split('|')[4]).toBe('W');
      expect(err).toContain(`PID-19: SSN: ${problem.message}`);
    });
  });

  test('a broken CSV quote is the same error, at the same line, for link, import and load', async () => {
    const message = `${broken}: malformed CSV at line 3: unterminated quoted field`;
    await expect(runLink({ files: [broken], out: join(dir, 'broken-out.csv'), threads: 1 })).rejects.toThrow(message);
    await expect(runImport({ file: broken, source: 'import', url: 'http://localhost/graphql', fetch: inProcess })).rejects.toThrow(message);
    await expect(
      runLoad({ MPI_AUTO_REGISTER_SOURCES: true }, app.services.database, [{ source: 'load', files: [broken] }]),
    ).rejects.toThrow(message);
  });

  test('GraphQL match refuses a count outside 1 to 100 instead of answering an empty list', async () => {
    for (const count of [-5, 0, 101]) {
      const res = await app.gql('query($count: Int) { match(input: { familyName: "Lee" }, count: $count) { probability } }', { count });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'count' });
      expect(res.errors?.[0]?.message).toContain('must be between 1 and 100');
    }
    const ok = await app.gql('query { match(input: { familyName: "Lee" }, count: 1) { probability } }');
    expect(ok.errors).toBeUndefined();
  });
});
