import { CANONICAL_FIELDS } from '../../matching/index.ts';
import {
  PortError,
  type CrossReference,
  type GoldenIdentityView,
  type PatientQuery,
  type PatientSearchResult,
  type PatientVersion,
  type PatientWrite,
  type PatientWriteResult,
  type IngestResult,
  type InteropPort,
  type MatchCandidate,
  type MatchOptions,
  type RecordInput,
  type SourceRecordInput,
  type SourceRef,
  type SubscriptionInput,
  type SubscriptionView,
} from '../ports.ts';

/** The context tests pass through the protocol layer; the fake records it with every call. */
export interface TestContext {
  actor: string;
}

interface StoredRecord {
  id: string;
  ref: SourceRef;
  data: RecordInput;
  identityId: string;
}

interface StoredIdentity {
  id: string;
  status: 'ACTIVE' | 'MERGED';
  mergedInto: string | null;
  replaces: string[];
}

export interface PortCall {
  method: keyof InteropPort<TestContext>;
  ctx: TestContext;
  args: unknown[];
}

const FIELDS: ReadonlyArray<keyof RecordInput> = CANONICAL_FIELDS;

/**
 * An in-memory InteropPort for tests and examples. Its "matching" is deliberately crude (same family name,
 * case-insensitive, and same birth date = same person) so tests can predict outcomes.
 */
export class FakePort implements InteropPort<TestContext> {
  readonly calls: PortCall[] = [];
  readonly records = new Map<string, StoredRecord>();
  readonly identities = new Map<string, StoredIdentity>();
  /** Patient resource versions by resource id, oldest first, and the record each belongs to. */
  readonly resources = new Map<string, { recordKey: string; versions: PatientVersion[] }>();
  private nextId = 1;

  constructor(private readonly systems: Record<string, string> = {}) {}

  /** Calls that change state (everything but reads and look-ups). */
  writes(): PortCall[] {
    return this.calls.filter((c) => ['ingest', 'deleteRecord', 'mergeBySourceIds', 'unlinkBySourceIds'].includes(c.method));
  }

  async ingest(ctx: TestContext, input: SourceRecordInput): Promise<IngestResult> {
    this.calls.push({ method: 'ingest', ctx, args: [input] });
    if (!Object.values(this.systems).includes(input.source)) throw new PortError('UNKNOWN_SOURCE', 'source is not registered', 'source');
    const data = pickFields(input);
    const key = keyOf(input);
    const existing = this.records.get(key);
    if (existing) {
      if (JSON.stringify(existing.data) === JSON.stringify(data)) return this.result('UNCHANGED', existing);
      existing.data = data;
      return this.result('LINKED', existing);
    }
    const match = this.findSamePerson(data);
    const identityId = match ?? this.newIdentity();
    const record = { id: `rec-${this.nextId++}`, ref: { source: input.source, localId: input.localId }, data, identityId };
    this.records.set(key, record);
    return this.result(match ? 'LINKED' : 'CREATED', record);
  }

  async deleteRecord(ctx: TestContext, ref: SourceRef): Promise<void> {
    this.calls.push({ method: 'deleteRecord', ctx, args: [ref] });
    if (!this.records.delete(keyOf(ref))) throw new PortError('NOT_FOUND', 'source record not found');
  }

  async mergeBySourceIds(ctx: TestContext, survivor: SourceRef, merged: SourceRef, reason: string) {
    this.calls.push({ method: 'mergeBySourceIds', ctx, args: [survivor, merged, reason] });
    const keep = this.requireRecord(survivor).identityId;
    const gone = this.requireRecord(merged).identityId;
    if (keep !== gone) {
      for (const r of this.records.values()) if (r.identityId === gone) r.identityId = keep;
      const goneIdentity = this.identities.get(gone) as StoredIdentity;
      goneIdentity.status = 'MERGED';
      goneIdentity.mergedInto = keep;
      (this.identities.get(keep) as StoredIdentity).replaces.push(gone);
    }
    return { survivorIdentityId: keep };
  }

