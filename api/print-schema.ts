import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withErrorCatalogue } from './error-catalogue.ts';
import { printSchemaSdl } from './schema/index.ts';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, printSchemaSdl());
console.log(`wrote ${target}`);

// The error catalogue in the API guide is generated from the same list as the ErrorCode enum.
const guide = fileURLToPath(new URL('../docs/api.md', import.meta.url));
writeFileSync(guide, withErrorCatalogue(readFileSync(guide, 'utf8')));
console.log(`wrote the error catalogue in ${guide}`);
