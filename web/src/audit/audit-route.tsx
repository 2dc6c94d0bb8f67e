import { Alert, Badge, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type VariablesOf } from '../graphql.ts';
import { CursorPager, useCursorParams } from '../shell/cursor-pager.tsx';
import { formatDateTime } from '../shell/format.ts';
import { RequireCapability } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';

const AuditLogQuery = graphql(`
  query AuditLog($filter: AuditFilter, $first: Int, $after: String, $last: Int, $before: String) {
    auditLog(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges {
        node {
          id
          at
          actor
          role
          action
          outcome
          objectIds
          fields
          requestId
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

const VerifyQuery = graphql(`
  query VerifyAuditChain {
    verifyAuditChain {
      valid
      entriesChecked
      firstInvalidId
    }
  }
`);

type Outcome = NonNullable<NonNullable<VariablesOf<typeof AuditLogQuery>['filter']>['outcome']>;

function ChainStatus() {
  const [{ data, fetching, error }, verify] = useQuery({ query: VerifyQuery, pause: true });
  return (
    <Group>
      <Button variant="light" onClick={() => verify({ requestPolicy: 'network-only' })} loading={fetching}>
        Verify the hash chain
      </Button>
      {error && <ErrorState error={error} />}
      {data &&
        (data.verifyAuditChain.valid ? (
          <Alert color="green" py={6} data-testid="chain-status">
            Chain intact: {data.verifyAuditChain.entriesChecked} entries checked.
          </Alert>
        ) : (
          <Alert color="red" py={6} data-testid="chain-status">
            Chain broken at entry {data.verifyAuditChain.firstInvalidId}.
          </Alert>
        ))}
    </Group>
  );
}

function Audit() {
  const { params, page, after, set } = useCursorParams(50);
  const actor = params.get('actor') ?? '';
  const action = params.get('action') ?? '';
  const outcome = params.get('outcome') as Outcome | null;
  const [draft, setDraft] = useState({ actor, action });
  const filter = { ...(actor ? { actor } : {}), ...(action ? { action } : {}), ...(outcome ? { outcome } : {}) };
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: AuditLogQuery,
    variables: { filter, ...page },
    requestPolicy: 'cache-and-network',
  });
  const edges = data?.auditLog.edges ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Audit trail</Title>
        <ChainStatus />
      </Group>
      <Group
        align="flex-end"
        component="form"
        onSubmit={(e) => {
          e.preventDefault();
          set({ actor: draft.actor, action: draft.action, after: null, before: null });
        }}
      >
        <TextInput
          label="Actor"
          placeholder="api-key:steward"
          value={draft.actor}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, actor: v }));
          }}
        />
        <TextInput
          label="Action"
          placeholder="mutation:*"
          value={draft.action}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, action: v }));
          }}
        />
        <Select
          label="Outcome"
          clearable
          data={['SUCCESS', 'DENIED', 'ERROR']}
          value={outcome}
          onChange={(v) => set({ outcome: v, after: null, before: null })}
        />
        <Button type="submit">Filter</Button>
      </Group>
      {error && <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {fetching && !data && <LoadingState label="Loading the audit trail" />}
      {data && edges.length === 0 && <EmptyState>No audit entries match.</EmptyState>}
      {edges.length > 0 && (
        <Table striped aria-label="Audit entries" data-testid="audit-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">When</Table.Th>
              <Table.Th scope="col">Actor</Table.Th>
              <Table.Th scope="col">Role</Table.Th>
              <Table.Th scope="col">Action</Table.Th>
              <Table.Th scope="col">Outcome</Table.Th>
              <Table.Th scope="col">Objects</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {edges.map(({ node }) => (
              <Table.Tr key={node.id}>
                <Table.Td>{formatDateTime(node.at)}</Table.Td>
                <Table.Td>{node.actor}</Table.Td>
                <Table.Td>{node.role}</Table.Td>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {node.action}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={node.outcome === 'SUCCESS' ? 'green' : node.outcome === 'DENIED' ? 'orange' : 'red'} variant="light">
                    {node.outcome}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace">
                    {node.objectIds.slice(0, 3).join(' ')}
                    {node.objectIds.length > 3 ? ` +${node.objectIds.length - 3}` : ''}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <CursorPager pageInfo={data?.auditLog.pageInfo} shown={edges.length} after={after} onPage={set} />
    </Stack>
  );
}

export function Component() {
  usePageTitle('Audit');
  return (
    <RequireCapability capability="readAudit">
      <Audit />
    </RequireCapability>
  );
}
