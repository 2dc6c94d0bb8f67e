import { CANONICAL_FIELDS, type CanonicalField } from '../../../matching/fields.ts';

/** How the console labels each canonical field (the fields themselves are defined once, in matching/fields.ts). */
const LABELS: Record<CanonicalField, string> = {
  givenName: 'Given name',
  middleName: 'Middle name',
  familyName: 'Family name',
  suffix: 'Suffix',
  sex: 'Sex',
  birthDate: 'Birth date',
  ssn: 'SSN',
  phone: 'Phone',
  email: 'Email',
  addressLine1: 'Address',
  addressLine2: 'Address line 2',
  city: 'City',
  state: 'State',
  postalCode: 'Postal code',
};

/** The demographic fields the console compares and shows, in display order, with their labels. */
export const DEMOGRAPHIC_FIELDS = CANONICAL_FIELDS.map((field) => [field, LABELS[field]] as const);

export type DemographicField = CanonicalField;
export type Demographics = { readonly [F in DemographicField]?: string | null };

/** Whether two values agree for display: case, spacing and punctuation ignored. Masked values are never compared. */
export function agreement(a: string | null | undefined, b: string | null | undefined): 'agree' | 'differ' | 'missing' | 'masked' {
  if (!a || !b) return 'missing';
  if (a.includes('*') || b.includes('*')) return 'masked';
  const norm = (v: string) => v.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
  return norm(a) === norm(b) ? 'agree' : 'differ';
}
