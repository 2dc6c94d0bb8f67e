import type { GoldenIdentityView, MatchCandidate, PatientQuery, SourceRef } from '../ports.ts';
import type { FhirEnv } from './handler.ts';
import { fhirJson, readJson } from './http-io.ts';
import { GOLDEN_TAG, identityToPatient, RECORD_STATUS_SYSTEM, SOURCE_TAG } from './identity-to-patient.ts';
import { matchBundle, parseMatchParameters } from './match.ts';
import { errorIssue, FhirError } from './operation-outcome.ts';
import { isCalendarDate } from './patient-schema.ts';
import { SEX_BY_GENDER, US_SSN_SYSTEM } from './patient-to-record.ts';
import { sourcePatient } from './source-patient.ts';
import { validateR4 } from './validate.ts';

/** PDQm page size when the client gives no `_count`, and the most it may ask for. */
export const DEFAULT_SEARCH_COUNT = 20;
export const MAX_SEARCH_COUNT = 100;

/** Search parameters served (PDQm ITI-78 plus `_tag`), with the result-control ones. */
export const SEARCH_PARAMETERS = [
  { name: '_id', type: 'token' },
  { name: 'active', type: 'token' },
  { name: 'family', type: 'string' },
  { name: 'given', type: 'string' },
  { name: 'name', type: 'string' },
  { name: 'birthdate', type: 'date' },
  { name: 'gender', type: 'token' },
  { name: 'identifier', type: 'token' },
  { name: 'address-postalcode', type: 'string' },
  { name: 'telecom', type: 'token' },
  { name: '_tag', type: 'token' },
] as const;
const CONTROL_PARAMETERS = new Set(['_count', '_offset', '_format']);
const KNOWN = new Set<string>([...SEARCH_PARAMETERS.map((p) => p.name), ...CONTROL_PARAMETERS]);

/** `system|value`, `|value` or `value` (hl7.org/fhir/R4/search.html#token). */
export function parseTokenParam(raw: string, name: string): { system?: string; value: string } {
  const bar = raw.indexOf('|');
  const system = bar >= 0 ? raw.slice(0, bar) : undefined;
  const value = bar >= 0 ? raw.slice(bar + 1) : raw;
  if (value.trim() === '') throw new FhirError(400, [errorIssue('value', `${name} needs a value`)]);
  return system ? { system, value } : { value };
}

