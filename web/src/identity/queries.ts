import { graphql } from '../graphql.ts';
import { GoldenFieldsFragment, RecordFieldsFragment } from '../shell/demographic-fragments.ts';

export const ProvenanceFragment = graphql(`
  fragment ProvenanceRow on FieldProvenance @_unmask {
    id
    field
    value
    rule
    policyVersion
    validFrom
    validTo
    current
    source {
      code
      name
    }
    record {
      id
      source
      localId
    }
  }
`);

export const IdentityPageQuery = graphql(
  `
    query IdentityPage($id: ID!, $events: Int!) {
      identity(id: $id) {
        id
        status
        version
        mergedInto
        createdAt
        updatedAt
        golden {
          ...GoldenFields
        }
        provenance(current: true) {
          ...ProvenanceRow
        }
        records {
          id
          source
          localId
          receivedAt
          link {
            linkSource
            matchResult
            probability
          }
          ...RecordFields
        }
        events(first: $events) {
          totalCount
          edges {
            node {
              id
              type
              at
              actor
              reason
              recordId
              otherIdentityId
            }
          }
        }
      }
    }
  `,
  [GoldenFieldsFragment, RecordFieldsFragment, ProvenanceFragment],
);

/** Events shown in the history timeline (the API's page limit). */
const HISTORY_EVENTS = 200;

/** The identity page query's variables: the route's loader and the screen build them the same way. */
export function identityPageVariables(id: string) {
  return { id, events: HISTORY_EVENTS };
}

export const IdentityAsOfQuery = graphql(
  `
    query IdentityAsOf($id: ID!, $at: DateTime!) {
      identityAsOf(id: $id, at: $at) {
        at
        identityId
        requestedId
        redirectedFrom
        golden {
          ...GoldenFields
        }
        provenance {
          ...ProvenanceRow
        }
        records {
          record {
            id
            source
            localId
          }
          values {
            ...GoldenFields
          }
        }
      }
    }
  `,
  [GoldenFieldsFragment, ProvenanceFragment],
);

export const LineageQuery = graphql(
  `
    query FieldLineage($id: ID!, $field: GoldenField!) {
      lineage(identityId: $id, field: $field) {
        field
        history {
          ...ProvenanceRow
          competitors {
            value
            source {
              code
            }
            record {
              id
              localId
            }
          }
        }
      }
    }
  `,
  [ProvenanceFragment],
);

export const OtherIdentityQuery = graphql(
  `
    query OtherIdentity($id: ID!) {
      identity(id: $id) {
        id
        version
        status
        golden {
          ...GoldenFields
        }
      }
    }
  `,
  [GoldenFieldsFragment],
);

export const MergeMutation = graphql(`
  mutation MergeIdentities($survivorId: ID!, $mergedId: ID!, $reason: String!, $survivorVersion: Int, $mergedVersion: Int) {
    mergeIdentities(
      survivorId: $survivorId
      mergedId: $mergedId
      reason: $reason
      survivorVersion: $survivorVersion
      mergedVersion: $mergedVersion
    ) {
      id
      version
    }
  }
`);

export const NotDuplicateMutation = graphql(`
  mutation MarkNotDuplicate($a: ID!, $b: ID!, $reason: String!) {
    markNotDuplicate(a: $a, b: $b, reason: $reason) {
      id
      version
    }
  }
`);

export const UnlinkMutation = graphql(`
  mutation UnlinkRecord($recordId: ID!, $reason: String!) {
    unlinkRecord(recordId: $recordId, reason: $reason) {
      id
      identity {
        id
      }
    }
  }
`);
