import { Badge, Group, Kbd, SegmentedControl, Select, Stack, Text, Title } from '@mantine/core';
import { useHotkeys } from '@mantine/hooks';
import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useQuery } from 'urql';
import { graphql, readFragment, type ResultOf, type VariablesOf } from '../graphql.ts';
import { useCursorParams } from '../shell/cursor-pager.tsx';
import { DataTable, type Column } from '../shell/data-table.tsx';
import { screenComponent } from '../shell/require.tsx';
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
  }
`);

const ReviewQueueQuery = graphql(
  `
    query ReviewQueue($filter: ReviewQueueFilter, $orderBy: ReviewQueueOrder, $first: Int, $after: String, $last: Int, $before: String) {
      sources {
        code
      }
      reviewQueue(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
        totalCount
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

type QueueVariables = VariablesOf<typeof ReviewQueueQuery>;
type Grade = NonNullable<NonNullable<QueueVariables['filter']>['grade']>;
type Order = NonNullable<QueueVariables['orderBy']>;
type ReviewStatus = NonNullable<NonNullable<QueueVariables['filter']>['status']>;

const GRADES: Array<{ value: Grade; label: string }> = [
  { value: 'CERTAIN', label: 'Certain' },
  { value: 'PROBABLE', label: 'Probable' },
  { value: 'POSSIBLE', label: 'Possible' },
];
const ORDERS: Array<{ value: Order; label: string }> = [
  { value: 'PRIORITY', label: 'Priority' },
  { value: 'OLDEST', label: 'Oldest first' },
  { value: 'NEWEST', label: 'Newest first' },
  { value: 'PROBABILITY', label: 'Most likely match first' },
];
/** "Older than" choices, in days. */
const AGES = [
  { value: '1', label: 'Older than a day' },
  { value: '7', label: 'Older than a week' },
  { value: '30', label: 'Older than 30 days' },
];
const DAY_MS = 86_400_000;

const oneOf = <T extends string>(options: ReadonlyArray<{ value: T }>, value: string | null): T | null =>
  options.find((o) => o.value === value)?.value ?? null;

const KIND_LABEL = { RECORD_MATCH: 'Record match', POSSIBLE_DUPLICATE: 'Possible duplicate' } as const;

type Row = ResultOf<typeof QueueRowFragment>;

const QUEUE_COLUMNS: ReadonlyArray<Column<Row>> = [
  { header: 'Kind', cell: (r) => <Link to={`/review/${r.id}`}>{KIND_LABEL[r.kind]}</Link> },
  { header: 'Source', cell: (r) => r.record?.source ?? '—' },
  { header: 'Probability', cell: (r) => formatPercent(r.probability) },
  { header: 'Priority', cell: (r) => r.priority.toFixed(2) },
  { header: 'Age', cell: (r) => formatAge(r.createdAt) },
  {
    header: 'Status',
    cell: (r) =>
      r.status === 'OPEN' ? (
        <Badge variant="light">open</Badge>
      ) : (
        <Badge color="gray" variant="light">
          {r.decision ?? 'resolved'}
        </Badge>
      ),
  },
];

function Queue() {
  const { params, page: paging, after, set } = useCursorParams(QUEUE_PAGE_SIZE);
  const navigate = useNavigate();
  const status: ReviewStatus = params.get('status') === 'RESOLVED' ? 'RESOLVED' : 'OPEN';
  const grade = oneOf(GRADES, params.get('grade'));
  const orderBy = oneOf(ORDERS, params.get('sort')) ?? 'PRIORITY';
  const source = params.get('source');
  const age = oneOf(AGES, params.get('age'));
  // The cut-off is taken when the age is chosen, not on every render (which would re-query each time).
  const createdBefore = useMemo(() => (age ? new Date(Date.now() - Number(age) * DAY_MS).toISOString() : null), [age]);
  const filter = { status, grade, source, createdBefore };
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ReviewQueueQuery,
    variables: { filter, orderBy, ...paging },
    requestPolicy: 'cache-and-network',
  });
  const [selected, setSelected] = useState(0);
  const rows = (data?.reviewQueue.edges ?? []).map((e) => readFragment(QueueRowFragment, e.node));
  const filtered = Boolean(grade || source || age);

  const update = (changes: Record<string, string | null>) => {
    setSelected(0);
    set(changes);
  };
  /** A new filter or order starts again from the first page. */
  const refine = (key: string, value: string | null) => update({ [key]: value, after: null, before: null });
  const openSelected = () => {
    const id = rows[selected]?.id;
    if (id) navigate(`/review/${id}`);
  };
  useHotkeys([
    ['j', () => setSelected((s) => Math.min(s + 1, Math.max(rows.length - 1, 0)))],
    ['k', () => setSelected((s) => Math.max(s - 1, 0))],
    ['Enter', openSelected],
    ['o', openSelected],
  ]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Review queue</Title>
        <Text size="xs" c="dimmed">
          <Kbd>j</Kbd>/<Kbd>k</Kbd> move, <Kbd>Enter</Kbd> open
        </Text>
      </Group>
      <Group align="flex-end">
        <SegmentedControl
          aria-label="Status"
          value={status}
          onChange={(value) => refine('status', value)}
          data={[
            { value: 'OPEN', label: 'Open' },
            { value: 'RESOLVED', label: 'Resolved' },
          ]}
        />
        <Select label="Grade" placeholder="Any grade" data={GRADES} value={grade} onChange={(v) => refine('grade', v)} clearable w={150} />
        <Select
          label="Source"
          placeholder="Any source"
          data={(data?.sources ?? []).map((s) => s.code)}
          value={source}
          onChange={(v) => refine('source', v)}
          clearable
          searchable
          w={170}
        />
        <Select label="Age" placeholder="Any age" data={AGES} value={age} onChange={(v) => refine('age', v)} clearable w={190} />
        <Select
          label="Sort by"
          data={ORDERS}
          value={orderBy}
          onChange={(v) => refine('sort', v === 'PRIORITY' ? null : v)}
          allowDeselect={false}
          w={220}
        />
      </Group>
      <DataTable
        label="Review items"
        columns={QUEUE_COLUMNS}
        rows={rows}
        rowKey={(r) => r.id}
        rowProps={(_r, index) => ({
          bg: index === selected ? 'var(--mantine-color-indigo-light)' : undefined,
          'aria-selected': index === selected,
          'data-testid': 'queue-row',
        })}
        highlightOnHover
        empty={
          filtered
            ? 'No review items match these filters.'
            : status === 'OPEN'
              ? 'No open review items: the queue is clear.'
              : 'No resolved items yet.'
        }
        query={{ state: { data, fetching, error }, reexecute, loading: 'Loading the queue' }}
        paging={{
          pageInfo: data?.reviewQueue.pageInfo,
          after,
          onPage: update,
          summary: data ? `${rows.length} shown of ${data.reviewQueue.totalCount} ${filtered ? 'matching' : status.toLowerCase()}` : '',
        }}
      />
    </Stack>
  );
}

export const Component = screenComponent('/review', Queue);
