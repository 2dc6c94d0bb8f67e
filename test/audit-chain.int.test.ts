import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { appendAudit, appendAuditInTransaction, entryHash, GENESIS_HASH, keyedEntryHash, type AuditRow } from '../platform/audit.ts';
import { AuditChainService } from '../platform/audit-chain-service.ts';
import { createAuditCheckpoint, latestAuditCheckpoint, startAuditCheckpoints, type AuditCheckpoint } from '../platform/audit-checkpoint.ts';
import { auditKeyring, useAuditKeyring, type AuditKey, type AuditKeyring } from '../platform/audit-keys.ts';
import { verifyAuditChain } from '../platform/audit-verify.ts';
import type { Database, DatabaseHandle } from '../platform/db/client.ts';
import { auditLog } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { openTestDatabase, TEST_DB_KIND } from './db.ts';
import { until } from './wait.ts';

const KEY_A = 'first-audit-key-for-chain-tests-000001';
const KEY_B = 'second-audit-key-for-chain-tests-00002';
const ATTACKER_KEY = 'a-key-the-attacker-made-up-for-itself-0';

describe(`the keyed audit chain on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  let db: Database;
  const ringA = auditKeyring(KEY_A);

  beforeAll(async () => {
    handle = await openTestDatabase();
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
  });
  beforeEach(async () => {
    useAuditKeyring(ringA);
    await db.execute(sql`truncate audit_log restart identity`);
  });

  const append = async (count: number, from = 0) => {
    for (let i = from; i < from + count; i += 1) {
      await appendAudit(db, {
        actor: `api-key:feed-${i}`,
        role: 'pipeline',
        action: 'mutation:ingestRecord',
        objectIds: [`record:r-${i}`],
        outcome: 'SUCCESS',
        requestId: `req-${i}`,
      });
    }
  };
  const rows = () => db.select().from(auditLog).orderBy(auditLog.id);

  /** Rewrites entries from `fromId` on, re-chaining each to the one before: what someone with database access can do. */
  async function rechain(fromId: number, hashOf: (prev: string, row: AuditRow) => { hash: string; keyId: string | null }) {
    const all = await rows();
    let prev = all.find((r) => r.id === fromId - 1)?.hash ?? GENESIS_HASH;
    for (const row of all.filter((r) => r.id >= fromId)) {
      const { hash, keyId } = hashOf(prev, row);
      await db.execute(sql`update audit_log set prev_hash = ${prev}, hash = ${hash}, key_id = ${keyId} where id = ${row.id}`);
      prev = hash;
    }
  }
  /** Edits one entry in place, as someone with database access could. */
  const editEntry = async (id: number) => {
    await db.execute(sql`update audit_log set actor = 'api-key:someone-else' where id = ${id}`);
  };
  const plainHash = (prev: string, row: AuditRow) => ({ hash: entryHash(prev, row), keyId: null });
  const attackerKey: AuditKey = auditKeyring(ATTACKER_KEY).current;

  test('an untouched chain verifies, alone and against a checkpoint of it', async () => {
    await append(6);
    const checkpoint = await createAuditCheckpoint(db, ringA);
    expect(checkpoint).toMatchObject({ position: 6, keyId: ringA.current.id });
    await append(2, 6);
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, entriesChecked: 8, keyedEntries: 8, unkeyedEntries: 0, headId: 8 });
    expect(await verifyAuditChain(db, { checkpoint })).toMatchObject({ valid: true, problem: null, entriesChecked: 8 });
    expect((await rows()).every((r) => r.keyId === ringA.current.id)).toBe(true);
  });

  test.each<{ name: string; tamper: () => Promise<void>; problem: string; at: number | null }>([
    {
      name: 'an edited entry',
      tamper: () => editEntry(3),
      problem: 'ENTRY_ALTERED',
      at: 3,
    },
    {
      name: 'an entry deleted from the middle',
      tamper: () => db.execute(sql`delete from audit_log where id = 3`).then(() => undefined),
      problem: 'LINK_BROKEN',
      at: 4,
    },
    {
      name: 'the oldest entry deleted',
      tamper: () => db.execute(sql`delete from audit_log where id = 1`).then(() => undefined),
      problem: 'LINK_BROKEN',
      at: 2,
    },
    {
      name: 'an edited entry re-chained with plain SHA-256, as before the chain was keyed',
      tamper: async () => {
        await editEntry(3);
        await rechain(3, plainHash);
      },
      problem: 'UNKEYED_AFTER_KEYED',
      at: 3,
    },
    {
      name: 'an edited entry re-chained under its key id without the key',
      tamper: async () => {
        await editEntry(3);
        await rechain(3, (prev, row) => ({ hash: keyedEntryHash(attackerKey, prev, row), keyId: row.keyId }));
      },
      problem: 'ENTRY_ALTERED',
      at: 3,
    },
    {
      name: 'an edited entry re-chained under a key of its own',
      tamper: async () => {
        await editEntry(3);
        await rechain(3, (prev, row) => ({ hash: keyedEntryHash(attackerKey, prev, row), keyId: attackerKey.id }));
      },
      problem: 'UNKNOWN_KEY',
      at: 3,
    },
    {
      name: 'an entry inserted at the end, linked to the last one',
      tamper: async () => {
        const [last] = await db
          .select()
          .from(auditLog)
          .orderBy(sql`id desc`)
          .limit(1);
        await db.insert(auditLog).values({ ...last!, id: undefined, actor: 'api-key:planted', prevHash: last!.hash });
      },
      problem: 'ENTRY_ALTERED',
      at: 7,
    },
  ])('$name is detected ($problem)', async ({ tamper, problem, at }) => {
    await append(6);
    await tamper();
    expect(await verifyAuditChain(db)).toMatchObject({ valid: false, problem, firstInvalidId: at });
  });

  test('entries cut off the end pass on their own but are detected against a checkpoint taken before (TRUNCATED)', async () => {
    await append(6);
    const checkpoint = await createAuditCheckpoint(db, ringA);
    await append(2, 6);
    await db.execute(sql`delete from audit_log where id > 4`);
    // Alone, a shorter chain is a valid chain: only something kept outside the database remembers its end.
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, entriesChecked: 4 });
    const result = await verifyAuditChain(db, { checkpoint });
    expect(result).toMatchObject({ valid: false, problem: 'TRUNCATED', headId: 4 });
    expect(result.message).toContain('up to entry 6');
    await db.execute(sql`delete from audit_log`);
    expect(await verifyAuditChain(db, { checkpoint })).toMatchObject({ valid: false, problem: 'TRUNCATED', headId: null });
  });

  test('a history rebuilt from scratch without the key is detected against a checkpoint (CHECKPOINT_MISMATCH)', async () => {
    await append(6);
    const checkpoint = await createAuditCheckpoint(db, ringA);
    await editEntry(2);
    await rechain(1, plainHash);
    // Every entry now looks like one written before the chain was keyed: it says so, and the checkpoint catches it.
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, keyedEntries: 0, unkeyedEntries: 6 });
    expect(await verifyAuditChain(db, { checkpoint })).toMatchObject({ valid: false, problem: 'CHECKPOINT_MISMATCH', firstInvalidId: 6 });
  });

  test('a checkpoint that was edited, or signed with another key, is refused', async () => {
    await append(6);
    const checkpoint = await createAuditCheckpoint(db, ringA);
    await db.execute(sql`delete from audit_log where id > 3`);
    const [third] = await db
      .select()
      .from(auditLog)
      .where(sql`id = 3`);
    const moved: AuditCheckpoint = { ...checkpoint, position: 3, headHash: third!.hash };
    expect(await verifyAuditChain(db, { checkpoint: moved })).toMatchObject({ valid: false, problem: 'CHECKPOINT_SIGNATURE_INVALID' });
    const foreign = await createAuditCheckpoint(db, auditKeyring(ATTACKER_KEY));
    expect(await verifyAuditChain(db, { checkpoint: foreign })).toMatchObject({ valid: false, problem: 'CHECKPOINT_UNKNOWN_KEY' });
  });

  test('unkeyed entries from before keys still verify, are reported as such, and are anchored by the first keyed entry', async () => {
    // Entries as an earlier version wrote them: plain SHA-256, no key id.
    let prev = GENESIS_HASH;
    for (let i = 0; i < 3; i += 1) {
      const content = {
        at: new Date(Date.UTC(2026, 0, 1 + i)),
        actor: `api-key:old-${i}`,
        role: 'auditor',
        action: 'query:auditLog',
        objectType: null,
        objectIds: [],
        fields: [],
        outcome: 'SUCCESS',
        requestId: null,
        clientAddress: null,
        details: {},
      };
      const hash = entryHash(prev, content);
      await db.insert(auditLog).values({ ...content, prevHash: prev, hash, keyId: null });
      prev = hash;
    }
    await append(3);
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, entriesChecked: 6, unkeyedEntries: 3, keyedEntries: 3 });
    // An old entry edited and the unkeyed part re-chained: the first keyed entry no longer links, and cannot be re-keyed.
    await editEntry(2);
    expect(await verifyAuditChain(db)).toMatchObject({ valid: false, problem: 'ENTRY_ALTERED', firstInvalidId: 2 });
    const all = await rows();
    let p = all[0]!.hash;
    for (const row of all.filter((r) => r.id >= 2 && r.id <= 3)) {
      const hash = entryHash(p, row);
      await db.execute(sql`update audit_log set prev_hash = ${p}, hash = ${hash} where id = ${row.id}`);
      p = hash;
    }
    expect(await verifyAuditChain(db)).toMatchObject({ valid: false, problem: 'LINK_BROKEN', firstInvalidId: 4 });
  });

  test('after a key rotation entries and checkpoints of the previous key still verify; without it they are reported', async () => {
    await append(3);
    const oldCheckpoint = await createAuditCheckpoint(db, ringA);
    const rotated: AuditKeyring = auditKeyring(KEY_B, [KEY_A]);
    useAuditKeyring(rotated);
    await append(3, 3);
    const ids = (await rows()).map((r) => r.keyId);
    expect(ids).toEqual([...Array(3).fill(ringA.current.id), ...Array(3).fill(rotated.current.id)]);
    expect(await verifyAuditChain(db, { checkpoint: oldCheckpoint })).toMatchObject({ valid: true, keyedEntries: 6 });
    const newCheckpoint = await createAuditCheckpoint(db);
    expect(newCheckpoint.keyId).toBe(rotated.current.id);
    expect(await verifyAuditChain(db, { checkpoint: newCheckpoint })).toMatchObject({ valid: true });
    // The previous key forgotten: its entries can no longer be checked, which is reported, not passed.
    expect(await verifyAuditChain(db, { keyring: auditKeyring(KEY_B) })).toMatchObject({
      valid: false,
      problem: 'UNKNOWN_KEY',
      firstInvalidId: 1,
    });
  });

  test('checkpoints stored in the checkpoint directory: verification uses the newest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-checkpoints-'));
    try {
      const service = new AuditChainService(db, ringA, dir);
      expect(await service.verify()).toMatchObject({ valid: true, checkpointSource: 'none', checkpoint: null });
      await append(2);
      const first = await service.exportCheckpoint();
      await append(2, 2);
      const second = await service.exportCheckpoint();
      expect(first.file).toMatch(/^audit-checkpoint-000000000000002-.*\.json$/);
      expect(await service.verify()).toMatchObject({ valid: true, checkpointSource: 'latest', checkpointFile: second.file });
      await db.execute(sql`delete from audit_log where id = 4`);
      expect(await service.verify()).toMatchObject({ valid: false, problem: 'TRUNCATED', checkpointFile: second.file });
      // An explicit checkpoint wins over the directory's newest.
      expect(await service.verify(first.checkpoint)).toMatchObject({ valid: true, checkpointSource: 'given' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the scheduled job writes signed checkpoints into the checkpoint directory by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-scheduled-checkpoints-'));
    const job = startAuditCheckpoints(db, dir, { everyMs: 50, holder: 'chain-test', leaseMs: 1000, logger: createLogger('silent') });
    try {
      await append(3);
      const written = await until(() => {
        const latest = latestAuditCheckpoint(dir);
        return latest && latest.checkpoint.position === 3 ? latest : null;
      });
      expect(written.checkpoint.keyId).toBe(ringA.current.id);
      expect(await verifyAuditChain(db, { checkpoint: written.checkpoint })).toMatchObject({ valid: true });
    } finally {
      await job.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('an entry appended in a transaction that wrote chains on; one that wrote nothing gets no entry', async () => {
    await append(2);
    const entry = (n: number) => ({
      actor: `api-key:steward-${n}`,
      role: 'steward',
      action: 'mutation:mergeIdentities',
      outcome: 'SUCCESS' as const,
    });
    const idle = await db.transaction((tx) => appendAuditInTransaction(tx, entry(1), { onlyIfWritten: true }));
    expect(idle).toBe(false);
    expect(await rows()).toHaveLength(2);
    const wrote = await db.transaction(async (tx) => {
      await tx.execute(sql`insert into rate_limit_buckets (key, tokens, granted) values ('audit-chain-test', 1, true)`);
      return appendAuditInTransaction(tx, entry(2), { onlyIfWritten: true });
    });
    expect(wrote).toBe(true);
    const all = await rows();
    expect(all.map((r) => r.actor)).toEqual(['api-key:feed-0', 'api-key:feed-1', 'api-key:steward-2']);
    expect(all[2]!.prevHash).toBe(all[1]!.hash);
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, entriesChecked: 3 });
    await db.execute(sql`delete from rate_limit_buckets where key = 'audit-chain-test'`);
  });

  test('transactions appending at once from several connections chain every entry to exactly one predecessor', async () => {
    await append(1);
    // Each transaction holds its connection while it waits for the chain lock: on PostgreSQL they really overlap.
    await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        db.transaction(async (tx) => {
          await tx.execute(sql`insert into rate_limit_buckets (key, tokens, granted) values (${`audit-race-${n}`}, 1, true)`);
          await appendAuditInTransaction(tx, {
            actor: `api-key:racer-${n}`,
            role: 'pipeline',
            action: 'mutation:ingestRecord',
            outcome: 'SUCCESS',
          });
        }),
      ),
    );
    const all = await rows();
    expect(all).toHaveLength(13);
    expect(new Set(all.map((r) => r.prevHash)).size).toBe(13);
    expect(await verifyAuditChain(db)).toMatchObject({ valid: true, entriesChecked: 13 });
    await db.execute(sql`delete from rate_limit_buckets where key like 'audit-race-%'`);
  });
});
