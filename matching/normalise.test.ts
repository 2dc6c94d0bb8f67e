import { describe, expect, test } from 'vitest';
import { cleanAddressLine, cleanCity, cleanPostalCode, cleanState, splitStreet } from './normalise-address.ts';
import { cleanEmail, cleanPhone, cleanSex, cleanSsn } from './normalise-contact.ts';
import { cleanBirthDate } from './normalise-date.ts';
import { cleanName, cleanSuffix } from './normalise-name.ts';
import { normaliseRecord } from './normalise.ts';

describe('names', () => {
  test.each([
    ["O'Brien", 'family', 'obrien', null],
    ['OBRIEN', 'family', 'obrien', null],
    ['Smith-Jones', 'family', 'smith jones', null],
    ['  García  ', 'family', 'garcia', null],
    ['Müller', 'family', 'muller', null],
    ['Łukasz', 'given', 'lukasz', null],
    ['Smith Jr.', 'family', 'smith', 'jr'],
    ['John III', 'given', 'john', 'iii'],
    ['Dr. Mary Ann', 'given', 'mary ann', null],
    ['St. John', 'family', 'st john', null],
    ['Mr', 'given', 'mr', null],
    // Digits are separators, taken out before suffixes and titles are looked for; an ordinal that ends a name stays one.
    ['Lee 0Sr', 'family', 'lee', 'sr'],
    ['Lee Sr 3', 'family', 'lee', 'sr'],
    ['Lee 3rd', 'family', 'lee', 'iii'],
    ['Lee 3rd Jr', 'family', 'lee', 'jr'],
    ['Smith Jr Sr', 'family', 'smith', 'sr'],
    ['Mary2Ann', 'given', 'mary ann', null],
    ['1Dr Mary', 'given', 'mary', null],
  ] as const)('cleans %j (%s) to %j with suffix %j', (raw, kind, value, suffix) => {
    const result = cleanName(raw, kind);
    expect(result.value).toBe(value);
    expect(result.suffix).toBe(suffix);
  });

  test.each(['Unknown', 'BABY GIRL', 'Baby Boy', 'FNU', 'test', 'xxx', 'NMN'])('treats %j as a placeholder', (raw) => {
    const result = cleanName(raw, 'given');
    expect(result.value).toBeNull();
    expect(result.placeholder).toBe(true);
  });

  test.each([
    ['Jr.', 'jr'],
    ['junior', 'jr'],
    ['SR', 'sr'],
    ['III', 'iii'],
    ['2nd', 'ii'],
    ['MD', null],
    ['', null],
    // A word that names a property every object has is still just a word.
    ['Constructor', null],
  ])('reads suffix %j as %j', (raw, expected) => {
    expect(cleanSuffix(raw)).toBe(expected);
  });
});

