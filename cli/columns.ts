import type { CanonicalField } from '../matching/index.ts';

// Plain data, imported by `mpi --help` as well as by the mapping: no other imports here, so help stays fast.

/** Id columns recognised without a mapping, in order of preference. */
export const ID_COLUMNS = ['record_id', 'rec_id', 'unique_id', 'id'];

/**
 * Well-known column names per canonical field (FEBRL, Splink's fake_1000, RLdata, common exports and the
 * canonical names), each an ordered list of alternatives; an alternative that is a list is joined.
 * Truth-carrying columns (`cluster`, `ent_id`) are deliberately absent.
 */
export const KNOWN_COLUMNS: Record<CanonicalField, (string | string[])[]> = {
  givenName: ['givenname', 'given_name', 'first_name', 'firstname', 'fname', ['fname_c1', 'fname_c2'], 'forename'],
  middleName: ['middlename', 'middle_name', 'middle'],
  familyName: ['familyname', 'family_name', 'surname', 'last_name', 'lastname', 'lname', ['lname_c1', 'lname_c2']],
  suffix: ['suffix', 'name_suffix'],
  sex: ['sex', 'gender'],
  birthDate: ['birthdate', 'birth_date', 'date_of_birth', 'dob', ['by', 'bm', 'bd']],
  ssn: ['ssn', 'soc_sec_id', 'social_security_number', 'national_id'],
  phone: ['phone', 'phone_number', 'telephone', 'phone_no'],
  email: ['email', 'email_address'],
  addressLine1: ['addressline1', 'address_line_1', ['street_number', 'address_1'], 'address_1', 'address1', 'address', 'street'],
  addressLine2: ['addressline2', 'address_line_2', 'address_2', 'address2'],
  city: ['city', 'suburb', 'town'],
  state: ['state', 'province', 'region'],
  postalCode: ['postalcode', 'postal_code', 'postcode', 'zip', 'zipcode', 'zip_code'],
};

/** The recognised column names, one line per canonical field, for help texts. */
export function describeKnownColumns(): string {
  const name = (alt: string | string[]) => (Array.isArray(alt) ? alt.join('+') : alt);
  const lines = [`  id            ${ID_COLUMNS.join(', ')}`];
  for (const [field, alts] of Object.entries(KNOWN_COLUMNS)) lines.push(`  ${field.padEnd(13)} ${alts.map(name).join(', ')}`);
  return lines.join('\n');
}
