import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LARGE_LINK_INPUT_BYTES, LINK_SEMI_SPACE_MB } from './young-generation.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'mpi-young-'));
const patients = readFileSync(join(ROOT, 'examples/patients.csv'), 'utf8');
/** The example file made larger than the threshold by blank lines, which the reader skips: a large input that links in a second. */
const padded = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text + '\n'.repeat(LARGE_LINK_INPUT_BYTES + 1024));
  return file;
};

/** `mpi link` as a user runs it; its exit code and stderr. */
async function link(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run('node', [join(ROOT, 'cli/mpi.js'), 'link', '--threads', '1', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

let largeInput = '';
beforeAll(() => {
  largeInput = padded('large-input.csv', patients);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mpi link on a large input starts Node again with larger semi-spaces', () => {
  test('the same clusters as the small input, linked in a Node with 32 MB semi-spaces', async () => {
    const small = await link(['--out', join(dir, 'small.csv'), join(ROOT, 'examples/patients.csv')]);
    expect(small.code).toBe(0);
    expect(small.stderr).toMatch(/peak memory\s+\d+ MB\n/);
    const large = await link(['--out', join(dir, 'large.csv'), largeInput]);
    expect(large.code).toBe(0);
    expect(large.stderr).toContain(`(V8 semi-spaces of ${LINK_SEMI_SPACE_MB} MB)`);
    // One summary: the first process only waited.
    expect(large.stderr.match(/^records /gm)).toHaveLength(1);
    expect(readFileSync(join(dir, 'large.csv'), 'utf8')).toBe(readFileSync(join(dir, 'small.csv'), 'utf8'));
  });

  test("an operator's NODE_OPTIONS size is kept", async () => {
    const large = await link(['--out', join(dir, 'kept.csv'), largeInput], {
      NODE_OPTIONS: '--max-semi-space-size=16',
    });
    expect(large.code).toBe(0);
    expect(large.stderr).toContain('(V8 semi-spaces of 16 MB)');
    // V8 reads the flag spelt with underscores too.
    const underscores = await link(['--out', join(dir, 'kept.csv'), largeInput], { NODE_OPTIONS: '--max_semi_space_size=24' });
    expect(underscores.stderr).toContain('(V8 semi-spaces of 24 MB)');
  });

  test('the exit code of the run comes back: 1 when rows were left out, 2 when the input cannot be linked', async () => {
    const lines = patients.trimEnd().split('\n');
    const withBadRow = `${lines.join('\n')}\n${lines[1]!.replace(/^[^,]*/, '')}\n`; // a row with no id
    const rejected = await link(['--out', join(dir, 'rejected.csv'), padded('rejected-input.csv', withBadRow)]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('rejected rows    1');
    const broken = await link(['--out', join(dir, 'broken.csv'), padded('broken-input.csv', `${patients}"unterminated,\n`)]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('malformed CSV');
  });

  test('a signal to the command stops the run it started', async () => {
    const out = join(dir, 'stopped.csv');
    // Large enough to take a few seconds to read, so the signal comes while the second process works.
    const input = join(dir, 'stopped-input.csv');
    writeFileSync(input, patients + '\n'.repeat(2 * LARGE_LINK_INPUT_BYTES));
    const command = spawn('node', [join(ROOT, 'cli/mpi.js'), 'link', '--threads', '1', '--out', out, input], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((done) => command.on('exit', (code) => done(code)));
    const second = () =>
      spawnSync('pgrep', ['-f', `max-semi-space-size=${LINK_SEMI_SPACE_MB}.*${out}`], { encoding: 'utf8' }).stdout.trim();
    for (let waited = 0; second() === '' && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(second()).not.toBe('');
    command.kill('SIGTERM');
    expect(await exited).toBe(128 + 15);
    expect(second()).toBe('');
  }, 30_000);
});