describe('birth dates', () => {
  test.each([
    ['19560409', '1956-04-09'],
    ['1956-04-09', '1956-04-09'],
    ['1956/4/9', '1956-04-09'],
    ['04/09/1956', '1956-04-09'],
    ['25/12/1956', '1956-12-25'],
    ['1949 7 22', '1949-07-22'],
    ['1956-04-09T00:00:00Z', '1956-04-09'],
    ['1956-04', '1956-04'],
    ['1956', '1956'],
    ['', null],
  ])('parses %j as %j', (raw, expected) => {
    expect(cleanBirthDate(raw, 'birthDate')).toEqual({ value: expected, issue: null });
  });

  test.each([
    ['1956-02-30', 'INVALID_DATE'],
    ['1956-13-01', 'INVALID_DATE'],
    ['1800-01-01', 'INVALID_DATE'],
    ['next tuesday', 'INVALID_DATE'],
    ['04/09/56', 'INVALID_DATE'],
  ])('rejects %j as %s without echoing the value', (raw, code) => {
    const result = cleanBirthDate(raw, 'birthDate');
    expect(result.value).toBeNull();
    expect(result.issue?.code).toBe(code);
    expect(result.issue?.message).not.toContain(raw);
  });

  test('flags a date after the caller-supplied today as FUTURE_DATE', () => {
    expect(cleanBirthDate('2031-01-01', 'birthDate', '2030-06-30').issue?.code).toBe('FUTURE_DATE');
    expect(cleanBirthDate('2030-06-30', 'birthDate', '2030-06-30').value).toBe('2030-06-30');
  });

  test('accepts leap days only in leap years', () => {
    expect(cleanBirthDate('2000-02-29', 'birthDate').value).toBe('2000-02-29');
    expect(cleanBirthDate('1900-02-29', 'birthDate').value).toBeNull();
  });

  test('knows the last day of every month from 1870 to 2030 as the calendar does', () => {
    const wrong: string[] = [];
    for (let year = 1870; year <= 2030; year++)
      for (let month = 1; month <= 12; month++) {
        const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
        const iso = (day: number) => `${year}-${String(month).padStart(2, '0')}-${day}`;
        if (cleanBirthDate(iso(last), 'birthDate').value !== iso(last)) wrong.push(iso(last));
        if (cleanBirthDate(iso(last + 1), 'birthDate').issue?.code !== 'INVALID_DATE') wrong.push(iso(last + 1));
      }
    expect(wrong).toEqual([]);
  });
});

describe('identifiers and contact details', () => {
  test.each([
    ['123-45-6780', '123456780', null],
    ['123 45 6780', '123456780', null],
    ['6988048', '6988048', null],
    ['000-00-0000', null, 'PLACEHOLDER'],
    ['999-99-9999', null, 'PLACEHOLDER'],
    ['123-45-6789', null, 'PLACEHOLDER'],
    ['666-12-3456', null, 'PLACEHOLDER'],
    ['123-00-4567', null, 'PLACEHOLDER'],
    ['078-05-1120', null, 'PLACEHOLDER'],
    ['219-09-9999', null, 'PLACEHOLDER'],
    ['12-34', null, 'INVALID'],
    ['12A-45-6789', null, 'INVALID'],
  ])('SSN %j -> %j (%s)', (raw, value, code) => {
    const result = cleanSsn(raw);
    expect(result.value).toBe(value);
    expect(result.issue?.code ?? null).toBe(code);
  });

  test.each([
    ['(555) 123-4567', '5551234567', null],
    ['555.123.4567', '5551234567', null],
    ['+1 555 123 4567', '5551234567', null],
    ['555-123-4567 ext. 12', '5551234567', null],
    ['555-555-5555', null, 'PLACEHOLDER'],
    ['000-000-0000', null, 'PLACEHOLDER'],
    ['212-000-0000', null, 'PLACEHOLDER'],
    ['123-456-7890', null, 'PLACEHOLDER'],
    ['12345', null, 'INVALID'],
    ['call me', null, 'INVALID'],
  ])('phone %j -> %j (%s)', (raw, value, code) => {
    const result = cleanPhone(raw);
    expect(result.value).toBe(value);
    expect(result.issue?.code ?? null).toBe(code);
  });

  test.each([
    [' Jane.Doe@Mail.COM ', 'jane.doe@mail.com', null],
    ['none@none.com', null, 'PLACEHOLDER'],
    ['noemail@clinic.org', null, 'PLACEHOLDER'],
    ['not-an-address', null, 'INVALID'],
  ])('email %j -> %j (%s)', (raw, value, code) => {
    const result = cleanEmail(raw);
    expect(result.value).toBe(value);
    expect(result.issue?.code ?? null).toBe(code);
  });

  test.each([
    ['M', 'M'],
    ['female', 'F'],
    ['Female', 'F'],
    ['2', 'F'],
    ['U', null],
    ['unknown', null],
  ])('sex %j -> %j', (raw, value) => {
    expect(cleanSex(raw).value).toBe(value);
  });

  test('reports an unrecognised sex code as INVALID', () => {
    expect(cleanSex('purple').issue?.code).toBe('INVALID');
  });
});

