import { PHI_CLASSES, SOURCE_KINDS, type DatasetRow, type FieldEntry, type GlossaryTermRow, type SourceRow } from '../../catalog/index.ts';
import { holds } from '../../platform/roles.ts';
import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
// Data quality belongs to the catalog domain; its module registers with this one.
import './quality.ts';

/** Catalog metadata is not patient data: nothing here marks the audit trail. */

const SourceKindEnum = builder.enumType('SourceKind', { values: SOURCE_KINDS });
export const PhiClassEnum = builder.enumType('PhiClass', {
  description: 'DIRECT_IDENTIFIER identifies a patient alone (name, SSN, phone); QUASI_IDENTIFIER in combination (birth date, ZIP, sex).',
  values: PHI_CLASSES,
});

export const Source = builder.objectRef<SourceRow>('Source');
const Dataset = builder.objectRef<{ dataset: DatasetRow; source: SourceRow }>('Dataset');
const CatalogField = builder.objectRef<FieldEntry>('CatalogField');

Source.implement({
  description: 'A system that feeds patient records into the index.',
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code', { description: 'The code records name their source by.' }),
    name: t.exposeString('name'),
    kind: t.field({ type: SourceKindEnum, resolve: (s) => s.kind as (typeof SOURCE_KINDS)[number] }),
    trustRank: t.exposeInt('trustRank', { description: 'Higher wins in source-priority survivorship (0-100).' }),
    owner: t.exposeString('owner', { nullable: true }),
    steward: t.exposeString('steward', { nullable: true }),
    contact: t.exposeString('contact', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    system: t.exposeString('system', { nullable: true, description: 'FHIR identifier.system or HL7 assigning authority.' }),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    datasets: t.field({
      type: [Dataset],
      resolve: (s, _args, ctx) => ctx.services.catalog.listDatasets(s.code),
    }),
  }),
});

Dataset.implement({
  description: 'A dataset a source feeds, such as its patient demographics.',
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.dataset.id }),
    name: t.string({ resolve: (d) => d.dataset.name }),
    description: t.string({ nullable: true, resolve: (d) => d.dataset.description }),
    owner: t.string({ nullable: true, resolve: (d) => d.dataset.owner }),
    tags: t.stringList({ resolve: (d) => d.dataset.tags }),
    source: t.field({ type: Source, resolve: (d) => d.source }),
    fields: t.field({
      type: [CatalogField],
      resolve: (d, _args, ctx) => ctx.services.catalog.fieldsOfDataset(d),
    }),
  }),
});

CatalogField.implement({
  description: 'A field of a dataset, with its PHI class and the golden field it feeds.',
  fields: (t) => ({
    id: t.id({ resolve: (f) => f.field.id }),
    name: t.string({ resolve: (f) => f.field.name }),
    dataType: t.string({ resolve: (f) => f.field.dataType }),
    description: t.string({ nullable: true, resolve: (f) => f.field.description }),
    phiClass: t.field({ type: PhiClassEnum, resolve: (f) => f.field.phiClass }),
    goldenField: t.string({ nullable: true, resolve: (f) => f.field.goldenField }),
    glossaryTerms: t.stringList({ resolve: (f) => f.field.glossaryTerms }),
    tags: t.stringList({ resolve: (f) => f.field.tags }),
    dataset: t.field({ type: Dataset, resolve: (f) => ({ dataset: f.dataset, source: f.source }) }),
    source: t.field({ type: Source, resolve: (f) => f.source }),
  }),
});

const GlossaryTerm = builder.objectRef<GlossaryTermRow>('GlossaryTerm').implement({
  fields: (t) => ({ term: t.exposeString('term'), definition: t.exposeString('definition') }),
});

const RegisterSourceInput = builder.inputType('RegisterSourceInput', {
  fields: (t) => ({
    code: t.string({ required: true, description: '1-64 letters, digits, "_" or "-".' }),
    name: t.string({ required: true }),
    kind: t.field({ type: SourceKindEnum, required: false }),
    trustRank: t.int({ required: false, description: '0-100, default 50.' }),
    owner: t.string({ required: false }),
    steward: t.string({ required: false }),
    contact: t.string({ required: false }),
    description: t.string({ required: false }),
    system: t.string({ required: false }),
    active: t.boolean({ required: false }),
  }),
});

const UpdateSourceInput = builder.inputType('UpdateSourceInput', {
  description: 'Omitted fields stay as they are; null clears an optional field. trustRank, system and active need the admin role.',
  fields: (t) => ({
    name: t.string({ required: false }),
    kind: t.field({ type: SourceKindEnum, required: false }),
    owner: t.string({ required: false }),
    steward: t.string({ required: false }),
    contact: t.string({ required: false }),
    description: t.string({ required: false }),
    trustRank: t.int({ required: false }),
    system: t.string({ required: false }),
    active: t.boolean({ required: false }),
  }),
});

