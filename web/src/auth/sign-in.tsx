import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';

/** Paste an API key (or an OIDC access token where the service accepts them); kept in this tab's session storage only. */
export function SignIn({ onSubmit, refused }: { onSubmit: (key: string) => void; refused: boolean }) {
  const [key, setKey] = useState('');
  useEffect(() => {
    document.title = 'Sign in · MPI console';
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onSubmit(key.trim());
  };
  return (
    <Center mih="100vh" component="main">
      <Paper withBorder shadow="sm" p="xl" w={420}>
        <form onSubmit={submit}>
          <Stack>
            <Title order={1} size="h3">
              MPI console
            </Title>
            <Text size="sm" c="dimmed">
              Paste your API key, or an access token from your identity provider where the service accepts OIDC. It is kept in this browser
              tab only and sent as a Bearer token.
            </Text>
            {refused && (
              <Alert color="red" title="Key refused">
                That key is unknown, revoked or expired.
              </Alert>
            )}
            <PasswordInput
              label="API key"
              value={key}
              onChange={(e) => setKey(e.currentTarget.value)}
              autoFocus
              required
              autoComplete="off"
            />
            <Button type="submit">Sign in</Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
