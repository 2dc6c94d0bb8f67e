import { graphql } from '../graphql.ts';

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
