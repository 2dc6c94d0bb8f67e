import { formatAuditCheckpoint, parseAuditCheckpoint, type AuditCheckpoint } from '../../platform/audit-checkpoint.ts';
import type { AnchoredVerification } from '../../platform/audit-chain-service.ts';
import { AUDIT_CHAIN_PROBLEMS } from '../../platform/audit-verify.ts';
import { builder } from '../builder.ts';

const AuditChainProblemEnum = builder.enumType('AuditChainProblem', {
  description: 'Why the audit chain does not verify.',
  values: Object.fromEntries(
    Object.entries(AUDIT_CHAIN_PROBLEMS).map(([name, text]) => [
      name,
      { description: `${name.startsWith('CHECKPOINT') || name === 'TRUNCATED' ? 'The checkpoint' : 'An entry'} ${text}.` },
    ]),
  ) as Record<keyof typeof AUDIT_CHAIN_PROBLEMS, { description: string }>,
});

const AuditCheckpointRef = builder.objectRef<AuditCheckpoint>('AuditCheckpoint').implement({
  description:
    'A signed statement of where the audit chain ended: keep it outside the database and verify against it later (`verifyAuditChain(checkpoint:)`, `mpi audit verify --checkpoint`).',
  fields: (t) => ({
    format: t.exposeString('format'),
    position: t.exposeInt('position', { description: 'Id of the last entry it covers (0: the trail was empty).' }),
    headHash: t.exposeString('headHash', { description: "That entry's chain hash." }),
    at: t.exposeString('at', { description: 'When it was taken (ISO 8601, as signed).' }),
    keyId: t.exposeString('keyId', { description: 'The audit key that signed it (an id, not the key).' }),
    signature: t.exposeString('signature', { description: 'HMAC-SHA256 over the fields above, under a key derived from the audit key.' }),
    document: t.string({
      description: 'The checkpoint as a JSON file, exactly as `mpi audit checkpoint` writes it: store this.',
      resolve: (c) => formatAuditCheckpoint(c),
    }),
  }),
});

const AuditCheckpointExport = builder.objectRef<{ checkpoint: AuditCheckpoint; file: string | null }>('AuditCheckpointExport').implement({
  fields: (t) => ({
    checkpoint: t.field({ type: AuditCheckpointRef, resolve: (e) => e.checkpoint }),
    file: t.exposeString('file', {
      nullable: true,
      description: 'The file name it was stored under in MPI_AUDIT_CHECKPOINT_DIR; null when no directory is configured.',
    }),
  }),
});

const AuditChainStatus = builder.objectRef<AnchoredVerification>('AuditChainStatus').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    entriesChecked: t.exposeInt('entriesChecked'),
    firstInvalidId: t.exposeInt('firstInvalidId', { nullable: true, description: 'The first entry that does not verify.' }),
    problem: t.field({ type: AuditChainProblemEnum, nullable: true, resolve: (s) => s.problem }),
    message: t.exposeString('message', { nullable: true, description: 'The problem in words (entry ids, never their contents).' }),
    keyedEntries: t.exposeInt('keyedEntries', { description: 'Entries chained with an audit key (HMAC-SHA256).' }),
    unkeyedEntries: t.exposeInt('unkeyedEntries', {
      description: 'Entries written before the chain was keyed (SHA-256); accepted only before the first keyed entry.',
    }),
    headId: t.exposeInt('headId', { nullable: true, description: 'The last entry checked.' }),
    checkpoint: t.field({
      type: AuditCheckpointRef,
      nullable: true,
      description: 'The checkpoint verified against: the one passed in, else the newest in MPI_AUDIT_CHECKPOINT_DIR.',
      resolve: (s) => s.checkpoint,
    }),
    checkpointFile: t.exposeString('checkpointFile', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  verifyAuditChain: t.field({
    type: AuditChainStatus,
    description:
      'Recomputes the keyed audit chain; false when an entry was altered, inserted or removed, or re-chained without the key. Against a checkpoint (passed in, else the newest stored one) it also detects entries removed from the end.',
    authScopes: { readAudit: true },
    args: {
      checkpoint: t.arg({
        type: 'JSON',
        required: false,
        description: 'A checkpoint as `exportAuditCheckpoint` returned it (its `document`, parsed).',
      }),
    },
    resolve: (_root, args, ctx) => {
      const checkpoint = args.checkpoint == null ? null : parseAuditCheckpoint(args.checkpoint);
      ctx.audit.touch('audit_log');
      return ctx.services.auditChain.verify(checkpoint);
    },
  }),
}));

builder.mutationFields((t) => ({
  exportAuditCheckpoint: t.field({
    type: AuditCheckpointExport,
    description:
      'Signs a checkpoint of the audit chain as it stands (last entry, its hash, the time) and stores it in MPI_AUDIT_CHECKPOINT_DIR when configured. Keep a copy outside the database.',
    authScopes: { anchorAudit: true },
    resolve: (_root, _args, ctx) => {
      ctx.audit.touch('audit_log');
      return ctx.services.auditChain.exportCheckpoint();
    },
  }),
}));
