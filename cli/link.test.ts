import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, test } from 'vitest';
import { LinkInputError } from './link-errors.ts';
import { runLink } from './link.ts';
import { formatSummary } from './link-output.ts';

let dir: string;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const readClusters = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

const HEADER = 'record_id,givenName,familyName,birthDate,ssn,addressLine1,postalCode';
/** Two people recorded twice each (one with a typo), and a third person recorded once. */
const PEOPLE = [
  'a1,Maria,Delgado,1984-07-19,412-55-9034,1450 W Division St,60642',
  'a2,Kevin,Osei,1951-02-03,530-12-7788,9 Lake Rd,98101',
  'a3,Priya,Raman,1990-11-30,,22 Pine Ave,10001',
];
const DUPLICATES = ['b1,Mariah,Delgado,1984-07-19,412-55-9034,1450 W Division Street,60642', 'b2,Kevin,Osei,1951-02-03,,9 Lake Road,98101'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mpi-link-'));
});

const expectInputError = async (promise: Promise<unknown>, code: string, fragment: string) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LinkInputError);
  expect((error as LinkInputError).code).toBe(code);
  expect((error as LinkInputError).message).toContain(fragment);
};

describe('runLink', () => {
  test('writes every record once with its cluster, in input order, linking the duplicates', async () => {
    const input = file('people.csv', [HEADER, ...PEOPLE, ...DUPLICATES].join('\n'));
    const out = join(dir, 'clusters.csv');
    const summary = await runLink({ files: [input], out });
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('record_id,cluster_id');
    const rows = readClusters(out);
    expect(rows.map((r) => r[0])).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    const cluster = Object.fromEntries(rows);
    expect(cluster.b1).toBe(cluster.a1);
    expect(cluster.b2).toBe(cluster.a2);
    expect(new Set(Object.values(cluster)).size).toBe(3);
    expect(summary).toMatchObject({ records: 5, clusters: 3, trained: true });
    // Each step's seconds, in the order they ran, adding up to the run's.
    expect(Object.keys(summary.phases)).toEqual(['read', 'compare', 'train', 'cluster', 'write']);
    for (const seconds of Object.values(summary.phases)) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(Object.values(summary.phases).reduce((a, b) => a + b, 0)).toBeCloseTo(summary.seconds, 6);
    expect(formatSummary(summary)).toMatch(
      /\nphases {11}read \d+\.\d\d s, compare \d+\.\d\d s, train \d+\.\d\d s, cluster \d+\.\d\d s, write \d+\.\d\d s\n/,
    );
  });

  test('quotes ids that hold a comma or a quote, reads back the same ids, and leaves out an id the service refuses', async () => {
    const ids = ['"a,1"', '"a ""2"""', '"a\n3"', 'b1', 'b2'];
    const rows = [...PEOPLE, ...DUPLICATES].map((row, k) => ids[k] + row.slice(row.indexOf(',')));
    const input = file('quoted.csv', [HEADER, ...rows].join('\n'));
    const out = join(dir, 'quoted-clusters.csv');
    const summary = await runLink({ files: [input], out });
    const written = parse(readFileSync(out, 'utf8'), { columns: true }) as Array<{ record_id: string; cluster_id: string }>;
    expect(written.map((r) => r.record_id)).toEqual(['a,1', 'a "2"', 'b1', 'b2']);
    const cluster = Object.fromEntries(written.map((r) => [r.record_id, r.cluster_id]));
    // The duplicates join the first two people, whose quoted ids name their clusters.
    expect([cluster.b1, cluster.b2]).toEqual(['a,1', 'a "2"']);
    // An id is one line of text to the service (mpi import and mpi load refuse this row): left out here too.
    expect(summary.rejected).toBe(1);
    expect(readFileSync(summary.errorReport!, 'utf8').trim().split('\n')[1]).toBe(
      `${input},4,localId,INVALID_CHARACTERS,must not contain tabs or line breaks`,
    );
  });

  test('gives the same output for the same input', async () => {
    const input = file('same.csv', [HEADER, ...PEOPLE, ...DUPLICATES].join('\n'));
    const first = join(dir, 'first.csv');
    const second = join(dir, 'second.csv');
    await runLink({ files: [input], out: first });
    await runLink({ files: [input], out: second });
    expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
  });

  test('links across files in link mode only', async () => {
    const a = file('hospital.csv', [HEADER, PEOPLE[0], DUPLICATES[0]].join('\n'));
    const b = file('lab.csv', [HEADER, 'c1,Maria,Delgado,1984-07-19,412-55-9034,1450 W Division St,60642'].join('\n'));
    const out = join(dir, 'link.csv');
    await runLink({ files: [a, b], out, mode: 'link' });
    const cluster = Object.fromEntries(readClusters(out));
    expect(cluster.c1).toBe(cluster.a1);
  });

  test('reads columns through a mapping, joining listed columns and taking the source from a column', async () => {
    const input = file(
      'mapped.csv',
      [
        'pid,system,first,last,yyyy,mm,dd',
        'x1,ehr,Carsten,Meier,1949,7,22',
        'x2,lab,Carsten,Meier,1949,7,22',
        'x3,lab,Gerd,Bauer,1968,7,27',
      ].join('\n'),
    );
    const mapping = file(
      'mapping.json',
      JSON.stringify({ id: 'pid', source: 'system', fields: { givenName: 'first', familyName: 'last', birthDate: ['yyyy', 'mm', 'dd'] } }),
    );
    const out = join(dir, 'mapped-out.csv');
    const summary = await runLink({ files: [input], out, mapping });
    expect(summary.sources).toBe(2);
    const cluster = Object.fromEntries(readClusters(out));
    expect(cluster.x2).toBe(cluster.x1);
    expect(cluster.x3).not.toBe(cluster.x1);
  });

  test('recognises FEBRL columns and never reads truth columns', async () => {
    const input = file(
      'febrl.csv',
      [
        'rec_id,given_name,surname,street_number,address_1,address_2,suburb,postcode,state,date_of_birth,soc_sec_id,cluster',
        'r1,lachlan,berry,69,giblin street,killarney,bittern,4814,qld,19990219,7364009,same',
        'r2,deakin,sondergeld,48,goldfinch circuit,kooltuo,canterbury,2776,vic,19600210,2635962,same',
      ].join('\n'),
    );
    const out = join(dir, 'febrl-out.csv');
    await runLink({ files: [input], out });
    const cluster = Object.fromEntries(readClusters(out));
    expect(cluster.r1).not.toBe(cluster.r2);
  });

  test('saves the trained model and links with it again', async () => {
    const input = file('model-in.csv', [HEADER, ...PEOPLE, ...DUPLICATES].join('\n'));
    const saved = join(dir, 'model.json');
    const first = join(dir, 'm1.csv');
    const second = join(dir, 'm2.csv');
    await runLink({ files: [input], out: first, saveModel: saved });
    const summary = await runLink({ files: [input], out: second, model: saved });
    expect(summary.trained).toBe(false);
    expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
  });
});

