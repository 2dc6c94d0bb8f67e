import { Badge, Code, Stack, Text, Title } from '@mantine/core';
import { useQuery } from 'urql';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { ParamSelect, useCursorParams } from '../shell/cursor-pager.tsx';
import { ConnectionTable, type Column } from '../shell/data-table.tsx';
import { formatDateTime } from '../shell/format.ts';
import { screenComponent } from '../shell/require.tsx';

const IngestRunsQuery = graphql(`
  query IngestRuns($filter: IngestRunFilter, $first: Int, $after: String, $last: Int, $before: String) {
    ingestRuns(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges {
        node {
          id
          job
          status
          startedAt
          endedAt
          counts
          source {
            code
          }
          errors {
            code
            field
            line
            message
          }
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`);

type Status = NonNullable<NonNullable<VariablesOf<typeof IngestRunsQuery>['filter']>['status']>;
const STATUS_COLOR: Record<Status, string> = { RUNNING: 'blue', COMPLETED: 'green', FAILED: 'red', ABORTED: 'orange' };
type Run = ResultOf<typeof IngestRunsQuery>['ingestRuns']['edges'][number]['node'];

const RUN_COLUMNS: ReadonlyArray<Column<Run>> = [
  { header: 'Job', cell: (n) => n.job },
  { header: 'Source', cell: (n) => n.source?.code ?? '—' },
  {
    header: 'Status',
    cell: (n) => (
      <Badge color={STATUS_COLOR[n.status]} variant="light">
        {n.status}
      </Badge>
    ),
  },
  { header: 'Started', cell: (n) => formatDateTime(n.startedAt) },
  { header: 'Ended', cell: (n) => formatDateTime(n.endedAt) },
  {
    header: 'Counts',
    cell: (n) => (
      <Code>
        {Object.entries((n.counts ?? {}) as Record<string, unknown>)
          .map(([k, v]) => `${k} ${String(v)}`)
          .join(', ') || '—'}
      </Code>
    ),
  },
  { header: 'Errors', cell: (n) => <RunErrors errors={n.errors} /> },
];

/** The first few row errors of a run, and how many more there are. */
function RunErrors({ errors }: { errors: Run['errors'] }) {
  if (errors.length === 0) return '—';
  return (
    <>
      {errors.slice(0, 3).map((e, i) => (
        <Text key={i} size="xs">
          {e.line ? `line ${e.line}: ` : ''}
          {e.field ? `${e.field} ` : ''}
          {e.code}
        </Text>
      ))}
      {errors.length > 3 && (
        <Text size="xs" c="dimmed">
          +{errors.length - 3} more
        </Text>
      )}
    </>
  );
}

function Runs() {
  const { params, page, after, set } = useCursorParams(50);
  const status = params.get('status') as Status | null;
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: IngestRunsQuery,
    variables: { filter: status ? { status } : {}, ...page },
    requestPolicy: 'cache-and-network',
  });
  return (
    <Stack>
      <Title order={2}>Ingest runs</Title>
      <ParamSelect label="Status" param="status" w={200} options={Object.keys(STATUS_COLOR)} value={status} set={set} />
      <ConnectionTable
        label="Ingest runs"
        testId="runs-table"
        columns={RUN_COLUMNS}
        connection={data?.ingestRuns}
        empty="No ingest runs yet: batch imports, feeds and recomputes appear here."
        query={{ state: { data, fetching, error }, reexecute, loading: 'Loading ingest runs' }}
        paging={{ after, onPage: set }}
      />
    </Stack>
  );
}

export const Component = screenComponent('/runs', Runs);
