import { bigserial, boolean, doublePrecision, index, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sources } from './identity.ts';

export const phiClass = pgEnum('phi_class', ['DIRECT_IDENTIFIER', 'QUASI_IDENTIFIER', 'NONE']);

/** A dataset a source feeds (e.g. its ADT feed or a CSV extract). */
export const catalogDatasets = pgTable(
  'catalog_datasets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id),
    name: text('name').notNull(),
    description: text('description'),
    owner: text('owner'),
    tags: text('tags').array().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('catalog_datasets_source_name_uq').on(t.sourceId, t.name)],
);

export const catalogFields = pgTable(
  'catalog_fields',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => catalogDatasets.id),
    name: text('name').notNull(),
    dataType: text('data_type').notNull().default('string'),
    description: text('description'),
    phiClass: phiClass('phi_class').notNull().default('NONE'),
    goldenField: text('golden_field'),
    glossaryTerms: text('glossary_terms').array().notNull().default([]),
    tags: text('tags').array().notNull().default([]),
  },
  (t) => [uniqueIndex('catalog_fields_dataset_name_uq').on(t.datasetId, t.name)],
);

export const glossaryTerms = pgTable('glossary_terms', {
  term: text('term').primaryKey(),
  definition: text('definition').notNull(),
});

export const qualityRuns = pgTable('quality_runs', {
  id: uuid('id').primaryKey().defaultRandom(),
  status: text('status').notNull().default('RUNNING'),
  trigger: text('trigger').notNull().default('MANUAL'),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
});

export const scopeKind = pgEnum('quality_scope_kind', ['INDEX', 'SOURCE', 'FIELD']);

/** Time series of quality metrics. */
export const qualityMeasurements = pgTable(
  'quality_measurements',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => qualityRuns.id),
    metric: text('metric').notNull(),
    scopeKind: scopeKind('scope_kind').notNull(),
    /** '*' for the whole index, a source code, or `source.field`. */
    scope: text('scope').notNull(),
    value: doublePrecision('value').notNull(),
    numerator: doublePrecision('numerator'),
    denominator: doublePrecision('denominator'),
    threshold: doublePrecision('threshold'),
    breached: boolean('breached').notNull().default(false),
    measuredAt: timestamp('measured_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('quality_measurements_metric_idx').on(t.metric, t.scope, t.measuredAt)],
);
