import { and, asc, eq, ilike, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { catalogDatasets, catalogFields, glossaryTerms, sources } from '../platform/db/schema/index.ts';
import { CANONICAL_FIELD_SPECS, DEFAULT_DATASET, DEFAULT_GLOSSARY } from './canonical-fields.ts';
import { escapeLike } from '../platform/db/like.ts';

export type SourceRow = typeof sources.$inferSelect;
export type NewSource = typeof sources.$inferInsert;
export type DatasetRow = typeof catalogDatasets.$inferSelect;
export type FieldRow = typeof catalogFields.$inferSelect;
export type NewField = typeof catalogFields.$inferInsert;
export type GlossaryTermRow = typeof glossaryTerms.$inferSelect;

/** A field with the dataset and source it belongs to. */
export interface FieldEntry {
  field: FieldRow;
  dataset: DatasetRow;
  source: SourceRow;
}

export async function findSourceByCode(db: Executor, code: string): Promise<SourceRow | null> {
  const [row] = await db.select().from(sources).where(eq(sources.code, code));
  return row ?? null;
}

export async function findSourceBySystem(db: Executor, system: string): Promise<SourceRow | null> {
  const [row] = await db.select().from(sources).where(eq(sources.system, system));
  return row ?? null;
}

export async function listSources(db: Executor, active?: boolean): Promise<SourceRow[]> {
  return db
    .select()
    .from(sources)
    .where(active === undefined ? undefined : eq(sources.active, active))
    .orderBy(asc(sources.code));
}

/** Inserts a source; null when its code is already taken (a concurrent registration won). */
export async function insertSource(db: Executor, values: NewSource): Promise<SourceRow | null> {
  const [row] = await db.insert(sources).values(values).onConflictDoNothing({ target: sources.code }).returning();
  return row ?? null;
}

export async function updateSourceRow(db: Executor, id: string, patch: Partial<NewSource>): Promise<SourceRow> {
  const [row] = await db
    .update(sources)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(sources.id, id))
    .returning();
  return row!;
}

/** The glossary terms the canonical fields use; existing definitions are kept. */
export async function seedGlossary(db: Executor): Promise<void> {
  await db
    .insert(glossaryTerms)
    .values([...DEFAULT_GLOSSARY])
    .onConflictDoNothing();
}

/** Creates a source's default dataset with the canonical fields; safe to repeat. */
export async function provisionDefaultDataset(db: Executor, source: SourceRow): Promise<DatasetRow> {
  await db
    .insert(catalogDatasets)
    .values({
      sourceId: source.id,
      name: DEFAULT_DATASET.name,
      description: DEFAULT_DATASET.description,
      owner: source.owner,
      tags: [...DEFAULT_DATASET.tags],
    })
    .onConflictDoNothing();
  const dataset = (await findDataset(db, source.id, DEFAULT_DATASET.name))!;
  await db
    .insert(catalogFields)
    .values(
      CANONICAL_FIELD_SPECS.map((f) => ({
        datasetId: dataset.id,
        name: f.name,
        dataType: f.dataType,
        description: f.description,
        phiClass: f.phiClass,
        goldenField: f.goldenField,
        glossaryTerms: f.glossaryTerms,
        tags: f.core ? ['canonical', 'matching'] : ['canonical'],
      })),
    )
    .onConflictDoNothing();
  return dataset;
}

export async function findDataset(db: Executor, sourceId: string, name: string): Promise<DatasetRow | null> {
  const [row] = await db
    .select()
    .from(catalogDatasets)
    .where(and(eq(catalogDatasets.sourceId, sourceId), eq(catalogDatasets.name, name)));
  return row ?? null;
}

export async function listDatasets(db: Executor, sourceId?: string): Promise<Array<{ dataset: DatasetRow; source: SourceRow }>> {
  return db
    .select({ dataset: catalogDatasets, source: sources })
    .from(catalogDatasets)
    .innerJoin(sources, eq(sources.id, catalogDatasets.sourceId))
    .where(sourceId === undefined ? undefined : eq(catalogDatasets.sourceId, sourceId))
    .orderBy(asc(sources.code), asc(catalogDatasets.name));
}

