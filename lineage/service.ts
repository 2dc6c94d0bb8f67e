import type { Database } from '../platform/db/client.ts';
import type { KeysetPage, TimeKey } from '../platform/db/keyset.ts';
import { identityAsOf, type IdentitySnapshot } from './as-of.ts';
import {
  activePolicy,
  changeSurvivorshipPolicy,
  listPolicies,
  previewPolicy,
  type PolicyChange,
  type PolicyPreview,
  type PolicyVersion,
} from './policies.ts';
import { recomputeGolden, type ProgressLogger, type RecomputeOptions, type RecomputeResult, type RecomputeScope } from './recompute.ts';
import {
  finishIngestRun,
  getIngestRun,
  countIngestRuns,
  ingestRunsPage,
  startIngestRun,
  type FinalRunStatus,
  type IngestRunError,
  type IngestRunFilter,
  type IngestRunRow,
} from './run-store.ts';
import { contributionsOf, fieldHistory, sourcesByIds, type FieldProvenanceRow } from './store.ts';
import type { PolicyRules } from './survivorship.ts';

/**
 * The lineage domain's operations for callers outside it: field provenance and time travel, the survivorship
 * policy and its recomputes, and ingest runs. Transactions and rules stay in the functions it calls, which
 * other domains use inside their own transactions.
 */
export class LineageService {
  constructor(
    private readonly db: Database,
    private readonly logger?: ProgressLogger,
  ) {}

  /** One golden field's provenance history (or every field's), newest first. */
  fieldHistory(identityId: string, field?: string, options: { currentOnly?: boolean } = {}): Promise<FieldProvenanceRow[]> {
    return fieldHistory(this.db, identityId, field, options);
  }

  /** The golden fields a record currently supplies. */
  contributionsOf(recordId: string): Promise<FieldProvenanceRow[]> {
    return contributionsOf(this.db, recordId);
  }

  /** An identity as it stood at `at`, or null if it did not exist yet. */
  identityAsOf(identityId: string, at: Date): Promise<IdentitySnapshot | null> {
    return identityAsOf(this.db, identityId, at);
  }

  /** The sources provenance rows name, by id. */
  sourcesByIds(ids: string[]): ReturnType<typeof sourcesByIds> {
    return sourcesByIds(this.db, ids);
  }

  activePolicy(): Promise<PolicyVersion> {
    return activePolicy(this.db);
  }

  listPolicies(): Promise<PolicyVersion[]> {
    return listPolicies(this.db);
  }

  previewPolicy(changes: PolicyRules, options: { limit?: number } = {}): Promise<PolicyPreview> {
    return previewPolicy(this.db, changes, options);
  }

  /** Activates a new policy version and recomputes every golden record under it (see `changeSurvivorshipPolicy`). */
  changePolicy(changes: PolicyRules, actor: string, options: { wait?: boolean } = {}): Promise<PolicyChange> {
    return changeSurvivorshipPolicy(this.db, changes, actor, { ...options, ...(this.logger ? { logger: this.logger } : {}) });
  }

  /** Recomputes golden records under the active policy, as a run. */
  recompute(scope: RecomputeScope, options: Omit<RecomputeOptions, 'logger'> = {}): Promise<RecomputeResult> {
    return recomputeGolden(this.db, scope, { ...options, logger: this.logger });
  }

  /** Recomputes the golden records a source feeds, after its trust rank changed. */
  recomputeForSource(sourceId: string): Promise<RecomputeResult> {
    return this.recompute({ kind: 'source', sourceId });
  }

  startRun(input: { sourceId: string | null; job: string; facets?: Record<string, unknown> }): Promise<IngestRunRow> {
    return startIngestRun(this.db, input);
  }

  finishRun(id: string, counts: Record<string, number>, errors: IngestRunError[], status: FinalRunStatus): Promise<IngestRunRow> {
    return finishIngestRun(this.db, id, counts, errors, status);
  }

  getRun(id: string): Promise<IngestRunRow | null> {
    return getIngestRun(this.db, id);
  }

  /** A keyset page of runs, newest first. */
  runsPage(filter: IngestRunFilter, page: KeysetPage<TimeKey>) {
    return ingestRunsPage(this.db, filter, page);
  }

  countRuns(filter: IngestRunFilter) {
    return countIngestRuns(this.db, filter);
  }
}
