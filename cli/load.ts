import { existsSync, statSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import {
  bulkLoad,
  IdentityService,
  ModelRegistry,
  type BulkLoadOptions,
  type BulkLoadSummary,
  type LoadProblem,
  type LoadRow,
} from '../identity/index.ts';
import { installAuditKeyring } from './audit.ts';
import { CliError } from './errors.ts';
import { readCsvRecords, readMappingFile, type ReadProgress } from './import-csv.ts';
import { parseThreads } from './link.ts';
import { createProgress } from './link-output.ts';
import { defaultThreads, LinkThreads } from './link-threads.ts';
import { writeFileRowReport } from './row-problems.ts';

/** Files of one source, read with one mapping (`--source CODE [--mapping M.json] FILE...`). */
export interface LoadGroup {
  source: string;
  mapping?: string | undefined;
  files: string[];
}

/**
 * Splits `mpi load` arguments into source groups: each `--source` starts a group, a `--mapping` applies to the
 * group it follows, and files belong to the group before them. Other options are returned apart.
 */
export function parseLoadArgs(args: string[]): {
  groups: LoadGroup[];
  chunkSize?: number;
  giveWayChunkSize?: number;
  window?: number;
  errors?: string;
  strict: boolean;
  threads?: number;
} {
  const groups: LoadGroup[] = [];
  let chunkSize: number | undefined;
  let giveWayChunkSize: number | undefined;
  let window: number | undefined;
  let threads: number | undefined;
  let errors: string | undefined;
  let strict = false;
  const value = (i: number, flag: string) => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new CliError(`${flag} needs a value`, flag.slice(2));
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const take = () => inline ?? value(i++, flag);
    if (flag === '--source') groups.push({ source: take(), files: [] });
    else if (flag === '--mapping') {
      const group = groups.at(-1);
      if (!group) throw new CliError('--mapping must follow the --source it applies to', 'mapping');
      if (group.mapping) throw new CliError(`--source ${group.source} has two --mapping files`, 'mapping');
      group.mapping = take();
    } else if (flag === '--chunk-size') {
      const n = Number(take());
      if (!Number.isInteger(n) || n < 1) throw new CliError('--chunk-size must be a whole number, 1 or more', 'chunk-size');
      chunkSize = n;
    } else if (flag === '--give-way-chunk-size') {
      const n = Number(take());
      if (!Number.isInteger(n) || n < 0)
        throw new CliError('--give-way-chunk-size must be a whole number, 0 (never give way) or more', 'give-way-chunk-size');
      giveWayChunkSize = n;
    } else if (flag === '--window') {
      const n = Number(take());
      if (!Number.isInteger(n) || n < 1) throw new CliError('--window must be a whole number, 1 or more', 'window');
      window = n;
    } else if (flag === '--threads') {
      try {
        threads = parseThreads(take());
      } catch (error) {
        throw new CliError((error as Error).message, 'threads');
      }
    } else if (flag === '--errors') errors = take();
    else if (flag === '--strict') strict = true;
    else if (flag.startsWith('--')) throw new CliError(`unknown option ${flag}`);
    else {
      const group = groups.at(-1);
      if (!group) throw new CliError(`${arg}: a file must follow the --source it belongs to`, 'source');
      group.files.push(arg);
    }
  }
  if (groups.length === 0) throw new CliError('--source is required', 'source');
  for (const g of groups) if (g.files.length === 0) throw new CliError(`--source ${g.source} has no file`, 'source');
  return {
    groups,
    ...(chunkSize ? { chunkSize } : {}),
    ...(giveWayChunkSize !== undefined ? { giveWayChunkSize } : {}),
    ...(window ? { window } : {}),
    ...(errors ? { errors } : {}),
    strict,
    ...(threads ? { threads } : {}),
  };
}

/**
 * The rows of every file of every group, in order, as they are read (bad rows go to `problems` instead);
 * `onRead` hears the bytes read of all the files' total size.
 */
