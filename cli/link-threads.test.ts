import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { sharedDir } from '../bench/support.ts';
import { decodeRecords, defaultModel, encodeRecords, normaliseRecord } from '../matching/index.ts';
import { LinkInputError } from './link-errors.ts';
import { parseThreads, runLink } from './link.ts';
import { LinkThreads } from './link-threads.ts';
import { packRecords, unpackRecords } from './link-packing.ts';

const DATASETS = join(sharedDir(resolve(import.meta.dirname, '..')), 'datasets');
const FEBRL4 = [join(DATASETS, 'febrl4a.csv'), join(DATASETS, 'febrl4b.csv')];
const FAKE = join(DATASETS, 'fake_1000.csv');
const haveData = existsSync(FEBRL4[0]!) && existsSync(FAKE);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mpi-threads-'));
});

/** Runs the linkage with `threads` and returns the output file's bytes and the summary. */
async function link(files: string[], threads: number, extra: { model?: string; saveModel?: string } = {}) {
  const out = join(dir, `clusters-${threads}-${Math.random().toString(36).slice(2)}.csv`);
  const summary = await runLink({ files, out, threads, warn: () => undefined, ...extra });
  return { bytes: readFileSync(out), summary };
}

describe.skipIf(!haveData)('mpi link on several threads', () => {
  test('writes byte-identical clusters with 1, 2 and 4 threads (FEBRL4, 10,000 records, model trained on the input)', async () => {
    const one = await link(FEBRL4, 1, { saveModel: join(dir, 'febrl4-model.json') });
    const two = await link(FEBRL4, 2, { saveModel: join(dir, 'febrl4-model-2.json') });
    const four = await link(FEBRL4, 4, { saveModel: join(dir, 'febrl4-model-4.json') });
    // FEBRL corrupts some dates on purpose: those records are left out, the same ones on any number of threads.
    expect(one.summary.records + one.summary.rejected).toBe(10_000);
    expect(one.summary.threads).toBe(1);
    expect(two.summary.threads).toBe(2);
    expect(four.summary.threads).toBe(4);
    expect(one.summary.links).toBeGreaterThan(4900);
    expect(two.bytes.equals(one.bytes)).toBe(true);
    expect(four.bytes.equals(one.bytes)).toBe(true);
    for (const other of [two, four]) {
      expect(other.summary).toMatchObject({
        pairsCompared: one.summary.pairsCompared,
        links: one.summary.links,
        clusters: one.summary.clusters,
        modelVersion: one.summary.modelVersion,
        issues: one.summary.issues,
        rejected: one.summary.rejected,
      });
    }
    // The same model too, its match threshold included (set from every pair's weight, weighed on every thread).
    const model = (file: string) => {
      const { createdAt: _, ...rest } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { createdAt: string };
      return rest;
    };
    expect(model('febrl4-model-2.json')).toEqual(model('febrl4-model.json'));
    expect(model('febrl4-model-4.json')).toEqual(model('febrl4-model.json'));
  }, 240_000);

  test('writes byte-identical clusters with 1 and 3 threads when the model is given (fake_1000, messy values)', async () => {
    const trained = await link([FAKE], 1, { saveModel: join(dir, 'fake-model.json') });
    const one = await link([FAKE], 1, { model: join(dir, 'fake-model.json') });
    const three = await link([FAKE], 3, { model: join(dir, 'fake-model.json') });
    expect(one.bytes.equals(trained.bytes)).toBe(true);
    expect(three.bytes.equals(one.bytes)).toBe(true);
    expect(three.summary.issues).toEqual(one.summary.issues);
  }, 120_000);
});

