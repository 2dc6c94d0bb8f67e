import { Button, Card, Group, SegmentedControl, Stack, Table, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useClient } from 'urql';
import { graphql, type ResultOf } from '../graphql.ts';
import { screenComponent } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import type { CombinedError } from 'urql';

const ByNameQuery = graphql(`
  query FindByName($filter: IdentityFilter!) {
    identities(filter: $filter, first: 50) {
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

type Hit = ResultOf<typeof ByNameQuery>['identities']['edges'][number]['node'];
type Mode = 'name' | 'record' | 'id';

/**
 * Search criteria are patient data: they stay in this component's memory (never the URL, title or history),
 * and the last search is kept only until the tab closes so "back" from an identity shows the results again.
 */
let lastSearch: { mode: Mode; fields: Record<string, string>; hits: Hit[] | null } = { mode: 'name', fields: {}, hits: null };

function Find() {
  const client = useClient();
  const navigate = useNavigate();
  const [mode, setMode] = useState<Mode>(lastSearch.mode);
  const [fields, setFields] = useState<Record<string, string>>(lastSearch.fields);
  const [hits, setHits] = useState<Hit[] | null>(lastSearch.hits);
  const [error, setError] = useState<CombinedError | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [busy, setBusy] = useState(false);
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

  const search = async (event: FormEvent) => {
    event.preventDefault();
    if (mode === 'id') {
      // The identity page reads the identity (and says when there is none, or follows a merge): no lookup first.
      // Only an id goes into the URL; anything else typed here stays in memory.
      const id = value('id') ?? '';
      setHits(null);
      if (ENTERPRISE_ID.test(id)) navigate(`/identities/${id.toLowerCase()}`);
      else setNotFound(true);
      return;
    }
    setBusy(true);
    setError(null);
    setNotFound(false);
    try {
      if (mode === 'name') {
        const result = await client
          .query(
            ByNameQuery,
            { filter: { familyName: value('familyName'), givenName: value('givenName'), birthDate: value('birthDate') } },
            { requestPolicy: 'network-only' },
          )
          .toPromise();
        if (result.error) return setError(result.error);
        const found = result.data?.identities.edges.map((e) => e.node) ?? [];
        setHits(found);
        lastSearch = { mode, fields, hits: found };
        return;
      }
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
              setHits(null);
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
      {hits && hits.length === 0 && <EmptyState>No identity matches.</EmptyState>}
      {hits && hits.length > 0 && (
        <Table striped highlightOnHover aria-label="Matching identities" data-testid="find-results">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Name</Table.Th>
              <Table.Th scope="col">Birth date</Table.Th>
              <Table.Th scope="col">Sex</Table.Th>
              <Table.Th scope="col">City</Table.Th>
              <Table.Th scope="col">Records</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {hits.map((hit) => (
              <Table.Tr key={hit.id}>
                <Table.Td>
                  <Link to={`/identities/${hit.id}`}>
                    {[hit.golden.givenName, hit.golden.familyName].filter(Boolean).join(' ') || hit.id}
                  </Link>
                </Table.Td>
                <Table.Td>{hit.golden.birthDate ?? '—'}</Table.Td>
                <Table.Td>{hit.golden.sex ?? '—'}</Table.Td>
                <Table.Td>{hit.golden.city ?? '—'}</Table.Td>
                <Table.Td>{hit.records.length}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export const Component = screenComponent('/find', Find);
