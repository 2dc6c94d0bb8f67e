import { Badge, Button, Group, Kbd, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useHotkeys } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { graphql, readFragment, type FragmentOf } from '../graphql.ts';
import { RequireCapability } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';
import { formatAge, formatPercent } from '../shell/format.ts';

/** Items per page of the queue. */
export const QUEUE_PAGE_SIZE = 50;

export const QueueRowFragment = graphql(`
  fragment QueueRow on ReviewItem {
    id
    kind
    status
    priority
    probability
    createdAt
    decidedBy
    decision
    record {
      id
      source
    }
    identityA {
      id
    }
    identityB {
      id
    }
  }
`);

const ReviewQueueQuery = graphql(
  `
    query ReviewQueue($status: ReviewStatus, $first: Int, $after: String, $last: Int, $before: String) {
      reviewQueue(status: $status, first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            id
            ...QueueRow
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
  `,
  [QueueRowFragment],
);

const KIND_LABEL = { RECORD_MATCH: 'Record match', POSSIBLE_DUPLICATE: 'Possible duplicate' } as const;

function QueueRow({ item, selected }: { item: FragmentOf<typeof QueueRowFragment>; selected: boolean }) {
  const row = readFragment(QueueRowFragment, item);
  return (
    <Table.Tr bg={selected ? 'var(--mantine-color-indigo-light)' : undefined} aria-selected={selected} data-testid="queue-row">
      <Table.Td>
        <Link to={`/review/${row.id}`}>{KIND_LABEL[row.kind]}</Link>
      </Table.Td>
      <Table.Td>{row.record?.source ?? '—'}</Table.Td>
      <Table.Td>{formatPercent(row.probability)}</Table.Td>
      <Table.Td>{row.priority.toFixed(2)}</Table.Td>
      <Table.Td>{formatAge(row.createdAt)}</Table.Td>
      <Table.Td>
        {row.status === 'OPEN' ? (
          <Badge variant="light">open</Badge>
        ) : (
          <Badge color="gray" variant="light">
            {row.decision ?? 'resolved'}
          </Badge>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

function Queue() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const status = params.get('status') === 'RESOLVED' ? 'RESOLVED' : 'OPEN';
  const after = params.get('after');
  const before = params.get('before');
  const variables = before ? ({ status, last: QUEUE_PAGE_SIZE, before } as const) : ({ status, first: QUEUE_PAGE_SIZE, after } as const);
  const [{ data, fetching, error }, reexecute] = useQuery({ query: ReviewQueueQuery, variables, requestPolicy: 'cache-and-network' });
  const [selected, setSelected] = useState(0);
  const edges = data?.reviewQueue.edges ?? [];
  const page = data?.reviewQueue.pageInfo;

  const update = (next: Record<string, string | null>) => {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    setSelected(0);
    setParams(merged);
  };
  useHotkeys([
    ['j', () => setSelected((s) => Math.min(s + 1, Math.max(edges.length - 1, 0)))],
    ['k', () => setSelected((s) => Math.max(s - 1, 0))],
    [
      'Enter',
      () => {
        const id = edges[selected]?.node.id;
        if (id) navigate(`/review/${id}`);
      },
    ],
    [
      'o',
      () => {
        const id = edges[selected]?.node.id;
        if (id) navigate(`/review/${id}`);
      },
    ],
  ]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Review queue</Title>
        <Text size="xs" c="dimmed">
          <Kbd>j</Kbd>/<Kbd>k</Kbd> move, <Kbd>Enter</Kbd> open
        </Text>
      </Group>
      <Group>
        <SegmentedControl
          aria-label="Status"
          value={status}
          onChange={(value) => update({ status: value, after: null, before: null })}
          data={[
            { value: 'OPEN', label: 'Open' },
            { value: 'RESOLVED', label: 'Resolved' },
          ]}
        />
      </Group>
      {error && <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {fetching && !data && <LoadingState label="Loading the queue" />}
      {data && edges.length === 0 && (
        <EmptyState>{status === 'OPEN' ? 'No open review items: the queue is clear.' : 'No resolved items yet.'}</EmptyState>
      )}
      {edges.length > 0 && (
        <Table striped highlightOnHover aria-label="Review items">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Kind</Table.Th>
              <Table.Th scope="col">Source</Table.Th>
              <Table.Th scope="col">Probability</Table.Th>
              <Table.Th scope="col">Priority</Table.Th>
              <Table.Th scope="col">Age</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {edges.map((edge, index) => (
              <QueueRow key={edge.node.id} item={edge.node} selected={index === selected} />
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {edges.length} shown
        </Text>
        <Group>
          <Button
            variant="default"
            disabled={!page?.hasPreviousPage && !after}
            onClick={() => update({ before: page?.startCursor ?? null, after: null })}
          >
            Previous
          </Button>
          <Button variant="default" disabled={!page?.hasNextPage} onClick={() => update({ after: page?.endCursor ?? null, before: null })}>
            Next
          </Button>
        </Group>
      </Group>
    </Stack>
  );
}

export function Component() {
  usePageTitle('Review queue');
  return (
    <RequireCapability capability="workQueue">
      <Queue />
    </RequireCapability>
  );
}
