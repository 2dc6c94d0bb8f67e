import '@mantine/charts/styles.css';
import { LineChart } from '@mantine/charts';
import { Badge, Box, Button, Card, Group, Select, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from 'urql';
import { useSearchParams } from 'react-router';
import { useSession } from '../auth/session-context.tsx';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { formatDateTime } from '../shell/format.ts';
import { screenComponent } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';

const IndexQualityQuery = graphql(`
  query IndexQuality {
    sources {
      code
    }
    latest: qualityMetrics(filter: { scope: "*" }, limit: 400) {
      metric
      value
      threshold
      breached
      measuredAt
      runId
    }
    duplicateRate: qualityMetrics(filter: { scope: "*", metric: DUPLICATE_RATE }, limit: 200) {
      value
      threshold
      breached
      measuredAt
    }
  }
`);

const ScorecardQuery = graphql(`
  query Scorecard($source: String!) {
    qualityScorecard(source: $source) {
      source
      measuredAt
      recordCount
      completeness
      validity
      uniqueness
      freshnessHours
      duplicateRate
      breaches {
        metric
        scope
        value
        threshold
      }
    }
  }
`);

const TrendQuery = graphql(`
  query Trend($metric: QualityMetric!, $scope: String!) {
    qualityMetrics(filter: { metric: $metric, scope: $scope }, limit: 200) {
      value
      threshold
      breached
      measuredAt
    }
  }
`);

const MeasureMutation = graphql(`
  mutation MeasureQuality {
    measureQuality {
      id
      breaches
      finishedAt
    }
  }
`);

type Metric = VariablesOf<typeof TrendQuery>['metric'];
type Point = ResultOf<typeof TrendQuery>['qualityMetrics'][number];

/** A metric's series over time, its threshold drawn as a line, breaches as red points and listed below. */
function TrendChart({ points, label }: { points: readonly Point[]; label: string }) {
  if (points.length === 0) return <EmptyState>Not measured yet: use “Measure now”.</EmptyState>;
  const threshold = points.at(-1)?.threshold ?? null;
  const data = points.map((p) => ({ at: formatDateTime(p.measuredAt), [label]: p.value, breached: p.breached }));
  const breaches = points.filter((p) => p.breached).length;
  return (
    <Stack gap="xs">
      {/* The chart's root is a plain div, which may not carry a label: the figure around it does. */}
      <Box component="figure" m={0} aria-label={`${label} over time`}>
        <LineChart
          h={220}
          data={data}
          dataKey="at"
          series={[{ name: label, color: 'indigo.6' }]}
          curveType="linear"
          withLegend={false}
          referenceLines={threshold === null ? [] : [{ y: threshold, label: `threshold ${threshold}`, color: 'red.6' }]}
          dotProps={{ r: 3 }}
        />
      </Box>
      <Text size="sm" c={breaches ? 'red.8' : 'dimmed'} data-testid="trend-breaches">
        {breaches} of {points.length} measurements breached the threshold{threshold === null ? ' (none set)' : ` (${threshold})`}
      </Text>
    </Stack>
  );
}

function Scorecard({ source }: { source: string }) {
  const [{ data, error, fetching }] = useQuery({ query: ScorecardQuery, variables: { source }, requestPolicy: 'cache-and-network' });
  const card = data?.qualityScorecard;
  const pct = (v: number | null | undefined) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);
  return (
    <Card withBorder data-testid={`scorecard-${source}`}>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          {source}
        </Title>
        {card && (
          <Badge color={card.breaches.length ? 'red' : 'green'} variant="light">
            {card.breaches.length} breaches
          </Badge>
        )}
      </Group>
      {error && <ErrorState error={error} />}
      {fetching && !data && <LoadingState />}
      {card && !card.measuredAt && (
        <Text size="sm" c="dimmed">
          Not measured yet.
        </Text>
      )}
      {card?.measuredAt && (
        <Table aria-label={`Scorecard of ${source}`}>
          <Table.Tbody>
            <Table.Tr>
              <Table.Th scope="row">Records</Table.Th>
              <Table.Td>{card.recordCount ?? '—'}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th scope="row">Completeness</Table.Th>
              <Table.Td>{pct(card.completeness)}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th scope="row">Validity</Table.Th>
              <Table.Td>{pct(card.validity)}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th scope="row">Uniqueness</Table.Th>
              <Table.Td>{pct(card.uniqueness)}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th scope="row">Duplicate rate</Table.Th>
              <Table.Td>{pct(card.duplicateRate)}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th scope="row">Freshness</Table.Th>
              <Table.Td>{card.freshnessHours == null ? '—' : `${card.freshnessHours.toFixed(1)} h`}</Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

const METRICS: Metric[] = [
  'DUPLICATE_RATE',
  'COMPLETENESS',
  'VALIDITY',
  'UNIQUENESS',
  'FRESHNESS_HOURS',
  'OVERLAY_SUSPECT_RATE',
  'DUPLICATE_BACKLOG',
  'REVIEW_SHARE',
  'AUTO_LINK_SHARE',
  'RECORD_COUNT',
  'IDENTITY_COUNT',
];

function Quality() {
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const metric = (params.get('metric') ?? 'RECORD_COUNT') as Metric;
  const scope = params.get('scope') ?? '*';
  const [{ data, error, fetching }, reexecute] = useQuery({ query: IndexQualityQuery, requestPolicy: 'cache-and-network' });
  const [trend] = useQuery({ query: TrendQuery, variables: { metric, scope }, requestPolicy: 'cache-and-network' });
  const [measure, runMeasure] = useMutation(MeasureMutation);
  if (error && !data) return <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />;
  if (fetching && !data) return <LoadingState label="Loading data quality" />;
  if (!data) return null;
  const lastRun = data.latest.at(-1)?.runId;
  const current = data.latest.filter((m) => m.runId === lastRun);
  const breaches = current.filter((m) => m.breached);
  const set = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Data quality</Title>
        <Group>
          {measure.data && (
            <Text size="sm" role="status">
              Measured: {measure.data.measureQuality.breaches} breaches
            </Text>
          )}
          <Button
            onClick={async () => {
              await runMeasure({});
              reexecute({ requestPolicy: 'network-only' });
            }}
            loading={measure.fetching}
            disabled={!session.can('measureQuality')}
          >
            Measure now
          </Button>
        </Group>
      </Group>
      {measure.error && <ErrorState error={measure.error} title="Measuring failed" />}
      <Card withBorder>
        <Title order={3} size="h4" mb="xs">
          Whole index{current[0] ? `, measured ${formatDateTime(current[0].measuredAt)}` : ''}
        </Title>
        {current.length === 0 && <EmptyState>Quality has not been measured yet.</EmptyState>}
        {breaches.length > 0 && (
          <Table aria-label="Threshold breaches" data-testid="breaches">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Breached metric</Table.Th>
                <Table.Th scope="col">Value</Table.Th>
                <Table.Th scope="col">Threshold</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {breaches.map((b) => (
                <Table.Tr key={b.metric} bg="var(--mantine-color-red-light)">
                  <Table.Td>{b.metric}</Table.Td>
                  <Table.Td>{b.value.toFixed(4)}</Table.Td>
                  <Table.Td>{b.threshold ?? '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {current.length > 0 && breaches.length === 0 && (
          <Text size="sm" c="var(--mantine-color-green-light-color)">
            No threshold breached.
          </Text>
        )}
      </Card>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Card withBorder>
          <Title order={3} size="h4" mb="xs">
            Duplicate rate over time
          </Title>
          <TrendChart points={data.duplicateRate} label="DUPLICATE_RATE" />
        </Card>
        <Card withBorder>
          <Group mb="xs" align="flex-end">
            <Title order={3} size="h4">
              Trend
            </Title>
            <Select size="xs" label="Metric" data={METRICS} value={metric} onChange={(v) => set('metric', v)} allowDeselect={false} />
            <Select
              size="xs"
              label="Scope"
              data={[{ value: '*', label: 'Whole index' }, ...data.sources.map((s) => ({ value: s.code, label: s.code }))]}
              value={scope}
              onChange={(v) => set('scope', v)}
              allowDeselect={false}
            />
          </Group>
          {trend.error && <ErrorState error={trend.error} />}
          {trend.data && <TrendChart points={trend.data.qualityMetrics} label={metric} />}
        </Card>
      </SimpleGrid>
      <Title order={3} size="h4">
        Scorecards by source
      </Title>
      {data.sources.length === 0 && <EmptyState>No sources registered.</EmptyState>}
      {/* Remounted after "measure now", so every scorecard reads the new run. */}
      <SimpleGrid cols={{ base: 2, lg: 3 }} key={measure.data?.measureQuality.id ?? 'before'}>
        {data.sources.map((s) => (
          <Scorecard key={s.code} source={s.code} />
        ))}
      </SimpleGrid>
    </Stack>
  );
}

export const Component = screenComponent('/quality', Quality);
