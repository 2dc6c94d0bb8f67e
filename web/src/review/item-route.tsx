import { Alert, Badge, Button, Card, Grid, Group, Kbd, SegmentedControl, Stack, Text, Textarea, Title } from '@mantine/core';
import { getHotkeyHandler, useHotkeys } from '@mantine/hooks';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useSession } from '../auth/session-context.tsx';
import { graphql } from '../graphql.ts';
import { GoldenFieldsFragment, RecordFieldsFragment } from '../shell/demographic-fragments.ts';
import { formatDateTime, formatPercent } from '../shell/format.ts';
import { RequireCapability } from '../shell/require.tsx';
import { EmptyState, ErrorState, errorCode, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';
import { CompareTable } from './compare-table.tsx';
import { ExplanationFragment, ExplanationWaterfall } from './explanation-waterfall.tsx';

const ReviewItemQuery = graphql(
  `
    query ReviewItem($id: ID!) {
      reviewItem(id: $id) {
        id
        kind
        status
        probability
        grade
        weight
        priority
        createdAt
        decision
        reason
        decidedBy
        decidedAt
        blockers
        modelVersion
        explanation {
          ...Explanation
        }
        record {
          id
          source
          localId
          ...RecordFields
        }
        identityA {
          id
          version
          golden {
            ...GoldenFields
          }
        }
        identityB {
          id
          version
          golden {
            ...GoldenFields
          }
        }
      }
      next: reviewQueue(first: 2) {
        edges {
          node {
            id
          }
        }
      }
    }
  `,
  [ExplanationFragment, GoldenFieldsFragment, RecordFieldsFragment],
);

const DecideMutation = graphql(`
  mutation DecideReviewItem($id: ID!, $decision: ReviewDecision!, $reason: String!) {
    resolveReviewItem(id: $id, decision: $decision, reason: $reason) {
      id
      status
      decision
      reason
      decidedBy
      decidedAt
    }
  }
`);

/** Codes that mean the item or its identities moved on since the steward opened it. */
const STALE_CODES = new Set(['STALE_VERSION', 'ALREADY_RESOLVED']);

type Decision = 'MATCH' | 'NOT_MATCH';

function DecisionForm({
  id,
  kind,
  onDecided,
  onReload,
}: {
  id: string;
  kind: 'RECORD_MATCH' | 'POSSIBLE_DUPLICATE';
  onDecided: () => void;
  onReload: () => void;
}) {
  const [decision, setDecision] = useState<Decision>('MATCH');
  const [reason, setReason] = useState('');
  const [result, decide] = useMutation(DecideMutation);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const labels =
    kind === 'RECORD_MATCH'
      ? { MATCH: 'Link to this identity', NOT_MATCH: 'New identity (not a match)' }
      : { MATCH: 'Merge the identities', NOT_MATCH: 'Not a duplicate' };
  const choose = (d: Decision) => {
    setDecision(d);
    reasonRef.current?.focus();
  };
  useHotkeys([
    ['m', () => choose('MATCH')],
    ['n', () => choose('NOT_MATCH')],
  ]);
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (!reason.trim()) {
      reasonRef.current?.focus();
      return;
    }
    const outcome = await decide({ id, decision, reason: reason.trim() });
    if (!outcome.error) onDecided();
  };
  const code = errorCode(result.error);
  return (
    <Card withBorder component="form" onSubmit={submit} aria-label="Decision">
      <Stack>
        <Title order={3} size="h4">
          Decision
        </Title>
        <SegmentedControl
          aria-label="Decision"
          value={decision}
          onChange={(v) => setDecision(v as Decision)}
          data={[
            { value: 'MATCH', label: labels.MATCH },
            { value: 'NOT_MATCH', label: labels.NOT_MATCH },
          ]}
        />
        <Textarea
          ref={reasonRef}
          label="Reason"
          description="Required; kept in the identity's history and the audit trail. Ctrl+Enter decides."
          required
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          onKeyDown={getHotkeyHandler([['mod+Enter', () => void submit()]])}
          autosize
          minRows={2}
        />
        {result.error &&
          (code && STALE_CODES.has(code) ? (
            <Alert color="orange" title="This item changed since you opened it" role="alert">
              Someone else decided it, or one of its identities changed. Nothing was saved.
              <Button mt="sm" size="xs" variant="light" color="orange" display="block" onClick={onReload}>
                Reload the item
              </Button>
            </Alert>
          ) : (
            <ErrorState error={result.error} title="The decision was not saved" />
          ))}
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            <Kbd>m</Kbd> {labels.MATCH.toLowerCase()}, <Kbd>n</Kbd> {labels.NOT_MATCH.toLowerCase()}
          </Text>
          <Button type="submit" loading={result.fetching} disabled={!reason.trim()}>
            Decide: {labels[decision]}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function ReviewItemScreen({ id }: { id: string }) {
  const session = useSession();
  const navigate = useNavigate();
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ReviewItemQuery,
    variables: { id },
    requestPolicy: 'cache-and-network',
  });
  const reload = () => reexecute({ requestPolicy: 'network-only' });
  const nextId = data?.next.edges.map((e) => e.node.id).find((other) => other !== id);
  useHotkeys([
    [
      ']',
      () => {
        if (nextId) navigate(`/review/${nextId}`);
      },
    ],
  ]);
  if (error && !data) return <ErrorState error={error} onRetry={reload} />;
  if (fetching && !data) return <LoadingState label="Loading the review item" />;
  const item = data?.reviewItem;
  if (!item) return <EmptyState>No review item with this id.</EmptyState>;
  const columns =
    item.kind === 'RECORD_MATCH'
      ? [
          { title: `Record (${item.record?.source ?? 'unknown source'})`, values: item.record },
          { title: 'Candidate identity', identityId: item.identityA?.id, values: item.identityA?.golden },
        ]
      : [
          { title: 'Identity A', identityId: item.identityA?.id, values: item.identityA?.golden },
          { title: 'Identity B', identityId: item.identityB?.id, values: item.identityB?.golden },
        ];
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{item.kind === 'RECORD_MATCH' ? 'Record match' : 'Possible duplicate'}</Title>
          <Badge size="lg" variant="light" data-testid="probability">
            {formatPercent(item.probability)}
          </Badge>
          <Badge size="lg" variant="outline" data-testid="grade">
            {item.grade.toLowerCase()} match
          </Badge>
          <Badge size="lg" color={item.status === 'OPEN' ? 'indigo' : 'gray'}>
            {item.status.toLowerCase()}
          </Badge>
        </Group>
        <Group>
          <Button component={Link} to="/review" variant="default">
            Back to queue
          </Button>
          <Button variant="default" disabled={!nextId} onClick={() => nextId && navigate(`/review/${nextId}`)}>
            Next item <Kbd ml={6}>]</Kbd>
          </Button>
        </Group>
      </Group>
      <Text size="sm" c="dimmed">
        Opened {formatDateTime(item.createdAt)} · model {item.modelVersion ?? 'default'} · priority {item.priority.toFixed(2)}
      </Text>
      <Grid>
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <CompareTable columns={columns} />
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Card withBorder>
            <Title order={3} size="h4" mb="sm">
              Why the matcher was unsure
            </Title>
            <ExplanationWaterfall explanation={item.explanation} probability={item.probability} blockers={item.blockers} />
          </Card>
        </Grid.Col>
      </Grid>
      {item.status === 'OPEN' && session.can('workQueue') && (
        <DecisionForm id={item.id} kind={item.kind} onDecided={reload} onReload={reload} />
      )}
      {item.status === 'RESOLVED' && (
        <Alert color="gray" title={`Decided: ${item.decision ?? ''}`} data-testid="decided">
          By {item.decidedBy ?? 'unknown'} on {formatDateTime(item.decidedAt)}. Reason: {item.reason ?? '—'}
        </Alert>
      )}
    </Stack>
  );
}

export function Component() {
  const { id = '' } = useParams();
  usePageTitle(`Review item ${id.slice(0, 8)}`);
  return (
    <RequireCapability capability="workQueue">
      <ReviewItemScreen id={id} />
    </RequireCapability>
  );
}
