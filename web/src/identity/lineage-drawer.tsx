import { Badge, Drawer, Stack, Table, Text } from '@mantine/core';
import { useQuery } from 'urql';
import type { VariablesOf } from '../graphql.ts';
import { formatDateTime } from '../shell/format.ts';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { LineageQuery } from './queries.ts';

export type GoldenFieldName = VariablesOf<typeof LineageQuery>['field'];

/** Every value one golden field has held, newest first: where it came from, the rule that chose it, what it beat. */
export function LineageDrawer({
  identityId,
  field,
  label,
  onClose,
}: {
  identityId: string;
  field: GoldenFieldName | null;
  label: string;
  onClose: () => void;
}) {
  const [{ data, fetching, error }] = useQuery({
    query: LineageQuery,
    variables: { id: identityId, field: field ?? 'givenName' },
    pause: !field,
  });
  const history = data?.lineage?.history ?? [];
  return (
    <Drawer opened={field !== null} onClose={onClose} position="right" size="xl" title={`Lineage of ${label}`}>
      {error && <ErrorState error={error} />}
      {fetching && !data && <LoadingState label="Loading the lineage" />}
      {data && history.length === 0 && <EmptyState>This field has no recorded value yet.</EmptyState>}
      {history.length > 0 && (
        <Table aria-label={`Lineage of ${label}`} data-testid="lineage-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Value</Table.Th>
              <Table.Th scope="col">Source</Table.Th>
              <Table.Th scope="col">Rule</Table.Th>
              <Table.Th scope="col">From</Table.Th>
              <Table.Th scope="col">To</Table.Th>
              <Table.Th scope="col">Beat</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {history.map((row) => (
              <Table.Tr key={row.id}>
                <Table.Td>
                  {row.value ?? '—'} {row.current && <Badge size="xs">current</Badge>}
                </Table.Td>
                <Table.Td>
                  {row.source?.code ?? 'steward'}
                  {row.record ? ` · ${row.record.localId}` : ''}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{row.rule}</Text>
                  <Text size="xs" c="dimmed">
                    policy v{row.policyVersion}
                  </Text>
                </Table.Td>
                <Table.Td>{formatDateTime(row.validFrom)}</Table.Td>
                <Table.Td>{formatDateTime(row.validTo)}</Table.Td>
                <Table.Td>
                  <Stack gap={2}>
                    {row.competitors.map((c, i) => (
                      <Text size="xs" key={i}>
                        {c.value ?? '—'} ({c.source?.code ?? '?'})
                      </Text>
                    ))}
                  </Stack>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Drawer>
  );
}
