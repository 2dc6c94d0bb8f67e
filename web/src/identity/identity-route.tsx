import { Alert, Badge, Button, Group, Paper, Stack, Table, Text, TextInput, Title, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { lazy, memo, Suspense, useCallback, useMemo, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { useSession } from '../auth/session-context.tsx';
import type { ResultOf } from '../graphql.ts';
import { DEMOGRAPHIC_FIELDS, type DemographicField, type Demographics } from '../shell/demographics.ts';
import { formatDateTime, formatPercent } from '../shell/format.ts';
import { RequireCapability } from '../shell/require.tsx';
import { CompactButton, textLook } from '../shell/compact-button.tsx';
import { DataTable, type Column } from '../shell/data-table.tsx';
import { LightBadge } from '../shell/light-badge.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';
import { HistoryTimeline } from './history-timeline.tsx';
import type { GoldenFieldName } from './lineage-drawer.tsx';
import { IdentityAsOfQuery, IdentityPageQuery, identityPageVariables } from './queries.ts';

type Provenance = NonNullable<ResultOf<typeof IdentityPageQuery>['identity']>['provenance'][number];
type RecordRow = { id: string; source: string; localId: string; detail?: string };

type GoldenRow = { field: DemographicField; label: string; value: string | null | undefined; provenance: Provenance | undefined };

const LINEAGE_LINK = { textDecoration: 'underline dotted' } as const;
const LINEAGE_CLASS = `mantine-focus-auto ${UnstyledButton.classes.root}`;

/** The golden table's columns; a value is a button that opens its field's lineage (`onLineage` is read per row). */
function goldenColumns(onLineage: (field: DemographicField, label: string) => void): ReadonlyArray<Column<GoldenRow>> {
  return [
    { header: 'Field', cell: (r) => r.label, rowHeader: true },
    {
      header: 'Value',
      cell: (r) => (
        <button type="button" className={LINEAGE_CLASS} style={LINEAGE_LINK} onClick={() => onLineage(r.field, r.label)}>
          {r.value ?? '—'}
          <span className={VisuallyHidden.classes.root}>, {r.label}: show lineage</span>
        </button>
      ),
    },
    { header: 'Source', cell: (r) => r.provenance?.source?.code ?? (r.provenance ? 'steward' : '—') },
    { header: 'Rule', cell: (r) => r.provenance?.rule ?? '—' },
    { header: 'Since', cell: (r) => formatDateTime(r.provenance?.validFrom) },
  ];
}

/** The golden record, each field with where its value came from; a value opens that field's lineage. */
const GoldenCard = memo(function GoldenCard({
  golden,
  provenance,
  masked,
  onLineage,
}: {
  golden: Demographics;
  provenance: readonly Provenance[];
  masked: boolean;
  onLineage: (field: DemographicField, label: string) => void;
}) {
  const rows = useMemo(() => {
    const byField = new Map(provenance.map((p) => [p.field as string, p]));
    return DEMOGRAPHIC_FIELDS.flatMap(([field, label]): GoldenRow[] => {
      const value = golden[field];
      const p = byField.get(field);
      return value || p ? [{ field, label, value, provenance: p }] : [];
    });
  }, [golden, provenance]);
  const columns = useMemo(() => goldenColumns(onLineage), [onLineage]);
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h4">
          Golden record
        </Title>
        {masked && <LightBadge tone="yellow">masked for your role</LightBadge>}
      </Group>
      <DataTable
        label="Golden record"
        testId="golden-table"
        columns={columns}
        rows={rows}
        rowKey={(r) => r.field}
        rowProps={(r) => ({ 'data-field': r.field })}
        striped={false}
        empty="No golden values."
      />
    </Paper>
  );
});

/** Linked records grouped by source, each with an unlink action for roles that may change identities. */
function RecordsCard({
  records,
  canChange,
  onUnlink,
}: {
  records: readonly RecordRow[];
  canChange: boolean;
  onUnlink: (r: RecordRow) => void;
}) {
  const bySource = new Map<string, RecordRow[]>();
  for (const r of records) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r]);
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Linked records ({records.length})
      </Title>
      {records.length === 0 && <EmptyState>No records linked.</EmptyState>}
      {[...bySource].map(([source, rows]) => (
        <Stack key={source} gap={4} mb="sm">
          <Text fw={600} size="sm">
            {source} ({rows.length})
          </Text>
          <Table aria-label={`Records from ${source}`} data-testid="records-table">
            <Table.Tbody>
              {rows.map((r) => (
                <RecordRowView key={r.id} record={r} canChange={canChange} onUnlink={onUnlink} />
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      ))}
    </Paper>
  );
}

// The dialogs' code (modal, focus trap, forms, the comparison table) loads when one is first opened.
const MergeDialog = lazy(() => import('./identity-actions.tsx').then((m) => ({ default: m.MergeDialog })));
const UnlinkDialog = lazy(() => import('./identity-actions.tsx').then((m) => ({ default: m.UnlinkDialog })));
const LineageDrawer = lazy(() => import('./lineage-drawer.tsx').then((m) => ({ default: m.LineageDrawer })));

const DIMMED_XS = textLook('xs', true);
const TWO_COLUMNS = { display: 'flex', flexWrap: 'wrap', gap: 'var(--mantine-spacing-md)', alignItems: 'flex-start' } as const;
const WIDE_COLUMN = { flex: '7 1 34rem', minWidth: 0 } as const;
const NARROW_COLUMN = { flex: '5 1 24rem', minWidth: 0 } as const;
const END_CELL = { textAlign: 'right' } as const;

/** One linked record: plain table elements with the Mantine table's classes (a page may list hundreds). */
const RecordRowView = memo(function RecordRowView({
  record,
  canChange,
  onUnlink,
}: {
  record: RecordRow;
  canChange: boolean;
  onUnlink: (r: RecordRow) => void;
}) {
  return (
    <tr className={Table.classes.tr} data-with-row-border>
      <td className={Table.classes.td}>{record.localId}</td>
      <td className={Table.classes.td}>
        <p {...DIMMED_XS}>{record.detail}</p>
      </td>
      <td className={Table.classes.td} style={END_CELL}>
        {canChange && (
          <CompactButton look="light-red" onClick={() => onUnlink(record)} aria-label={`Unlink ${record.source} ${record.localId}`}>
            Unlink
          </CompactButton>
        )}
      </td>
    </tr>
  );
});

function toInstant(local: string): string | null {
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function IdentityScreen({ id }: { id: string }) {
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const asOf = params.get('asOf');
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: IdentityPageQuery,
    variables: identityPageVariables(id),
    // The route's loader fetches this page from the network on every navigation to it; the screen reads the
    // cache or joins that request, so a visit costs one request (and one audited read), not two.
    requestPolicy: 'cache-first',
  });
  const [past] = useQuery({ query: IdentityAsOfQuery, variables: { id, at: asOf ?? '' }, pause: !asOf });
  const [lineage, setLineage] = useState<{ field: GoldenFieldName; label: string } | null>(null);
  const openLineage = useCallback((field: GoldenFieldName, label: string) => setLineage({ field, label }), []);
  const [merging, setMerging] = useState(false);
  const [unlinking, setUnlinking] = useState<{ id: string; label: string } | null>(null);
  const [asOfInput, setAsOfInput] = useState(asOf ? toLocalInput(asOf) : '');
  const reload = () => reexecute({ requestPolicy: 'network-only' });
  const travel = (iso: string | null) => {
    const next = new URLSearchParams(params);
    if (iso) next.set('asOf', iso);
    else next.delete('asOf');
    setAsOfInput(iso ? toLocalInput(iso) : '');
    setParams(next);
  };

  if (error && !data) return <ErrorState error={error} onRetry={reload} />;
  if (fetching && !data) return <LoadingState label="Loading the identity" />;
  const identity = data?.identity;
  if (!identity) return <EmptyState>No identity with this id.</EmptyState>;
  const events = identity.events.edges.map((e) => e.node);
  const canChange = session.can('changeIdentities') && !asOf;
  const masked = !session.can('seeFullDemographics');
  const snapshot = asOf ? past.data?.identityAsOf : null;
  const golden = asOf ? (snapshot?.golden ?? {}) : identity.golden;
  const provenance = asOf ? (snapshot?.provenance ?? []) : identity.provenance;
  const records: RecordRow[] = asOf
    ? (snapshot?.records ?? []).flatMap((r) => (r.record ? [{ id: r.record.id, source: r.record.source, localId: r.record.localId }] : []))
    : identity.records.map((r) => ({
        id: r.id,
        source: r.source,
        localId: r.localId,
        detail: `${r.link?.linkSource ?? ''} ${r.link?.probability != null ? formatPercent(r.link.probability) : ''} · received ${formatDateTime(r.receivedAt)}`,
      }));

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>
            Identity{' '}
            <Text span ff="monospace" size="lg">
              {identity.id}
            </Text>
          </Title>
          <Badge color={identity.status === 'ACTIVE' ? 'green' : 'gray'} variant="light">
            {identity.status.toLowerCase()}
          </Badge>
          <Text size="sm" c="dimmed">
            version {identity.version}
          </Text>
        </Group>
        {canChange && <Button onClick={() => setMerging(true)}>Merge or mark not duplicate…</Button>}
      </Group>
      {identity.id !== id && <Alert color="blue">The id you opened was merged into this identity.</Alert>}
      <Paper withBorder p="md">
        <Group align="flex-end">
          <TextInput
            type="datetime-local"
            step={1}
            label="As of (time travel)"
            value={asOfInput}
            onChange={(e) => setAsOfInput(e.currentTarget.value)}
          />
          <Button variant="light" onClick={() => travel(toInstant(asOfInput))} disabled={!asOfInput}>
            Show as of then
          </Button>
          {asOf && (
            <Button variant="default" onClick={() => travel(null)}>
              Back to now
            </Button>
          )}
          {asOf && (
            <Badge color="orange" variant="light" size="lg" data-testid="as-of">
              as of {formatDateTime(asOf)}
            </Badge>
          )}
        </Group>
        {asOf && past.fetching && <LoadingState label="Rebuilding the identity as it stood then" />}
        {asOf && past.error && <ErrorState error={past.error} />}
        {asOf && past.data && !snapshot && (
          <Alert color="yellow" mt="sm">
            This identity did not exist yet at that time.
          </Alert>
        )}
      </Paper>
      {/* Side by side where both fit, else stacked: plain flex wrapping, no breakpoint styles to inject per render. */}
      <div style={TWO_COLUMNS}>
        <div style={WIDE_COLUMN}>
          <GoldenCard golden={golden} provenance={provenance} masked={masked} onLineage={openLineage} />
        </div>
        <div style={NARROW_COLUMN}>
          <RecordsCard
            records={records}
            canChange={canChange}
            onUnlink={(r) => setUnlinking({ id: r.id, label: `${r.source} ${r.localId}` })}
          />
        </div>
      </div>
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          History
        </Title>
        {events.length < identity.events.totalCount && (
          <Text size="sm" c="dimmed" mb="xs">
            The first {events.length} of {identity.events.totalCount} events.
          </Text>
        )}
        <HistoryTimeline events={events} onTravel={travel} />
      </Paper>
      {/* The dialogs mount when opened: closed, each still cost a modal's tree on every render of the page. */}
      <Suspense fallback={<LoadingState label="Opening" />}>
        {lineage && <LineageDrawer identityId={identity.id} field={lineage.field} label={lineage.label} onClose={() => setLineage(null)} />}
        {merging && (
          <MergeDialog
            identityId={identity.id}
            version={identity.version}
            golden={identity.golden}
            opened
            onClose={() => setMerging(false)}
            onDone={() => {
              setMerging(false);
              reload();
            }}
          />
        )}
        {unlinking && (
          <UnlinkDialog
            record={unlinking}
            onClose={() => setUnlinking(null)}
            onDone={() => {
              setUnlinking(null);
              reload();
            }}
          />
        )}
      </Suspense>
    </Stack>
  );
}

export function Component() {
  const { id = '' } = useParams();
  usePageTitle(`Identity ${id.slice(0, 8)}`);
  return (
    <RequireCapability capability="readIdentities">
      <IdentityScreen id={id} />
    </RequireCapability>
  );
}
