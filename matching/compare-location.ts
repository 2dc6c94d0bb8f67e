import { JW_HIGH, JW_PLACE, NULL_LEVEL, levelMap } from './levels.ts';
import type { PreparedRecord } from './prepared.ts';
import { jaroWinklerFrom, withinOneEdit } from './text.ts';

/**
 * Where a person lives and how to reach them, compared as one piece of evidence: street address (line 1 and
 * unit), postcode, city and phone all describe one household, so a household shares all of them at once.
 */
export const LOCATION_LEVELS = [
  'address_and_phone',
  'address',
  'phone',
  'near_address',
  'same_street',
  'postcode_and_city',
  'same_area',
  'else',
] as const;
const L = levelMap(LOCATION_LEVELS);

type P = PreparedRecord;

const LINE_MISSING = 0;
const LINE_EXACT = 1;
const LINE_CLOSE = 2;
const LINE_NEAR = 3;
const LINE_SAME_STREET = 4;
const LINE_DIFFERS = 5;

/**
 * Street line agreement. House numbers are compared apart from the street: "12 main st" and "14 main st" are
 * neighbours, not a typo, though their strings are 95% similar.
 */
function compareLine(a: P, b: P): number {
  const x = a.addressLine1;
  const y = b.addressLine1;
  if (x === null || y === null) return LINE_MISSING;
  if (x === y) return LINE_EXACT;
  const na = a.streetNumber;
  const nb = b.streetNumber;
  const numbersEqual = na === nb;
  const numbersClose = numbersEqual || (na !== null && nb !== null && withinOneEdit(na, nb));
  const sa = a.streetName;
  const sb = b.streetName;
  if (na !== null && nb !== null && !numbersClose) return sa !== null && sa === sb ? LINE_SAME_STREET : LINE_DIFFERS;
  // Only compared with JW_HIGH and JW_PLACE (the lower) below.
  const streetJw = sa === null || sb === null ? 0 : sa === sb ? 1 : jaroWinklerFrom(sa, sb, JW_PLACE);
  if (numbersEqual && streetJw >= JW_HIGH) return LINE_CLOSE;
  if ((numbersClose && streetJw >= JW_HIGH) || (numbersEqual && streetJw >= JW_PLACE)) return LINE_NEAR;
  if ((na === null || nb === null) && jaroWinklerFrom(x, y, JW_HIGH) >= JW_HIGH) return LINE_NEAR;
  return LINE_DIFFERS;
}

/** Whether one record's street sits in the other's second address line (the two lines swapped). */
function linesSwapped(a: P, b: P): boolean {
  const street = (r: P) => r.streetName ?? r.addressLine1;
  const close = (x: string | null, y: string | null) =>
    x !== null && y !== null && (x === y || jaroWinklerFrom(x, y, JW_PLACE) >= JW_PLACE);
  return close(street(a), b.addressLine2) || close(a.addressLine2, street(b));
}

/** 1 agree, 2 disagree, 0 missing on a side. */
function agreement(x: string | null, y: string | null, close: (x: string, y: string) => boolean): number {
  if (x === null || y === null) return 0;
  return x === y || close(x, y) ? 1 : 2;
}

/** A 10-digit number whose last 7 digits agree usually differs only by a changed or mistyped area code. */
const SUBSCRIBER_DIGITS = 7;

/** Whether the last `count` characters of `x` and `y` (each at least that long) are the same, without slicing. */
function sameEnding(x: string, y: string, count: number): boolean {
  for (let i = 1; i <= count; i++) if (x.charCodeAt(x.length - i) !== y.charCodeAt(y.length - i)) return false;
  return true;
}

const phoneClose = (x: string, y: string) =>
  withinOneEdit(x, y) || (x.length >= 10 && y.length >= 10 && sameEnding(x, y, SUBSCRIBER_DIGITS));
const postalClose = (x: string, y: string) => x.length === y.length && withinOneEdit(x, y);
const placeClose = (x: string, y: string) => jaroWinklerFrom(x, y, JW_PLACE) >= JW_PLACE;

const unitNumber = (line: string) =>
  line
    .split(' ')
    .filter((t) => /\d/.test(t))
    .join(' ');

/** Unit lines with numbers ("unit 4b") agree only on the same number; others (building names) by similarity. */
const unitClose = (x: string, y: string) => {
  const nx = unitNumber(x);
  const ny = unitNumber(y);
  return nx !== '' && ny !== '' ? nx === ny : placeClose(x, y);
};

/**
 * Levels: the same street address and phone; the same street address (unit, postcode and city not
 * contradicting it); the same phone only (a move); a near address (house-number typo, another unit of the same
 * building, a missing street line with postcode and city agreeing, or the two address lines swapped); the
 * same street with another house number (neighbours, or a mistyped number); the same postcode and city; the
 * same postcode or city; else.
 */
export function compareLocation(a: P, b: P): number {
  const line = compareLine(a, b);
  const phone = agreement(a.phone, b.phone, phoneClose);
  const postal = agreement(a.postalCode, b.postalCode, postalClose);
  const city = agreement(a.city, b.city, placeClose);
  if (line === LINE_MISSING && phone === 0 && postal === 0 && city === 0) return NULL_LEVEL;
  let sameAddress = false;
  let nearAddress = line === LINE_NEAR || (line === LINE_MISSING && postal === 1 && city === 1);
  if (line === LINE_DIFFERS && (a.addressLine2 !== null || b.addressLine2 !== null)) nearAddress = linesSwapped(a, b);
  if (line === LINE_EXACT || line === LINE_CLOSE) {
    const unitConflict = agreement(a.addressLine2, b.addressLine2, unitClose) === 2;
    const areaConflict = postal === 2 && city === 2;
    sameAddress = !unitConflict && !areaConflict;
    nearAddress ||= !sameAddress;
  }
  if (sameAddress) return phone === 1 ? L.address_and_phone : L.address;
  if (phone === 1) return L.phone;
  if (nearAddress) return L.near_address;
  if (line === LINE_SAME_STREET && postal !== 2) return L.same_street;
  if (postal === 1 && city === 1) return L.postcode_and_city;
  if (postal === 1 || city === 1) return L.same_area;
  return L.else;
}