export async function* streamLoadRows(
  groups: LoadGroup[],
  problems: LoadProblem[],
  options: { strict?: boolean | undefined; warn?: ((message: string) => void) | undefined; onRead?: ReadProgress | undefined } = {},
): AsyncGenerator<LoadRow> {
  // Progress of the read is over all files at once; a missing file is reported when its turn comes (`runLoad` checks
  // every file before it reads the first).
  const total = loadBytes(groups);
  let before = 0;
  for (const group of groups) {
    const mapping = group.mapping ? readMappingFile(group.mapping) : undefined;
    for (const file of group.files) {
      const columns = { strict: options.strict, warn: options.warn ?? ((m: string) => process.stderr.write(m)) };
      const onRead = options.onRead && ((bytes: number) => options.onRead!(before + bytes, total));
      for await (const record of readCsvRecords(file, mapping, (p) => problems.push({ file, ...p }), columns, onRead))
        yield { file, line: record.line, input: { ...record.fields, source: group.source, localId: record.localId } };
      before += existsSync(file) ? statSync(file).size : 0;
    }
  }
}

/**
 * Every file and mapping the groups name, read before anything is loaded: a mistyped path (or a mapping that is
 * not valid) stops the load before its first row instead of after the files before it.
 */
export function checkLoadFiles(groups: LoadGroup[]): void {
  for (const group of groups) {
    if (group.mapping) readMappingFile(group.mapping);
    for (const file of group.files) {
      if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`input file not found: ${file}`, 'file');
    }
  }
}

/** The size in bytes of every file of the groups (a missing one counts 0). */
const loadBytes = (groups: LoadGroup[]): number =>
  groups
    .flatMap((g) => g.files)
    .map((file) => (existsSync(file) ? statSync(file).size : 0))
    .reduce((a, b) => a + b, 0);

/** Reads every file of every group: the rows to load and the rows that cannot be (line, field, reason). */
export async function readLoadRows(
  groups: LoadGroup[],
  options: { strict?: boolean; warn?: (message: string) => void; onRead?: ReadProgress | undefined } = {},
): Promise<{ rows: LoadRow[]; problems: LoadProblem[] }> {
  const rows: LoadRow[] = [];
  const problems: LoadProblem[] = [];
  for await (const row of streamLoadRows(groups, problems, options)) rows.push(row);
  return { rows, problems };
}

/** `file,line,field,code,message`, in file and line order: what to fix, never the value. */
export const writeLoadErrors = (path: string, problems: LoadProblem[]): Promise<void> => writeFileRowReport(path, problems);

/**
 * Loads the groups' files into the database of `database`; the engine is `bulkLoad`, fed the rows as they are
 * read, a window at a time.
 */
export async function runLoad(
  config: Pick<AppConfig, 'MPI_AUTO_REGISTER_SOURCES'>,
  database: DatabaseHandle,
  groups: LoadGroup[],
  options: Pick<BulkLoadOptions, 'chunkSize' | 'giveWayChunkSize' | 'giveWayMs' | 'window' | 'beforeChunkCommit' | 'onProgress'> & {
    strict?: boolean;
    warn?: (m: string) => void;
    /** Threads that score the load's pairs (default: one per core). */
    threads?: number | undefined;
    /** Hears the pass over the files: bytes read of their total size. */
    onRead?: ReadProgress | undefined;
  } = {},
): Promise<BulkLoadSummary> {
  checkLoadFiles(groups);
  const service = new IdentityService(database.db, new ModelRegistry(database.db), {
    autoRegisterSources: config.MPI_AUTO_REGISTER_SOURCES,
    reader: database.reader,
  });
  // Bad rows found while reading join the load's problems as the windows are read.
  const problems: LoadProblem[] = [];
  const total = loadBytes(groups);
  let bytes = 0;
  let rowsRead = 0;
  const onRead: ReadProgress = (done, all) => {
    bytes = done;
    options.onRead?.(done, all);
  };
  async function* counted(): AsyncGenerator<LoadRow> {
    for await (const row of streamLoadRows(groups, problems, { ...options, onRead })) {
      rowsRead += 1;
      yield row;
    }
  }
  const threads = LinkThreads.start(options.threads ?? defaultThreads());
  try {
    const summary = await bulkLoad(service, counted(), {
      actor: { actor: 'cli:mpi-load' },
      role: 'admin',
      job: `bulk-load:${groups.map((g) => g.source).join(',')}`,
      sources: groups.map((g) => g.source),
      problems,
      chunkSize: options.chunkSize,
      // The embedded database has no other session to give way to.
      giveWayChunkSize: database.kind === 'postgres' ? options.giveWayChunkSize : 0,
      giveWayMs: options.giveWayMs,
      window: options.window,
      beforeChunkCommit: options.beforeChunkCommit,
      onProgress: options.onProgress,
      expectedRows: () => (bytes > 0 ? Math.round((rowsRead * total) / bytes) : rowsRead),
      reader: database.reader,
      scorePairs: threads.size > 1 ? threads.scorePairs : undefined,
    });
    return summary;
  } finally {
    await threads.close();
  }
}

