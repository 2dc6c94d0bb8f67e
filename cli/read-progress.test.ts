import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { countCsvRecords } from './import-csv.ts';
import { readLoadRows } from './load.ts';

/** The first pass of `mpi import` and `mpi load` over their files reports bytes read of the total size as it goes. */
describe('progress of the first read of a file', () => {
  let dir: string;
  let big: string;
  let small: string;
  const quiet = { warn: () => undefined };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mpi-read-progress-'));
    // Over 2 MiB, so the file is read in several chunks.
    const rows = Array.from(
      { length: 50_000 },
      (_, i) => `R-${i},Ann,Lee,F,1980-01-${String((i % 28) + 1).padStart(2, '0')},12 Beacon St,Boston`,
    );
    big = join(dir, 'big.csv');
    await writeFile(big, ['record_id,given_name,surname,sex,date_of_birth,address_1,city', ...rows].join('\n'));
    small = join(dir, 'small.csv');
    await writeFile(small, 'record_id,given_name,surname\nS-1,Bo,Ray\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('counting the rows of a large file reports growing byte counts up to its size', async () => {
    const { size } = await stat(big);
    expect(size).toBeGreaterThan(2 * 1024 * 1024);
    const calls: Array<[number, number]> = [];
    const rows = await countCsvRecords(big, undefined, quiet, (bytes, total) => calls.push([bytes, total]));
    expect(rows).toBe(50_000);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every(([, total]) => total === size)).toBe(true);
    expect(calls.map(([bytes]) => bytes)).toEqual([...calls.map(([bytes]) => bytes)].sort((a, b) => a - b));
    expect(calls.at(-1)).toEqual([size, size]);
  });

  test('reading the files of a load reports bytes over all of them', async () => {
    const total = (await stat(big)).size + (await stat(small)).size;
    const calls: Array<[number, number]> = [];
    const { rows } = await readLoadRows([{ source: 'a', files: [big, small] }], { ...quiet, onRead: (bytes, t) => calls.push([bytes, t]) });
    expect(rows).toHaveLength(50_001);
    expect(calls.every(([, t]) => t === total)).toBe(true);
    expect(calls).toContainEqual([(await stat(big)).size, total]);
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
  });
});
