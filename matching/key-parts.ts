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
  'familyPrefix',
  'postalCode',
  'streetNumber',
  'streetName',
  'city',
  'emailLocal',
] as const;
export type KeyPart = (typeof KEY_PARTS)[number];

/**
 * Letters of the family name a `familyPrefix` key keeps. Keying errors fall mostly after the first letters of a
 * name (Pollock and Zamora 1984 found the first letter of a misspelling far less often wrong than later ones;
 * the classic prefix key of blocking rests on this), while a phonetic code changes with any consonant. Three
 * letters keep a prefix rare enough to block on together with the given name and the birth year.
 */
export const FAMILY_PREFIX_LENGTH = 3;

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
    case 'familyPrefix': {
      const letters = r.familyName === null ? '' : r.familyName.replace(/[^a-z]/g, '');
      return letters.length >= FAMILY_PREFIX_LENGTH ? letters.slice(0, FAMILY_PREFIX_LENGTH) : null;
    }
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
