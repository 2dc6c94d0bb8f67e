import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { TEST_DB_KIND, openTestDatabase } from '../test/db.ts';
import type { ValidityRule } from './canonical-fields.ts';
import { validitySql } from './validity-rules.ts';

const today = new Date().toISOString().slice(0, 10);
const nextYear = new Date().getUTCFullYear() + 1;

/** [rule, value, valid]: the rule library checked as the quality query runs it, over a table column. */
const CASES: Array<[ValidityRule, string, boolean]> = [
  ['birthDate', '1980-02-29', true],
  ['birthDate', '1981-02-29', false], // not a leap year
  ['birthDate', '2000-02-29', true], // divisible by 400
  ['birthDate', '1900-02-29', false], // divisible by 100, not 400
  ['birthDate', '1980-04-31', false],
  ['birthDate', '2023-11-31', false],
  ['birthDate', '1980-02-30', false],
  ['birthDate', '1980-12-31', true],
  ['birthDate', '1870-01-01', true],
  ['birthDate', 'abcd-02-29', false],
  ['birthDate', '1980-13-01', false],
  ['birthDate', '1975', true], // partial dates are imprecise, not invalid
  ['birthDate', '1975-06', true],
  ['birthDate', `${nextYear}-01-01`, false],
  ['birthDate', String(nextYear), false],
  ['birthDate', '1869-12-31', false],
  ['birthDate', '1900-01-01', false], // registration-system default
  ['birthDate', '02/29/1980', false], // stored dates are ISO
  ['birthDate', 'unknown', false],
  ['ssn', '536-22-1234', true],
  ['ssn', '536221234', true],
  ['ssn', '536 22 1234', true],
  ['ssn', '000-00-0000', false],
  ['ssn', '999-99-9999', false],
  ['ssn', '123-45-6789', false],
  ['ssn', '078-05-1120', false],
  ['ssn', '219-09-9999', false], // voided specimens: matching ignores them too
  ['ssn', '111-11-1111', false],
  ['ssn', '666-12-3456', false],
  ['ssn', '900-12-3456', false],
  ['ssn', '536-00-1234', false],
  ['ssn', '536-22-0000', false],
  ['ssn', '53622123', false],
  ['ssn', '536-22-123X', false],
  ['ssn', '536-2-21234', false],
  ['ssn', '000-12-3456', false],
  ['phone', '(415) 555-0100', true],
  ['phone', '415.555.0100', true],
  ['phone', '+1 415 555 0100', true],
  ['phone', '1-415-555-0100', true],
  ['phone', '+44 20 7946 0958', true],
  ['phone', '555-0100', false], // no area code
  ['phone', '015-555-0100', false], // area codes never start with 0 or 1
  ['phone', '555-555-5555', false],
  ['phone', '123-456-7890', false],
  ['phone', '415-222-2222', false],
  ['phone', '415-555-0100 x12', false],
  ['email', 'pat.doe+mpi@mail.example.org', true],
  ['email', 'PAT@MAIL.EXAMPLE.ORG', true],
  ['email', 'pat@localhost', false],
  ['email', 'pat@@mail.org', false],
  ['email', 'pat..doe@mail.org', false],
  ['email', 'pat doe@mail.org', false],
  ['email', 'pat@mail.c', false],
  ['postalCode', '94110', true],
  ['postalCode', '94110-1234', true],
  ['postalCode', '941101234', true],
  ['postalCode', '00000', false],
  ['postalCode', '9411', false],
  ['postalCode', 'SW1A 1AA', false],
  ['state', 'CA', true],
  ['state', 'ca', true],
  ['state', 'PR', true],
  ['state', 'ZZ', false],
  ['state', 'California', false],
  ['sex', 'M', true],
  ['sex', 'f', true],
  ['sex', 'female', true],
  ['sex', 'U', true],
  ['sex', 'X', true],
  ['sex', 'Q', false],
  ['sex', 'boy', false],
  ['postalCode', ' 94110', false], // values are checked as stored
];

describe(`validity rules on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openTestDatabase();
    // Values come from a table, as in the quality scan, so the planner cannot fold the rules into constants.
    await handle.db.execute(sql`create table rule_probe (n int primary key, v text)`);
    await handle.db.execute(
      sql`insert into rule_probe (n, v) values ${sql.join(
        CASES.map(([, v], n) => sql`(${n}, ${v})`),
        sql`, `,
      )}`,
    );
  });
  afterAll(async () => {
    await handle?.close();
  });

  test.each(CASES.map((c, n) => [...c, n] as const))('%s rule: "%s" is valid: %s', async (rule, _value, valid, n) => {
    const v = sql.raw('p.v');
    const [row] = await queryRows<{ ok: boolean }>(
      handle.db,
      sql`
      select coalesce(${validitySql(rule, v, today)}, false) as ok from rule_probe p where p.n = ${n}`,
    );
    expect(row?.ok).toBe(valid);
  });
});
