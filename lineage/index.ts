export * from './survivorship.ts';
export { fieldHistory, loadActivePolicy, loadContributors, rebuildGolden, type GoldenChange } from './store.ts';
