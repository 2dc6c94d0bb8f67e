import type { CanonicalField } from '../../../matching/fields.ts';
import { graphql, type ResultOf } from '../graphql.ts';

// GraphQL fragments are static text (gql.tada reads them as written), so a golden record and a source record
// each name the fields; the checks at the end fail the typecheck unless both select exactly the canonical fields.

/** Every demographic field of a golden record (unmasked fragment: spread wherever golden values are shown). */
export const GoldenFieldsFragment = graphql(`
  fragment GoldenFields on GoldenRecord @_unmask {
    givenName
    middleName
    familyName
    suffix
    sex
    birthDate
    ssn
    phone
    email
    addressLine1
    addressLine2
    city
    state
    postalCode
  }
`);

/** Every demographic field of a source record. */
export const RecordFieldsFragment = graphql(`
  fragment RecordFields on SourceRecord @_unmask {
    givenName
    middleName
    familyName
    suffix
    sex
    birthDate
    ssn
    phone
    email
    addressLine1
    addressLine2
    city
    state
    postalCode
  }
`);

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _goldenSelectsTheCanonicalFields: Same<keyof ResultOf<typeof GoldenFieldsFragment>, CanonicalField> = true;
const _recordSelectsTheCanonicalFields: Same<keyof ResultOf<typeof RecordFieldsFragment>, CanonicalField> = true;