  async unlinkBySourceIds(ctx: TestContext, ref: SourceRef, reason: string) {
    this.calls.push({ method: 'unlinkBySourceIds', ctx, args: [ref, reason] });
    const record = this.requireRecord(ref);
    record.identityId = this.newIdentity();
    return { identityId: record.identityId };
  }

  async match(ctx: TestContext, input: RecordInput, opts: MatchOptions): Promise<MatchCandidate[]> {
    this.calls.push({ method: 'match', ctx, args: [input, opts] });
    const scored: MatchCandidate[] = [];
    for (const identity of this.identities.values()) {
      if (identity.status !== 'ACTIVE') continue;
      const view = this.view(identity);
      const sameFamily = sameText(view.golden.familyName, input.familyName);
      const sameBirth = view.golden.birthDate != null && view.golden.birthDate === input.birthDate;
      const sameGiven = sameText(view.golden.givenName, input.givenName);
      const hits = [sameFamily, sameBirth, sameGiven].filter(Boolean).length;
      if (hits === 0) continue;
      const grade = hits === 3 ? 'CERTAIN' : hits === 2 ? 'PROBABLE' : 'POSSIBLE';
      scored.push({ identity: view, probability: [0, 0.3, 0.8, 0.99][hits] as number, grade });
    }
    return scored.filter((c) => !opts.onlyCertain || c.grade === 'CERTAIN').slice(0, opts.count ?? 10);
  }

  async getIdentity(ctx: TestContext, id: string): Promise<GoldenIdentityView | null> {
    this.calls.push({ method: 'getIdentity', ctx, args: [id] });
    const identity = this.identities.get(id);
    return identity ? this.view(identity) : null;
  }

  async sourceForSystem(ctx: TestContext, system: string): Promise<string | null> {
    this.calls.push({ method: 'sourceForSystem', ctx, args: [system] });
    return this.systems[system] ?? null;
  }

  async writePatient(ctx: TestContext, write: PatientWrite): Promise<PatientWriteResult> {
    const result = await this.ingest(ctx, { ...write.record, ...write.ref });
    const key = keyOf(write.ref);
    let entry = [...this.resources.entries()].find(([, r]) => r.recordKey === key);
    if (write.id !== undefined && entry && entry[0] !== write.id)
      throw new PortError('CONFLICT', 'the source record has another Patient id', 'id');
    if (!entry) {
      const id = write.id ?? result.recordId;
      entry = [id, { recordKey: key, versions: [] }];
      this.resources.set(id, entry[1]);
    }
    const [id, stored] = entry;
    const current = stored.versions.at(-1);
    if (write.ifMatch !== undefined && write.ifMatch !== (current?.versionId ?? 0))
      throw new PortError('PRECONDITION_FAILED', 'stale version', 'If-Match');
    const version: PatientVersion = {
      id,
      versionId: (current?.versionId ?? 0) + 1,
      lastUpdated: '2024-01-02T03:04:05.000Z',
      resource: write.resource,
      identityId: result.identityId,
    };
    stored.versions.push(version);
    return { version, created: current === undefined, ...result };
  }

  async readPatient(ctx: TestContext, id: string, versionId?: number): Promise<PatientVersion | null> {
    this.calls.push({ method: 'readPatient', ctx, args: [id, versionId] });
    const versions = this.resources.get(id)?.versions ?? [];
    return (versionId === undefined ? versions.at(-1) : versions.find((v) => v.versionId === versionId)) ?? null;
  }

  async patientHistory(ctx: TestContext, id: string): Promise<PatientVersion[]> {
    return [...(this.resources.get(id)?.versions ?? [])].reverse();
  }

  async patientIdOf(ctx: TestContext, ref: SourceRef): Promise<string | null> {
    return [...this.resources.entries()].find(([, r]) => r.recordKey === keyOf(ref))?.[0] ?? null;
  }

