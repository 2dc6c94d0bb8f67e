import type { Database } from '../platform/db/client.ts';
import * as store from './store.ts';

/** Read side of the identity store: lookups the API and adapters share. */
export class IdentityReads {
  constructor(private readonly db: Database) {}

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

  /** The identity row itself, without following a merge. */
  async getIdentityExact(id: string): Promise<store.IdentityRow | null> {
    return isUuid(id) ? store.getIdentity(this.db, id) : null;
  }

  recordsOf(identityId: string) {
    return store.recordsOfIdentity(this.db, identityId);
  }

  history(identityId: string) {
    return store.eventsOfIdentity(this.db, identityId);
  }

  search(filter: Parameters<typeof store.searchIdentities>[1], limit: number, offset: number) {
    return store.searchIdentities(this.db, filter, limit, offset);
  }

  reviewQueue(status: 'OPEN' | 'RESOLVED' | null, limit: number, offset: number) {
    return store.listReviewItems(this.db, status, limit, offset);
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

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
