import type { Executor } from '../platform/db/client.ts';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError } from '../platform/errors.ts';
import { DEFAULT_DATASET } from './canonical-fields.ts';
import {
  ClassifyFieldInput,
  FieldFilter,
  GlossaryTermInput,
  OPERATIONAL_SOURCE_FIELDS,
  RegisterSourceInput,
  SourceCode,
  UpdateSourceInput,
  parseInput,
} from './source-input.ts';
import * as store from './source-store.ts';
import type { DatasetRow, FieldEntry, GlossaryTermRow, SourceRow } from './source-store.ts';

/**
 * `source "CODE"`, which says which of a caller's sources is meant (a load, a feed of several): a source code names
 * a feed, not a patient. A code of another shape, which can be any text a caller sent, is not repeated.
 */
const sourceNamed = (code: string) => (SourceCode.safeParse(code).success ? `source ${JSON.stringify(code)}` : 'source');

/** Ingest named a source nobody registered (and auto-registration is off). */
export class UnknownSourceError extends DomainError {
  constructor(code: string) {
    super('UNKNOWN_SOURCE', `${sourceNamed(code)} is not registered; register it first or enable MPI_AUTO_REGISTER_SOURCES`, {
      field: 'source',
    });
  }
}

/** Ingest named a source an administrator has switched off. */
export class InactiveSourceError extends DomainError {
  constructor(code: string) {
    super('INACTIVE_SOURCE', `${sourceNamed(code)} is inactive and does not accept records`, { field: 'source' });
  }
}

/** The source with this code, or null. */
export function getSourceByCode(db: Executor, code: string): Promise<SourceRow | null> {
  return store.findSourceByCode(db, code);
}

/** Creates a source row with its default dataset, canonical fields and glossary, in the caller's transaction. */
async function provision(tx: Executor, values: store.NewSource): Promise<SourceRow | null> {
  const source = await store.insertSource(tx, values);
  if (!source) return null;
  await store.seedGlossary(tx);
  await store.provisionDefaultDataset(tx, source);
  return source;
}

async function inTransaction<T>(db: Executor, work: (tx: Executor) => Promise<T>): Promise<T> {
  return (db as Parameters<Parameters<Executor['transaction']>[0]>[0]).transaction((tx) => work(tx));
}

const SYSTEM_IN_USE = () => new ConflictError('SYSTEM_IN_USE', 'another source already uses this identifier system', 'system');

/** True when a driver error (PGlite or postgres.js, possibly wrapped by drizzle) is a unique violation of `constraint`. */
function violates(error: unknown, constraint: string): boolean {
  for (
    let e = error as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth += 1
  ) {
    if (e.code === '23505' && (e.constraint === constraint || e.constraint_name === constraint)) return true;
  }
  return false;
}

/** Maps a lost race on the unique identifier system (checked first, but another writer can win) to its conflict. */
async function guardSystem<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (violates(error, 'sources_system_unique')) throw SYSTEM_IN_USE();
    throw error;
  }
}

/** Registers a source with its default dataset and classified canonical fields. */
export async function registerSource(db: Executor, input: RegisterSourceInput): Promise<SourceRow> {
  const values = parseInput(RegisterSourceInput, input);
  if (values.system && (await store.findSourceBySystem(db, values.system))) throw SYSTEM_IN_USE();
  const source = await guardSystem(() => inTransaction(db, (tx) => provision(tx, values)));
  if (!source) throw new ConflictError('SOURCE_EXISTS', 'a source with this code is already registered', 'code');
  return source;
}

/**
 * The source for an incoming record. Unknown codes fail with UNKNOWN_SOURCE unless `autoRegister`, which
 * registers a minimal source (kind OTHER, default trust) that governance completes later. Safe under
 * concurrent ingest of the same new source.
 */
export async function ensureSource(db: Executor, code: string, options: { autoRegister: boolean }): Promise<SourceRow> {
  const existing = await store.findSourceByCode(db, code);
  if (existing) {
    if (!existing.active) throw new InactiveSourceError(code);
    return existing;
  }
  if (!options.autoRegister) throw new UnknownSourceError(code);
  const parsed = SourceCode.safeParse(code);
  if (!parsed.success) throw ValidationError.of('source', 'INVALID_SOURCE_CODE', 'must be 1-64 letters, digits, "_" or "-"');
  const created = await inTransaction(db, (tx) =>
    provision(tx, {
      code,
      name: code,
      description: 'Registered automatically on first ingest; catalog details pending.',
    }),
  );
  return created ?? (await store.findSourceByCode(db, code))!;
}

