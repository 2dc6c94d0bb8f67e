import { Alert, Button, Group, Modal, Stack, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { CompareTable } from '../review/compare-table.tsx';
import { ErrorState, errorCode, LoadingState } from '../shell/states.tsx';
import { MergeMutation, NotDuplicateMutation, OtherIdentityQuery, UnlinkMutation } from './queries.ts';
import type { Demographics } from '../shell/demographics.ts';

const STALE_CODES = new Set(['STALE_VERSION', 'ALREADY_RESOLVED']);

function MutationError({ error, onReload }: { error: Parameters<typeof ErrorState>[0]['error']; onReload: () => void }) {
  if (!error) return null;
  const code = errorCode(error);
  if (code && STALE_CODES.has(code)) {
    return (
      <Alert color="orange" title="This identity changed since you opened it" role="alert">
        Someone else changed it meanwhile. Nothing was saved.
        <Button mt="sm" size="xs" variant="light" color="orange" display="block" onClick={onReload}>
          Reload the identity
        </Button>
      </Alert>
    );
  }
  return <ErrorState error={error} title="Nothing was changed" />;
}

/** Pick another identity by its enterprise id, compare it with this one, then merge it in or mark the two as different people. */
export function MergeDialog({
  identityId,
  version,
  golden,
  opened,
  onClose,
  onDone,
}: {
  identityId: string;
  version: number;
  golden: Demographics;
  opened: boolean;
  onClose: () => void;
  onDone: () => void;
}) {
  const [otherId, setOtherId] = useState('');
  const [reason, setReason] = useState('');
  const picked = otherId.trim();
  const [{ data, fetching, error }] = useQuery({
    query: OtherIdentityQuery,
    variables: { id: picked },
    pause: picked.length < 8 || picked === identityId,
  });
  const [merge, runMerge] = useMutation(MergeMutation);
  const [apart, runApart] = useMutation(NotDuplicateMutation);
  const other = data?.identity;
  const ready = !!other && other.id !== identityId && reason.trim() !== '';
  const done = (result: { error?: unknown }) => {
    if (!result.error) {
      setOtherId('');
      setReason('');
      onDone();
    }
  };
  return (
    <Modal opened={opened} onClose={onClose} size="xl" title="Merge with another identity, or mark as different people">
      <Stack>
        <TextInput
          label="Other identity (enterprise id)"
          value={otherId}
          onChange={(e) => setOtherId(e.currentTarget.value)}
          data-autofocus
          autoComplete="off"
        />
        {fetching && <LoadingState label="Looking the identity up" />}
        {error && <ErrorState error={error} />}
        {data && !other && <Alert color="yellow">No identity with that id.</Alert>}
        {other && other.id === identityId && <Alert color="yellow">That is this identity.</Alert>}
        {other && other.id !== identityId && (
          <CompareTable
            columns={[
              { title: 'This identity (survives)', values: golden },
              { title: 'Other identity', identityId: other.id, values: other.golden },
            ]}
          />
        )}
        <Textarea label="Reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)} autosize minRows={2} />
        <MutationError error={merge.error ?? apart.error} onReload={onDone} />
        <Group justify="flex-end">
          <Button
            variant="default"
            disabled={!ready}
            loading={apart.fetching}
            onClick={async () => other && done(await runApart({ a: identityId, b: other.id, reason: reason.trim() }))}
          >
            Not a duplicate
          </Button>
          <Button
            color="red"
            disabled={!ready}
            loading={merge.fetching}
            onClick={async () =>
              other &&
              done(
                await runMerge({
                  survivorId: identityId,
                  mergedId: other.id,
                  reason: reason.trim(),
                  survivorVersion: version,
                  mergedVersion: other.version,
                }),
              )
            }
          >
            Merge into this identity
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Moves one record out of this identity into a new one (unmerge), with a reason. */
export function UnlinkDialog({
  record,
  onClose,
  onDone,
}: {
  record: { id: string; label: string } | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const [reason, setReason] = useState('');
  const [result, unlink] = useMutation(UnlinkMutation);
  return (
    <Modal opened={record !== null} onClose={onClose} title={`Unlink record ${record?.label ?? ''}`}>
      <Stack>
        <Textarea
          label="Reason"
          required
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          data-autofocus
          autosize
          minRows={2}
        />
        <MutationError error={result.error} onReload={onDone} />
        <Group justify="flex-end">
          <Button
            color="red"
            disabled={!reason.trim()}
            loading={result.fetching}
            onClick={async () => {
              if (!record) return;
              const r = await unlink({ recordId: record.id, reason: reason.trim() });
              if (!r.error) {
                setReason('');
                onDone();
              }
            }}
          >
            Unlink to a new identity
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
