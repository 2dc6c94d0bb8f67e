import { Table, type TableTrProps } from '@mantine/core';
import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { CursorPager, type PageInfo } from './cursor-pager.tsx';
import { EmptyState, ErrorState, LoadingState } from './states.tsx';

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
  rowProps?: (row: Row, index: number) => TableTrProps & Record<`data-${string}`, string>;
  /** Said when there are no rows (and the query, if any, has answered). */
  empty: ReactNode;
  /** The query behind the rows: its error (with a retry) and its first load are shown in place of the table. */
  query?: { fetching: boolean; error?: CombinedError | undefined; loaded: boolean; loading: string; onRetry: () => void };
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
  return (
    <>
      {query?.error && <ErrorState error={query.error} onRetry={query.onRetry} />}
      {query && query.fetching && !query.loaded && <LoadingState label={query.loading} />}
      {(!query || query.loaded) && rows.length === 0 && <EmptyState>{empty}</EmptyState>}
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
          <Table.Tbody>
            {rows.map((row, index) => (
              <Table.Tr key={rowKey(row)} {...rowProps?.(row, index)}>
                {columns.map((c, i) =>
                  c.rowHeader ? (
                    <Table.Th key={i} scope="row" fw={500}>
                      {c.cell(row)}
                    </Table.Th>
                  ) : (
                    <Table.Td key={i}>{c.cell(row)}</Table.Td>
                  ),
                )}
              </Table.Tr>
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
