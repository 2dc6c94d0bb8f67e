import type { NormalisedRecord } from './normalise.ts';

/** The record values a blocking rule may combine into a key. */
export const KEY_PARTS = [
  'ssn',
  'phone',
  'email',
  'birthDate',
  'birthYear',
  'birthMonthDay',
  'givenPhonetic',
  'familyPhonetic',
  'namePhonetics',
  'givenInitial',
  'familyInitial',
  'postalCode',
  'streetNumber',
  'streetName',
  'city',
  'emailLocal',
] as const;
export type KeyPart = (typeof KEY_PARTS)[number];

/**
 * The value of one key part, or null when it is missing or too coarse to block on (a partial birth date would
 * put everyone born that year in one block).
 */
export function keyPartValue(r: NormalisedRecord, part: KeyPart): string | null {
  switch (part) {
    case 'birthDate':
      return r.birthDate !== null && r.birthDate.length === 10 ? r.birthDate.replace(/-/g, '') : null;
    case 'birthYear':
      return r.birthDate === null ? null : r.birthDate.slice(0, 4);
    case 'birthMonthDay':
      return r.birthDate !== null && r.birthDate.length === 10 ? r.birthDate.slice(5, 7) + r.birthDate.slice(8, 10) : null;
    case 'namePhonetics':
      // Both name codes in sorted order: the key survives given and family names swapped between fields.
      if (r.givenPhonetic === null || r.familyPhonetic === null) return null;
      return r.givenPhonetic < r.familyPhonetic ? `${r.givenPhonetic}~${r.familyPhonetic}` : `${r.familyPhonetic}~${r.givenPhonetic}`;
    case 'givenInitial':
      return r.givenName === null ? null : r.givenName[0]!;
    case 'familyInitial':
      return r.familyName === null ? null : r.familyName[0]!;
    case 'emailLocal': {
      // The mailbox name is the person's; the domain is shared by millions and is where typos land as often.
      const at = r.email === null ? -1 : r.email.lastIndexOf('@');
      return at > 0 ? r.email!.slice(0, at) : null;
    }
    default:
      return r[part];
  }
}
