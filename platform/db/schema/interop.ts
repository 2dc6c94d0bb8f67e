import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sourceRecords } from './identity.ts';

/**
 * Every version of the FHIR Patient resource of a source record, as the client sent it (without `id` and
 * `meta`, which the server owns). `resource` is null for a version that records a DELETE. The resource id is
 * the source record's id, or the id a client chose with an update-as-create PUT.
 */
export const fhirPatientVersions = pgTable(
  'fhir_patient_versions',
  {
    id: text('id').notNull(),
    versionId: integer('version_id').notNull(),
    recordId: uuid('record_id')
      .notNull()
      .references(() => sourceRecords.id),
    resource: jsonb('resource').$type<Record<string, unknown>>(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.id, t.versionId] }), index('fhir_patient_versions_record_idx').on(t.recordId, t.versionId)],
);