describe('runLink rows the service would refuse', () => {
  const BAD = [
    'c1,Ann,Lee,19551192,,,',
    'c2,Bob,Ray,hello,,,',
    'c3,Cy,F\u0007ox,1980-01-01,,,',
    ',No,Id,1980-01-01,,,',
    'c5,Old,Timer,18500101,,,',
  ];

  test('leaves them out, lists line, field, code and reason, and links the rest', async () => {
    const input = file('bad-values.csv', [HEADER, ...PEOPLE, ...BAD].join('\n'));
    const out = join(dir, 'bad-values-out.csv');
    const summary = await runLink({ files: [input], out });
    expect(summary.records).toBe(3);
    expect(summary.rejected).toBe(5);
    expect(summary.errorReport).toBe(join(dir, 'bad-values-out.errors.csv'));
    expect(readClusters(out).map(([id]) => id)).toEqual(['a1', 'a2', 'a3']);
    expect(readFileSync(summary.errorReport!, 'utf8').trim().split('\n')).toEqual([
      'file,line,field,code,message',
      `${input},5,birthDate,INVALID_DATE,day is out of range for its month`,
      `${input},6,birthDate,INVALID_DATE,must be an ISO date (YYYY-MM-DD)`,
      `${input},7,familyName,INVALID_CHARACTERS,must not contain control characters`,
      `${input},8,localId,REQUIRED,the id column is empty`,
      `${input},9,birthDate,INVALID_DATE,year is implausibly early`,
    ]);
  });

  test('with keepInvalid, links them without the refused values (rows without an id are still left out)', async () => {
    const input = file('bad-kept.csv', [HEADER, ...PEOPLE, ...BAD].join('\n'));
    const out = join(dir, 'bad-kept-out.csv');
    const summary = await runLink({ files: [input], out, keepInvalid: true });
    expect(summary.records).toBe(7);
    expect(summary.rejected).toBe(1);
    expect(summary.issues['birthDate:INVALID_DATE']).toBe(3);
  });

  test('with keepInvalid, a birth date in the future is dropped as the service refuses it, not linked on', async () => {
    const future = ['f1,Ann,Stein,2062-08-30,,,', 'f2,Ann,Stein,2062-08-30,,,'];
    const input = file('future-kept.csv', [HEADER, ...PEOPLE, ...future].join('\n'));
    const out = join(dir, 'future-kept-out.csv');
    for (const threads of [1, 2]) {
      const summary = await runLink({ files: [input], out, keepInvalid: true, threads });
      expect(summary.records).toBe(5);
      expect(summary.rejected).toBe(0);
      expect(summary.issues['birthDate:FUTURE_DATE']).toBe(2);
    }
    const refused = await runLink({ files: [input], out: join(dir, 'future-refused-out.csv') });
    expect(refused.rejected).toBe(2);
  });
});

