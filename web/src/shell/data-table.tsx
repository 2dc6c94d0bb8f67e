import { Table } from '@mantine/core';
import { memo, useCallback, type ComponentPropsWithoutRef, type MouseEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import type { UseQueryExecute, UseQueryState } from 'urql';
import { CursorPager, type PageInfo } from './cursor-pager.tsx';
import { EmptyState, ErrorState, LoadingState } from './states.tsx';

/**
 * A link to another screen inside a table row: a plain anchor, which the table's click handler hands to the router
 * (a plain click navigates in place; a modified or middle click opens a tab as the browser does). A react-router
 * `Link` per row resolved its path and subscribed to the location and navigation on every render: the largest part
 * of a queue row's render.
 */
export function RowLink({ to, children }: { to: string; children: ReactNode }) {
  return (
    <a href={to} data-row-link="">
      {children}
    </a>
  );
}

/** Follows a RowLink's plain, unmodified click with the router, as `Link` does. */
function useRowLinkClicks() {
  const navigate = useNavigate();
  return useCallback(
    (event: MouseEvent<HTMLElement>) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.altKey || event.ctrlKey || event.shiftKey) return;
      const link = event.target instanceof Element ? event.target.closest('a[data-row-link]') : null;
      const to = link?.getAttribute('href');
      if (!to) return;
      event.preventDefault();
      navigate(to);
    },
    [navigate],
  );
}

/** What a row's `<tr>` may carry besides its cells (plain HTML attributes). */
export type RowAttributes = ComponentPropsWithoutRef<'tr'> & Record<`data-${string}`, string | boolean | undefined>;

/** One column: its header and how a row shows in it; `rowHeader` cells name their row for screen readers. */
export interface Column<Row> {
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  rowHeader?: boolean;
}

interface DataTableProps<Row> {
  /** The table's accessible name. */
  label: string;
  testId?: string;
  columns: ReadonlyArray<Column<Row>>;
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  rowProps?: (row: Row, index: number) => RowAttributes;
  /** Said when there are no rows (and the query, if any, has answered). */
  empty: ReactNode;
  /**
   * The query behind the rows (urql's state and its re-execute): its error, with a retry from the network, and
   * its first load (said as `loading`) are shown in place of the table.
   */
  query?: { state: Pick<UseQueryState, 'data' | 'fetching' | 'error'>; reexecute: UseQueryExecute; loading: string };
  /** Cursor paging below the table. */
  paging?: {
    pageInfo: PageInfo | undefined;
    after: string | null;
    onPage: (changes: Record<string, string | null>) => void;
    summary?: string;
  };
  striped?: boolean;
  highlightOnHover?: boolean;
}

/**
 * A table of rows with its loading, error and empty states and, for a connection, cursor paging: every list
 * screen shows these the same way.
 */
export function DataTable<Row>({ label, testId, columns, rows, rowKey, rowProps, empty, query, paging, ...table }: DataTableProps<Row>) {
  const loaded = !query || Boolean(query.state.data);
  const followRowLink = useRowLinkClicks();
  return (
    <>
      {query?.state.error && <ErrorState error={query.state.error} onRetry={() => query.reexecute({ requestPolicy: 'network-only' })} />}
      {query?.state.fetching && !loaded && <LoadingState label={query.loading} />}
      {loaded && rows.length === 0 && <EmptyState>{empty}</EmptyState>}
      {rows.length > 0 && (
        <Table striped={table.striped ?? true} highlightOnHover={table.highlightOnHover} aria-label={label} data-testid={testId}>
          <Table.Thead>
            <Table.Tr>
              {columns.map((c, i) => (
                <Table.Th key={i} scope="col">
                  {c.header}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody onClick={followRowLink}>
            {rows.map((row, index) => (
              <DataRow
                key={rowKey(row)}
                row={row}
                columns={columns as ReadonlyArray<Column<unknown>>}
                attributes={rowProps?.(row, index)}
                hover={Boolean(table.highlightOnHover)}
                striped={table.striped ?? true}
              />
            ))}
          </Table.Tbody>
        </Table>
      )}
      {paging && (
        <CursorPager
          pageInfo={paging.pageInfo}
          after={paging.after}
          onPage={paging.onPage}
          summary={paging.summary ?? `${rows.length} shown`}
        />
      )}
    </>
  );
}

const CLASSES = Table.classes;
const ROW_HEADER_STYLE = { fontWeight: 500 } as const;

function sameAttributes(a: RowAttributes | undefined, b: RowAttributes | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const keys = Object.keys(a) as Array<keyof RowAttributes>;
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * One body row as plain `<tr>`/`<td>` elements carrying the Mantine table's own classes and data attributes: it
 * looks exactly like `Table.Tr`/`Table.Td`, without a component (props, theme and style resolution) per cell,
 * which made long pages slow to render. Memoised, so moving the selection re-renders two rows, not the page.
 */
const DataRow = memo(
  function DataRow({
    row,
    columns,
    attributes,
    hover,
    striped,
  }: {
    row: unknown;
    columns: ReadonlyArray<Column<unknown>>;
    attributes: RowAttributes | undefined;
    hover: boolean;
    striped: boolean;
  }) {
    return (
      <tr
        className={CLASSES.tr}
        data-with-row-border
        data-striped={striped ? 'odd' : undefined}
        data-hover={hover || undefined}
        {...attributes}
      >
        {columns.map((c, i) =>
          c.rowHeader ? (
            <th key={i} scope="row" className={CLASSES.th} style={ROW_HEADER_STYLE}>
              {c.cell(row)}
            </th>
          ) : (
            <td key={i} className={CLASSES.td}>
              {c.cell(row)}
            </td>
          ),
        )}
      </tr>
    );
  },
  (a, b) =>
    a.row === b.row &&
    a.columns === b.columns &&
    a.hover === b.hover &&
    a.striped === b.striped &&
    sameAttributes(a.attributes, b.attributes),
);

/**
 * A DataTable of one page of a connection: its nodes (keyed by id) as rows, paged by its pageInfo and the
 * caller's cursor (`after` and `onPage` from useCursorParams).
 */
export function ConnectionTable<Row extends { id: string }>({
  connection,
  paging,
  ...table
}: Omit<DataTableProps<Row>, 'rows' | 'rowKey' | 'paging'> & {
  connection: { edges: ReadonlyArray<{ node: Row }>; pageInfo: PageInfo } | undefined;
  paging: Omit<NonNullable<DataTableProps<Row>['paging']>, 'pageInfo'>;
}) {
  return (
    <DataTable
      {...table}
      rows={(connection?.edges ?? []).map((e) => e.node)}
      rowKey={(n) => n.id}
      paging={{ ...paging, pageInfo: connection?.pageInfo }}
    />
  );
}
