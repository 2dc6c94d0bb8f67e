import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../platform/db/client.ts';
import { auditLog } from '../platform/db/schema/index.ts';
import { appendAudit, GENESIS_HASH, keyedEntryHash, listAuditEntries, type AuditEntry, type AuditRow } from '../platform/audit.ts';
import { ephemeralAuditKeyring, useAuditKeyring } from '../platform/audit-keys.ts';
import { verifyAuditChain } from '../platform/audit-verify.ts';
import { freshDatabase, machine, percentile } from './support.ts';

/** A synthetic entry shaped like a GraphQL read of one identity and two of its records. */
function syntheticEntry(i: number, at: Date): Omit<AuditRow, 'id' | 'hash' | 'prevHash' | 'keyId'> {
  const identity = `00000000-0000-4000-8000-${String(i % 50_000).padStart(12, '0')}`;
  return {
    at,
    actor: `api-key:feed-${i % 20}`,
    role: i % 3 === 0 ? 'steward' : 'pipeline',
    action: i % 3 === 0 ? 'query:identity' : 'mutation:ingestRecord',
    objectType: 'identity,record',
    objectIds: [`identity:${identity}`, `record:${randomUUID()}`, `record:${randomUUID()}`],
    fields: ['birthDate', 'familyName', 'givenName', 'golden', 'id'],
    outcome: i % 50 === 0 ? 'DENIED' : 'SUCCESS',
    requestId: randomUUID(),
    clientAddress: '10.0.0.5',
    details: { wrote: i % 3 !== 0, phiMasked: i % 3 !== 0 },
  };
}

const keyring = ephemeralAuditKeyring();
useAuditKeyring(keyring);

/** Seeds `count` chained entries in batches (the keyed hashes computed here, as appendAudit would). */
async function seedChain(db: Database, count: number): Promise<void> {
  const key = keyring.current;
  let prev = GENESIS_HASH;
  const start = Date.now() - count * 1000;
  for (let done = 0; done < count; done += 2000) {
    const rows = Array.from({ length: Math.min(2000, count - done) }, (_, k) => {
      const row = syntheticEntry(done + k, new Date(start + (done + k) * 1000));
      const hash = keyedEntryHash(key, prev, row);
      const chained = { ...row, prevHash: prev, keyId: key.id, hash };
      prev = hash;
      return chained;
    });
    await db.insert(auditLog).values(rows);
  }
}

async function timed(runs: number, work: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    await work(i);
    times.push(performance.now() - t);
  }
  return times;
}

const f = (n: number) => n.toFixed(1);
const summary = (label: string, times: number[]) =>
  `  ${label.padEnd(34)} p50 ${f(percentile(times, 50))} ms  p95 ${f(percentile(times, 95))} ms`;

const opts = new Command('bench:audit')
  .option('--entries <n>', 'audit entries in the trail', '200000')
  .option('--appends <n>', 'appends timed one by one', '1000')
  .parse()
  .opts<{ entries: string; appends: string }>();

const target = await freshDatabase('mpi_bench_audit');
try {
  const handle = await openDatabase({ url: target.url, poolSize: 8 });
  const { db } = handle;
  const entries = Number(opts.entries);
  const seedStart = performance.now();
  await seedChain(db, entries);
  await db.execute(sql`analyze audit_log`);
  const lines = [
    `audit trail benchmark on PostgreSQL, ${machine()}, 2 cores; ${entries.toLocaleString('en-US')} entries seeded in ${((performance.now() - seedStart) / 1000).toFixed(0)} s`,
  ];

  const appends = await timed(Number(opts.appends), (i) => appendAudit(db, syntheticEntry(i, new Date()) as AuditEntry));
  lines.push(summary('appendAudit, one at a time', appends));
  const parallelStart = performance.now();
  const perWorker = 250;
  await Promise.all(
    Array.from({ length: 8 }, (_, w) =>
      timed(perWorker, (i) => appendAudit(db, syntheticEntry(w * perWorker + i, new Date()) as AuditEntry)),
    ),
  );
  lines.push(
    `  appendAudit, 8 concurrent callers     ${((8 * perWorker) / ((performance.now() - parallelStart) / 1000)).toFixed(0)} entries/s`,
  );

  const verifyStart = performance.now();
  const verified = await verifyAuditChain(db);
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  lines.push(
    `  verifyAuditChain                      ${verified.entriesChecked.toLocaleString('en-US')} entries in ${verifySeconds.toFixed(1)} s (${(verified.entriesChecked / verifySeconds).toFixed(0)}/s), valid: ${verified.valid}`,
  );

  const identity = (i: number) => `00000000-0000-4000-8000-${String((i * 7919) % 50_000).padStart(12, '0')}`;
  lines.push(
    summary(
      'auditLog by identity (typed id)',
      await timed(200, (i) => listAuditEntries(db, { objectId: `identity:${identity(i)}` }, { limit: 50 })),
    ),
  );
  lines.push(summary('auditLog by bare id', await timed(200, (i) => listAuditEntries(db, { objectId: identity(i) }, { limit: 50 }))));
  lines.push(
    summary(
      'auditLog by actor, last day',
      await timed(200, (i) =>
        listAuditEntries(db, { actor: `api-key:feed-${i % 20}`, from: new Date(Date.now() - 86_400_000) }, { limit: 50 }),
      ),
    ),
  );
  lines.push(summary('auditLog newest page', await timed(200, () => listAuditEntries(db, {}, { limit: 50 }))));
  await handle.close();
  console.log(lines.join('\n'));
} finally {
  await target.drop();
}
