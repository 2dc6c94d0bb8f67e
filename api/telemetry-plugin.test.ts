import { describe, expect, test } from 'vitest';
import { routeOf } from './telemetry-plugin.ts';

describe('HTTP span routes', () => {
  test.each([
    ['/graphql', '/graphql'],
    ['/fhir/Patient/3f0c9a1e-0000-4000-8000-000000000001', '/fhir/Patient/:param'],
    ['/fhir/Patient/$match', '/fhir/Patient/$match'],
    ['/fhir/metadata', '/fhir/metadata'],
    ['/Jane-Doe-1980-01-01', '/:param'],
    ['/fhir/Patient/123-45-6789/extra', '/fhir/Patient/:param/:param'],
  ])('records %s as %s, never an id or free text', (path, route) => {
    expect(routeOf(path)).toBe(route);
  });
});