/** Nice value `mpi load` runs at (0 normal, 19 lowest): below the services, whose online calls it must not delay. */
const LOAD_NICE = 10;

function lowerPriority(): void {
  try {
    if (getPriority() < LOAD_NICE) setPriority(LOAD_NICE);
  } catch {
    // Not allowed here (some containers): run at the priority given.
  }
}

/** The end-of-load summary: counts only. */
export function formatLoadSummary(s: BulkLoadSummary, errorReport: string | null): string {
  const rate = s.rows / Math.max(s.seconds, 1e-9);
  return [
    `loaded ${s.rows} rows in ${s.seconds.toFixed(1)} s (${Math.round(rate)} records/s), ${s.chunks} chunks`,
    `  new ${s.loaded} (created ${s.created}  linked ${s.linked}  review ${s.review})  unchanged ${s.unchanged}  updated ${s.updated}  rejected ${s.rejected}`,
    ...(errorReport ? [`  rejected rows: ${errorReport}`] : []),
    `  ingest run: ${s.runId}`,
    '',
  ].join('\n');
}

/** `mpi load --source CODE [--mapping M.json] FILE... [--source ...]`: exit 1 when some rows were rejected. */
export async function loadCommand(args: string[]): Promise<void> {
  const parsed = parseLoadArgs(args);
  // Before the database is opened (an embedded one is created on first use): a wrong path changes nothing.
  checkLoadFiles(parsed.groups);
  // Background work: on a machine the services share, their online calls get the cores first. Set before the
  // worker threads start, which take this thread's priority; the database server's work is not affected.
  lowerPriority();
  const [{ loadConfig }, { openDatabase }] = await Promise.all([import('../platform/config.ts'), import('../platform/db/client.ts')]);
  const config = loadConfig();
  installAuditKeyring(config);
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
  const tty = process.stderr.isTTY;
  const bar = createProgress(tty);
  let lastLine = 0;
  const onProgress = (stage: 'read' | 'prepare' | 'load', done: number, total: number) => {
    if (tty) return bar.update(stage === 'load' ? 'loading' : stage === 'read' ? 'read-bytes' : 'checking', done, total);
    // Plain lines for logs: at most one every few seconds, and the last.
    const now = performance.now();
    if (done < total && now - lastLine < 5000) return;
    lastLine = now;
    process.stderr.write(
      stage === 'read' ? `read ${done}/${total} bytes\n` : `${stage === 'load' ? 'loaded' : 'checked'} ${done}/${total}\n`,
    );
  };
  try {
    const summary = await runLoad(config, database, parsed.groups, {
      chunkSize: parsed.chunkSize,
      giveWayChunkSize: parsed.giveWayChunkSize,
      window: parsed.window,
      strict: parsed.strict,
      threads: parsed.threads,
      onProgress,
      onRead: (bytes, total) => onProgress('read', bytes, total),
    });
    bar.stop();
    let report: string | null = null;
    if (summary.problems.length > 0) {
      report = parsed.errors ?? 'load.errors.csv';
      await writeLoadErrors(report, summary.problems);
    }
    process.stderr.write(formatLoadSummary(summary, report));
    if (summary.rejected > 0) process.exitCode = 1;
  } finally {
    bar.stop();
    await database.close();
  }
}