export async function listDatasetFields(db: Executor, datasetId: string): Promise<FieldRow[]> {
  return db.select().from(catalogFields).where(eq(catalogFields.datasetId, datasetId)).orderBy(asc(catalogFields.name));
}

export interface FieldSearch {
  search?: string | null | undefined;
  tag?: string | null | undefined;
  owner?: string | null | undefined;
  phiClass?: FieldRow['phiClass'] | null | undefined;
  source?: string | null | undefined;
  glossaryTerm?: string | null | undefined;
}

const likePattern = (text: string) => `%${escapeLike(text)}%`;

/** Catalog search: every given criterion must hold; text matches are case-insensitive substrings. */
export async function searchFields(db: Executor, q: FieldSearch): Promise<FieldEntry[]> {
  const f = catalogFields;
  const d = catalogDatasets;
  const conditions: Array<SQL | undefined> = [];
  if (q.search) {
    const pattern = likePattern(q.search);
    conditions.push(or(ilike(f.name, pattern), ilike(f.description, pattern), ilike(d.name, pattern), ilike(d.description, pattern)));
  }
  if (q.tag) conditions.push(or(sql`${q.tag} = any(${f.tags})`, sql`${q.tag} = any(${d.tags})`));
  if (q.owner) {
    const pattern = likePattern(q.owner);
    conditions.push(or(ilike(d.owner, pattern), ilike(sources.owner, pattern), ilike(sources.steward, pattern)));
  }
  if (q.phiClass) conditions.push(eq(f.phiClass, q.phiClass));
  if (q.source) conditions.push(eq(sources.code, q.source));
  if (q.glossaryTerm) conditions.push(sql`${q.glossaryTerm} = any(${f.glossaryTerms})`);
  return db
    .select({ field: f, dataset: d, source: sources })
    .from(f)
    .innerJoin(d, eq(d.id, f.datasetId))
    .innerJoin(sources, eq(sources.id, d.sourceId))
    .where(and(...conditions))
    .orderBy(asc(sources.code), asc(d.name), asc(f.name));
}

export async function findField(db: Executor, datasetId: string, name: string): Promise<FieldRow | null> {
  const [row] = await db
    .select()
    .from(catalogFields)
    .where(and(eq(catalogFields.datasetId, datasetId), eq(catalogFields.name, name)));
  return row ?? null;
}

export async function insertField(db: Executor, values: NewField): Promise<FieldRow> {
  const [row] = await db.insert(catalogFields).values(values).returning();
  return row!;
}

export async function updateField(db: Executor, id: string, patch: Partial<NewField>): Promise<FieldRow> {
  const [row] = await db.update(catalogFields).set(patch).where(eq(catalogFields.id, id)).returning();
  return row!;
}

export async function listGlossary(db: Executor, search?: string): Promise<GlossaryTermRow[]> {
  const where = search
    ? or(ilike(glossaryTerms.term, likePattern(search)), ilike(glossaryTerms.definition, likePattern(search)))
    : undefined;
  return db.select().from(glossaryTerms).where(where).orderBy(asc(glossaryTerms.term));
}

/** The subset of `terms` present in the glossary. */
export async function existingGlossaryTerms(db: Executor, terms: string[]): Promise<Set<string>> {
  if (terms.length === 0) return new Set();
  const rows = await db.select({ term: glossaryTerms.term }).from(glossaryTerms).where(inArray(glossaryTerms.term, terms));
  return new Set(rows.map((r) => r.term));
}

export async function upsertGlossaryTerm(db: Executor, term: string, definition: string): Promise<GlossaryTermRow> {
  const [row] = await db
    .insert(glossaryTerms)
    .values({ term, definition })
    .onConflictDoUpdate({ target: glossaryTerms.term, set: { definition } })
    .returning();
  return row!;
}
