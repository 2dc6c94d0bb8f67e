/** `text` with LIKE's wildcards (`%`, `_`) and its escape character (`\`) escaped: it matches only itself. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
