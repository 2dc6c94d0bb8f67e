/**
 * The documentation's executable blocks, as the docs test reads them (the convention is described in
 * docs/development.md#executable-documentation):
 * - a fence whose language is `sh`/`bash`/`shell` or `graphql` is executed, in file order;
 * - a fence whose info string has the word `output` (```` ```json output ````, ```` ```text output ````) is the
 *   expected output of the executed block before it; `…` in it stands for any text;
 * - `<!-- doc-test: skip (reason) -->` on the line before a fence: not executed;
 * - `<!-- doc-test: set NAME=path.to.value -->` on the line before a fence: after the block runs, the value at
 *   that path of its JSON result becomes the GraphQL variable `$NAME` and the shell variable `$NAME` of later blocks.
 */

export type BlockKind = 'sh' | 'graphql';

export interface DocBlock {
  kind: BlockKind;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Why it is not executed, when it is marked skip. */
  skip: string | null;
  /** Variables taken from the block's JSON result: name -> dotted path. */
  sets: Array<{ name: string; path: string }>;
  expected: { format: 'json' | 'text'; text: string; line: number } | null;
}

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell']);
const DIRECTIVE = /^<!--\s*doc-test:\s*(.*?)\s*-->\s*$/;

/** Splits a Markdown file into its executable blocks, with their directives and expected outputs. */
export function parseDocBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]!);
    if (!open) {
      i += 1;
      continue;
    }
    const fence = open[2]!;
    const info = open[3]!.trim().split(/\s+/).filter(Boolean);
    const start = i;
    const body: string[] = [];
    i += 1;
    while (i < lines.length && !lines[i]!.trim().startsWith(fence)) {
      body.push(lines[i]!);
      i += 1;
    }
    i += 1;
    const code = body.join('\n');
    const language = (info[0] ?? '').toLowerCase();
    if (info.includes('output')) {
      const previous = blocks.at(-1);
      if (!previous || previous.expected) throw new Error(`line ${start + 1}: an output block must follow an executed block`);
      previous.expected = { format: language === 'json' ? 'json' : 'text', text: code, line: start + 1 };
      continue;
    }
    const kind: BlockKind | null = SHELL_LANGUAGES.has(language) ? 'sh' : language === 'graphql' ? 'graphql' : null;
    if (!kind) continue;
    blocks.push({ kind, line: start + 1, code, ...directivesBefore(lines, start), expected: null });
  }
  return blocks;
}

function directivesBefore(lines: string[], fenceIndex: number): Pick<DocBlock, 'skip' | 'sets'> {
  let skip: string | null = null;
  const sets: DocBlock['sets'] = [];
  for (let j = fenceIndex - 1; j >= 0; j -= 1) {
    const directive = DIRECTIVE.exec(lines[j]!.trim());
    if (!directive) break;
    const text = directive[1]!;
    const skipMatch = /^skip\b\s*(.*)$/.exec(text);
    const setMatch = /^set\s+([A-Za-z_]\w*)=([\w.]+)$/.exec(text);
    if (skipMatch) skip = skipMatch[1]!.replace(/^\((.*)\)$/, '$1') || 'no reason given';
    else if (setMatch) sets.push({ name: setMatch[1]!, path: setMatch[2]! });
    else throw new Error(`line ${j + 1}: unknown doc-test directive "${text}"`);
  }
  return { skip, sets };
}

/** The value at a dotted path (`data.items.0.id`) of a JSON value. */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Drops whitespace outside JSON string literals, so a shown response may be laid out over several lines. */
export function compactJsonText(text: string): string {
  let out = '';
  let inString = false;
  for (let k = 0; k < text.length; k += 1) {
    const c = text[k]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[k + 1] ?? '';
        k += 1;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether actual output is what a block shows: `…` matches any text (a line holding only `…`, any lines). */
export function matchesShown(actual: string, expected: string, format: 'json' | 'text'): boolean {
  if (format === 'json') {
    const pattern = compactJsonText(expected).split('…').map(escapeRegExp).join('[\\s\\S]*?');
    return new RegExp(`^${pattern}$`).test(compactJsonText(actual));
  }
  const tidy = (s: string) =>
    s
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .replace(/\n+$/, '');
  const pattern = tidy(expected)
    .split('\n')
    .map((l) => (l.trim() === '…' ? '(?:[^\\n]*(?:\\n|$))*?' : `${l.split('…').map(escapeRegExp).join('[^\\n]*?')}(?:\\n|$)`))
    .join('');
  return new RegExp(`^${pattern}$`).test(`${tidy(actual)}\n`);
}