export interface UpdateOptions {
  /** Administrators may change trust rank, identifier system and the active flag; governance may not. */
  allowOperational: boolean;
}

/** Updates a source's catalog metadata (and, for administrators, its operational settings). */
export async function updateSource(db: Executor, code: string, input: UpdateSourceInput, options: UpdateOptions): Promise<SourceRow> {
  const patch = parseInput(UpdateSourceInput, input);
  if (!options.allowOperational) {
    const operational = OPERATIONAL_SOURCE_FIELDS.find((f) => patch[f] !== undefined);
    if (operational) throw new ForbiddenError(`only administrators may change ${operational}`);
  }
  const source = await store.findSourceByCode(db, code);
  if (!source) throw new NotFoundError('source', 'code');
  if (patch.system) {
    const holder = await store.findSourceBySystem(db, patch.system);
    if (holder && holder.id !== source.id) throw SYSTEM_IN_USE();
  }
  if (Object.keys(patch).length === 0) return source;
  return guardSystem(() => store.updateSourceRow(db, source.id, patch));
}

export async function listSources(db: Executor, active?: boolean): Promise<SourceRow[]> {
  return store.listSources(db, active);
}

/** Datasets, optionally of one source (an unknown source code has none). */
export async function listDatasets(db: Executor, sourceCode?: string) {
  if (sourceCode === undefined) return store.listDatasets(db);
  const source = await store.findSourceByCode(db, sourceCode);
  return source ? store.listDatasets(db, source.id) : [];
}

/** The fields of one dataset, with the dataset and its source. */
export async function fieldsOfDataset(db: Executor, entry: { dataset: DatasetRow; source: SourceRow }): Promise<FieldEntry[]> {
  const fields = await store.listDatasetFields(db, entry.dataset.id);
  return fields.map((field) => ({ field, ...entry }));
}

export async function searchFields(db: Executor, filter?: FieldFilter): Promise<FieldEntry[]> {
  return store.searchFields(db, parseInput(FieldFilter, filter) ?? {});
}

async function requireGlossaryTerms(db: Executor, terms: string[] | undefined): Promise<void> {
  if (!terms || terms.length === 0) return;
  const known = await store.existingGlossaryTerms(db, terms);
  const index = terms.findIndex((t) => !known.has(t));
  if (index >= 0) throw ValidationError.of(`glossaryTerms.${index}`, 'UNKNOWN_GLOSSARY_TERM', 'is not in the glossary');
}

/**
 * Sets a field's PHI class and other catalog attributes. A field the catalog does not know yet is added to
 * the dataset, and then needs a PHI class: nothing enters the catalog unclassified.
 */
export async function classifyField(db: Executor, input: ClassifyFieldInput): Promise<FieldEntry> {
  const { source: code, dataset: datasetName, field: name, ...attributes } = parseInput(ClassifyFieldInput, input);
  const source = await store.findSourceByCode(db, code);
  if (!source) throw new NotFoundError('source', 'source');
  const dataset = await store.findDataset(db, source.id, datasetName ?? DEFAULT_DATASET.name);
  if (!dataset) throw new NotFoundError('dataset', 'dataset');
  await requireGlossaryTerms(db, attributes.glossaryTerms);
  const patch = Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined));
  const existing = await store.findField(db, dataset.id, name);
  let field;
  if (existing) {
    field = Object.keys(patch).length === 0 ? existing : await store.updateField(db, existing.id, patch);
  } else {
    if (!attributes.phiClass) throw ValidationError.of('phiClass', 'REQUIRED', 'is required for a field the catalog does not know yet');
    field = await store.insertField(db, { ...patch, datasetId: dataset.id, name, phiClass: attributes.phiClass });
  }
  return { field, dataset, source };
}

export async function listGlossary(db: Executor, search?: string): Promise<GlossaryTermRow[]> {
  return store.listGlossary(db, search);
}

export async function defineGlossaryTerm(db: Executor, input: { term: string; definition: string }): Promise<GlossaryTermRow> {
  const { term, definition } = parseInput(GlossaryTermInput, input);
  return store.upsertGlossaryTerm(db, term, definition);
}
