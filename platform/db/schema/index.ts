export * from './identity.ts';
export * from './lineage.ts';
export * from './catalog.ts';
export * from './audit.ts';
export * from './events.ts';
export * from './interop.ts';
export * from './runtime.ts';
