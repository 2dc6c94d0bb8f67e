import { errorIssue, FhirError } from './operation-outcome.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Reads a body of at most `maxBytes` as text, without ever quoting it back. */
export async function readText(request: Request, maxBytes: number, kind: 'json' | 'form' = 'json'): Promise<string> {
  const type = request.headers.get('content-type');
  const accepted = kind === 'json' ? /^application\/(fhir\+)?json\b/i : /^application\/x-www-form-urlencoded\b/i;
  if (type !== null && !accepted.test(type)) {
    const expected = kind === 'json' ? 'application/fhir+json' : 'application/x-www-form-urlencoded';
    throw new FhirError(415, [errorIssue('not-supported', `content type must be ${expected}`)]);
  }
  const tooLarge = () => new FhirError(413, [errorIssue('too-long', `request body exceeds ${maxBytes} bytes`)]);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      total += next.value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(next.value);
    }
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Reads a JSON body of at most `maxBytes`, without ever quoting it back. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readText(request, maxBytes);
  try {
    return JSON.parse(text);
  } catch {
    throw new FhirError(400, [errorIssue('structure', 'request body is not valid JSON')]);
  }
}

export function fhirJson(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': FHIR_JSON, ...headers } });
}