describe('repeated ids while batches are normalised', () => {
  /** Row `i` (line i + 2) of a file of made-up people, with its own id unless given one. */
  const person = (i: number, id = `p${i}`, birthDate = `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`) =>
    `${id},Given${i % 997},Family${i % 1009},${birthDate},9 Road ${i}`;

  test('keeps the first valid row of each id and refuses the rest, the same on 1 and 2 threads', async () => {
    // Batches are 2,000 rows; the next batch is read while the one before is still being normalised. An id is
    // repeated within the batch in flight, two batches later, and after its first row was refused for its date.
    const rows = Array.from({ length: 6_500 }, (_, i) => person(i));
    rows[2_100] = person(2_100, 'p10');
    rows[2_150] = person(2_150, 'p2050');
    rows[4_000] = person(4_000, 'p4000', '1984-13-45');
    rows[4_001] = person(4_001, 'p4000');
    rows[4_002] = person(4_002, 'p4000');
    rows[6_400] = person(6_400, 'p3999');
    const file = join(dir, 'repeated-ids.csv');
    writeFileSync(file, ['record_id,givenName,familyName,birthDate,addressLine1', ...rows].join('\n'));
    const run = async (threads: number) => {
      const out = join(dir, `repeated-${threads}.csv`);
      const errors = join(dir, `repeated-${threads}.errors.csv`);
      const summary = await runLink({ files: [file], out, threads, errors, warn: () => undefined });
      return { summary, clusters: readFileSync(out, 'utf8'), errors: readFileSync(errors, 'utf8') };
    };
    const one = await run(1);
    const two = await run(2);
    const refused = one.errors
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').slice(1, 4).join(','));
    expect(refused).toEqual([
      '2102,localId,DUPLICATE_ID',
      '2152,localId,DUPLICATE_ID',
      '4002,birthDate,INVALID_DATE',
      '4004,localId,DUPLICATE_ID',
      '6402,localId,DUPLICATE_ID',
    ]);
    expect(one.summary.records).toBe(6_500 - 5);
    expect(one.clusters.split('\n').filter((line) => line.startsWith('p4000,'))).toHaveLength(1);
    expect(two.summary.threads).toBe(2);
    expect(two.errors).toBe(one.errors);
    expect(two.clusters).toBe(one.clusters);
  }, 60_000);
});

describe('scoring pairs on several threads', () => {
  /** Every pair (i, j), i < j, of `n` records. */
  function allPairs(n: number) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        a.push(i);
        b.push(j);
      }
    return { pairA: Int32Array.from(a), pairB: Int32Array.from(b) };
  }

  test('gives the numbers one thread gives when the next call reuses records of the last at other positions', async () => {
    // One patient as six sources hold her, each differing in other fields: every pair scores differently.
    const people = [
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1815-12-10', sex: 'F', postcode: 'W1 1AA', city: 'London' },
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1815-12-01', sex: 'F', postcode: 'W1 1AA' },
      { givenName: 'Adah', familyName: 'Lovelace', birthDate: '1815-12-10', sex: 'F', city: 'London', phone: '020 7946 0000' },
      { givenName: 'Ada', familyName: 'Lovelase', birthDate: '1815-10-12', sex: 'F', postcode: 'W1 1AB', phone: '020 7946 0000' },
      { givenName: 'Augusta', familyName: 'Lovelace', birthDate: '1815-12-10', sex: 'F', city: 'Londn' },
      { givenName: 'Ada', familyName: 'King', birthDate: '1815', sex: 'F', postcode: 'W1 1AA', city: 'London' },
    ].map((p) => normaliseRecord(p).record);
    const model = defaultModel();
    const one = LinkThreads.start(1);
    const two = LinkThreads.start(2);
    try {
      // The second call holds two records of the first (the same objects) at new positions, among new ones.
      for (const records of [people.slice(0, 4), [people[4]!, people[2]!, people[5]!, people[0]!], [people[0]!, people[1]!, people[3]!]]) {
        const expected = await one.scorePairs(records, model, allPairs(records.length));
        const got = await two.scorePairs(records, model, allPairs(records.length));
        expect(Array.from(got.weights)).toEqual(Array.from(expected.weights));
        expect(Array.from(got.conflicts)).toEqual(Array.from(expected.conflicts));
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

describe('record codec between threads', () => {
  test('gives back every normalised value exactly, nulls included', () => {
    const records = [
      normaliseRecord({ givenName: 'Zoë', familyName: "O'Brien-Smith", birthDate: '1984-07-19', ssn: '412-55-9034' }).record,
      normaliseRecord({}).record,
      normaliseRecord({ email: 'A.B@Example.org', addressLine1: '12 "Quoted" Rd\nUnit 4', postalCode: '02139' }).record,
    ];
    expect(decodeRecords(encodeRecords(records))).toEqual(records);
    // Packed for another thread, through a real structured clone as postMessage makes it.
    expect(unpackRecords(structuredClone(packRecords(records)))).toEqual(records);
    expect(Object.keys(unpackRecords(packRecords(records))[0]!)).toEqual(Object.keys(records[0]!));
  });
});

describe('--threads', () => {
  test.each([['0'], ['-1'], ['1.5'], ['many'], ['65']])('refuses %s with an input error', (value) => {
    expect(() => parseThreads(value)).toThrow(LinkInputError);
    expect(() => parseThreads(value)).toThrow('--threads must be a whole number from 1 to 64');
  });
  test.each([
    ['1', 1],
    ['2', 2],
    ['64', 64],
  ])('accepts %s', (value, n) => {
    expect(parseThreads(value)).toBe(n);
  });
  test('defaults to one per core when not given', () => {
    expect(parseThreads(undefined)).toBeUndefined();
  });
});
