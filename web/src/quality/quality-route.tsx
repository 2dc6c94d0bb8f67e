import { Title } from '@mantine/core';

export function Component() {
  return <Title order={2}>Coming soon</Title>;
}
