import { sql, type SQL } from 'drizzle-orm';
import type { ValidityRule } from './canonical-fields.ts';

/**
 * The validity rule library as SQL boolean expressions over one text value, so a whole table is checked in
 * one scan. Each expression assumes the value is present (not null, not blank) and already trimmed; CASE
 * guards keep casts from ever seeing a malformed value.
 */

/** Oldest plausible birth year: no record of a living person predates it (oldest verified age is 122). */
export const MIN_BIRTH_YEAR = 1870;

/** USPS state, district, territory and military codes (USPS Publication 28, Appendix B). */
export const USPS_STATE_CODES = [
  'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'DC', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY', 'LA',
  'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR',
  'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY',
  'AS', 'GU', 'MP', 'PR', 'VI', 'UM', 'FM', 'MH', 'PW', 'AA', 'AE', 'AP',
] as const;

/** HL7 v2 table 0001 (administrative sex) and FHIR AdministrativeGender codes. */
export const SEX_CODES = ['M', 'F', 'O', 'U', 'A', 'N', 'X', 'MALE', 'FEMALE', 'OTHER', 'UNKNOWN'] as const;

/**
 * SSNs used as filler or never issued: the SSA never assigns area 000, 666 or 900-999, group 00 or serial
 * 0000; 078-05-1120 is the wallet-insert specimen and 219-09-9999 the SSA's advertising example; 123-45-6789
 * and repeated digits are keyboard filler.
 */
const SSN_PLACEHOLDERS = ['123456789', '078051120', '219099999', '987654321'];

/** 1900-01-01 is the default many registration systems store when the birth date is unknown. */
const BIRTH_DATE_PLACEHOLDERS = ['1900-01-01'];

const list = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

/** Calendar-valid ISO date (full or partial), not before MIN_BIRTH_YEAR, not after today, not a filler. */
function birthDate(v: SQL): SQL {
  return sql`case when ${v} ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$' then
    substr(${v}, 1, 4)::int >= ${sql.raw(String(MIN_BIRTH_YEAR))}
    and ${v} <= substr(to_char(current_date, 'YYYY-MM-DD'), 1, length(${v}))
    and ${v} not in (${list(BIRTH_DATE_PLACEHOLDERS)})
    and (length(${v}) < 10 or substr(${v}, 9, 2)::int <= case
      when substr(${v}, 6, 2) in ('04', '06', '09', '11') then 30
      when substr(${v}, 6, 2) <> '02' then 31
      when substr(${v}, 1, 4)::int % 4 = 0 and (substr(${v}, 1, 4)::int % 100 <> 0 or substr(${v}, 1, 4)::int % 400 = 0) then 29
      else 28 end)
    else false end`;
}

/** Nine digits (dashes or spaces allowed between the groups), issuable, and not a known filler. */
function ssn(v: SQL): SQL {
  const digits = sql`translate(${v}, '- ', '')`;
  return sql`case when ${v} ~ '^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$' then
    substr(${digits}, 1, 3) not in ('000', '666') and substr(${digits}, 1, 1) <> '9'
    and substr(${digits}, 4, 2) <> '00' and substr(${digits}, 6, 4) <> '0000'
    and ${digits} not in (${list(SSN_PLACEHOLDERS)}) and ${digits} !~ '^([0-9])\\1{8}$'
    else false end`;
}

/**
 * A dialable number: NANP (area code and exchange start 2-9, optional +1) or E.164 with another country code,
 * separators allowed; not a filler (555-555-5555, 123-456-7890, one repeated digit in the subscriber part).
 */
function phone(v: SQL): SQL {
  const digits = sql`translate(${v}, ' ().-', '')`;
  return sql`case when ${digits} ~ '^(\\+?1)?[2-9][0-9]{2}[2-9][0-9]{6}$' or ${digits} ~ '^\\+[2-9][0-9]{6,14}$' then
    right(${digits}, 7) !~ '^([0-9])\\1{6}$' and right(${digits}, 10) not in ('5555555555', '1234567890')
    else false end`;
}

/** RFC 5322 in its common practical form: local part, @, dotted domain with an alphabetic top level. */
function email(v: SQL): SQL {
  return sql`(${v} ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$' and position('..' in ${v}) = 0)`;
}

/** US ZIP or ZIP+4, not all zeros. */
function postalCode(v: SQL): SQL {
  return sql`(${v} ~ '^[0-9]{5}(-?[0-9]{4})?$' and left(${v}, 5) <> '00000')`;
}

function state(v: SQL): SQL {
  return sql`upper(${v}) in (${list(USPS_STATE_CODES)})`;
}

function sex(v: SQL): SQL {
  return sql`upper(${v}) in (${list(SEX_CODES)})`;
}

const RULES: Record<ValidityRule, (v: SQL) => SQL> = { birthDate, ssn, phone, email, postalCode, state, sex };

/** The SQL test of one rule over a trimmed, present value. */
export function validitySql(rule: ValidityRule, value: SQL): SQL {
  return RULES[rule](value);
}

/** A value trimmed, null when missing or blank. */
export function presentValue(value: SQL): SQL {
  return sql`nullif(btrim(${value}), '')`;
}