describe('runLink input errors', () => {
  test('names a missing file', async () => {
    await expectInputError(runLink({ files: [join(dir, 'nope.csv')], out: join(dir, 'o.csv') }), 'FILE_NOT_FOUND', 'nope.csv');
  });

  test('names a mapped column the file lacks', async () => {
    const input = file('cols.csv', 'pid,first\n1,Ann\n');
    const mapping = file('bad-mapping.json', JSON.stringify({ id: 'pid', fields: { givenName: 'first', familyName: 'surname' } }));
    await expectInputError(runLink({ files: [input], out: join(dir, 'o.csv'), mapping }), 'UNKNOWN_COLUMN', '"surname"');
  });

  test('gives the line number of a malformed row', async () => {
    const input = file('broken.csv', [HEADER, PEOPLE[0], 'a9,Too,Many,Fields,1,2,3,4,5'].join('\n'));
    await expectInputError(runLink({ files: [input], out: join(dir, 'o.csv') }), 'MALFORMED_CSV', 'line 3');
  });

  test('rejects a file with a header and no records', async () => {
    const input = file('empty.csv', `${HEADER}\n`);
    await expectInputError(runLink({ files: [input], out: join(dir, 'o.csv') }), 'EMPTY_INPUT', 'no records');
  });

  test('leaves out a record id repeated across inputs and names the line it was first on', async () => {
    const a = file('dup-a.csv', [HEADER, PEOPLE[0]].join('\n'));
    const b = file('dup-b.csv', [HEADER, PEOPLE[1], PEOPLE[0]].join('\n'));
    const out = join(dir, 'dup.csv');
    const summary = await runLink({ files: [a, b], out });
    expect(summary.rejected).toBe(1);
    expect(readClusters(out).map(([id]) => id)).toEqual(['a1', 'a2']);
    expect(readFileSync(join(dir, 'dup.errors.csv'), 'utf8').trim().split('\n')).toEqual([
      'file,line,field,code,message',
      `${b},3,localId,DUPLICATE_ID,the same id is on line 2 of ${a}; only the first is kept`,
    ]);
  });

  test.each([1, 2])(
    'keeps the first valid row of a repeated id when an earlier row with it is refused (%i threads)',
    async (threads) => {
      // Line 2 has an impossible date, so line 3 is the first row of a1 kept; line 4 repeats it; line 5 has no id.
      const rows = [
        HEADER,
        'a1,Maria,Delgado,1984-13-45,,,',
        PEOPLE[0],
        PEOPLE[0]!.replace('Maria', 'Mariah'),
        `,${PEOPLE[1]!.slice(3)}`,
        PEOPLE[2],
      ];
      const input = file(`refused-${threads}.csv`, rows.join('\n'));
      const out = join(dir, `refused-${threads}.csv.out`);
      const summary = await runLink({ files: [input], out, threads, errors: join(dir, `refused-${threads}.errors.csv`) });
      expect(summary.rejected).toBe(3);
      expect(readClusters(out).map(([id]) => id)).toEqual(['a1', 'a3']);
      const report = readFileSync(join(dir, `refused-${threads}.errors.csv`), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      expect(report.map((line) => line.split(',').slice(1, 4).join(','))).toEqual([
        '2,birthDate,INVALID_DATE',
        '4,localId,DUPLICATE_ID',
        '5,localId,REQUIRED',
      ]);
      expect(report[1]).toContain('the same id is on line 3;');
    },
    60_000,
  );

  test('rejects an invalid model file with the validation problem', async () => {
    const input = file('m-in.csv', [HEADER, ...PEOPLE].join('\n'));
    const model = file('bad-model.json', JSON.stringify({ format: 'mpi-match-model/1' }));
    await expectInputError(runLink({ files: [input], out: join(dir, 'o.csv'), model }), 'INVALID_MODEL', 'invalid match model');
  });
});
