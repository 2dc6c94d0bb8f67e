import { Badge, Code, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from 'urql';
import { graphql, type VariablesOf } from '../graphql.ts';
import { CursorPager, useCursorParams } from '../shell/cursor-pager.tsx';
import { formatDateTime } from '../shell/format.ts';
import { RequireCapability } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';

const IngestRunsQuery = graphql(`
  query IngestRuns($status: IngestRunStatus, $first: Int, $after: String, $last: Int, $before: String) {
    ingestRuns(status: $status, first: $first, after: $after, last: $last, before: $before) {
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

type Status = NonNullable<VariablesOf<typeof IngestRunsQuery>['status']>;
const STATUS_COLOR: Record<Status, string> = { RUNNING: 'blue', COMPLETED: 'green', FAILED: 'red', ABORTED: 'orange' };

function Runs() {
  const { params, page, after, set } = useCursorParams(50);
  const status = params.get('status') as Status | null;
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: IngestRunsQuery,
    variables: { ...(status ? { status } : {}), ...page },
    requestPolicy: 'cache-and-network',
  });
  const edges = data?.ingestRuns.edges ?? [];
  return (
    <Stack>
      <Title order={2}>Ingest runs</Title>
      <Select
        label="Status"
        w={200}
        clearable
        data={Object.keys(STATUS_COLOR)}
        value={status}
        onChange={(v) => set({ status: v, after: null, before: null })}
      />
      {error && <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {fetching && !data && <LoadingState label="Loading ingest runs" />}
      {data && edges.length === 0 && <EmptyState>No ingest runs yet: batch imports, feeds and recomputes appear here.</EmptyState>}
      {edges.length > 0 && (
        <Table striped aria-label="Ingest runs" data-testid="runs-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Job</Table.Th>
              <Table.Th scope="col">Source</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">Started</Table.Th>
              <Table.Th scope="col">Ended</Table.Th>
              <Table.Th scope="col">Counts</Table.Th>
              <Table.Th scope="col">Errors</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {edges.map(({ node }) => (
              <Table.Tr key={node.id}>
                <Table.Td>{node.job}</Table.Td>
                <Table.Td>{node.source?.code ?? '—'}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[node.status]} variant="light">
                    {node.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{formatDateTime(node.startedAt)}</Table.Td>
                <Table.Td>{formatDateTime(node.endedAt)}</Table.Td>
                <Table.Td>
                  <Code>
                    {Object.entries((node.counts ?? {}) as Record<string, unknown>)
                      .map(([k, v]) => `${k} ${String(v)}`)
                      .join(', ') || '—'}
                  </Code>
                </Table.Td>
                <Table.Td>
                  {node.errors.length === 0
                    ? '—'
                    : node.errors.slice(0, 3).map((e, i) => (
                        <Text key={i} size="xs">
                          {e.line ? `line ${e.line}: ` : ''}
                          {e.field ? `${e.field} ` : ''}
                          {e.code}
                        </Text>
                      ))}
                  {node.errors.length > 3 && (
                    <Text size="xs" c="dimmed">
                      +{node.errors.length - 3} more
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <CursorPager pageInfo={data?.ingestRuns.pageInfo} shown={edges.length} after={after} onPage={set} />
    </Stack>
  );
}

export function Component() {
  usePageTitle('Ingest runs');
  return (
    <RequireCapability capability="readIngestRuns">
      <Runs />
    </RequireCapability>
  );
}
