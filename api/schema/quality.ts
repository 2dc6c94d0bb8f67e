import {
  CANONICAL_FIELD_SPECS,
  QUALITY_METRICS,
  QUALITY_METRIC_NAMES,
  SCOPE_KINDS,
  type QualityMeasurementRow,
  type QualityMetricName,
  type QualityRunResult,
  type Scorecard,
} from '../../catalog/index.ts';
import { builder } from '../builder.ts';

/** Quality metrics are aggregates over the index, not patient data: nothing here marks the audit trail. */

const QualityMetricEnum = builder.enumType('QualityMetric', {
  values: Object.fromEntries(
    QUALITY_METRIC_NAMES.map((name) => [
      name.toUpperCase(),
      { value: name, description: `${QUALITY_METRICS[name].description} (${QUALITY_METRICS[name].unit})` },
    ]),
  ) as Record<Uppercase<QualityMetricName>, { value: QualityMetricName; description: string }>,
});

const QualityScopeKindEnum = builder.enumType('QualityScopeKind', {
  description:
    'INDEX: the whole index (scope "*"). SOURCE: one source (scope = its code). FIELD: one field of one source (scope "CODE.field").',
  values: SCOPE_KINDS,
});

const QualityMeasurement = builder.objectRef<QualityMeasurementRow>('QualityMeasurement').implement({
  description: 'One value of one metric at one scope, from one measurement run.',
  fields: (t) => ({
    metric: t.field({ type: QualityMetricEnum, resolve: (m) => m.metric as QualityMetricName }),
    scopeKind: t.field({ type: QualityScopeKindEnum, resolve: (m) => m.scopeKind }),
    scope: t.exposeString('scope'),
    value: t.exposeFloat('value'),
    numerator: t.exposeFloat('numerator', { nullable: true }),
    denominator: t.exposeFloat('denominator', { nullable: true }),
    threshold: t.exposeFloat('threshold', {
      nullable: true,
      description: 'A floor or a ceiling, depending on which way the metric improves.',
    }),
    breached: t.exposeBoolean('breached'),
    measuredAt: t.expose('measuredAt', { type: 'DateTime' }),
    runId: t.exposeID('runId'),
  }),
});

const QualityRun = builder.objectRef<QualityRunResult>('QualityRun').implement({
  fields: (t) => ({
    id: t.id({ resolve: (r) => r.run.id }),
    status: t.string({ resolve: (r) => r.run.status }),
    trigger: t.string({ resolve: (r) => r.run.trigger }),
    startedAt: t.field({ type: 'DateTime', resolve: (r) => r.run.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.run.finishedAt }),
    breaches: t.int({ resolve: (r) => r.measurements.filter((m) => m.breached).length }),
    measurements: t.field({
      type: [QualityMeasurement],
      args: {
        metric: t.arg({ type: QualityMetricEnum, required: false }),
        scopeKind: t.arg({ type: QualityScopeKindEnum, required: false }),
        breachedOnly: t.arg.boolean({ required: false }),
      },
      resolve: (r, args) =>
        r.measurements.filter(
          (m) =>
            (!args.metric || m.metric === args.metric) &&
            (!args.scopeKind || m.scopeKind === args.scopeKind) &&
            (!args.breachedOnly || m.breached),
        ),
    }),
  }),
});

interface FieldQualityShape {
  field: string;
  completeness: QualityMeasurementRow | undefined;
  validity: QualityMeasurementRow | undefined;
}

const FieldQuality = builder.objectRef<FieldQualityShape>('FieldQuality').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    completeness: t.float({ nullable: true, resolve: (f) => f.completeness?.value ?? null }),
    validity: t.float({
      nullable: true,
      resolve: (f) => f.validity?.value ?? null,
      description: 'Null for fields without a validity rule or without values.',
    }),
    breached: t.boolean({ resolve: (f) => Boolean(f.completeness?.breached || f.validity?.breached) }),
  }),
});

