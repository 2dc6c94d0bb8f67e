import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';

/**
 * A CSV row that cannot be linked, imported or loaded: which line (of which file), which field, the code of the
 * error vocabulary and what is wrong. Never the value. `mpi link`, `mpi import` and `mpi load` report the same
 * problem of the same row in the same words.
 */
export interface RowProblem {
  line: number;
  field: string;
  code: string;
  message: string;
}

/** A row problem with the file it was found in (commands that read several files). */
export interface FileRowProblem extends RowProblem {
  file: string;
}

/** The row has no local id. */
export const EMPTY_ID = { field: 'localId', code: 'REQUIRED', message: 'the id column is empty' } as const;

/** The row repeats the local id of an earlier row (of `firstFile`, when that is another file than the row's). */
export function duplicateId(firstLine: number, firstFile?: string): Omit<RowProblem, 'line'> {
  const where = firstFile === undefined ? `line ${firstLine}` : `line ${firstLine} of ${firstFile}`;
  return { field: 'localId', code: 'DUPLICATE_ID', message: `the same id is on ${where}; only the first is kept` };
}

/** `file,line,field,code,message`, in file and line order: what to fix, never the value. */
export async function writeFileRowReport(path: string, problems: FileRowProblem[]): Promise<void> {
  const sorted = [...problems].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const stream = createWriteStream(path);
  stream.write(
    stringify([['file', 'line', 'field', 'code', 'message'], ...sorted.map((p) => [p.file, p.line, p.field, p.code, p.message])]),
  );
  stream.end();
  await once(stream, 'finish');
}