const FieldFilterInput = builder.inputType('FieldFilter', {
  description: 'Every given criterion must hold. Text criteria match case-insensitive substrings.',
  fields: (t) => ({
    search: t.string({ required: false, description: 'In field or dataset names and descriptions.' }),
    tag: t.string({ required: false }),
    owner: t.string({ required: false, description: 'Dataset owner, source owner or source steward.' }),
    phiClass: t.field({ type: PhiClassEnum, required: false }),
    source: t.string({ required: false }),
    glossaryTerm: t.string({ required: false }),
  }),
});

const ClassifyFieldInput = builder.inputType('ClassifyFieldInput', {
  description:
    'Classifies a field of a source\'s dataset (default dataset: "patients"); an unknown field is added and then needs a phiClass.',
  fields: (t) => ({
    source: t.string({ required: true }),
    dataset: t.string({ required: false }),
    field: t.string({ required: true }),
    phiClass: t.field({ type: PhiClassEnum, required: false }),
    dataType: t.string({ required: false }),
    description: t.string({ required: false }),
    goldenField: t.string({ required: false }),
    glossaryTerms: t.stringList({ required: false }),
    tags: t.stringList({ required: false }),
  }),
});

/** Whether the caller may change a source's operational settings (trust rank, system, active). */
function maySetOperational(ctx: RequestContext): boolean {
  return ctx.principal !== null && holds(ctx.principal.roles, 'setTrustRank');
}

const SourceFilter = builder.inputType('SourceFilter', {
  description: 'Which sources to list.',
  fields: (t) => ({ active: t.boolean({ required: false, description: 'Only active (true) or inactive (false) sources.' }) }),
});

const DatasetFilter = builder.inputType('DatasetFilter', {
  description: 'Which datasets to list.',
  fields: (t) => ({ source: t.string({ required: false, description: "Only this source's datasets (a source code)." }) }),
});

const GlossaryFilter = builder.inputType('GlossaryFilter', {
  description: 'Which glossary terms to list.',
  fields: (t) => ({ search: t.string({ required: false, description: 'Terms whose name or definition contains this text.' }) }),
});

builder.queryFields((t) => ({
  sources: t.field({
    type: [Source],
    authScopes: { readSources: true },
    args: {
      filter: t.arg({ type: SourceFilter, required: false }),
      active: t.arg.boolean({
        required: false,
        description: 'Only active (true) or inactive (false) sources.',
        deprecationReason: 'Use filter: { active }.',
      }),
    },
    resolve: (_root, args, ctx) => ctx.services.catalog.listSources((args.filter ?? args).active ?? undefined),
  }),
  source: t.field({
    type: Source,
    nullable: true,
    authScopes: { readSources: true },
    args: { code: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.getSourceByCode(args.code),
  }),
  datasets: t.field({
    type: [Dataset],
    authScopes: { governCatalog: true },
    args: {
      filter: t.arg({ type: DatasetFilter, required: false }),
      source: t.arg.string({ required: false, deprecationReason: 'Use filter: { source }.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.catalog.listDatasets((args.filter ?? args).source ?? undefined),
  }),
  fields: t.field({
    type: [CatalogField],
    description: 'Searches the catalog by name, tag, owner, PHI class, source or glossary term.',
    authScopes: { governCatalog: true },
    args: { filter: t.arg({ type: FieldFilterInput, required: false }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.searchFields(args.filter),
  }),
  glossary: t.field({
    type: [GlossaryTerm],
    authScopes: { governCatalog: true },
    args: {
      filter: t.arg({ type: GlossaryFilter, required: false }),
      search: t.arg.string({ required: false, deprecationReason: 'Use filter: { search }.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.catalog.listGlossary((args.filter ?? args).search ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  registerSource: t.field({
    type: Source,
    description: 'Registers a feeding system with a default "patients" dataset whose canonical fields are classified.',
    authScopes: { registerSources: true },
    args: { input: t.arg({ type: RegisterSourceInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.registerSource(args.input),
  }),
  updateSource: t.field({
    type: Source,
    authScopes: { governCatalog: true },
    args: { code: t.arg.string({ required: true }), input: t.arg({ type: UpdateSourceInput, required: true }) },
    description:
      "Changes a source's catalog entry. A new trust rank recomputes, before returning, the golden records of every identity the source feeds (recorded as an ingest run).",
    resolve: async (_root, args, ctx) => {
      const before = await ctx.services.catalog.getSourceByCode(args.code);
      const updated = await ctx.services.catalog.updateSource(args.code, args.input, { allowOperational: maySetOperational(ctx) });
      if (before && updated.trustRank !== before.trustRank) {
        ctx.audit.wrote = true;
        await ctx.services.lineage.recomputeForSource(updated.id);
      }
      return updated;
    },
  }),
  classifyField: t.field({
    type: CatalogField,
    authScopes: { governCatalog: true },
    args: { input: t.arg({ type: ClassifyFieldInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.classifyField(args.input),
  }),
  defineGlossaryTerm: t.field({
    type: GlossaryTerm,
    description: 'Adds a business term to the glossary, or rewrites its definition.',
    authScopes: { governCatalog: true },
    args: { term: t.arg.string({ required: true }), definition: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.defineGlossaryTerm(args),
  }),
}));
