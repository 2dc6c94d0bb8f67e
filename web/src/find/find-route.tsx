import { Button, Card, Group, SegmentedControl, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useClient, useQuery, type CombinedError } from 'urql';
import { useSession } from '../auth/session-context.tsx';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { DataTable, RowLink, type Column } from '../shell/data-table.tsx';
import { screenComponent } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';

const ByNameQuery = graphql(`
  query FindByName($filter: IdentityFilter!, $first: Int, $after: String, $last: Int, $before: String) {
    identities(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges {
        node {
          id
          golden {
            givenName
            familyName
            birthDate
            sex
            city
          }
          records {
            id
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

const ByRecordQuery = graphql(`
  query FindByRecord($source: String!, $localId: String!) {
    sourceRecord(source: $source, localId: $localId) {
      id
      identity {
        id
      }
    }
  }
`);

/** What an enterprise id looks like (a UUID). */
const ENTERPRISE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Identities per page of name-search results. */
const FIND_PAGE_SIZE = 50;

type Hit = ResultOf<typeof ByNameQuery>['identities']['edges'][number]['node'];
type NameSearch = VariablesOf<typeof ByNameQuery>;
type Mode = 'name' | 'record' | 'id';

const NO_VALUE = '—';
const HIT_COLUMNS: ReadonlyArray<Column<Hit>> = [
  {
    header: 'Name',
    cell: (hit) => (
      <RowLink to={`/identities/${hit.id}`}>{[hit.golden.givenName, hit.golden.familyName].filter(Boolean).join(' ') || hit.id}</RowLink>
    ),
    rowHeader: true,
  },
  { header: 'Birth date', cell: (hit) => hit.golden.birthDate ?? NO_VALUE },
  { header: 'Sex', cell: (hit) => hit.golden.sex ?? NO_VALUE },
  { header: 'City', cell: (hit) => hit.golden.city ?? NO_VALUE },
  { header: 'Records', cell: (hit) => hit.records.length },
];

/**
 * Search criteria are patient data: they stay in this component's memory (never the URL, title or history),
 * and the last search is kept only until the tab closes so "back" from an identity shows the results again.
 */
let lastSearch: { mode: Mode; fields: Record<string, string>; byName: NameSearch | null } = { mode: 'name', fields: {}, byName: null };

/**
 * One page of a name search as the shared table, paged by cursor. The cursors stay in memory with the criteria:
 * a page of results is not an address to share. Masked values are shown as the API sends them, marked so.
 */
function NameResults({ search, onPage }: { search: NameSearch; onPage: (changes: Record<string, string | null>) => void }) {
  const session = useSession();
  const [{ data, fetching, error }, reexecute] = useQuery({ query: ByNameQuery, variables: search, requestPolicy: 'network-only' });
  const rows = (data?.identities.edges ?? []).map((e) => e.node);
  return (
    <Stack gap="xs">
      {rows.length > 0 && !session.can('seeFullDemographics') && (
        <Text size="sm" fw={500} ta="right">
          Demographics masked for your role
        </Text>
      )}
      <DataTable
        label="Matching identities"
        testId="find-results"
        columns={HIT_COLUMNS}
        rows={rows}
        rowKey={(hit) => hit.id}
        rowProps={() => ({ 'data-testid': 'find-row' })}
        highlightOnHover
        empty="No identity matches."
        query={{ state: { data, fetching, error }, reexecute, loading: 'Searching' }}
        paging={{ pageInfo: data?.identities.pageInfo, after: search.after ?? null, onPage }}
      />
    </Stack>
  );
}

function Find() {
  const client = useClient();
  const navigate = useNavigate();
  const [mode, setMode] = useState<Mode>(lastSearch.mode);
  const [fields, setFields] = useState<Record<string, string>>(lastSearch.fields);
  const [byName, setByName] = useState<NameSearch | null>(lastSearch.byName);
  const [error, setError] = useState<CombinedError | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [busy, setBusy] = useState(false);
  // Each search mounts its results afresh, so searching again with the same criteria asks the API again.
  const [searches, setSearches] = useState(0);
  const field = (name: string, label: string, extra: Record<string, unknown> = {}) => (
    <TextInput
      label={label}
      value={fields[name] ?? ''}
      onChange={(e) => {
        const value = e.currentTarget.value;
        setFields((f) => ({ ...f, [name]: value }));
      }}
      autoComplete="off"
      {...extra}
    />
  );
  const value = (name: string) => fields[name]?.trim() || undefined;
  const showByName = (next: NameSearch | null) => {
    setByName(next);
    lastSearch = { mode, fields, byName: next };
  };
  const page = (changes: Record<string, string | null>) => {
    if (!byName) return;
    const { filter } = byName;
    showByName(
      changes.before
        ? { filter, last: FIND_PAGE_SIZE, before: changes.before }
        : { filter, first: FIND_PAGE_SIZE, after: changes.after ?? null },
    );
  };

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setNotFound(false);
    if (mode === 'name') {
      setSearches((n) => n + 1);
      showByName({
        filter: { familyName: value('familyName'), givenName: value('givenName'), birthDate: value('birthDate') },
        first: FIND_PAGE_SIZE,
      });
      return;
    }
    showByName(null);
    if (mode === 'id') {
      // The identity page reads the identity (and says when there is none, or follows a merge): no lookup first.
      // Only an id goes into the URL; anything else typed here stays in memory.
      const id = value('id') ?? '';
      if (ENTERPRISE_ID.test(id)) navigate(`/identities/${id.toLowerCase()}`);
      else setNotFound(true);
      return;
    }
    setBusy(true);
    try {
      const result = await client.query(ByRecordQuery, { source: value('source') ?? '', localId: value('localId') ?? '' }).toPromise();
      if (result.error) return setError(result.error);
      const id = result.data?.sourceRecord?.identity?.id;
      if (id) navigate(`/identities/${id}`);
      else setNotFound(true);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack>
      <Title order={2}>Find a patient</Title>
      <Card withBorder component="form" onSubmit={search} aria-label="Search">
        <Stack>
          <SegmentedControl
            aria-label="Search by"
            value={mode}
            onChange={(m) => {
              setMode(m as Mode);
              setByName(null);
              setNotFound(false);
            }}
            data={[
              { value: 'name', label: 'Name and birth date' },
              { value: 'record', label: 'Source and local id' },
              { value: 'id', label: 'Enterprise id' },
            ]}
          />
          <Group align="flex-end">
            {mode === 'name' && (
              <>
                {field('familyName', 'Family name (starts with)')}
                {field('givenName', 'Given name (starts with)')}
                {field('birthDate', 'Birth date', { type: 'date' })}
              </>
            )}
            {mode === 'record' && (
              <>
                {field('source', 'Source code')}
                {field('localId', 'Local id')}
              </>
            )}
            {mode === 'id' && field('id', 'Enterprise id', { w: 380 })}
            <Button type="submit" loading={busy}>
              Search
            </Button>
          </Group>
        </Stack>
      </Card>
      {error && <ErrorState error={error} />}
      {busy && <LoadingState label="Searching" />}
      {notFound && (
        <EmptyState>
          {mode === 'id' ? 'That is not an enterprise id: it is a UUID, as the identity page shows it.' : 'Nothing found.'}
        </EmptyState>
      )}
      {mode === 'name' && byName && <NameResults key={searches} search={byName} onPage={page} />}
    </Stack>
  );
}

export const Component = screenComponent('/find', Find);