describe('addresses', () => {
  test.each([
    ['123 Main Street', '123 main st'],
    ['123 N. Main St., Apt. #4B', '123 n main st unit 4b'],
    ['42 Wallaby Place', '42 wallaby pl'],
    ["  12 O'Brien  Rd. -- rear ", '12 obrien rd rear'],
    ['Suite 5, Apt # 6', 'unit 5 unit 6'],
    ['apartment #', 'unit'],
    ['Flat 2 / 14 Ocean St', 'unit 2 14 ocean st'],
    ['12 Constructor Street', '12 constructor st'],
    ['Straße 5', 'strasse 5'],
    ['#', 'unit'],
    ['--', null],
    ['', null],
  ])('address line %j -> %j', (raw, expected) => {
    expect(cleanAddressLine(raw)).toBe(expected);
  });

  test('splits the house number from the street', () => {
    expect(splitStreet('12a main st')).toEqual({ number: '12a', name: 'main st' });
    expect(splitStreet('main st')).toEqual({ number: null, name: 'main st' });
  });

  test.each([
    ['Saint Paul', 'st paul'],
    ['St. Paul', 'st paul'],
    ['Mount Vernon', 'mt vernon'],
  ])('city %j -> %j', (raw, expected) => {
    expect(cleanCity(raw)).toBe(expected);
  });

  test.each([
    ['California', 'CA'],
    ['ca', 'CA'],
    ['nsw', 'NSW'],
    ['New York', 'NY'],
    ['Constructor', 'CONSTRUCTOR'],
  ])('state %j -> %j', (raw, expected) => {
    expect(cleanState(raw)).toBe(expected);
  });

  test.each([
    ['90210-1234', '90210'],
    ['902101234', '90210'],
    ['sw1a 1aa', 'SW1A1AA'],
    ['4011', '4011'],
    ['00000', null],
  ])('postal code %j -> %j', (raw, expected) => {
    expect(cleanPostalCode(raw)).toBe(expected);
  });
});

describe('normaliseRecord', () => {
  test('cleans every field and derives phonetic codes and street parts', () => {
    const { record, issues } = normaliseRecord({
      givenName: 'William',
      familyName: "O'Neil Jr",
      birthDate: '03/04/1960',
      ssn: '123-45-6780',
      phone: '(617) 555-0199',
      addressLine1: '12 Elm Street',
      postalCode: '02139-4307',
      sex: 'male',
    });
    expect(issues).toEqual([]);
    expect(record).toMatchObject({
      givenName: 'william',
      familyName: 'oneil',
      suffix: 'jr',
      birthDate: '1960-03-04',
      ssn: '123456780',
      phone: '6175550199',
      addressLine1: '12 elm st',
      streetNumber: '12',
      streetName: 'elm st',
      postalCode: '02139',
      sex: 'M',
      givenPhonetic: 'ALM',
    });
    expect(record.familyPhonetic).not.toBeNull();
  });

  test('never throws: invalid values become missing with issues naming field and code only', () => {
    const { record, issues } = normaliseRecord({ birthDate: '1999-02-31', ssn: '999-99-9999', phone: 'n/a', givenName: 'Baby Boy' });
    expect(record.birthDate).toBeNull();
    expect(record.ssn).toBeNull();
    expect(record.phone).toBeNull();
    expect(record.givenName).toBeNull();
    expect(issues.map((i) => `${i.field}:${i.code}`).sort()).toEqual([
      'birthDate:INVALID_DATE',
      'givenName:PLACEHOLDER',
      'phone:INVALID',
      'ssn:PLACEHOLDER',
    ]);
    for (const issue of issues) expect(issue.message).not.toMatch(/1999|999-99|baby/i);
  });

  test('produces plain JSON that survives a round trip', () => {
    const { record } = normaliseRecord({ givenName: 'Ana', familyName: 'Lopez Garcia', birthDate: '1980' });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });
});
