import { ERROR_CODE_NAMES, ERROR_CODES, type ErrorCodeSpec } from '../platform/error-codes.ts';

const START = '<!-- error-codes:start (generated from platform/error-codes.ts by `npm run schema:print`) -->';
const END = '<!-- error-codes:end -->';

const HEADINGS: Record<ErrorCodeSpec['kind'], string> = {
  ERROR: 'Error codes (`extensions.code`, and `code` of a typed error result)',
  PROBLEM: 'Field problem codes (`extensions.problems[].code`, `ValidationError.problems`, ingest warnings)',
  CLI: 'Command-line codes (printed by `mpi`, never sent by the API)',
};

/** The error catalogue as Markdown tables, one per kind of code, in catalogue order. */
export function errorCatalogueMarkdown(): string {
  const sections = (Object.keys(HEADINGS) as Array<ErrorCodeSpec['kind']>).map((kind) => {
    const rows = ERROR_CODE_NAMES.filter((code) => ERROR_CODES[code].kind === kind).map(
      (code) => `| \`${code}\` | ${ERROR_CODES[code].description.replace(/\|/g, '\\|')} |`,
    );
    return [`#### ${HEADINGS[kind]}`, '', '| code | meaning |', '|---|---|', ...rows].join('\n');
  });
  return [START, '', ...sections.flatMap((s) => [s, '']), END].join('\n');
}

/** The document with its catalogue block replaced by the current catalogue (the block must exist). */
export function withErrorCatalogue(document: string): string {
  const from = document.indexOf(START);
  const to = document.indexOf(END);
  if (from < 0 || to < from) throw new Error('the document has no error-codes block');
  return document.slice(0, from) + errorCatalogueMarkdown() + document.slice(to + END.length);
}
