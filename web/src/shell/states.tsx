import { Alert, Button, Center, Group, Loader, Stack, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';

/** A spinner with a name screen readers announce. */
export function LoadingState({ label = 'Loading' }: { label?: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Group gap="sm">
        <Loader size="sm" aria-hidden />
        <Text size="sm">{label}…</Text>
      </Group>
    </Center>
  );
}

/** The API's typed error code (e.g. STALE_VERSION, FORBIDDEN), if it sent one. */
export function errorCode(error: CombinedError | undefined | null): string | undefined {
  const code = error?.graphQLErrors[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An error as the API phrased it (its messages never carry patient data), with a retry. */
export function ErrorState({
  error,
  onRetry,
  title = 'Something went wrong',
}: {
  error?: CombinedError | null | undefined;
  onRetry?: () => void;
  title?: string;
}) {
  const message = error?.graphQLErrors[0]?.message ?? error?.networkError?.message ?? 'The request failed.';
  const code = errorCode(error);
  return (
    <Alert color="red" title={title} role="alert" my="md">
      <Stack gap="xs">
        <Text size="sm">
          {message}
          {code ? ` (${code})` : ''}
        </Text>
        {onRetry && (
          <Button variant="light" color="red" size="xs" w="fit-content" onClick={onRetry}>
            Retry
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

/** Nothing to show, said plainly. */
export function EmptyState({ children }: { children: ReactNode }) {
  return (
    <Center py="xl">
      <Text c="dimmed" size="sm">
        {children}
      </Text>
    </Center>
  );
}
