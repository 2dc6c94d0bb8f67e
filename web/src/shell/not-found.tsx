import { Title } from '@mantine/core';
import { usePageTitle } from './use-page-title.ts';
import { EmptyState } from './states.tsx';

export function Component() {
  usePageTitle('Not found');
  return (
    <>
      <Title order={2}>Not found</Title>
      <EmptyState>There is no screen here, or your role may not open one.</EmptyState>
    </>
  );
}
