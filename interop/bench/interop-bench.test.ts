import { expect, test } from 'vitest';
import { FakePort } from '../testing/fake-port.ts';
import { benchInterop } from './interop-bench.ts';

test('the interop bench runs every measurement end to end without dead letters', async () => {
  const port = new FakePort({ 'urn:bench': 'BENCH' });
  const lines = await benchInterop(
    port,
    { actor: 'bench' },
    { fhirIngests: 5, fhirMatches: 3, hl7Messages: 5, mllpMessages: 8, runTag: 'T' },
  );
  expect(lines.map((l) => l.name)).toEqual([
    'FHIR POST /Patient',
    'FHIR POST /Patient/$match',
    'HL7 A04 in process',
    'MLLP A04 round trip, 1 connection',
    'MLLP A04 pipelined (window 32), 1 connection',
    'MLLP A04, 4 connections',
    'HL7 file import',
  ]);
  expect(lines.every((l) => l.count > 0 && l.perSecond > 0)).toBe(true);
  expect(port.records.size).toBe(5 + 5 + 8 + 8 + 5);
});
