import { US_SSN_SYSTEM } from '../interop/index.ts';
import { maskPhi, MASK, PHI_FIELDS } from './masking.ts';

type Json = Record<string, unknown>;

/**
 * A stored Patient resource as a role without full access may see it, by the same policy as the canonical
 * fields (masking.ts): names reduced to initials, contact details and street address hidden, the birth date to
 * its year, the postal code to three digits, the SSN to its last four. Elements the policy does not cover
 * (extensions, contacts, photos, free text...) are left out rather than guessed at.
 */
export function maskPatientResource(resource: Json): Json {
  const masked: Json = { resourceType: 'Patient' };
  const identifier = list(resource.identifier).map((i) =>
    i.system === US_SSN_SYSTEM && typeof i.value === 'string' ? { ...i, value: maskPhi('ssn', i.value) } : i,
  );
  if (identifier.length > 0) masked.identifier = identifier;
  if (typeof resource.active === 'boolean') masked.active = resource.active;
  const name = list(resource.name).map((n) =>
    compact({
      use: n.use,
      family: typeof n.family === 'string' ? maskPhi('familyName', n.family) : undefined,
      given: Array.isArray(n.given) ? n.given.map((g) => maskPhi('givenName', String(g))) : undefined,
    }),
  );
  if (name.length > 0) masked.name = name;
  const telecom = list(resource.telecom).map((t) =>
    compact({ system: t.system, use: t.use, value: t.value === undefined ? undefined : maskTelecom(t.system, String(t.value)) }),
  );
  if (telecom.length > 0) masked.telecom = telecom;
  if (typeof resource.gender === 'string') masked.gender = resource.gender;
  if (typeof resource.birthDate === 'string') masked.birthDate = maskPhi('birthDate', resource.birthDate);
  const address = list(resource.address).map((a) =>
    compact({
      use: a.use,
      state: a.state,
      postalCode: typeof a.postalCode === 'string' ? maskPhi('postalCode', a.postalCode) : undefined,
      country: a.country,
    }),
  );
  if (address.length > 0) masked.address = address;
  if (Array.isArray(resource.link)) masked.link = resource.link;
  return masked;
}

/** A contact point's value by the policy of the canonical field it corresponds to (`email`, else `phone`). */
function maskTelecom(system: unknown, value: string): string {
  return (value === '' ? MASK : maskPhi(system === 'email' ? 'email' : 'phone', value)) ?? MASK;
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : [];
}

/** Drops absent members, and an address or name that kept nothing. */
function compact(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null));
}

/** Elements a client cannot have read masked from us (the server owns them, or they carry no demographics). */
const UNMASKED_ELEMENTS = new Set(['resourceType', 'id', 'meta', 'link', 'gender', 'active']);

/**
 * Where a Patient sent by a role that reads demographics masked holds masked values instead of real ones: the
 * masked forms of the stored record's values (an initial, a birth year, `***`, `021**`), which a read → edit →
 * PUT round trip would otherwise write over the real data. Returns element paths (`name[0].family`), never values.
 */
export function maskedPlaceholders(
  incoming: Json,
  stored: { resource: Json | null; fields: Record<string, string | null> } | null,
): string[] {
  const placeholders = new Set<string>();
  for (const field of stored ? PHI_FIELDS : []) {
    const value = stored!.fields[field];
    const masked = maskPhi(field, value);
    if (value && masked && masked !== value) placeholders.add(masked);
  }
  if (stored?.resource) {
    const real = new Set(stringLeaves(stored.resource).map(([, v]) => v));
    for (const [, v] of stringLeaves(maskPatientResource(stored.resource))) if (!real.has(v)) placeholders.add(v);
  }
  return stringLeaves(incoming)
    .filter(([, v]) => placeholders.has(v) || v.includes('**'))
    .map(([path]) => path);
}

/** Every string value of a resource with its path, outside the elements that are never masked. */
function stringLeaves(resource: Json): Array<[string, string]> {
  const leaves: Array<[string, string]> = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') leaves.push([path, value]);
    else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
  };
  for (const [key, value] of Object.entries(resource)) if (!UNMASKED_ELEMENTS.has(key)) visit(value, key);
  return leaves;
}
