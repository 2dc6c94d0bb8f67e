import type { Database, Executor } from '../platform/db/client.ts';
import {
  appendVersion,
  historyOf,
  identityViewOfRecord,
  identityViewRows,
  insertVersion,
  recordResource,
  recordResourceByRef,
  resourceIdsOfRecords,
  searchPage,
  versionOf,
  type IdentityViewRow,
  type PatientVersionRow,
  type RecordCriteria,
  type RecordResourceRow,
  type SearchKind,
  type SearchPageRows,
} from './patient-store.ts';
import { PortError, type PatientWrite } from './ports.ts';

/**
 * The FHIR Patient resources of source records over one database: their stored versions, the PDQm search, and
 * the version rules of a write (`If-Match`, resource ids). Reads use the database; the two writes run inside the
 * ingest or delete transaction they belong to, on the `tx` that transaction hands them (the ingest's `withRecords`
 * step, the delete's `beforeCommit` step).
 */
export class PatientResourceService {
  /** `reads`: where identity views are read (a read replica's routed handle when one serves; `db` otherwise). */
  constructor(
    private readonly db: Database,
    private readonly reads: Database = db,
  ) {}

  /** Several identities (exactly these, not following merges) with their replaced ids and live records, in one statement. */
  identityViews(ids: string[]): Promise<IdentityViewRow[]> {
    return identityViewRows(this.reads, ids);
  }

  /** The identity a live source record is linked to, read as `identityViews` reads it, in one statement. */
  identityViewOfRecord(source: string, localId: string): Promise<IdentityViewRow | null> {
    return identityViewOfRecord(this.reads, source, localId);
  }

  /** The source record a Patient id names (a stored resource id, else a record id), with its latest version. */
  record(id: string): Promise<RecordResourceRow | null> {
    return recordResource(this.db, id);
  }

  /** The source record of a (source code, local id), with its latest version, if any. */
  recordByRef(source: string, localId: string): Promise<RecordResourceRow | null> {
    return recordResourceByRef(this.db, source, localId);
  }

  /** One stored version of a resource id, or null. */
  version(resourceId: string, versionId: number): Promise<PatientVersionRow | null> {
    return versionOf(this.db, resourceId, versionId);
  }

  /** Every stored version of a resource id, newest first. */
  history(resourceId: string): Promise<PatientVersionRow[]> {
    return historyOf(this.db, resourceId);
  }

  /** Current resource ids of the given records (records never written as FHIR are absent). */
  resourceIdsOfRecords(recordIds: string[]): Promise<Map<string, string>> {
    return resourceIdsOfRecords(this.db, recordIds);
  }

  /** One PDQm page of live source records and the identities they belong to, in one statement (`searchPage`). */
  searchPage(criteria: RecordCriteria, kind: SearchKind, count: number, offset: number): Promise<SearchPageRows> {
    return searchPage(this.db, criteria, kind, count, offset);
  }

  /**
   * Inside the ingest transaction, after the record's lock: checks the resource id and `If-Match`, then appends
   * a version unless nothing changed, in one statement. Run there, two writers cannot both pass the version check.
   */
  async storeVersion(
    tx: Executor,
    write: PatientWrite,
    recordId: string,
    existed: boolean,
  ): Promise<{ row: PatientVersionRow; created: boolean }> {
    // A record that came in by HL7 or GraphQL reads as version 1 before it is first written as FHIR.
    const initial = existed ? 1 : 0;
    const { current, holderRecordId, written } = await appendVersion(tx, {
      recordId,
      id: write.id,
      ifMatch: write.ifMatch,
      base: initial,
      resource: write.resource,
    });
    if (write.id !== undefined) {
      if (current && current.id !== write.id) {
        throw new PortError('CONFLICT', 'the source record of this identifier already has a Patient resource with another id', 'id');
      }
      if (holderRecordId !== null && holderRecordId !== recordId)
        throw new PortError('CONFLICT', 'the resource id belongs to another source record', 'id');
    }
    const base = current?.versionId ?? initial;
    checkIfMatch(write.ifMatch, base);
    if (written) return { row: written, created: base === 0 };
    // Nothing failed, so the resource is the current one unchanged.
    return { row: current!, created: false };
  }

  /** Inside the delete transaction: appends the deletion version (no resource) after `current`. */
  appendDeletion(tx: Executor, resource: { id: string; recordId: string; current: number }): Promise<PatientVersionRow> {
    return insertVersion(tx, { id: resource.id, versionId: resource.current + 1, recordId: resource.recordId, resource: null });
  }
}

/** `If-Match`: PRECONDITION_FAILED when the client named a version other than the current one. */
export function checkIfMatch(ifMatch: number | undefined, current: number): void {
  if (ifMatch !== undefined && ifMatch !== current) {
    throw new PortError('PRECONDITION_FAILED', 'the resource has changed since the version given in If-Match', 'If-Match');
  }
}