const sourceValue = (card: Scorecard, metric: QualityMetricName) =>
  card.measurements.find((m) => m.scopeKind === 'SOURCE' && m.metric === metric)?.value ?? null;

const QualityScorecard = builder.objectRef<Scorecard>('QualityScorecard').implement({
  description: 'The latest measured quality of one source and its fields.',
  fields: (t) => ({
    source: t.exposeString('source'),
    measuredAt: t.expose('measuredAt', { type: 'DateTime', nullable: true, description: 'Null until quality has been measured.' }),
    recordCount: t.int({
      nullable: true,
      resolve: (c) => {
        const v = sourceValue(c, 'record_count');
        return v === null ? null : Math.round(v);
      },
    }),
    completeness: t.float({ nullable: true, resolve: (c) => sourceValue(c, 'completeness') }),
    validity: t.float({ nullable: true, resolve: (c) => sourceValue(c, 'validity') }),
    uniqueness: t.float({ nullable: true, resolve: (c) => sourceValue(c, 'uniqueness') }),
    freshnessHours: t.float({ nullable: true, resolve: (c) => sourceValue(c, 'freshness_hours') }),
    duplicateRate: t.float({ nullable: true, resolve: (c) => sourceValue(c, 'duplicate_rate') }),
    fields: t.field({
      type: [FieldQuality],
      resolve: (c) =>
        CANONICAL_FIELD_SPECS.map((f) => {
          const at = (metric: string) =>
            c.measurements.find((m) => m.scopeKind === 'FIELD' && m.metric === metric && m.scope === `${c.source}.${f.name}`);
          return { field: f.name, completeness: at('completeness'), validity: at('validity') };
        }),
    }),
    measurements: t.field({ type: [QualityMeasurement], resolve: (c) => c.measurements }),
    breaches: t.field({ type: [QualityMeasurement], resolve: (c) => c.measurements.filter((m) => m.breached) }),
  }),
});

const QualityMetricFilter = builder.inputType('QualityMetricFilter', {
  description: 'Which measurements to list; every given criterion must hold.',
  fields: (t) => ({
    scope: t.string({ required: false, description: '"*" (the whole index), a source code, or "CODE.field".' }),
    metric: t.field({ type: QualityMetricEnum, required: false }),
    from: t.field({ type: 'DateTime', required: false, description: 'Measured at or after this instant.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Measured at or before this instant.' }),
  }),
});

builder.queryFields((t) => ({
  qualityMetrics: t.field({
    type: [QualityMeasurement],
    description:
      'A time series, oldest first: the newest `limit` (default 1000) points the filter matches. ' +
      'Scope "*" is the whole index, a source code a source, "CODE.field" one field.',
    authScopes: { governQuality: true },
    args: {
      filter: t.arg({ type: QualityMetricFilter, required: false }),
      scope: t.arg.string({ required: false, deprecationReason: 'Use filter: { scope }.' }),
      metric: t.arg({ type: QualityMetricEnum, required: false, deprecationReason: 'Use filter: { metric }.' }),
      from: t.arg({ type: 'DateTime', required: false, deprecationReason: 'Use filter: { from }.' }),
      to: t.arg({ type: 'DateTime', required: false, deprecationReason: 'Use filter: { to }.' }),
      limit: t.arg.int({ required: false }),
    },
    resolve: (_root, args, ctx) => {
      // The filter wins when given, as for the other lists; the flat arguments still work on their own.
      const filter = args.filter ?? { scope: args.scope, metric: args.metric, from: args.from, to: args.to };
      return ctx.services.catalog.qualitySeries({ ...filter, limit: args.limit });
    },
  }),
  qualityScorecard: t.field({
    type: QualityScorecard,
    authScopes: { governQuality: true },
    args: { source: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.qualityScorecard(args.source),
  }),
}));

builder.mutationFields((t) => ({
  measureQuality: t.field({
    type: QualityRun,
    description: 'Measures every quality metric now and stores the results as one run of the time series.',
    authScopes: { governQuality: true },
    resolve: (_root, _args, ctx) => ctx.services.catalog.measureQuality(),
  }),
}));
