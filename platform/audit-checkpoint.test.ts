import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readAuditCheckpointFile } from './audit-checkpoint.ts';
import { ValidationError } from './errors.ts';

describe('readAuditCheckpointFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpi-checkpoint-'));

  function refusal(file: string): ValidationError {
    try {
      readAuditCheckpointFile(file);
    } catch (error) {
      if (error instanceof ValidationError) return error;
      throw error;
    }
    throw new Error('read without an error');
  }

  test('names a file that is not JSON without quoting what it holds', () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'Jane Example 1984-03-02 and more of what this file holds');
    const error = refusal(file);
    expect(error.problems[0]).toMatchObject({ field: 'checkpoint', code: 'INVALID_CHECKPOINT' });
    expect(error.message).toContain(file);
    expect(error.message).toContain('not valid JSON');
    expect(error.message).not.toMatch(/Jane|Example|1984/);
  });

  test('says why a file could not be read', () => {
    expect(refusal(join(dir, 'missing.json')).message).toContain('ENOENT');
  });
});
