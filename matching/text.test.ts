import talismanJaroWinkler from 'talisman/metrics/jaro-winkler.js';
import { describe, expect, test } from 'vitest';
import { digitHistogramBound, foldToAscii, jaroWinkler, jaroWinklerFrom, memoise, osaDistance, withinOneEdit } from './text.ts';

describe('jaroWinkler', () => {
  const pairs = [
    ['martha', 'marhta'],
    ['dwayne', 'duane'],
    ['dixon', 'dicksonx'],
    ['harley', 'haryley'],
    ['pridham street', 'pridhamstreet'],
    ['a', 'b'],
    ['abc', 'abc'],
    ['', 'abc'],
    ['a very long street name beyond thirty-one characters', 'a very long street nmae beyond thirty-one characters'],
  ];
  test.each(pairs)('agrees with talisman on %j / %j', (a, b) => {
    expect(jaroWinkler(a, b)).toBeCloseTo(talismanJaroWinkler(a, b), 12);
  });

  test('gives the textbook values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 4);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 4);
  });
});

describe('jaroWinklerFrom', () => {
  // Names, places and streets with typos, swaps, truncations and other letters, plus non-ASCII and long ones.
  const seeds = ['catherine', 'katherine', 'jonathan', 'johnson', 'mcdonald', 'springfield', 'main street', 'o brien'];
  const extras = ['zoë', 'müller', 'muller', 'a', 'ab', 'a very long street name beyond thirty-one characters'];
  let state = 7;
  const random = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const mutate = (s: string) => {
    const at = random(s.length);
    switch (random(4)) {
      case 0:
        return s.slice(0, at) + 'xqzaeo'[random(6)] + s.slice(at + 1);
      case 1:
        return s.slice(0, at) + s.slice(at + 1);
      case 2:
        return s.slice(0, at) + s[at + 1] + s[at] + s.slice(at + 2);
      default:
        return s.slice(0, Math.max(1, at));
    }
  };
  const words = [...seeds, ...extras];
  for (let k = 0; k < 300; k++) {
    let w = words[random(words.length)]!;
    for (let m = random(4); m > 0; m--) w = mutate(w);
    words.push(w);
  }

  test.each([0.8, 0.88, 0.92])('is Jaro-Winkler at or above a floor of %d, and below it otherwise', (floor) => {
    let above = 0;
    let justBelow = 0;
    for (const a of words)
      for (const b of words) {
        const exact = jaroWinkler(a, b);
        const bounded = jaroWinklerFrom(a, b, floor);
        if (exact >= floor) {
          above++;
          expect(bounded).toBe(exact);
        } else {
          if (exact >= floor - 0.1) justBelow++;
          expect(bounded).toBeLessThan(floor);
        }
      }
    // Both sides of the floor, near it too, are exercised.
    expect(above).toBeGreaterThan(1000);
    expect(justBelow).toBeGreaterThan(1000);
  });
});

describe('edit distances', () => {
  test.each([
    ['123456789', '123456789', true],
    ['123456789', '123456788', true],
    ['123456789', '123457689', true],
    ['123456789', '12345678', true],
    ['123456789', '1234567890', true],
    ['123456789', '123456798', true],
    ['123456789', '133456788', false],
    ['123456789', '213456798', false],
    ['ab', 'ba', true],
  ])('withinOneEdit(%j, %j) is %s', (a, b, expected) => {
    expect(withinOneEdit(a, b)).toBe(expected);
    expect(osaDistance(a, b, 3) <= 1).toBe(expected);
  });

  test('osaDistance stops at the limit', () => {
    expect(osaDistance('kitten', 'sitting', 3)).toBe(3);
    expect(osaDistance('kitten', 'sitting', 1)).toBe(2);
    expect(osaDistance('ca', 'ac', 2)).toBe(1);
  });

  test.each([
    ['123456789', '987654321'],
    ['123456789', '123456780'],
    ['1111', '2222'],
    ['5551234', '5551243'],
  ])('digitHistogramBound never exceeds the true distance for %j / %j', (a, b) => {
    expect(digitHistogramBound(a, b)).toBeLessThanOrEqual(osaDistance(a, b, 20));
  });
});

test('foldToAscii removes accents and transliterates', () => {
  expect(foldToAscii('Øster Ærø Straße Ñúñez')).toBe('oster aero strasse nunez');
});

test('memoise returns the cached result, including null', () => {
  let calls = 0;
  const f = memoise((s: string) => {
    calls++;
    return s === 'x' ? null : s.toUpperCase();
  });
  expect([f('a'), f('a'), f('x'), f('x')]).toEqual(['A', 'A', null, null]);
  expect(calls).toBe(2);
});
