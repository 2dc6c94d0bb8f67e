import { z } from 'zod';
import { phiClass } from '../platform/db/schema/index.ts';
import { ValidationError } from '../platform/errors.ts';
import { schemaRuleCode } from '../platform/error-codes.ts';
import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';

/** An input as GraphQL delivers it: any field may also be null; validation decides what null means. */
export type WithNulls<T> = { [K in keyof T]: T[K] | null };

/** Kinds of feeding system. */
export const SOURCE_KINDS = ['EHR', 'LAB', 'PAYER', 'DEVICE_HUB', 'PHARMACY', 'REGISTRY', 'HIE', 'OTHER'] as const;

/**
 * A source code: letters, digits, '_' and '-', no dots (a field's quality scope is `source.field`) and no
 * spaces, so it can travel in HL7 MSH-3, CSV file names and URLs unchanged.
 */
export const SourceCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-"');

const text = (max: number) => z.string().trim().min(1, 'must not be blank').max(max);
const optionalText = (max: number) => text(max).nullish();

/** Catalog metadata of a source: what governance may edit. */
const SourceMetadata = z.object({
  name: text(200),
  kind: z.enum(SOURCE_KINDS),
  owner: optionalText(200),
  steward: optionalText(200),
  contact: optionalText(320),
  description: optionalText(4000),
});

/** Fields that change how records are ingested and survive: only administrators may change them. */
const SourceOperational = z.object({
  /** Higher wins in source-priority survivorship. */
  trustRank: z.number().int().min(0).max(100),
  /** FHIR identifier.system or HL7 assigning authority. */
  system: optionalText(500),
  active: z.boolean(),
});

export const OPERATIONAL_SOURCE_FIELDS = Object.keys(SourceOperational.shape) as Array<keyof z.infer<typeof SourceOperational>>;

export const RegisterSourceInput = z.object({
  code: SourceCode,
  ...SourceMetadata.shape,
  kind: SourceMetadata.shape.kind.default('OTHER'),
  ...SourceOperational.shape,
  trustRank: SourceOperational.shape.trustRank.default(50),
  active: SourceOperational.shape.active.default(true),
});
export type RegisterSourceInput = WithNulls<z.input<typeof RegisterSourceInput>>;

export const UpdateSourceInput = SourceMetadata.extend(SourceOperational.shape).partial();
export type UpdateSourceInput = WithNulls<z.input<typeof UpdateSourceInput>>;

const FieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,127}$/, 'must start with a letter and use letters, digits, "_" or "."');
const Tag = z.string().trim().min(1).max(64);
const GOLDEN_FIELDS = CANONICAL_FIELD_SPECS.map((f) => f.name) as [string, ...string[]];

export const ClassifyFieldInput = z.object({
  source: SourceCode,
  dataset: text(200).nullish(),
  field: FieldName,
  phiClass: z.enum(phiClass.enumValues).optional(),
  dataType: text(64).optional(),
  description: optionalText(4000),
  goldenField: z.enum(GOLDEN_FIELDS).nullish(),
  // null clears a list.
  glossaryTerms: z
    .array(text(200))
    .max(50)
    .nullish()
    .transform((v) => (v === null ? [] : v)),
  tags: z
    .array(Tag)
    .max(50)
    .nullish()
    .transform((v) => (v === null ? [] : v)),
});
export type ClassifyFieldInput = WithNulls<z.input<typeof ClassifyFieldInput>>;

export const FieldFilter = z
  .object({
    /** Matches field, dataset or description text, case-insensitively. */
    search: text(200).nullish(),
    tag: Tag.nullish(),
    owner: text(200).nullish(),
    phiClass: z.enum(phiClass.enumValues).nullish(),
    source: SourceCode.nullish(),
    glossaryTerm: text(200).nullish(),
  })
  .nullish();
export type FieldFilter = z.input<typeof FieldFilter>;

export const GlossaryTermInput = z.object({ term: text(200), definition: text(4000) });

/** Parses input with a zod schema; problems name the field and the rule, never the value. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      field: issue.path.join('.') || 'input',
      code: schemaRuleCode(issue.code),
      message: issue.message,
    })),
  );
}
