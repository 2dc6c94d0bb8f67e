export * from './survivorship.ts';
export {
  contributionsOf, fieldHistory, loadActivePolicy, loadContributors, provenanceAt, provenanceById, rebuildGolden,
  type FieldProvenanceRow, type GoldenChange,
} from './store.ts';
