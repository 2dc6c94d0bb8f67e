import { graphql, type VariablesOf } from '../graphql.ts';
import { cursorPage } from '../shell/cursor-page.ts';

/** Items per page of the queue. */
export const QUEUE_PAGE_SIZE = 50;

export const QueueRowFragment = graphql(`
  fragment QueueRow on ReviewItem {
    id
    kind
    status
    priority
    probability
    createdAt
    decidedBy
    decision
    record {
      id
      source
    }
  }
`);

export const ReviewQueueQuery = graphql(
  `
    query ReviewQueue($filter: ReviewQueueFilter, $orderBy: ReviewQueueOrder, $first: Int, $after: String, $last: Int, $before: String) {
      sources {
        code
      }
      reviewQueue(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges {
          cursor
          node {
            id
            ...QueueRow
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  `,
  [QueueRowFragment],
);

export type QueueVariables = VariablesOf<typeof ReviewQueueQuery>;
type Grade = NonNullable<NonNullable<QueueVariables['filter']>['grade']>;
type Order = NonNullable<QueueVariables['orderBy']>;
export type ReviewStatus = NonNullable<NonNullable<QueueVariables['filter']>['status']>;

export const GRADES: Array<{ value: Grade; label: string }> = [
  { value: 'CERTAIN', label: 'Certain' },
  { value: 'PROBABLE', label: 'Probable' },
  { value: 'POSSIBLE', label: 'Possible' },
];
export const ORDERS: Array<{ value: Order; label: string }> = [
  { value: 'PRIORITY', label: 'Priority' },
  { value: 'OLDEST', label: 'Oldest first' },
  { value: 'NEWEST', label: 'Newest first' },
  { value: 'PROBABILITY', label: 'Most likely match first' },
];
/** "Older than" choices, in days. */
export const AGES = [
  { value: '1', label: 'Older than a day' },
  { value: '7', label: 'Older than a week' },
  { value: '30', label: 'Older than 30 days' },
];
const DAY_MS = 86_400_000;

export const oneOf = <T extends string>(options: ReadonlyArray<{ value: T }>, value: string | null): T | null =>
  options.find((o) => o.value === value)?.value ?? null;

/** The queue's filter and order as the URL states them (the age as chosen, in days). */
export function queueView(params: URLSearchParams) {
  const status: ReviewStatus = params.get('status') === 'RESOLVED' ? 'RESOLVED' : 'OPEN';
  return {
    status,
    grade: oneOf(GRADES, params.get('grade')),
    orderBy: oneOf(ORDERS, params.get('sort')) ?? 'PRIORITY',
    source: params.get('source'),
    age: oneOf(AGES, params.get('age')),
  };
}

/** The instant an "older than" choice cuts off at, taken when it is chosen. */
export function ageCutOff(age: string | null, now = Date.now()): string | null {
  return age ? new Date(now - Number(age) * DAY_MS).toISOString() : null;
}

/** The queue query's variables for a view of it: the route's loader and the screen build them the same way. */
export function queueVariables(params: URLSearchParams, createdBefore: string | null): QueueVariables {
  const { status, grade, source, orderBy } = queueView(params);
  return { filter: { status, grade, source, createdBefore }, orderBy, ...cursorPage(params, QUEUE_PAGE_SIZE) };
}
