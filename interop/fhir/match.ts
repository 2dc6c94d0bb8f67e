import { z } from 'zod';
import type { MatchCandidate, MatchGrade, RecordInput } from '../ports.ts';
import { identityToPatient, type IdentitySystems } from './identity-to-patient.ts';
import { errorIssue } from './operation-outcome.ts';
import { fhirPath, parsePatient, type ParseResult } from './patient-schema.ts';
import { patientToRecord, US_SSN_SYSTEM } from './patient-to-record.ts';
import type { Bundle, BundleEntry, OperationOutcomeIssue } from './types.ts';

/** Extension carrying the match grade on a $match entry (hl7.org/fhir/R4/extension-match-grade.html). */
export const MATCH_GRADE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/match-grade';

export interface MatchRequest {
  record: RecordInput;
  /** Whether `record` has any field to score on (an identifier-only Patient has none). */
  hasDemographics: boolean;
  /** Source identifiers (not the SSN): an identifier of a known source record is a certain match. */
  identifiers: Array<{ system: string; value: string }>;
  onlyCertainMatches: boolean;
  /** Absent when the client left the choice to the server. */
  count?: number;
}

const parameterSchema = z.looseObject({
  name: z.string(),
  resource: z.unknown().optional(),
  valueBoolean: z.boolean().optional(),
  valueInteger: z.number().int().optional(),
});
const parametersSchema = z.looseObject({
  resourceType: z.literal('Parameters'),
  parameter: z.array(parameterSchema).optional(),
});

/**
 * Reads the input of Patient/$match (hl7.org/fhir/R4/patient-operation-match.html): a Parameters resource
 * with `resource` (a Patient), `onlyCertainMatches` and `count`. A bare Patient body is accepted as `resource`.
 */
export function parseMatchParameters(body: unknown): ParseResult<MatchRequest> {
  if (isObject(body) && body.resourceType === 'Patient') return patientToMatchRequest(body, 'Patient', {});

  const parsed = parametersSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) =>
      errorIssue('structure', 'must be a Parameters resource with name/value parameters', fhirPath('Parameters', issue.path)),
    );
    return { ok: false, issues };
  }
  const params = parsed.data.parameter ?? [];
  const issues: OperationOutcomeIssue[] = [];
  const indexOf = (name: string) => params.findIndex((p) => p.name === name);

  const resourceIndex = indexOf('resource');
  if (resourceIndex < 0 || params.filter((p) => p.name === 'resource').length > 1) {
    issues.push(errorIssue('required', 'exactly one resource parameter holding a Patient is required', 'Parameters.parameter'));
  }
  const extras: { onlyCertainMatches?: boolean; count?: number } = {};
  const certainIndex = indexOf('onlyCertainMatches');
  if (certainIndex >= 0) {
    const value = params[certainIndex]?.valueBoolean;
    if (value === undefined) issues.push(paramIssue(certainIndex, 'valueBoolean', 'onlyCertainMatches needs valueBoolean'));
    else extras.onlyCertainMatches = value;
  }
  const countIndex = indexOf('count');
  if (countIndex >= 0) {
    const value = params[countIndex]?.valueInteger;
    if (value === undefined || value < 1) issues.push(paramIssue(countIndex, 'valueInteger', 'count needs a positive valueInteger'));
    else extras.count = value;
  }
  if (issues.length > 0) return { ok: false, issues };
  return patientToMatchRequest(params[resourceIndex]?.resource, `Parameters.parameter[${resourceIndex}].resource`, extras);
}

function patientToMatchRequest(
  resource: unknown,
  root: string,
  extras: { onlyCertainMatches?: boolean; count?: number },
): ParseResult<MatchRequest> {
  const patient = parsePatient(resource, root);
  if (!patient.ok) return patient;
  const { record, issues } = patientToRecord(patient.value, root);
  if (issues.length > 0) return { ok: false, issues };
  const hasDemographics = Object.values(record).some((v) => v !== null);
  const identifiers = (patient.value.identifier ?? []).flatMap((i) =>
    i.system && i.value && i.system !== US_SSN_SYSTEM && i.use !== 'old' ? [{ system: i.system, value: i.value.trim() }] : [],
  );
  if (!hasDemographics && identifiers.length === 0) {
    return { ok: false, issues: [errorIssue('required', 'the Patient has no identifier or demographics to match on', root)] };
  }
  const value: MatchRequest = { record, hasDemographics, identifiers, onlyCertainMatches: extras.onlyCertainMatches ?? false };
  if (extras.count) value.count = extras.count;
  return { ok: true, value };
}

function paramIssue(index: number, element: string, diagnostics: string): OperationOutcomeIssue {
  return errorIssue('value', diagnostics, `Parameters.parameter[${index}].${element}`);
}

const GRADE_CODE: Record<MatchGrade, 'certain' | 'probable' | 'possible'> = {
  CERTAIN: 'certain',
  PROBABLE: 'probable',
  POSSIBLE: 'possible',
};

/**
 * The $match result: a searchset Bundle ordered by score (best first), each entry with `search.mode = match`,
 * `search.score` (the match probability, 0..1) and the match-grade extension. Applies `onlyCertainMatches`
 * and `count` again, so the answer honours the request whatever the port returned.
 */
export function matchBundle(
  candidates: MatchCandidate[],
  request: Pick<MatchRequest, 'onlyCertainMatches' | 'count'>,
  opts: { baseUrl: string; systems?: IdentitySystems },
): Bundle {
  const kept = candidates
    .filter((c) => !request.onlyCertainMatches || c.grade === 'CERTAIN')
    .sort((a, b) => b.probability - a.probability)
    .slice(0, request.count ?? candidates.length);
  const entry: BundleEntry[] = kept.map((c) => ({
    fullUrl: `${opts.baseUrl}/Patient/${c.identity.id}`,
    resource: identityToPatient(c.identity, opts.systems),
    search: {
      mode: 'match',
      score: roundScore(c.probability),
      extension: [{ url: MATCH_GRADE_EXTENSION, valueCode: GRADE_CODE[c.grade] }],
    },
  }));
  // An empty array is not valid FHIR JSON: no matches means no `entry` at all.
  return { resourceType: 'Bundle', type: 'searchset', total: kept.length, ...(entry.length > 0 ? { entry } : {}) };
}

/** Six decimals: enough to order candidates, without float noise in the JSON. */
function roundScore(probability: number): number {
  return Math.round(Math.min(1, Math.max(0, probability)) * 1e6) / 1e6;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
