import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeKnownColumns } from './columns.ts';
import type { KeyAdmin } from './admin.ts';
import { ROLES } from '../platform/roles.ts';
import { rolesFor } from './permissions.ts';
import { action } from './errors.ts';
import type { importCommand as ImportCommand } from './import.ts';
import type { linkCommand as LinkCommand } from './link.ts';

// Each command's module is imported when the command runs, so `mpi --help` and `mpi keys list` start fast.

/** Exit status for a command line the program does not accept (unknown option, missing argument, …). */
const USAGE_EXIT = 2;
const DEFAULT_GRAPHQL_URL = 'http://127.0.0.1:4000/graphql';

function packageVersion(): string {
  // The source runs from cli/, the built CLI from dist/cli/.
  for (const path of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number, 1 or more');
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a TCP port');
  return n;
}

const program = new Command('mpi')
  .description('Master patient index: batch linkage, CSV and HL7 loading, demo data, database and key administration')
  .version(packageVersion(), '-V, --version', 'print the version')
  .exitOverride()
  .showSuggestionAfterError();

program.addHelpText(
  'after',
  `
Examples:
  npx mpi link --out clusters.csv examples/patients.csv     link a file offline, one cluster id per record
  npx mpi import --source ehr examples/patients.csv          load a file into the running server
  npx mpi load --source ehr examples/patients.csv            bulk-load files straight into the database
  npx mpi demo                                               load a few thousand synthetic patients
  npx mpi keys create --role pipeline --name ehr-feed        create an API key (through the running server)

Exit status: 0 done; 1 done, but some rows or messages were rejected; 2 nothing was done (bad usage or input).
Documentation: README.md and docs/ in the repository.`,
);

const columnsHelp = () => `
Recognised columns (case-insensitive; a name joined by + is several columns joined with spaces):
${describeKnownColumns()}
Any other column is reported as unrecognised (an error with --strict). A mapping names the columns instead:
  {"id": "mrn", "source": "feed", "fields": {"givenName": "first", "birthDate": ["yyyy", "mm", "dd"]}}`;

program
  .command('migrate')
  .description('apply pending database migrations (PostgreSQL when DATABASE_URL is set, else the embedded database)')
  .action(
    action(async () => {
      const [{ loadConfig }, { openDatabase }] = await Promise.all([import('../platform/config.ts'), import('../platform/db/client.ts')]);
      const config = loadConfig();
      const handle = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
      await handle.close();
      process.stderr.write(`migrations applied (${handle.kind})\n`);
    }),
  );

const keys = program
  .command('keys')
  .description('manage API keys: through the running server when one holds the embedded database, else on the database')
  .addHelpText(
    'after',
    `
Examples:
  npx mpi keys create --role pipeline --name ehr-feed
  npx mpi keys list
  npx mpi keys revoke ehr-feed`,
  );
const serverOptions = (command: Command) =>
  command
    .addOption(
      new Option('--url <url>', 'GraphQL endpoint of a server to manage (default: the server on MPI_DATA_DIR, if any)').env('MPI_URL'),
    )
    .addOption(new Option('--key <key>', `API key with the ${rolesFor('keys')} role, for --url`).env('MPI_API_KEY'));

async function withKeyAdmin<T>(opts: { url?: string; key?: string }, work: (admin: KeyAdmin) => Promise<T>): Promise<T> {
  const [{ loadConfig }, { openKeyAdmin }] = await Promise.all([import('../platform/config.ts'), import('./admin.ts')]);
  const admin = await openKeyAdmin(loadConfig(), opts);
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

serverOptions(
  keys
    .command('create')
    .description('create an API key; the secret is printed once (only its hash is stored)')
    .requiredOption('--role <role>', ROLES.join(', '))
    .requiredOption('--name <name>', 'who or what uses the key'),
).action(
  action(async (opts: { role: string; name: string; url?: string; key?: string }) => {
    await withKeyAdmin(opts, async (admin) => {
      const { key, row } = await admin.create(opts.name, opts.role);
      process.stderr.write(
        `created key ${row.id} (${row.role}) for ${row.name} via the ${admin.via}; store it now, it is not shown again\n`,
      );
      process.stdout.write(`${key}\n`);
    });
  }),
);
serverOptions(
  keys
    .command('revoke')
    .description('revoke an API key by id or name; it is refused from the next request on')
    .argument('<idOrName>', "the key's id or name"),
).action(
  action(async (idOrName: string, opts: { url?: string; key?: string }) => {
    await withKeyAdmin(opts, async (admin) => {
      const row = await admin.revoke(idOrName);
      process.stderr.write(`revoked key ${row.id} (${row.name})\n`);
    });
  }),
);
serverOptions(keys.command('list').description('list API keys: id, role, name, prefix, state (never their secrets)')).action(
  action(async (opts: { url?: string; key?: string }) => {
    await withKeyAdmin(opts, async (admin) => {
      for (const k of await admin.list()) {
        process.stdout.write(`${k.id}\t${k.role}\t${k.name}\t${k.prefix}…\t${k.revokedAt ? 'revoked' : 'active'}\n`);
      }
    });
  }),
);

const audit = program
  .command('audit')
  .description('the keyed audit chain: signed checkpoints and verification (through the running server, or on the database)')
  .addHelpText(
    'after',
    `
Examples:
  npx mpi audit checkpoint                        sign a checkpoint into MPI_AUDIT_CHECKPOINT_DIR (else print it)
  npx mpi audit checkpoint --out cp.json          ... into cp.json
  npx mpi audit verify --checkpoint cp.json       verify the chain against it

Exit status of verify: 0 the chain verifies; 1 it does not (an entry was edited, removed or re-chained, or
entries were cut off after the checkpoint); 2 it could not be checked (no key, unreadable checkpoint, database).`,
  );
/** `--url`/`--key` of the audit commands: ask a running server instead of the database. */
const auditUrlOption = () =>
  new Option('--url <url>', 'GraphQL endpoint of a server to ask (default: the server on MPI_DATA_DIR, else the database)').env('MPI_URL');
const auditKeyOption = (command: 'audit checkpoint' | 'audit verify') =>
  new Option('--key <key>', `API key with the ${rolesFor(command)} role, for --url`).env('MPI_API_KEY');
audit
  .command('checkpoint')
  .description('sign a checkpoint (last entry, its hash, the time) and write it to --out, MPI_AUDIT_CHECKPOINT_DIR or stdout')
  .option('--out <file>', 'write the checkpoint to this file (- for stdout)')
  .addOption(auditUrlOption())
  .addOption(auditKeyOption('audit checkpoint'))
  .action(
    action(async (opts: { out?: string; url?: string; key?: string }) => {
      await (await import('./audit.ts')).auditCheckpointCommand(opts);
    }),
  );
audit
  .command('verify')
  .description('recompute the keyed chain and check it against a checkpoint (exit 1 when it does not verify)')
  .option('--checkpoint <file>', 'checkpoint file to verify against (default: the newest in MPI_AUDIT_CHECKPOINT_DIR)')
  .addOption(auditUrlOption())
  .addOption(auditKeyOption('audit verify'))
  .action(
    action(async (opts: { checkpoint?: string; url?: string; key?: string }) => {
      await (await import('./audit.ts')).auditVerifyCommand(opts);
    }),
  );

program
  .command('link')
  .description('link and deduplicate patient records from CSV files into identities (offline: no server, no database)')
  .argument('<files...>', 'input CSV files (each one source)')
  .requiredOption('--out <file>', 'output CSV: record_id,cluster_id for every record linked')
  .option('--mapping <file>', 'JSON mapping of columns to canonical fields')
  .option('--mode <mode>', 'dedupe (within each source), link (across sources) or link-and-dedupe', 'link-and-dedupe')
  .option('--threshold <p>', 'match probability for a link (default: the model threshold, 0.95)')
  .option('--model <file>', 'use this trained model instead of training on the input')
  .option('--save-model <file>', 'write the (trained) model as JSON')
  .option('--threads <n>', 'threads for normalising and comparing (default: one per core); the output is the same for any number')
  .option('--strict', 'refuse input with unrecognised columns instead of warning')
  .option(
    '--keep-invalid',
    'link rows with values mpi import refuses (an impossible date, a control character) without those values, instead of leaving them out',
  )
  .option('--errors <file>', 'report of rows left out (default: <out>.errors.csv beside the output)')
  .addHelpText(
    'after',
    () => `${columnsHelp()}

Rows mpi import would refuse (no id, a repeated id, a value the service refuses) are left out of the linkage and
listed with line, field and reason in the error report; the exit status is then 1.

Examples:
  npx mpi link --out clusters.csv examples/patients.csv
  npx mpi link --mode link --out clusters.csv --save-model model.json a.csv b.csv`,
  )
  .action(async (files: string[], opts: Parameters<typeof LinkCommand>[1]) => {
    await (await import('./link.ts')).linkCommand(files, opts);
  });

program
  .command('import')
  .description('load a CSV file into the running index through its GraphQL API (exit 1 when some rows were rejected)')
  .argument('<file>', 'CSV file with a header row')
  .requiredOption('--source <code>', 'registered source code of every row')
  .option('--mapping <file>', 'JSON mapping of columns to canonical fields (the format of mpi link)')
  .addOption(new Option('--url <url>', 'GraphQL endpoint of the running server').env('MPI_URL').default(DEFAULT_GRAPHQL_URL))
  .addOption(new Option('--key <key>', `API key with the ${rolesFor('import')} role (not needed in local mode)`).env('MPI_API_KEY'))
  .option('--batch-size <n>', 'records per ingestRecords call (at most 1000)', '500')
  .option('--errors <file>', 'report of rejected rows (default: <file>.errors.csv beside the input)')
  .option('--strict', 'refuse a file with unrecognised columns instead of warning')
  .addHelpText(
    'after',
    () => `${columnsHelp()}

Examples:
  npx mpi import --source ehr examples/patients.csv
  npx mpi import --source lab --mapping examples/clinic-mapping.json examples/clinic.csv`,
  )
  .action(
    action(async (file: string, opts: Parameters<typeof ImportCommand>[1]) => {
      await (await import('./import.ts')).importCommand(file, opts);
    }),
  );

program
  .command('load')
  .description('bulk-load CSV files straight into the index database: linked as online ingest links, written with COPY in chunks')
  .usage('--source <code> [--mapping <file>] <files...> [--source <code> ...] [options]')
  .argument('[args...]', 'source groups: --source CODE [--mapping M.json] FILE... (repeat for more sources)')
  .option('--source <code>', 'registered source code of the files that follow (repeatable: one group per source)')
  .option('--mapping <file>', 'JSON mapping of columns to canonical fields for the --source group it follows')
  .option('--chunk-size <n>', 'records written per transaction (a chunk holds whole identities)', '20000')
  .option(
    '--give-way-chunk-size <n>',
    'records per transaction while online ingest waits for the load (PostgreSQL; 0: never give way)',
    '50',
  )
  .option('--threads <n>', 'threads that score candidate pairs (default: one per core; the result is the same for any)')
  .option('--errors <file>', 'report of rejected rows (default: load.errors.csv)')
  .option('--strict', 'refuse a file with unrecognised columns instead of warning')
  .helpOption('-h, --help', 'display help for command')
  .allowUnknownOption()
  .addHelpText(
    'after',
    () => `${columnsHelp()}

Works on the database directly (DATABASE_URL, else the embedded database in MPI_DATA_DIR, which no server may
hold meanwhile). A re-run skips the records already loaded; a failed run leaves whole chunks (of whole
identities) only, and a re-run completes it.

Examples:
  npx mpi load --source ehr examples/patients.csv
  npx mpi load --source ehr a.csv b.csv --source lab --mapping examples/clinic-mapping.json examples/clinic.csv`,
  )
  .action(
    action(async (_args: string[], _opts: unknown, command: Command) => {
      // Groups depend on the order of --source, --mapping and files, which option parsing loses: read the raw words.
      const words = process.argv.slice(process.argv.indexOf(command.name()) + 1);
      await (await import('./load.ts')).loadCommand(words);
    }),
  );

program
  .command('demo')
  .description('load a few thousand synthetic patients (look-alike families, typos, four sources) into the running server')
  .option('--records <n>', 'records to load', positiveInteger, 3000)
  .option('--seed <n>', 'seed of the synthetic registry (same seed, same patients)', positiveInteger, 7)
  .addOption(
    new Option('--url <url>', 'GraphQL endpoint (default: the server on MPI_DATA_DIR, else port PORT on 127.0.0.1)').env('MPI_URL'),
  )
  .addOption(new Option('--key <key>', `API key with the ${rolesFor('demo')} role (not needed in local mode)`).env('MPI_API_KEY'))
  .addHelpText(
    'after',
    `
Examples:
  npm start                       in one terminal, then in another:
  npx mpi demo                    3,000 records; the review queue, quality and lineage screens fill up
  npx mpi demo --records 10000 --seed 3`,
  )
  .action(
    action(async (opts: { records: number; seed: number; url?: string; key?: string }) => {
      const [{ loadConfig }, demo] = await Promise.all([import('../platform/config.ts'), import('./demo.ts')]);
      const summary = await demo.runDemo(loadConfig(), { ...opts, progress: process.stderr.isTTY });
      process.stdout.write(demo.formatDemoSummary(summary));
    }),
  );

program
  .command('send-hl7')
  .description('send HL7 v2 ADT messages from files to the running MLLP listener and print each ACK (exit 1 when any is not AA)')
  .argument('<files...>', 'HL7 files: messages separated by blank lines or MSH segments, or MLLP-framed')
  .option('--host <host>', 'listener host', '127.0.0.1')
  .addOption(new Option('--port <port>', 'listener port').env('MPI_MLLP_PORT').argParser(parsePort).default(2575))
  .option('--quiet', 'print only the summary, not each ACK')
  .action(
    action(async (files: string[], opts: { host: string; port: number; quiet?: boolean }) => {
      await (await import('./send-hl7.ts')).sendHl7Command(files, opts);
    }),
  );

program
  .command('events')
  .description('print change events (one JSON line each) as the running server publishes them')
  .option('--follow', 'keep printing new events until interrupted')
  .option('--type <type...>', 'only these event types (e.g. IDENTITIES_MERGED RECORD_LINKED)')
  .option('--from <position>', 'first replay the events after this position')
  .addOption(new Option('--url <url>', 'GraphQL endpoint of the running server').env('MPI_URL').default(DEFAULT_GRAPHQL_URL))
  .addOption(new Option('--key <key>', `API key with the ${rolesFor('events')} role (not needed in local mode)`).env('MPI_API_KEY'))
  .action(
    action(async (opts: { follow?: boolean; type?: string[]; from?: string; url: string; key?: string }) => {
      await (await import('./events.ts')).eventsCommand(opts);
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander has printed the problem (or the help / version) already.
  process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
}
