/**
 * The connection arguments of the page the URL names: `first`/`after`, or `last`/`before` when paging back. Apart
 * from the pager's components, so the route loaders in the first bundle can use it without them.
 */
export function cursorPage(params: URLSearchParams, pageSize: number) {
  const after = params.get('after');
  const before = params.get('before');
  return before ? { last: pageSize, before } : { first: pageSize, after };
}