  async deletePatient(ctx: TestContext, id: string): Promise<PatientVersion> {
    const stored = this.resources.get(id);
    const current = stored?.versions.at(-1);
    if (!stored || !current) throw new PortError('NOT_FOUND', 'no Patient with this id');
    this.records.delete(stored.recordKey);
    const version = { ...current, versionId: current.versionId + 1, resource: null };
    stored.versions.push(version);
    return version;
  }

  async searchPatients(ctx: TestContext, query: PatientQuery): Promise<PatientSearchResult> {
    this.calls.push({ method: 'searchPatients', ctx, args: [query] });
    const hits = [...this.identities.values()]
      .map((i) => this.view(i))
      .filter((v) => !query.family || sameText(v.golden.familyName, query.family))
      .map((identity) => ({ kind: 'golden' as const, identity }));
    return { hits: hits.slice(query.offset, query.offset + query.count), more: hits.length > query.offset + query.count };
  }

  async crossReference(ctx: TestContext, ref: SourceRef): Promise<CrossReference | null> {
    const record = this.records.get(keyOf(ref));
    const identity = record ? this.identities.get(record.identityId) : undefined;
    return identity ? { identity: this.view(identity) } : null;
  }

  readonly subscriptions = new Map<string, SubscriptionView>();

  async createSubscription(_ctx: TestContext, input: SubscriptionInput): Promise<SubscriptionView> {
    const view: SubscriptionView = {
      id: `sub-${this.subscriptions.size + 1}`,
      status: 'active',
      url: input.url,
      reason: input.reason,
      payload: input.payload,
      demographicsRole: input.demographicsRole,
    };
    this.subscriptions.set(view.id, view);
    return view;
  }

  async readSubscription(_ctx: TestContext, id: string): Promise<SubscriptionView | null> {
    return this.subscriptions.get(id) ?? null;
  }

  async deleteSubscription(_ctx: TestContext, id: string): Promise<boolean> {
    return this.subscriptions.delete(id);
  }

  /** The identity a source record currently belongs to. */
  identityOf(ref: SourceRef): string | undefined {
    return this.records.get(keyOf(ref))?.identityId;
  }

  private view(identity: StoredIdentity): GoldenIdentityView {
    const records = [...this.records.values()].filter((r) => r.identityId === identity.id);
    const golden: RecordInput = {};
    for (const field of FIELDS) golden[field] = records.map((r) => r.data[field]).find((v) => v != null) ?? null;
    const systemOf = (source: string) => Object.entries(this.systems).find(([, code]) => code === source)?.[0] ?? null;
    return {
      id: identity.id,
      status: identity.status,
      mergedInto: identity.mergedInto,
      replaces: [...identity.replaces],
      golden,
      records: records.map((r) => ({ ...r.ref, system: systemOf(r.ref.source) })),
      updatedAt: '2024-01-02T03:04:05.000Z',
    };
  }

  private findSamePerson(data: RecordInput): string | undefined {
    if (!data.familyName || !data.birthDate) return undefined;
    for (const r of this.records.values()) {
      if (sameText(r.data.familyName, data.familyName) && r.data.birthDate === data.birthDate) return r.identityId;
    }
    return undefined;
  }

  private newIdentity(): string {
    const id = `id-${this.nextId++}`;
    this.identities.set(id, { id, status: 'ACTIVE', mergedInto: null, replaces: [] });
    return id;
  }

  private requireRecord(ref: SourceRef): StoredRecord {
    const record = this.records.get(keyOf(ref));
    if (!record) throw new PortError('NOT_FOUND', 'source record not found');
    return record;
  }

  private result(outcome: IngestResult['outcome'], record: StoredRecord): IngestResult {
    return { outcome, recordId: record.id, identityId: record.identityId };
  }
}

function keyOf(ref: SourceRef): string {
  return `${ref.source}\u0000${ref.localId}`;
}

function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && a.toLowerCase() === b.toLowerCase();
}

function pickFields(input: RecordInput): RecordInput {
  const out: RecordInput = {};
  for (const field of FIELDS) out[field] = input[field] ?? null;
  return out;
}