/** PDQm search, PIXm cross-reference and $match. */
export function patientQueries<C>(env: FhirEnv<C>) {
  const { port, systems, opts } = env;

  return {
    async search(params: URLSearchParams, context: C, baseUrl: string): Promise<Response> {
      const query = await parseQuery(params);
      const { hits, more } = await port.searchPatients(context, query);
      const entry = hits.map((hit) => {
        const resource = hit.kind === 'golden' ? identityToPatient(hit.identity, systems) : sourcePatient(hit.version, systems);
        const id = hit.kind === 'golden' ? hit.identity.id : hit.version.id;
        return { fullUrl: `${baseUrl}/Patient/${id}`, resource, search: { mode: 'match' } };
      });
      const page = (offset: number) => {
        const next = new URLSearchParams([...params].filter(([k]) => k !== '_offset' && k !== '_format'));
        next.set('_count', String(query.count));
        if (offset > 0) next.set('_offset', String(offset));
        return `${baseUrl}/Patient?${next.toString()}`;
      };
      const link = [{ relation: 'self', url: page(query.offset) }];
      if (more) link.push({ relation: 'next', url: page(query.offset + query.count) });
      if (query.offset > 0) link.push({ relation: 'previous', url: page(Math.max(0, query.offset - query.count)) });
      const total = !more ? { total: query.offset + entry.length } : {};
      return fhirJson(200, { resourceType: 'Bundle', type: 'searchset', ...total, link, ...(entry.length > 0 ? { entry } : {}) });
    },

    /** GET Patient/$ihe-pix (IHE ITI-83): every other identifier of the person, and their Patients. */
    async pix(params: URLSearchParams, context: C, baseUrl: string): Promise<Response> {
      for (const name of params.keys()) {
        if (!['sourceIdentifier', 'targetSystem', '_format'].includes(name))
          throw new FhirError(400, [errorIssue('not-supported', `unknown parameter ${safeName(name)}`)]);
      }
      const raw = params.getAll('sourceIdentifier');
      if (raw.length !== 1) throw new FhirError(400, [errorIssue('required', 'exactly one sourceIdentifier=system|value is required')]);
      const token = parseTokenParam(raw[0]!, 'sourceIdentifier');
      if (!token.system) throw new FhirError(400, [errorIssue('required', 'sourceIdentifier needs a system: system|value')]);
      const identity = await lookup(context, token.system, token.value);
      const targets = params
        .getAll('targetSystem')
        .flatMap((t) => t.split(','))
        .filter((t) => t !== '');
      for (const target of targets) {
        if (target !== systems.enterpriseIdSystem && (await port.sourceForSystem(context, target)) === null) {
          throw new FhirError(403, [errorIssue('code-invalid', 'targetSystem is not a domain this index knows')]);
        }
      }
      const parameter = crossReferences(identity, token, targets, baseUrl);
      return fhirJson(200, { resourceType: 'Parameters', ...(parameter.length > 0 ? { parameter } : {}) });
    },

    /** POST Patient/$match. An identifier of a known source record is a certain match on its own. */
    async match(request: Request, context: C, baseUrl: string): Promise<Response> {
      const body = await readJson(request, env.maxBodyBytes);
      const structural = validateR4(body);
      if (structural.length > 0) throw new FhirError(400, structural);
      const parsed = parseMatchParameters(body);
      if (!parsed.ok) throw new FhirError(400, parsed.issues);
      const { record, onlyCertainMatches, identifiers, hasDemographics } = parsed.value;
      const count = Math.min(parsed.value.count ?? opts.defaultMatchCount ?? 10, opts.maxMatchCount ?? 100);
      const byIdentifier = new Map<string, MatchCandidate>();
      for (const identifier of identifiers) {
        const source = await port.sourceForSystem(context, identifier.system);
        const found = source ? await port.crossReference(context, { source, localId: identifier.value }) : null;
        if (found) byIdentifier.set(found.identity.id, { identity: found.identity, probability: 1, grade: 'CERTAIN' });
      }
      // onlyCertainMatches asks for one answer only when exactly one is certain, so look for a second.
      const scored = hasDemographics
        ? await port.match(context, record, { count: onlyCertainMatches ? 2 : count, onlyCertain: onlyCertainMatches })
        : [];
      const candidates = [...byIdentifier.values(), ...scored.filter((c) => !byIdentifier.has(c.identity.id))];
      const certain = candidates.filter((c) => c.grade === 'CERTAIN');
      const kept = onlyCertainMatches ? (certain.length === 1 ? certain : []) : candidates;
      return fhirJson(200, matchBundle(kept, { onlyCertainMatches, count }, { baseUrl, systems }));
    },
  };

  async function lookup(context: C, system: string, value: string): Promise<GoldenIdentityView> {
    const source = await port.sourceForSystem(context, system);
    if (!source) throw new FhirError(400, [errorIssue('code-invalid', 'sourceIdentifier Assigning Authority not found')]);
    const found = await port.crossReference(context, { source, localId: value } satisfies SourceRef);
    if (!found) throw new FhirError(404, [errorIssue('not-found', 'sourceIdentifier not found')]);
    return found.identity;
  }

  function crossReferences(identity: GoldenIdentityView, asked: { system?: string; value: string }, targets: string[], baseUrl: string) {
    const wanted = (system: string) => targets.length === 0 || targets.includes(system);
    const parameter: Array<Record<string, unknown>> = [];
    for (const record of identity.records) {
      const system = record.system ?? `${systems.sourceSystemPrefix}${record.source}`;
      if (system === asked.system && record.localId === asked.value) continue;
      if (!wanted(system)) continue;
      parameter.push({ name: 'targetIdentifier', valueIdentifier: { system, value: record.localId } });
      if (record.resourceId) parameter.push({ name: 'targetId', valueReference: { reference: `${baseUrl}/Patient/${record.resourceId}` } });
    }
    if (wanted(systems.enterpriseIdSystem)) {
      parameter.push({
        name: 'targetIdentifier',
        valueIdentifier: { use: 'official', system: systems.enterpriseIdSystem, value: identity.id },
      });
      parameter.push({ name: 'targetId', valueReference: { reference: `${baseUrl}/Patient/${identity.id}` } });
    }
    return parameter;
  }

  async function parseQuery(params: URLSearchParams): Promise<PatientQuery> {
    const query: PatientQuery = { kind: 'any', count: DEFAULT_SEARCH_COUNT, offset: 0 };
    for (const [rawName, value] of params) {
      const name = rawName.split(':')[0]!;
      if (!KNOWN.has(name) || rawName.includes(':')) {
        throw new FhirError(400, [errorIssue('not-supported', `search parameter ${safeName(rawName)} is not supported`)]);
      }
      if (value === '') throw new FhirError(400, [errorIssue('value', `${name} needs a value`)]);
      applyParam(query, name, value);
    }
    return query;
  }

  function applyParam(query: PatientQuery, name: string, value: string): void {
    switch (name) {
      case 'family':
        query.family = value;
        break;
      case 'given':
        query.given = value;
        break;
      case 'name':
        query.name = value;
        break;
      case 'address-postalcode':
        query.postalCode = value;
        break;
      case 'birthdate':
        query.birthDate = parseBirthDate(value);
        break;
      case 'gender': {
        if (!SEX_BY_GENDER.has(value))
          throw new FhirError(400, [errorIssue('code-invalid', 'gender must be male, female, other or unknown')]);
        query.sex = SEX_BY_GENDER.get(value) ?? 'unknown';
        break;
      }
      case 'identifier': {
        const token = parseTokenParam(value, 'identifier');
        if (token.system === systems.enterpriseIdSystem) query.identityId = token.value;
        else query.identifier = token.system === US_SSN_SYSTEM ? { system: US_SSN_SYSTEM, value: token.value } : token;
        break;
      }
      case 'telecom':
        query.telecom = parseTokenParam(value, 'telecom').value;
        break;
      case '_id':
        query.id = value;
        break;
      case 'active': {
        if (value !== 'true' && value !== 'false') throw new FhirError(400, [errorIssue('value', 'active must be true or false')]);
        query.active = value === 'true';
        break;
      }
      case '_tag': {
        const token = parseTokenParam(value, '_tag');
        if (
          (token.system ?? RECORD_STATUS_SYSTEM) !== RECORD_STATUS_SYSTEM ||
          ![GOLDEN_TAG.code, SOURCE_TAG.code].includes(token.value as 'golden')
        ) {
          throw new FhirError(400, [errorIssue('code-invalid', `_tag supports ${RECORD_STATUS_SYSTEM}|golden and |source`)]);
        }
        query.kind = token.value === GOLDEN_TAG.code ? 'golden' : 'source';
        break;
      }
      case '_count':
        query.count = boundedInt(value, '_count', 1, MAX_SEARCH_COUNT);
        break;
      case '_offset':
        query.offset = boundedInt(value, '_offset', 0, 10_000);
        break;
      default:
        break;
    }
  }
}

/** `1984-02-29`, `1984-02`, `1984`, or with the `eq` prefix; other comparisons are not served. */
function parseBirthDate(value: string): string {
  const date = value.startsWith('eq') ? value.slice(2) : value;
  if (!/^\d{4}(-\d{2}(-\d{2})?)?$/.test(date) || !isCalendarDate(date)) {
    throw new FhirError(400, [errorIssue('value', 'birthdate must be a date YYYY, YYYY-MM or YYYY-MM-DD (optionally eq)')]);
  }
  return date;
}

function boundedInt(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new FhirError(400, [errorIssue('value', `${name} must be an integer from ${min} to ${max}`)]);
  return n;
}

/** A parameter name echoed in an error only when it looks like one (names are not patient data, values are). */
function safeName(name: string): string {
  return /^[A-Za-z_][\w:.-]{0,40}$/.test(name) ? name : '(unnamed)';
}
