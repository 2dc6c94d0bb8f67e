import { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { openDatabase } from '../platform/db/client.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../platform/api-keys.ts';
import { ROLES } from '../platform/roles.ts';
import { action } from './errors.ts';
import { registerImportCommands } from './import.ts';
import { registerLinkCommand } from './link.ts';

const program = new Command('mpi').description('Master patient index: batch linkage, database and key administration');

async function withDatabase<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const handle = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
  try {
    return await work(handle);
  } finally {
    await handle.close();
  }
}

program.command('migrate')
  .description('apply pending database migrations (PostgreSQL when DATABASE_URL is set, else the embedded database)')
  .action(action(async () => {
    await withDatabase(async (h) => { process.stderr.write(`migrations applied (${h.kind})\n`); });
  }));

const keys = program.command('keys').description('manage API keys');
keys.command('create')
  .requiredOption('--role <role>', ROLES.join(', '))
  .requiredOption('--name <name>', 'who or what uses the key')
  .description('create an API key; the secret is printed once')
  .action(action(async (opts: { role: string; name: string }) => {
    await withDatabase(async (h) => {
      const { key, row } = await createApiKey(h.db, opts.name, opts.role);
      process.stderr.write(`created key ${row.id} (${row.role}) for ${row.name}; store it now, it is not shown again\n`);
      process.stdout.write(`${key}\n`);
    });
  }));
keys.command('revoke <idOrName>')
  .description('revoke an API key by id or name')
  .action(action(async (idOrName: string) => {
    await withDatabase(async (h) => {
      const row = await revokeApiKey(h.db, idOrName);
      process.stderr.write(`revoked key ${row.id} (${row.name})\n`);
    });
  }));
keys.command('list')
  .description('list API keys (never their secrets)')
  .action(action(async () => {
    await withDatabase(async (h) => {
      for (const k of await listApiKeys(h.db)) {
        process.stdout.write(`${k.id}\t${k.role}\t${k.name}\t${k.prefix}…\t${k.revokedAt ? 'revoked' : 'active'}\n`);
      }
    });
  }));

registerLinkCommand(program);
registerImportCommands(program);

await program.parseAsync(process.argv);
