import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../platform/errors.ts';

/**
 * Where webhook endpoints may point. Loopback, link-local (which holds the cloud metadata address
 * 169.254.169.254), unspecified and multicast addresses are refused unless a configured network allows them, so
 * a registered URL cannot make the server call itself or its host's metadata service. Redirects are not followed.
 */
export interface UrlPolicy {
  /** Host names allowed (exact, or `*.example.org` for sub-domains); empty: any host. */
  allowedHosts: readonly string[];
  /** Networks exempt from the blocked ranges, as CIDRs (e.g. `127.0.0.0/8` for a receiver on the same host). */
  allowedNetworks: readonly string[];
  /** Plain http allowed (default: only for allowed networks). */
  allowHttp?: boolean;
}

const BLOCKED_V4: Array<[string, number]> = [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 4],
  ['100.100.100.200', 32],
];
const BLOCKED_V6: Array<[string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['ff00::', 8],
  ['fd00:ec2::254', 128],
];

function cidrList(cidrs: Iterable<[string, number]>): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of cidrs) list.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  return list;
}

const BLOCKED = cidrList([...BLOCKED_V4, ...BLOCKED_V6]);

/** Parses `a.b.c.d/n` entries; throws naming the bad one. */
export function parseNetworks(entries: readonly string[]): BlockList {
  return cidrList(
    entries.map((entry) => {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address);
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
      if (family === 0 || !Number.isInteger(bits)) throw new Error(`not a network: ${entry}`);
      return [address, bits] as [string, number];
    }),
  );
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) : host === a));
}

/** Checks a URL's form and host at registration; throws a ValidationError on `field`. */
export function checkUrlShape(raw: string, policy: UrlPolicy, field = 'url'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ValidationError.of(field, 'INVALID_URL', 'is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw ValidationError.of(field, 'INVALID_URL', 'must be http or https');
  if (url.username || url.password) throw ValidationError.of(field, 'INVALID_URL', 'must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!hostAllowed(host, policy.allowedHosts)) throw ValidationError.of(field, 'URL_NOT_ALLOWED', 'host is not on the webhook allow-list');
  return url;
}

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has (the system resolver by default; tests give their own). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) => lookup(host, { all: true });

/** A URL with the one address its host resolved to when checked: the address to connect to. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the URL's host once, refuses it when any address is blocked, and returns the address that was
 * checked. Delivery connects to exactly that address (see `PinnedConnections`): resolving the name again at connect
 * time would let a DNS answer that changes between the check and the connection (DNS rebinding) reach a blocked
 * address. Run before every delivery, so a name that later resolves to a blocked address is refused then.
 */
export async function resolveTarget(
  raw: string,
  policy: UrlPolicy,
  field = 'url',
  resolve: Resolver = systemResolver,
): Promise<CheckedTarget> {
  const url = checkUrlShape(raw, policy, field);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await resolve(host).catch(() => {
        throw ValidationError.of(field, 'URL_UNRESOLVABLE', 'host name does not resolve');
      });
  if (addresses.length === 0) throw ValidationError.of(field, 'URL_UNRESOLVABLE', 'host name does not resolve');
  const allowed = parseNetworks(policy.allowedNetworks);
  for (const { address, family } of addresses) {
    const type = family === 6 ? 'ipv6' : 'ipv4';
    const exempt = allowed.check(address, type);
    if (BLOCKED.check(address, type) && !exempt) {
      throw ValidationError.of(field, 'URL_NOT_ALLOWED', 'resolves to a loopback, link-local, metadata or multicast address');
    }
    if (url.protocol === 'http:' && !policy.allowHttp && !exempt) throw ValidationError.of(field, 'URL_NOT_ALLOWED', 'must use https');
  }
  const [first] = addresses;
  return { url, address: first!.address, family: first!.family === 6 ? 6 : 4 };
}

/** Checks that the URL's host resolves only to allowed addresses (at registration); throws a ValidationError on `field`. */
export async function checkUrlTarget(raw: string, policy: UrlPolicy, field = 'url', resolve: Resolver = systemResolver): Promise<void> {
  await resolveTarget(raw, policy, field, resolve);
}
