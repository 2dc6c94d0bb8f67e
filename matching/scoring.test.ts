import { describe, expect, test } from 'vitest';
import { defaultModel } from './default-model.ts';
import { ModelValidationError, parseModel } from './model.ts';
import type { RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { GRADES, gradeBand, gradeOf, scorePair } from './scoring.ts';

const norm = (input: RecordInput) => normaliseRecord(input).record;
const model = defaultModel({ createdAt: '2025-01-01T00:00:00.000Z' });

const person: RecordInput = {
  givenName: 'Maria',
  familyName: 'Delgado',
  birthDate: '1984-07-19',
  sex: 'F',
  ssn: '412-55-9034',
  phone: '(312) 555-0187',
  addressLine1: '1450 W Division St',
  city: 'Chicago',
  state: 'IL',
  postalCode: '60642',
};

describe('scorePair', () => {
  test('explanation sums to the weight: prior plus every contribution and TF adjustment', () => {
    const score = scorePair(norm(person), norm({ ...person, givenName: 'Mariah', phone: null }), model);
    const sum = score.explanation.prior + score.explanation.contributions.reduce((s, c) => s + c.weight + (c.tfAdjustment ?? 0), 0);
    expect(sum).toBeCloseTo(score.weight, 10);
    expect(score.probability).toBeCloseTo(1 / (1 + 2 ** -score.weight), 12);
  });

  test('links the same person recorded twice with a nickname and a moved address', () => {
    const score = scorePair(
      norm({ ...person, givenName: 'Mari' }),
      norm({ ...person, addressLine1: '77 Elm Ave', postalCode: '60614' }),
      model,
    );
    expect(score.explanation.conflicts).toEqual([]);
    expect(gradeOf(score.probability, model)).toBe('CERTAIN');
  });

  test('scores clearly different people far below the review band', () => {
    const other = { givenName: 'Kevin', familyName: 'Osei', birthDate: '1951-02-03', sex: 'M', ssn: '530-12-7788', postalCode: '98101' };
    const score = scorePair(norm(person), norm(other), model);
    expect(gradeOf(score.probability, model)).toBe('POSSIBLE');
    expect(score.probability).toBeLessThan(1e-6);
  });

  test('reports the level reached by every comparison, null when a side is missing', () => {
    const score = scorePair(norm(person), norm({ givenName: 'Maria', familyName: 'Delgado' }), model);
    const levels = Object.fromEntries(score.explanation.contributions.map((c) => [c.comparison, c.level]));
    expect(levels).toMatchObject({ givenName: 'exact', familyName: 'exact', birthDate: 'null', ssn: 'null' });
  });
});

describe('conflict rules', () => {
  test.each([
    ['twins sharing birth date, family and address', { givenName: 'Jayden', ssn: null }, { givenName: 'Olivia', ssn: null }, 'twin'],
    [
      'boy-girl twins with paired names',
      { givenName: 'Daniel', sex: 'M', ssn: null },
      { givenName: 'Danielle', sex: 'F', ssn: null },
      'twin',
    ],
    [
      'father and son with suffixes',
      { suffix: 'Sr', birthDate: '1960-03-02' },
      { suffix: 'Jr', birthDate: '1988-11-20' },
      'generation_suffix',
    ],
    ['father and son without suffixes', { ssn: null, birthDate: '1960-03-02' }, { ssn: null, birthDate: '1988-11-20' }, 'generation_gap'],
    ['look-alikes with different SSNs', { givenName: 'Ava' }, { givenName: 'Eva', ssn: '390-44-1278' }, 'ssn_conflict'],
    [
      'a newborn boy not yet named and his twin sister',
      { givenName: 'Baby Boy', sex: 'M', ssn: null },
      { givenName: 'Taylor', sex: 'F', ssn: null },
      'twin',
    ],
    [
      'twins whose given names are one letter apart and whose middle names differ',
      { givenName: 'Lila', middleName: 'Grace', ssn: null },
      { givenName: 'Lily', middleName: 'Mia', ssn: null },
      'twin_middle_name',
    ],
    [
      'a newborn not yet named and a twin of the same sex with another middle name',
      { givenName: 'Baby Girl', middleName: 'Sofia', ssn: null },
      { givenName: 'Amelia', middleName: 'Olivia', ssn: null },
      'twin_middle_name',
    ],
  ])('vetoes %s', (_label, a, b, conflict) => {
    const score = scorePair(norm({ ...person, ...a }), norm({ ...person, ...b }), model);
    expect(score.explanation.conflicts).toContain(conflict);
  });

  test('excuses a lone SSN disagreement when name and birth date agree exactly (a guarantor number)', () => {
    const score = scorePair(norm(person), norm({ ...person, ssn: '390-44-1278' }), model);
    expect(score.explanation.conflicts).toEqual([]);
  });

  test('does not call a record with a mistyped given name a twin when the sex agrees', () => {
    const score = scorePair(norm({ ...person, ssn: null }), norm({ ...person, givenName: 'Mariaa', ssn: null }), model);
    expect(score.explanation.conflicts).toEqual([]);
  });

  test.each([
    ['a given-name typo with the same middle name', { givenName: 'Mariah', middleName: 'Elena' }, { middleName: 'Elena' }],
    ['a given-name typo with a middle initial', { givenName: 'Mariah', middleName: 'E' }, { middleName: 'Elena' }],
    ['the same given name with different middle names', { middleName: 'Rosa' }, { middleName: 'Elena' }],
    ['a newborn placeholder of the same sex without a middle name', { givenName: 'Baby Girl' }, { middleName: 'Elena' }],
  ])('does not call records twins on %s', (_label, a, b) => {
    const score = scorePair(norm({ ...person, ssn: null, ...a }), norm({ ...person, ssn: null, ...b }), model);
    expect(score.explanation.conflicts).toEqual([]);
  });

  test('does not call records twins when the SSN agrees', () => {
    const score = scorePair(norm(person), norm({ ...person, givenName: 'Luisa' }), model);
    expect(score.explanation.conflicts).not.toContain('twin');
  });
});

describe('gradeOf', () => {
  test.each([
    [0.999, 'CERTAIN'],
    [0.95, 'CERTAIN'],
    [0.7, 'PROBABLE'],
    [0.5, 'PROBABLE'],
    [0.2, 'POSSIBLE'],
  ] as const)('grades %f as %s', (p, grade) => {
    expect(gradeOf(p, model)).toBe(grade);
  });

  test.each([0, 0.2, 0.5, 0.7, 0.95, 0.999, 1])('puts %f in the band of exactly the grade it gets', (p) => {
    const inBand = GRADES.filter((g) => {
      const band = gradeBand(g, model);
      return p >= band.from && (band.below === null || p < band.below);
    });
    expect(inBand).toEqual([gradeOf(p, model)]);
  });
});

describe('parseModel', () => {
  test('accepts the default model and its JSON round trip', () => {
    expect(parseModel(JSON.parse(JSON.stringify(model)))).toEqual(model);
  });

  test.each([
    [
      'an unknown comparison',
      (m: Record<string, unknown>) => ({
        ...m,
        comparisons: [
          {
            name: 'shoeSize',
            levels: [
              { id: 'exact', m: 0.9, u: 0.1 },
              { id: 'else', m: 0.1, u: 0.9 },
            ],
          },
        ],
      }),
      'unknown comparison',
    ],
    [
      'levels out of order',
      (m: Record<string, unknown>) => ({
        ...m,
        comparisons: [
          {
            name: 'sex',
            levels: [
              { id: 'else', m: 0.1, u: 0.5 },
              { id: 'exact', m: 0.9, u: 0.5 },
            ],
          },
        ],
      }),
      'levels of "sex" must be',
    ],
    ['a probability above 1', (m: Record<string, unknown>) => ({ ...m, prior: 1.5 }), 'prior'],
    [
      'review above match threshold',
      (m: Record<string, unknown>) => ({ ...m, thresholds: { matchThreshold: 0.5, reviewThreshold: 0.9 } }),
      'reviewThreshold',
    ],
    [
      'an unknown key part',
      (m: Record<string, unknown>) => ({ ...m, blockingRules: [{ name: 'x', parts: ['shoeSize'] }] }),
      'blockingRules',
    ],
  ])('rejects %s with a clear message', (_label, mutate, fragment) => {
    const broken = mutate(JSON.parse(JSON.stringify(model)) as Record<string, unknown>);
    expect(() => parseModel(broken)).toThrow(ModelValidationError);
    expect(() => parseModel(broken)).toThrow(fragment);
  });
});
