import { Alert, Button, Container } from '@mantine/core';
import { isRouteErrorResponse, useRouteError } from 'react-router';

/** A screen that failed to load or render; says so without echoing data. */
export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'This screen failed to load.';
  return (
    <Container py="xl">
      <Alert color="red" title="Screen unavailable" role="alert">
        {message}
        <Button mt="sm" variant="light" color="red" size="xs" display="block" onClick={() => window.location.reload()}>
          Reload
        </Button>
      </Alert>
    </Container>
  );
}
