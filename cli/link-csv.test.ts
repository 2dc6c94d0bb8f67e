import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { CsvSyntaxError, readCsvRows } from './link-csv.ts';

const dir = mkdtempSync(join(tmpdir(), 'mpi-csv-'));
let counter = 0;
async function rows(text: string, chunkSize?: number): Promise<string[][]> {
  const path = join(dir, `f${counter++}.csv`);
  writeFileSync(path, text);
  const out: string[][] = [];
  for await (const row of readCsvRows(path, { chunkSize })) out.push(row);
  return out;
}

describe('readCsvRows', () => {
  test.each([
    [
      'plain rows',
      'a,b\n1,2\n3,4\n',
      [
        ['a', 'b'],
        ['1', '2'],
        ['3', '4'],
      ],
    ],
    [
      'CRLF line ends and no final newline',
      'a,b\r\n1,2\r\n3,4',
      [
        ['a', 'b'],
        ['1', '2'],
        ['3', '4'],
      ],
    ],
    [
      'a byte-order mark',
      '\ufeffa,b\n1,2\n',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'quoted commas, doubled quotes and newlines',
      'a,b\n"x, y","say ""hi""\nthere"\n',
      [
        ['a', 'b'],
        ['x, y', 'say "hi"\nthere'],
      ],
    ],
    [
      'empty fields and empty lines',
      'a,b,c\n\n,,\n1,,3\n\n',
      [
        ['a', 'b', 'c'],
        ['', '', ''],
        ['1', '', '3'],
      ],
    ],
    [
      'non-ASCII text',
      'a,b\nMüller,José\n',
      [
        ['a', 'b'],
        ['Müller', 'José'],
      ],
    ],
  ])('reads %s', async (_label, text, expected) => {
    expect(await rows(text)).toEqual(expected);
    expect(await rows(text, 3)).toEqual(expected);
  });

  test.each([
    ['a row with too many fields', 'a,b\n1,2\n1,2,3\n', 3],
    ['a quote inside an unquoted field', 'a,b\n1,x"y\n', 2],
    ['text after a closing quote', 'a,b\n"1"x,2\n', 2],
    ['an unterminated quote', 'a,b\n1,"2\n3,4\n', 2],
  ])('reports %s with its line number', async (_label, text, line) => {
    const error = await rows(text).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect((error as CsvSyntaxError).line).toBe(line);
  });

  test('reads a byte range from a row boundary, continuing line numbers and width', async () => {
    const text = 'a,b\n1,2\n3,4\n5,6,7\n';
    const path = join(dir, 'range.csv');
    writeFileSync(path, text);
    const out: string[][] = [];
    for await (const row of readCsvRows(path, { start: 4, end: 12, line: 2, width: 2 })) out.push(row);
    expect(out).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    const error = await (async () => {
      for await (const _row of readCsvRows(path, { start: 12, line: 4, width: 2 })) void _row;
    })().catch((e: unknown) => e);
    expect((error as CsvSyntaxError).line).toBe(4);
  });

  test('agrees with csv-parse on a shared dataset, across chunk boundaries', async () => {
    const path = join(import.meta.dirname, '../../shared/datasets/febrl3.csv');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    const expected = parse(text, { skip_empty_lines: true }) as string[][];
    expect(await rows(text, 4096)).toEqual(expected);
  });
});
