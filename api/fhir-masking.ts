import { maskPhi, MASK } from './masking.ts';

/** The US SSN identifier system; its values are masked like the canonical `ssn`. */
const US_SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';

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
    compact({ system: t.system, use: t.use, value: t.value === undefined ? undefined : MASK }),
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

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : [];
}

/** Drops absent members, and an address or name that kept nothing. */
function compact(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null));
}
