import { Button, Group, Select, Text } from '@mantine/core';
import { useSearchParams } from 'react-router';
import { cursorPage } from './cursor-page.ts';

/** Cursor paging kept in the URL (`after`/`before` are opaque cursors, never patient data), so a page can be bookmarked. */
export function useCursorParams(pageSize: number) {
  const [params, setParams] = useSearchParams();
  const after = params.get('after');
  const page = cursorPage(params, pageSize);
  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === '') next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  };
  return { params, page, after, set };
}

/** What a connection says about the pages around the current one. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor?: string | null;
  endCursor?: string | null;
}

/** Previous and next buttons for a cursor-paged list, with a line saying how much is shown. */
export function CursorPager({
  pageInfo,
  summary,
  after,
  onPage,
}: {
  pageInfo: PageInfo | undefined;
  summary: string;
  after: string | null;
  onPage: (changes: Record<string, string | null>) => void;
}) {
  return (
    <Group justify="space-between">
      <Text size="sm" c="dimmed" data-testid="pager-summary">
        {summary}
      </Text>
      <Group>
        <Button
          variant="default"
          disabled={!pageInfo?.hasPreviousPage && !after}
          onClick={() => onPage({ before: pageInfo?.startCursor ?? null, after: null })}
        >
          Previous
        </Button>
        <Button
          variant="default"
          disabled={!pageInfo?.hasNextPage}
          onClick={() => onPage({ after: pageInfo?.endCursor ?? null, before: null })}
        >
          Next
        </Button>
      </Group>
    </Group>
  );
}

/** A clearable select of one filter kept in the URL (`param`); choosing starts the list again from its first page. */
export function ParamSelect({
  label,
  param,
  options,
  value,
  set,
  w,
}: {
  label: string;
  param: string;
  options: string[];
  value: string | null;
  set: (changes: Record<string, string | null>) => void;
  w?: number;
}) {
  return (
    <Select label={label} w={w} clearable data={options} value={value} onChange={(v) => set({ [param]: v, after: null, before: null })} />
  );
}
