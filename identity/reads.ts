import { gradeBand, isoDateProblem, type Grade } from '../matching/index.ts';
import { ValidationError } from '../platform/errors.ts';
import type { Database } from '../platform/db/client.ts';
import type { TimeKey } from '../platform/db/keyset.ts';
import { isUuid, requireUuid } from '../platform/ids.ts';
import type { ModelRegistry } from './models.ts';
import * as store from './store.ts';

/** Which review items to list: the store's filter, with a grade (a band of probabilities under the active model). */
export type ReviewQueueQuery = Omit<store.ReviewQueueFilter, 'probabilityFrom' | 'probabilityBelow'> & { grade?: Grade | null };

/** A review item with its source record already read (null: it has none). */
export type ReviewQueueItem = store.ReviewItemRow & { sourceRecord: store.RecordWithSource | null };

/** Read side of the identity store: lookups the API and adapters share. */
export class IdentityReads {
  constructor(
    private readonly db: Database,
    private readonly models: ModelRegistry,
  ) {}

  /** An identity by id; a merged id redirects to its survivor. */
  async getIdentity(id: string): Promise<store.IdentityRow | null> {
    if (!isUuid(id)) return null;
    return store.resolveSurvivor(this.db, id);
  }

  /** Several identities in one query (candidates' identities are current: links always point at survivors). */
  async identitiesByIds(ids: string[]): Promise<Map<string, store.IdentityRow>> {
    const rows = await store.identitiesByIds(this.db, ids);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * Several identities by id, each following merges to its survivor, in one query per merge hop (usually one):
   * the batch behind a request's identity loader. Ids that are not UUIDs or name no identity are absent.
   */
  async survivorsByIds(ids: readonly string[]): Promise<Map<string, store.IdentityRow>> {
    const found = new Map<string, store.IdentityRow>();
    let pending = new Map<string, string>(ids.filter(isUuid).map((id) => [id, id]));
    for (let hops = 0; pending.size > 0 && hops < 10; hops += 1) {
      const rows = new Map((await store.identitiesByIds(this.db, [...new Set(pending.values())])).map((r) => [r.id, r]));
      const next = new Map<string, string>();
      for (const [asked, current] of pending) {
        const row = rows.get(current);
        if (!row) continue;
        if (row.status === 'MERGED' && row.mergedInto) next.set(asked, row.mergedInto);
        else found.set(asked, row);
      }
      pending = next;
    }
    return found;
  }

  /** Several source records by id, with their source and link, in one query. */
  async sourceRecordsByIds(ids: readonly string[]): Promise<Map<string, store.RecordWithSource>> {
    const rows = await store.findRecordsByIds(this.db, ids.filter(isUuid));
    return new Map(rows.map((r) => [r.record.id, r]));
  }

  /** The active records of several identities in one query, keyed by identity id. */
  async recordsOfIdentities(identityIds: readonly string[]) {
    const rows = await store.recordsOfIdentities(this.db, [...identityIds]);
    const byIdentity = new Map<string, typeof rows>(identityIds.map((id) => [id, []]));
    for (const row of rows) byIdentity.get(row.link.identityId)?.push(row);
    return byIdentity;
  }

  /** The identity row itself, without following a merge. */
  async getIdentityExact(id: string): Promise<store.IdentityRow | null> {
    return isUuid(id) ? store.getIdentity(this.db, id) : null;
  }

  recordsOf(identityId: string) {
    return store.recordsOfIdentity(this.db, identityId);
  }

  /** Every event of an identity, oldest first; `field` names the argument the id came in. */
  history(identityId: string, field = 'id') {
    return store.eventsOfIdentity(this.db, requireUuid(identityId, field, 'an identity id'));
  }

  /**
   * A keyset page of active identities by name prefix and birth date, oldest first (see store.searchIdentitiesPage);
   * an impossible date (2026-02-30) is refused, not matched to nothing.
   */
  searchPage(filter: store.IdentityFilter, page: store.KeysetPage<TimeKey>) {
    return store.searchIdentitiesPage(this.db, checkedIdentityFilter(filter), page);
  }

  countIdentities(filter: store.IdentityFilter) {
    return store.countIdentities(this.db, checkedIdentityFilter(filter));
  }

  reviewQueue(status: 'OPEN' | 'RESOLVED' | null, limit: number, offset: number) {
    return store.listReviewItems(this.db, status, limit, offset);
  }

  /**
   * A keyset page of the review queue in the given order (see store.reviewQueuePage), each record-match item
   * with its record: the page's records are read in one query, not one per row.
   */
  async reviewQueuePage(
    query: ReviewQueueQuery,
    page: store.KeysetPage<store.ReviewItemKey>,
    order: store.ReviewQueueOrder = 'PRIORITY',
  ): Promise<ReviewQueueItem[]> {
    const items = await store.reviewQueuePage(this.db, await this.reviewFilter(query), page, order);
    const recordIds = items.flatMap((i) => (i.recordId ? [i.recordId] : []));
    const records = new Map((await store.findRecordsByIds(this.db, recordIds)).map((r) => [r.record.id, r]));
    return items.map((i) => ({ ...i, sourceRecord: i.recordId ? (records.get(i.recordId) ?? null) : null }));
  }

  async countReviewItems(query: ReviewQueueQuery) {
    return store.countReviewItems(this.db, await this.reviewFilter(query));
  }

  /** A grade becomes its band of probabilities under the active model's thresholds. */
  private async reviewFilter({ grade, ...filter }: ReviewQueueQuery): Promise<store.ReviewQueueFilter> {
    if (!grade) return filter;
    const band = gradeBand(grade, await this.models.active());
    return { ...filter, probabilityFrom: band.from, probabilityBelow: band.below };
  }

  /** A keyset page of an identity's events, in the order they were recorded. */
  historyPage(identityId: string, filter: store.IdentityEventFilter, page: store.KeysetPage<number>) {
    return store.identityEventsPage(this.db, identityId, filter, page);
  }

  countHistory(identityId: string, filter: store.IdentityEventFilter) {
    return store.countIdentityEvents(this.db, identityId, filter);
  }

  reviewItem(id: string) {
    return isUuid(id) ? store.getReviewItem(this.db, id) : Promise.resolve(null);
  }

  async sourceRecord(id: string) {
    return isUuid(id) ? store.findRecordById(this.db, id) : null;
  }

  sourceRecordByLocalId(source: string, localId: string) {
    return store.findRecordByLocalId(this.db, source, localId);
  }

  /** Identity ids that were merged into this one (for FHIR `replaces` links). */
  async mergedInto(identityId: string): Promise<string[]> {
    return store.identitiesMergedInto(this.db, identityId);
  }
}

/** The filter, or a typed error when its birth date names no real day. */
function checkedIdentityFilter(filter: store.IdentityFilter): store.IdentityFilter {
  const birthDate = filter.birthDate?.trim();
  const problem = birthDate ? isoDateProblem(birthDate) : null;
  if (problem) throw ValidationError.of('birthDate', 'INVALID_DATE', problem);
  return filter;
}
