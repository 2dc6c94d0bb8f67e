import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkInputShape } from '../identity/validate.ts';
import { runImport } from './import.ts';
import { runLink } from './link.ts';

const dir = mkdtempSync(join(tmpdir(), 'mpi-columns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const NO_SERVER: typeof fetch = () => Promise.reject(new Error('nothing may be sent'));

describe('columns a file has but nothing reads', () => {
  // `birth` is no name we know: its dates would be dropped without a word.
  const odd = file('odd.csv', 'id,fname,lname,birth\n1,Ada,Quarles,1984-11-02\n2,Ada,Quarles,1984-11-02\n');

  test('mpi link and mpi import warn about them in the same words', async () => {
    const warnings: string[] = [];
    await runLink({ files: [odd], out: join(dir, 'out.csv'), warn: (m) => warnings.push(m) });
    await runImport({ file: odd, source: 'ehr', warn: (m) => warnings.push(m), fetch: NO_SERVER }).catch(() => undefined);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe(
      `warning: ${odd}: unrecognised columns "birth" are ignored (map them with --mapping; --strict refuses such a file; --help lists the recognised names)\n`,
    );
    expect(warnings[1]).toBe(warnings[0]);
  });

  test('--strict refuses the file in both commands, before anything is linked or sent', async () => {
    const message = `${odd}: unrecognised columns "birth" (map them with --mapping, or leave out --strict to ignore them)`;
    await expect(runLink({ files: [odd], out: join(dir, 'out2.csv'), strict: true })).rejects.toThrow(message);
    await expect(runImport({ file: odd, source: 'ehr', strict: true, fetch: NO_SERVER })).rejects.toThrow(message);
  });
});

describe('a column named twice', () => {
  // Two phone columns: only the first is read, so the second's numbers would be dropped without a word.
  const twice = file('twice.csv', 'id,fname,lname,phone,Phone\n1,Ada,Quarles,5550101,5550102\n2,Ada,Quarles,5550101,5550102\n');

  test('mpi link and mpi import say so in the same words, not as an unknown column', async () => {
    const warnings: string[] = [];
    await runLink({ files: [twice], out: join(dir, 'twice-out.csv'), warn: (m) => warnings.push(m) });
    await runImport({ file: twice, source: 'ehr', warn: (m) => warnings.push(m), fetch: NO_SERVER }).catch(() => undefined);
    expect(warnings).toEqual([
      `warning: ${twice}: columns named more than once: "Phone"; only the first of each is read (rename the others, or map them with --mapping)\n`,
      `warning: ${twice}: columns named more than once: "Phone"; only the first of each is read (rename the others, or map them with --mapping)\n`,
    ]);
  });

  test('--strict refuses the file in both commands', async () => {
    const message = `${twice}: columns named more than once: "Phone" (rename them, or map them with --mapping)`;
    await expect(runLink({ files: [twice], out: join(dir, 'twice-out2.csv'), strict: true })).rejects.toThrow(message);
    await expect(runImport({ file: twice, source: 'ehr', strict: true, fetch: NO_SERVER })).rejects.toThrow(message);
  });
});

describe('one message for one bad birth date', () => {
  test.each([
    ['19551192', 'day is out of range for its month'],
    ['19551301', 'month is out of range'],
    ['19610704', 'must be an ISO date (YYYY-MM-DD)'],
    ['July 4th', 'must be an ISO date (YYYY-MM-DD)'],
  ])('the API explains %s as the normaliser does: %s', (value, message) => {
    expect(checkInputShape({ source: 'ehr', localId: '1', birthDate: value })).toEqual([
      { field: 'input.birthDate', code: 'INVALID_DATE', message },
    ]);
  });
});
