import { isUuid } from '../../identity/index.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import { IngestRun, IngestRunStatusEnum } from './lineage.ts';

const IngestRunErrorInput = builder.inputType('IngestRunErrorInput', {
  description: "A problem with one input row. Name the field and the problem; never put the patient's value in it.",
  fields: (t) => ({
    line: t.int({ required: false }),
    field: t.string({ required: false }),
    code: t.string({ required: true }),
    message: t.string({ required: true }),
  }),
});

builder.mutationFields((t) => ({
  startIngestRun: t.field({
    type: IngestRun,
    description:
      'Starts a batch or stream session (an OpenLineage run) for a source; pass its id to ingestRecords. An unknown source is registered when MPI_AUTO_REGISTER_SOURCES is on, as ingest registers it.',
    authScopes: { ingest: true },
    args: { source: t.arg.string({ required: true }), job: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const sourceId = await ctx.services.ingest.runSource(args.source);
      return ctx.services.lineage.startRun({ sourceId, job: args.job });
    },
  }),
  finishIngestRun: t.field({
    type: IngestRun,
    description: 'Ends a run with the counts its batches added up, the rows it could not load, and its status.',
    authScopes: { ingest: true },
    args: {
      id: t.arg.id({ required: true }),
      status: t.arg({ type: IngestRunStatusEnum, required: false, defaultValue: 'COMPLETED' }),
      errors: t.arg({ type: [IngestRunErrorInput], required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const id = String(args.id);
      const run = isUuid(id) ? await ctx.services.lineage.getRun(id) : null;
      if (!run) throw new NotFoundError('Ingest run');
      const errors = (args.errors ?? []).map((e) => ({
        code: e.code,
        message: e.message,
        ...(e.line == null ? {} : { line: e.line }),
        ...(e.field == null ? {} : { field: e.field }),
      }));
      const status = args.status === 'RUNNING' || !args.status ? 'COMPLETED' : args.status;
      return ctx.services.lineage.finishRun(id, { ...run.counts, rejected: errors.length }, errors, status);
    },
  }),
}));
