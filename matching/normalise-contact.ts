import type { FieldIssue } from './normalise-name.ts';
import { digitsOf } from './text.ts';

export interface CleanValue {
  value: string | null;
  issue: FieldIssue | null;
}

const missing: CleanValue = { value: null, issue: null };
const problem = (field: string, code: string, message: string): CleanValue => ({
  value: null,
  issue: { field, code, message },
});

/** Shortest and longest national identifier we accept: covers US SSNs (9) and shorter registry numbers. */
const MIN_ID_DIGITS = 5;
const MAX_ID_DIGITS = 12;

function isRepeatedDigit(digits: string): boolean {
  return /^(\d)\1*$/.test(digits);
}

function isSequential(digits: string): boolean {
  return '01234567890'.includes(digits) || '98765432109'.includes(digits);
}

/**
 * Numbers the SSA published as examples and later voided, which people then copied as their own: 078-05-1120
 * printed on wallet inserts, 219-09-9999 in an advertising leaflet. They identify nobody.
 */
export const SPECIMEN_SSNS: readonly string[] = ['078051120', '219099999'];

/** SSNs never issued, per the SSA's rules: area 000, 666 or 900-999, group 00, serial 0000; and the specimens. */
function isUnissuedSsn(digits: string): boolean {
  const area = digits.slice(0, 3);
  return (
    area === '000' ||
    area === '666' ||
    area[0] === '9' ||
    digits.slice(3, 5) === '00' ||
    digits.slice(5) === '0000' ||
    SPECIMEN_SSNS.includes(digits)
  );
}

/**
 * Social security (or other national) number as digits. Wrong lengths are INVALID; filler values such as
 * 000-00-0000, 999-99-9999 and 123-45-6789, and US numbers that were never issued, are PLACEHOLDER. Both become
 * missing so that they can neither match nor conflict.
 */
export function cleanSsn(raw: string | null | undefined, field = 'ssn'): CleanValue {
  if (raw === null || raw === undefined || raw.trim() === '') return missing;
  if (/[^\d\s-]/.test(raw.trim())) return problem(field, 'INVALID', `${field} contains characters other than digits`);
  const digits = digitsOf(raw);
  if (digits.length < MIN_ID_DIGITS || digits.length > MAX_ID_DIGITS) {
    return problem(field, 'INVALID', `${field} has the wrong number of digits`);
  }
  if (isRepeatedDigit(digits) || isSequential(digits) || (digits.length === 9 && isUnissuedSsn(digits))) {
    return problem(field, 'PLACEHOLDER', `${field} is a placeholder value`);
  }
  return { value: digits, issue: null };
}

/** Phone numbers: 7 (local) to 15 (E.164 maximum) digits. */
const MIN_PHONE_DIGITS = 7;
const MAX_PHONE_DIGITS = 15;

/**
 * Phone number as digits; a North American number loses its leading country code 1. Filler values
 * (555-555-5555, 000-000-0000, a subscriber number of one repeated digit, 123-456-7890) are PLACEHOLDER.
 */
export function cleanPhone(raw: string | null | undefined, field = 'phone'): CleanValue {
  if (raw === null || raw === undefined || raw.trim() === '') return missing;
  const withoutExtension = raw.replace(/\s*(?:x|ext\.?|extension)\s*\d+\s*$/i, '');
  if (/[a-z]/i.test(withoutExtension)) return problem(field, 'INVALID', `${field} contains letters`);
  let digits = digitsOf(withoutExtension);
  if (digits.length === 11 && digits[0] === '1') digits = digits.slice(1);
  if (digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) {
    return problem(field, 'INVALID', `${field} has the wrong number of digits`);
  }
  const subscriber = digits.slice(-7);
  if (isRepeatedDigit(subscriber) || isSequential(digits) || (digits.length === 10 && digits.startsWith('000'))) {
    return problem(field, 'PLACEHOLDER', `${field} is a placeholder value`);
  }
  return { value: digits, issue: null };
}

/** Local parts and domains that clerks type when a patient has no email address. */
const PLACEHOLDER_EMAIL_LOCAL = new Set([
  'none',
  'noemail',
  'no',
  'na',
  'nomail',
  'unknown',
  'test',
  'noreply',
  'donotreply',
  'declined',
  'refused',
  'null',
]);
const PLACEHOLDER_EMAIL_DOMAINS = new Set(['none.com', 'noemail.com', 'example.com', 'example.org', 'test.com']);

/** Email address, trimmed and lower-cased; malformed addresses are INVALID and filler ones PLACEHOLDER. */
export function cleanEmail(raw: string | null | undefined, field = 'email'): CleanValue {
  if (raw === null || raw === undefined || raw.trim() === '') return missing;
  const value = raw.trim().toLowerCase();
  const at = value.lastIndexOf('@');
  if (at <= 0 || !/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(value)) {
    return problem(field, 'INVALID', `${field} is not a valid address`);
  }
  if (PLACEHOLDER_EMAIL_LOCAL.has(value.slice(0, at)) || PLACEHOLDER_EMAIL_DOMAINS.has(value.slice(at + 1))) {
    return problem(field, 'PLACEHOLDER', `${field} is a placeholder value`);
  }
  return { value, issue: null };
}

/** Sex as M or F; "unknown"-style values become missing; anything else is INVALID. */
export function cleanSex(raw: string | null | undefined, field = 'sex'): CleanValue {
  if (raw === null || raw === undefined) return missing;
  const text = raw.trim().toLowerCase();
  if (text === '') return missing;
  if (['m', 'male', 'man', 'boy', '1'].includes(text)) return { value: 'M', issue: null };
  if (['f', 'female', 'woman', 'girl', '2'].includes(text)) return { value: 'F', issue: null };
  if (['u', 'unknown', 'unk', 'x', 'o', 'other', 'n', '0', '9', 'not stated', 'undifferentiated'].includes(text)) {
    return missing;
  }
  return problem(field, 'INVALID', `${field} is not a recognised code`);
}
