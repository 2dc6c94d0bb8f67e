import { describe, expect, test } from 'vitest';
import { matchesShown, parseDocBlocks } from './blocks.ts';

const FENCE = '```';

describe('documentation blocks', () => {
  test('reads executed blocks, their expected output and directives, in order', () => {
    const blocks = parseDocBlocks(
      [
        '<!-- doc-test: skip (needs docker) -->',
        `${FENCE}sh`,
        'docker compose up',
        FENCE,
        '<!-- doc-test: set id=data.x.id -->',
        `${FENCE}graphql`,
        '{ x { id } }',
        FENCE,
        `${FENCE}json output`,
        '{"data":{"x":{"id":"…"}}}',
        FENCE,
        `${FENCE}json`,
        '{"an": "illustration"}',
        FENCE,
        `${FENCE}bash`,
        'echo hi',
        FENCE,
      ].join('\n'),
    );
    expect(blocks.map((b) => [b.kind, b.line, b.skip])).toEqual([
      ['sh', 2, 'needs docker'],
      ['graphql', 6, null],
      ['sh', 15, null],
    ]);
    expect(blocks[1]!.sets).toEqual([{ name: 'id', path: 'data.x.id' }]);
    expect(blocks[1]!.expected).toEqual({ format: 'json', text: '{"data":{"x":{"id":"…"}}}', line: 9 });
  });

  test('refuses a directive it does not know, so a typo cannot silently run a skipped block', () => {
    expect(() => parseDocBlocks(`<!-- doc-test: skipp (typo) -->\n${FENCE}sh\nls\n${FENCE}`)).toThrow('unknown doc-test directive');
  });

  test.each([
    ['json', '{"data":{"id":"0190-abc","n":1}}', '{"data": {"id": "…",\n  "n": 1}}', true],
    ['json', '{"data":{"id":"0190-abc","n":2}}', '{"data": {"id": "…", "n": 1}}', false],
    ['json', '{"data":{"name":"a b"}}', '{"data":{"name":"a  b"}}', false],
    ['text', 'imported 3 rows in 0.8 s\n  errors 1\n', 'imported 3 rows in … s\n  errors 1', true],
    ['text', 'imported 3 rows in 0.8 s\n  errors 2\n', 'imported 3 rows in … s\n  errors 1', false],
    ['text', 'head\nx\ny\ntail\n', 'head\n…\ntail', true],
    ['text', 'head\nextra\n', 'head', false],
  ] as const)('compares %s output with what the docs show (%#)', (format, actual, shown, same) => {
    expect(matchesShown(actual, shown, format)).toBe(same);
  });
});
