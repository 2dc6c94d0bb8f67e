import '@mantine/charts/styles.css';
import { BarChart } from '@mantine/charts';
import { Badge, Group, Stack, Table, Text } from '@mantine/core';
import { graphql, readFragment, type FragmentOf } from '../graphql.ts';

export const ExplanationFragment = graphql(`
  fragment Explanation on MatchExplanation {
    prior
    conflicts
    contributions {
      comparison
      level
      weight
      tfAdjustment
    }
  }
`);

const SERIES = 'log2 weight';

/** The Fellegi-Sunter sum behind a score: prior, then each comparison's weight, to the match weight and its probability. */
export function ExplanationWaterfall({
  explanation,
  probability,
  blockers,
}: {
  explanation: FragmentOf<typeof ExplanationFragment>;
  probability: number;
  blockers: readonly string[];
}) {
  const e = readFragment(ExplanationFragment, explanation);
  const total = e.prior + e.contributions.reduce((sum, c) => sum + c.weight, 0);
  // A comparison with a value missing on either side adds nothing; listing it would only push the others down.
  const shown = e.contributions.filter((c) => c.level !== 'null' || c.weight !== 0);
  const skipped = e.contributions.length - shown.length;
  const data = [
    { step: 'prior', [SERIES]: round(e.prior), color: 'gray.6' },
    ...shown.map((c) => ({ step: c.comparison, [SERIES]: round(c.weight), color: c.weight >= 0 ? 'green.6' : 'red.6' })),
    { step: 'match weight', [SERIES]: round(total), color: 'indigo.6', standalone: true },
  ];
  return (
    <Stack gap="sm">
      <BarChart h={260} data={data} dataKey="step" type="waterfall" series={[{ name: SERIES, color: 'indigo.6' }]} withLegend={false} />
      <Table aria-label="Match explanation" data-testid="waterfall-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Step</Table.Th>
            <Table.Th scope="col">Level</Table.Th>
            <Table.Th scope="col">Weight</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          <Table.Tr>
            <Table.Td>Prior</Table.Td>
            <Table.Td>—</Table.Td>
            <Table.Td>{signed(e.prior)}</Table.Td>
          </Table.Tr>
          {shown.map((c) => (
            <Table.Tr key={c.comparison}>
              <Table.Td>{c.comparison}</Table.Td>
              <Table.Td>{c.level}</Table.Td>
              <Table.Td>
                {signed(c.weight)}
                {c.tfAdjustment ? ` (frequency ${signed(c.tfAdjustment)})` : ''}
              </Table.Td>
            </Table.Tr>
          ))}
          <Table.Tr fw={700}>
            <Table.Td>Match weight</Table.Td>
            <Table.Td>→ probability</Table.Td>
            <Table.Td>
              {signed(total)} → {(probability * 100).toFixed(1)}%
            </Table.Td>
          </Table.Tr>
        </Table.Tbody>
      </Table>
      {skipped > 0 && (
        <Text size="xs" c="dimmed">
          {skipped} comparisons had a value missing on one side and added nothing.
        </Text>
      )}
      {(e.conflicts.length > 0 || blockers.length > 0) && (
        <Group gap="xs">
          <Text size="sm" fw={500}>
            Conflicts:
          </Text>
          {[...e.conflicts, ...blockers].map((c) => (
            <Badge key={c} color="red" variant="light">
              {c}
            </Badge>
          ))}
        </Group>
      )}
    </Stack>
  );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}
