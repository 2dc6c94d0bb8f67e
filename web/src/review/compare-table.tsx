import { Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import { agreement, DEMOGRAPHIC_FIELDS, type Demographics } from '../shell/demographics.ts';

export interface CompareColumn {
  title: string;
  /** The identity this column shows, linked from its header. */
  identityId?: string | undefined;
  values: Demographics | null | undefined;
}

const AGREEMENT_STYLE = {
  agree: { bg: 'var(--mantine-color-green-light)', label: 'same' },
  differ: { bg: 'var(--mantine-color-red-light)', label: 'differs' },
  missing: { bg: undefined, label: 'missing' },
  masked: { bg: undefined, label: 'masked' },
} as const;

/** The record and its candidate side by side, field by field; each candidate cell is coloured (and labelled) by agreement with the first column. */
export function CompareTable({ columns }: { columns: readonly CompareColumn[] }) {
  const [first, ...others] = columns;
  return (
    <Table withTableBorder withColumnBorders aria-label="Field-by-field comparison" data-testid="compare-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Field</Table.Th>
          {columns.map((column) => (
            <Table.Th scope="col" key={column.title}>
              {column.identityId ? <Link to={`/identities/${column.identityId}`}>{column.title}</Link> : column.title}
            </Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {DEMOGRAPHIC_FIELDS.map(([field, label]) => {
          const base = first?.values?.[field];
          if (!base && others.every((c) => !c.values?.[field])) return null;
          return (
            <Table.Tr key={field}>
              <Table.Th scope="row" fw={500}>
                {label}
              </Table.Th>
              <Table.Td>
                {base ?? (
                  <Text span c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
              {others.map((column) => {
                const value = column.values?.[field];
                const state = agreement(base, value);
                const style = AGREEMENT_STYLE[state];
                return (
                  <Table.Td key={column.title} bg={style.bg} data-agreement={state}>
                    {value ?? (
                      <Text span c="dimmed">
                        —
                      </Text>
                    )}{' '}
                    {state !== 'missing' && (
                      <Text span size="xs" fw={700} c="dark">
                        ({style.label})
                      </Text>
                    )}
                  </Table.Td>
                );
              })}
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}
