import { Alert, Button, Center, Divider, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { fetchOidcSettings, forgetOidcSignInFailure, oidcSignInFailure, startOidcSignIn, type OidcSettings } from './oidc.ts';

/**
 * Sign-in: the identity provider's own sign-in where the service has an OpenID Connect client for the console,
 * or a pasted API key (or access token). Either credential is kept in this tab's session storage only.
 */
export function SignIn({ onSubmit, refused }: { onSubmit: (key: string) => void; refused: boolean }) {
  const [key, setKey] = useState('');
  const [oidc, setOidc] = useState<OidcSettings | null>(null);
  const [leaving, setLeaving] = useState(false);
  const failure = oidcSignInFailure();
  useEffect(() => {
    document.title = 'Sign in · MPI console';
    let current = true;
    void fetchOidcSettings().then((settings) => current && setOidc(settings));
    return () => {
      current = false;
    };
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    forgetOidcSignInFailure();
    if (key.trim()) onSubmit(key.trim());
  };
  const signInWithIssuer = () => {
    if (!oidc) return;
    setLeaving(true);
    startOidcSignIn(oidc).catch(() => setLeaving(false));
  };
  return (
    <Center mih="100vh" component="main">
      <Paper withBorder shadow="sm" p="xl" w={420}>
        <Stack>
          <Title order={1} size="h3">
            MPI console
          </Title>
          {failure && (
            <Alert color="red" title="Sign-in failed">
              {failure}
            </Alert>
          )}
          {oidc && (
            <>
              <Button onClick={signInWithIssuer} loading={leaving}>
                Sign in with {new URL(oidc.issuer).host}
              </Button>
              <Divider label="or paste an API key" labelPosition="center" />
            </>
          )}
          <form onSubmit={submit}>
            <Stack>
              <Text size="sm" c="dimmed">
                Paste your API key (or an access token from your identity provider). It is kept in this browser tab only and sent as a
                Bearer token.
              </Text>
              {refused && !failure && (
                <Alert color="red" title="Key refused">
                  That key or token is unknown, revoked or expired.
                </Alert>
              )}
              <PasswordInput
                label="API key"
                value={key}
                onChange={(e) => setKey(e.currentTarget.value)}
                autoFocus={!oidc}
                required
                autoComplete="off"
              />
              <Button type="submit" variant={oidc ? 'default' : 'filled'}>
                Sign in
              </Button>
            </Stack>
          </form>
        </Stack>
      </Paper>
    </Center>
  );
}
