import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from '../builder.ts';
import { enforceMasking } from '../masking.ts';
import './scalars.ts';
import './errors.ts';
import './system.ts';
import './security.ts';
import './identity.ts';
import './review.ts';
import './decisions.ts';
import './history.ts';
import './ingest-runs.ts';
import './lineage.ts';
import './catalog.ts';
import './audit.ts';
import './audit-chain.ts';
import './events.ts';
import './webhooks.ts';
import './dead-letters.ts';

/** The whole GraphQL schema, built from the domain modules imported above. */
export const schema = builder.toSchema();
// Every field marked as PHI is masked by role here, once, whatever resolver produced it.
enforceMasking(schema);

/** The SDL committed as schema.graphql, so API changes show up in review. */
export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
