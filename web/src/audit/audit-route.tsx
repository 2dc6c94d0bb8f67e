import { Alert, Badge, Button, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { ParamSelect, useCursorParams } from '../shell/cursor-pager.tsx';
import { ConnectionTable, type Column } from '../shell/data-table.tsx';
import { formatDateTime } from '../shell/format.ts';
import { screenComponent } from '../shell/require.tsx';
import { ErrorState } from '../shell/states.tsx';

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
      message
      checkpoint {
        position
        at
      }
    }
  }
`);

type Outcome = NonNullable<NonNullable<VariablesOf<typeof AuditLogQuery>['filter']>['outcome']>;
type Entry = ResultOf<typeof AuditLogQuery>['auditLog']['edges'][number]['node'];
const OUTCOME_COLOR: Record<Outcome, string> = { SUCCESS: 'green', DENIED: 'orange', ERROR: 'red', NOT_FOUND: 'yellow', EMPTY: 'gray' };

const AUDIT_COLUMNS: ReadonlyArray<Column<Entry>> = [
  { header: 'When', cell: (n) => formatDateTime(n.at) },
  { header: 'Actor', cell: (n) => n.actor },
  { header: 'Role', cell: (n) => n.role },
  {
    header: 'Action',
    cell: (n) => (
      <Text size="sm" ff="monospace">
        {n.action}
      </Text>
    ),
  },
  {
    header: 'Outcome',
    cell: (n) => (
      <Badge color={OUTCOME_COLOR[n.outcome]} variant="light">
        {n.outcome}
      </Badge>
    ),
  },
  {
    header: 'Objects',
    cell: (n) => (
      <Text size="xs" ff="monospace">
        {n.objectIds.slice(0, 3).join(' ')}
        {n.objectIds.length > 3 ? ` +${n.objectIds.length - 3}` : ''}
      </Text>
    ),
  },
];

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
            Chain intact: {data.verifyAuditChain.entriesChecked} entries checked
            {data.verifyAuditChain.checkpoint
              ? `, up to entry ${data.verifyAuditChain.checkpoint.position} as the checkpoint of ${formatDateTime(data.verifyAuditChain.checkpoint.at)} signed.`
              : '; no checkpoint to check its end against.'}
          </Alert>
        ) : (
          <Alert color="red" py={6} data-testid="chain-status">
            Chain broken: {data.verifyAuditChain.message}.
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
        <ParamSelect label="Outcome" param="outcome" options={Object.keys(OUTCOME_COLOR)} value={outcome} set={set} />
        <Button type="submit">Filter</Button>
      </Group>
      <ConnectionTable
        label="Audit entries"
        testId="audit-table"
        columns={AUDIT_COLUMNS}
        connection={data?.auditLog}
        empty="No audit entries match."
        query={{ state: { data, fetching, error }, reexecute, loading: 'Loading the audit trail' }}
        paging={{ after, onPage: set }}
      />
    </Stack>
  );
}

export const Component = screenComponent('/audit', Audit);
