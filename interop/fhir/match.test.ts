import { describe, expect, test } from 'vitest';
import type { GoldenIdentityView, MatchCandidate } from '../ports.ts';
import { MATCH_GRADE_EXTENSION, matchBundle, parseMatchParameters } from './match.ts';

const probe = { resourceType: 'Patient', name: [{ family: 'Quillfeather', given: ['Zephyrine'] }], birthDate: '1984-02-29' };

describe('parseMatchParameters', () => {
  test('reads resource, onlyCertainMatches and count', () => {
    const parsed = parseMatchParameters({
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: probe },
        { name: 'onlyCertainMatches', valueBoolean: true },
        { name: 'count', valueInteger: 3 },
      ],
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        record: expect.objectContaining({ familyName: 'Quillfeather', birthDate: '1984-02-29' }),
        onlyCertainMatches: true,
        count: 3,
        hasDemographics: true,
        identifiers: [],
      },
    });
  });

  test('defaults onlyCertainMatches to false and leaves count to the server', () => {
    const parsed = parseMatchParameters({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: probe }] });
    expect(parsed.ok && parsed.value).toMatchObject({ onlyCertainMatches: false });
    expect(parsed.ok && 'count' in parsed.value).toBe(false);
  });

  test('accepts a bare Patient as the resource', () => {
    expect(parseMatchParameters(probe).ok).toBe(true);
  });

  test.each([
    { behaviour: 'requires a resource parameter', body: { resourceType: 'Parameters', parameter: [] }, expression: 'Parameters.parameter' },
    {
      behaviour: 'rejects a zero count',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: probe },
          { name: 'count', valueInteger: 0 },
        ],
      },
      expression: 'Parameters.parameter[1].valueInteger',
    },
    {
      behaviour: 'rejects onlyCertainMatches given as a string',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: probe },
          { name: 'onlyCertainMatches', valueString: 'true' },
        ],
      },
      expression: 'Parameters.parameter[1].valueBoolean',
    },
    {
      behaviour: 'points at the invalid element inside the resource',
      body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...probe, birthDate: '1984-13-01' } }] },
      expression: 'Parameters.parameter[0].resource.birthDate',
    },
    {
      behaviour: 'rejects a resource with nothing to match on',
      body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient' } }] },
      expression: 'Parameters.parameter[0].resource',
    },
    { behaviour: 'rejects another resource type', body: { resourceType: 'Bundle' }, expression: 'Parameters.resourceType' },
  ])('$behaviour', ({ body, expression }) => {
    const parsed = parseMatchParameters(body);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.issues.flatMap((i) => i.expression)).toContain(expression);
  });
});

function candidate(id: string, probability: number, grade: MatchCandidate['grade']): MatchCandidate {
  const identity: GoldenIdentityView = {
    id,
    status: 'ACTIVE',
    replaces: [],
    golden: { familyName: 'Quillfeather' },
    records: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
  return { identity, probability, grade };
}

describe('matchBundle', () => {
  const candidates = [candidate('a', 0.4, 'POSSIBLE'), candidate('b', 0.999, 'CERTAIN'), candidate('c', 0.85, 'PROBABLE')];

  test('orders entries by score and grades each with the match-grade extension', () => {
    const bundle = matchBundle(candidates, { onlyCertainMatches: false }, { baseUrl: 'https://mpi.test/fhir' });
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 3 });
    expect(bundle.entry?.map((e) => [e.fullUrl, e.search?.score, e.search?.extension?.[0]])).toEqual([
      ['https://mpi.test/fhir/Patient/b', 0.999, { url: MATCH_GRADE_EXTENSION, valueCode: 'certain' }],
      ['https://mpi.test/fhir/Patient/c', 0.85, { url: MATCH_GRADE_EXTENSION, valueCode: 'probable' }],
      ['https://mpi.test/fhir/Patient/a', 0.4, { url: MATCH_GRADE_EXTENSION, valueCode: 'possible' }],
    ]);
    expect(bundle.entry?.every((e) => e.search?.mode === 'match')).toBe(true);
  });

  test.each([
    { behaviour: 'keeps only certain matches when asked', request: { onlyCertainMatches: true }, ids: ['b'] },
    { behaviour: 'cuts the list at count after ordering', request: { onlyCertainMatches: false, count: 2 }, ids: ['b', 'c'] },
  ])('$behaviour', ({ request, ids }) => {
    const bundle = matchBundle(candidates, request, { baseUrl: 'https://mpi.test/fhir' });
    expect(bundle.entry?.map((e) => e.resource?.id)).toEqual(ids);
    expect(bundle.total).toBe(ids.length);
  });

  test('returns an empty searchset without an entry array when nothing matches (empty arrays are invalid FHIR JSON)', () => {
    expect(matchBundle([], { onlyCertainMatches: false }, { baseUrl: 'x' })).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 0,
    });
  });
});
