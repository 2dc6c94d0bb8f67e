import { Group, Kbd, NativeSelect, Stack, Text, Title } from '@mantine/core';
import { useHotkeys } from '@mantine/hooks';
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState, type ChangeEvent } from 'react';
import { useNavigate } from 'react-router';
import { useQuery } from 'urql';
import { readFragment, type ResultOf } from '../graphql.ts';
import { useCursorParams } from '../shell/cursor-pager.tsx';
import { DataTable, RowLink, type Column, type RowAttributes } from '../shell/data-table.tsx';
import { LightBadge } from '../shell/light-badge.tsx';
import { screenComponent } from '../shell/require.tsx';
import { formatAge, formatPercent } from '../shell/format.ts';
import {
  AGES,
  ageCutOff,
  GRADES,
  ORDERS,
  QUEUE_PAGE_SIZE,
  QueueRowFragment,
  queueVariables,
  queueView,
  ReviewQueueQuery,
} from './queue-query.ts';

const KIND_LABEL = { RECORD_MATCH: 'Record match', POSSIBLE_DUPLICATE: 'Possible duplicate' } as const;

type Row = ResultOf<typeof QueueRowFragment>;

const QUEUE_COLUMNS: ReadonlyArray<Column<Row>> = [
  { header: 'Kind', cell: (r) => <RowLink to={`/review/${r.id}`}>{KIND_LABEL[r.kind]}</RowLink> },
  { header: 'Source', cell: (r) => r.record?.source ?? '—' },
  { header: 'Probability', cell: (r) => formatPercent(r.probability) },
  { header: 'Priority', cell: (r) => r.priority.toFixed(2) },
  { header: 'Age', cell: (r) => formatAge(r.createdAt) },
  {
    header: 'Status',
    cell: (r) => (r.status === 'OPEN' ? <LightBadge>open</LightBadge> : <LightBadge tone="gray">{r.decision ?? 'resolved'}</LightBadge>),
  },
];

const SELECTED_ROW: RowAttributes = {
  style: { background: 'var(--mantine-color-indigo-light)' },
  'aria-selected': true,
  'data-testid': 'queue-row',
};
const ROW: RowAttributes = { 'aria-selected': false, 'data-testid': 'queue-row' };

const STATUSES = [
  { value: 'OPEN', label: 'Open' },
  { value: 'RESOLVED', label: 'Resolved' },
];
/** A native select's "no filter" choice: the empty value clears the filter from the URL. */
const anyOf = (label: string, options: ReadonlyArray<{ value: string; label: string }>) => [{ value: '', label }, ...options];
const GRADE_CHOICES = anyOf('Any grade', GRADES);
const AGE_CHOICES = anyOf('Any age', AGES);

/**
 * The queue's status, grade, source, age and order controls: Mantine's native selects, which render as the
 * browser's own `<select>` (keyboard, type-ahead and screen readers as the platform has them) without the
 * combobox machinery of a custom dropdown, whose measuring on mount was most of the queue's first render.
 */
const QueueFilters = memo(function QueueFilters({
  status,
  grade,
  source,
  age,
  orderBy,
  sources,
  onRefine,
}: ReturnType<typeof queueView> & { sources: readonly string[]; onRefine: (key: string, value: string | null) => void }) {
  const sourceChoices = useMemo(
    () =>
      anyOf(
        'Any source',
        sources.map((code) => ({ value: code, label: code })),
      ),
    [sources],
  );
  const change = (key: string) => (event: ChangeEvent<HTMLSelectElement>) => onRefine(key, event.currentTarget.value || null);
  return (
    <Group align="flex-end">
      <NativeSelect label="Status" data={STATUSES} value={status} onChange={change('status')} w={130} />
      <NativeSelect label="Grade" data={GRADE_CHOICES} value={grade ?? ''} onChange={change('grade')} w={150} />
      <NativeSelect label="Source" data={sourceChoices} value={source ?? ''} onChange={change('source')} w={170} />
      <NativeSelect label="Age" data={AGE_CHOICES} value={age ?? ''} onChange={change('age')} w={190} />
      <NativeSelect
        label="Sort by"
        data={ORDERS}
        value={orderBy}
        onChange={(event) => onRefine('sort', event.currentTarget.value === 'PRIORITY' ? null : event.currentTarget.value)}
        w={220}
      />
    </Group>
  );
});

function Queue() {
  const { params, after, set } = useCursorParams(QUEUE_PAGE_SIZE);
  const navigate = useNavigate();
  const { status, grade, orderBy, source, age } = queueView(params);
  // The cut-off is taken when the age is chosen, not on every render (which would re-query each time).
  const createdBefore = useMemo(() => ageCutOff(age), [age]);
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ReviewQueueQuery,
    variables: queueVariables(params, createdBefore),
    // The route's loader fetches this page from the network on every navigation to it; the screen reads the
    // cache or joins that request, so a visit costs one request (and one audited read), not two.
    requestPolicy: 'cache-first',
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
  // The filters render again only when a filter or the source list changes, not when rows arrive or the
  // selection moves: their handler is stable and calls the latest `refine`.
  const latestRefine = useRef(refine);
  useLayoutEffect(() => {
    latestRefine.current = refine;
  });
  const onRefine = useCallback((key: string, value: string | null) => latestRefine.current(key, value), []);
  const sourceList = data?.sources;
  const sources = useMemo(() => (sourceList ?? []).map((s) => s.code), [sourceList]);
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
      <QueueFilters status={status} grade={grade} source={source} age={age} orderBy={orderBy} sources={sources} onRefine={onRefine} />
      <DataTable
        label="Review items"
        columns={QUEUE_COLUMNS}
        rows={rows}
        rowKey={(r) => r.id}
        rowProps={(_r, index) => (index === selected ? SELECTED_ROW : ROW)}
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
