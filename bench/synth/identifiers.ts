// Identifiers a person carries: SSNs unique by construction, NANP phone numbers, and e-mail addresses built
// from the name the way people choose them.
import { NICKNAMES } from './names.ts';
import { drawEmailDomain } from './places.ts';
import type { Rng } from './prng.ts';

const SSN_AREAS = 898; // 001-899 without 666
const SSN_GROUPS = 99;
const SSN_SERIALS = 9999;
const SSN_SPACE = BigInt(SSN_AREAS * SSN_GROUPS * SSN_SERIALS);

/** The index-th nine-digit SSN in a valid format (area 001-899 except 666, group 01-99, serial 0001-9999). */
export function ssnFromIndex(index: number): string {
  const serial = (index % SSN_SERIALS) + 1;
  const group = (Math.floor(index / SSN_SERIALS) % SSN_GROUPS) + 1;
  let area = Math.floor(index / (SSN_SERIALS * SSN_GROUPS)) + 1;
  if (area >= 666) area += 1;
  return `${String(area).padStart(3, '0')}${String(group).padStart(2, '0')}${String(serial).padStart(4, '0')}`;
}

/**
 * Hands out SSNs that look random but never repeat: an affine permutation of the person number over the
 * whole SSN space, so no set of used numbers has to be kept.
 */
export class SsnAllocator {
  private readonly multiplier: bigint;
  private readonly offset: bigint;

  constructor(rng: Rng) {
    // One more than a multiple of every prime factor of the space (2, 3, 11, 101, 449): coprime, so a bijection.
    this.multiplier = BigInt(rng.int(1, 2_000_000) * 2 * 3 * 11 * 101 * 449 + 1);
    this.offset = BigInt(rng.int(0, 800_000_000));
  }

  /** The SSN of person number `serial` (distinct serials give distinct SSNs). */
  ssnFor(serial: number): string {
    return ssnFromIndex(Number((BigInt(serial) * this.multiplier + this.offset) % SSN_SPACE));
  }
}

/** A valid-looking NANP number: exchange 2xx-9xx, never N11 or the fictional 555. */
export function phoneNumber(rng: Rng, areaCode: string): string {
  let exchange = rng.int(200, 999);
  if (exchange % 100 === 11 || exchange === 555) exchange += 1;
  return `${areaCode}${exchange}${String(rng.int(0, 9999)).padStart(4, '0')}`;
}

/** An address built from the name, the way people pick them (jane.doe, jdoe82, janedoe). */
export function emailAddress(rng: Rng, givenName: string, familyName: string, birthYear: number): string {
  const clean = (text: string): string => text.toLowerCase().replace(/[^a-z]/g, '');
  const nick = NICKNAMES[givenName];
  const given = clean(nick && rng.chance(0.2) ? rng.pick(nick) : givenName);
  const family = clean(familyName.split(/[ -]/)[0] ?? familyName);
  const year = String(birthYear).slice(2);
  const local = [
    `${given}.${family}`,
    `${given}${family}`,
    `${given.charAt(0)}${family}`,
    `${given}_${family}`,
    `${given}.${family}${rng.int(1, 99)}`,
    `${given}${year}`,
    `${given.charAt(0)}${family}${year}`,
    `${family}.${given}`,
  ];
  return `${rng.pick(local)}@${drawEmailDomain(rng)}`;
}
