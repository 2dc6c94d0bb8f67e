import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget } from './url-policy.ts';

/** What a delivery needs to know of the answer. */
export interface PostResult {
  status: number;
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** A `lookup` that answers every name with the one checked address, so the socket cannot go anywhere else. */
function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}

/**
 * POSTs to a checked target, connecting to the address that was checked (never resolving the host name again)
 * while the request keeps the URL's host name in its Host header and, for https, in TLS SNI and certificate
 * checks. Redirects are not followed: a 3xx is an answer like any other.
 */
export function pinnedPost(target: CheckedTarget, options: PostOptions): Promise<PostResult> {
  const { url } = target;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const requestOptions: RequestOptions & { servername?: string } = {
    method: 'POST',
    hostname,
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
    lookup: pinnedLookup(target),
    signal: options.signal,
    // A fresh connection per request: a pooled socket to the same name could have been opened to another address.
    agent: false,
  };
  return new Promise<PostResult>((resolve, reject) => {
    const req = request(requestOptions, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
