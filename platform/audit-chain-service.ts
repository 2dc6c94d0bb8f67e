import { basename } from 'node:path';
import { createAuditCheckpoint, latestAuditCheckpoint, writeAuditCheckpoint, type AuditCheckpoint } from './audit-checkpoint.ts';
import type { AuditKeyring } from './audit-keys.ts';
import { verifyAuditChain, type ChainVerification } from './audit-verify.ts';
import type { Database } from './db/client.ts';

/** A verification and where its checkpoint came from. */
export interface AnchoredVerification extends ChainVerification {
  /** `given` (passed in), `latest` (the newest in MPI_AUDIT_CHECKPOINT_DIR) or `none`. */
  checkpointSource: 'given' | 'latest' | 'none';
  /** The checkpoint file's name, when it came from the checkpoint directory. */
  checkpointFile: string | null;
}

/**
 * The audit chain's anchoring, for the API, the scheduled job and the CLI: signed checkpoints written to the
 * checkpoint directory (outside the database), and verification against a given checkpoint or the newest one.
 */
export class AuditChainService {
  constructor(
    private readonly db: Database,
    private readonly keyring: AuditKeyring,
    /** MPI_AUDIT_CHECKPOINT_DIR; without it checkpoints are only returned, and verification needs one passed in. */
    readonly checkpointDir: string | undefined,
  ) {}

  /** Signs a checkpoint of the chain as it stands and, with a checkpoint directory, stores it there. */
  async exportCheckpoint(): Promise<{ checkpoint: AuditCheckpoint; file: string | null }> {
    const checkpoint = await createAuditCheckpoint(this.db, this.keyring);
    const file = this.checkpointDir ? basename(writeAuditCheckpoint(this.checkpointDir, checkpoint)) : null;
    return { checkpoint, file };
  }

  /** Verifies the chain against `checkpoint`, else the newest stored checkpoint, else on its own. */
  async verify(checkpoint?: AuditCheckpoint | null): Promise<AnchoredVerification> {
    if (checkpoint)
      return {
        ...(await verifyAuditChain(this.db, { checkpoint, keyring: this.keyring })),
        checkpointSource: 'given',
        checkpointFile: null,
      };
    const latest = this.checkpointDir ? latestAuditCheckpoint(this.checkpointDir) : null;
    const result = await verifyAuditChain(this.db, { checkpoint: latest?.checkpoint ?? null, keyring: this.keyring });
    return { ...result, checkpointSource: latest ? 'latest' : 'none', checkpointFile: latest ? basename(latest.file) : null };
  }
}
