// Turns a true person into the records that sources hold about them: each record is a snapshot at some time
// (before or after a move or a name change), written in its source's style, with the occasional error.
import type { ErrorKind, PhoneFormat, RecordField, SourceProfile, SynthConfig } from './config.ts';
import {
  type CivilDate,
  dateTypo,
  digitTypo,
  formatIsoDate,
  formatPhone,
  formatSsn,
  respell,
  shiftYear,
  stripPunctuation,
  swapDayMonth,
  typo,
} from './corrupt.ts';
import { NICKNAMES } from './names.ts';
import type { Household, Person, Residence } from './population.ts';
import { type Rng, WeightedTable } from './prng.ts';

/** One registry row: the CSV columns plus the true identity behind it. */
export type SynthRecord = { recordId: string; clusterId: string; source: string } & Record<RecordField, string>;

export type ErrorCounts = Record<ErrorKind, number>;

const DAY_MS = 86_400_000;
const NEWBORN_DAYS = 365;
const PHONE_FORMATS: readonly PhoneFormat[] = ['parens', 'dashes', 'digits', 'dots', 'international'];
const SSN_PLACEHOLDERS = WeightedTable.of([
  ['000000000', 5],
  ['999999999', 3],
  ['123456789', 2],
] as const);
const PHONE_PLACEHOLDERS = WeightedTable.of([
  ['5555555555', 3],
  ['0000000000', 2],
  ['9999999999', 1],
] as const);
const UNIT_DESIGNATORS = WeightedTable.of([
  ['Apt', 6],
  ['Apt.', 2],
  ['#', 2],
  ['Unit', 2],
] as const);
const SUFFIX_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  Jr: ['Jr.', 'JR', 'Junior'],
  Sr: ['Sr.', 'SR', 'Senior'],
  II: ['2nd', 'II'],
  III: ['3rd', 'III'],
};
/** A person with no SSN on file gets a placeholder this many times more often than one with an SSN. */
const PLACEHOLDER_BOOST_WITHOUT_SSN = 10;

function civilDate(day: number): CivilDate {
  const date = new Date(day * DAY_MS);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** Builds the records of one person; counts every error it introduces. */
export class RecordMaker {
  readonly errorCounts: ErrorCounts;
  /** Records that carry at least one error (formatting variation and missing values do not count). */
  recordsWithErrors = 0;
  private readonly rng: Rng;
  private readonly config: SynthConfig;
  private readonly errors: Record<ErrorKind, number>;
  private readonly sourceTable: WeightedTable<SourceProfile>;
  private readonly referenceDay: number;
  private dirty = false;
  private readonly scaledMissing = new Map<SourceProfile, ReadonlyArray<readonly [RecordField, number]>>();

  constructor(config: SynthConfig, sources: readonly SourceProfile[], rng: Rng) {
    this.rng = rng;
    this.config = config;
    const kinds = Object.keys(config.errors) as ErrorKind[];
    this.errors = Object.fromEntries(kinds.map((kind) => [kind, Math.min(1, config.errors[kind] * config.errorScale)])) as Record<
      ErrorKind,
      number
    >;
    this.errorCounts = Object.fromEntries(kinds.map((kind) => [kind, 0])) as ErrorCounts;
    this.sourceTable = new WeightedTable(
      sources,
      sources.map((source) => source.weight),
    );
    this.referenceDay = Math.floor(Date.parse(`${config.referenceDate}T00:00:00Z`) / DAY_MS);
  }

  /** `count` records of `person`, in time order (earlier records predate moves and name changes). */
  recordsFor(person: Person, household: Household, count: number): SynthRecord[] {
    const times = Array.from({ length: count }, () => this.rng.next()).sort((a, b) => a - b);
    return times.map((time) => this.record(person, household, time, this.sourceTable.sample(this.rng)));
  }

  private record(person: Person, household: Household, time: number, source: SourceProfile): SynthRecord {
    this.dirty = false;
    const residence = household.residences[time >= household.moveAt ? 1 : 0] as Residence;
    const blank = this.blankFields(source);
    const names = this.names(person, time, source);
    const address = this.address(residence, blank);
    const record: SynthRecord = {
      recordId: '',
      clusterId: person.clusterId,
      source: source.name,
      givenName: blank.has('givenName') ? '' : names.given,
      middleName: blank.has('middleName') ? '' : names.middle,
      familyName: blank.has('familyName') ? '' : names.family,
      suffix: blank.has('suffix') ? '' : names.suffix,
      sex: blank.has('sex') ? '' : this.sex(person, source),
      birthDate: blank.has('birthDate') ? '' : this.birthDate(person),
      ssn: blank.has('ssn') ? '' : this.ssn(person, source),
      phone: blank.has('phone') ? '' : this.phone(person, residence, source),
      email: blank.has('email') ? '' : this.email(person),
      ...address,
    };
    this.applyStyle(record, source);
    if (this.dirty) this.recordsWithErrors += 1;
    return record;
  }

  private error(kind: ErrorKind): boolean {
    if (!this.rng.chance(this.errors[kind])) return false;
    this.errorCounts[kind] += 1;
    this.dirty = true;
    return true;
  }

  private blankFields(source: SourceProfile): Set<RecordField> {
    const blank = new Set<RecordField>();
    for (const [field, rate] of this.missingRates(source)) if (this.rng.chance(rate)) blank.add(field);
    return blank;
  }

  /** The source's missing-value rates, scaled once per source rather than once per record. */
  private missingRates(source: SourceProfile): ReadonlyArray<readonly [RecordField, number]> {
    let rates = this.scaledMissing.get(source);
    if (!rates) {
      rates = (Object.entries(source.missing) as Array<[RecordField, number]>)
        .map(([field, rate]) => [field, Math.min(1, rate * this.config.missingScale)] as const)
        .filter(([, rate]) => rate > 0);
      this.scaledMissing.set(source, rates);
    }
    return rates;
  }

  private names(person: Person, time: number, source: SourceProfile) {
    const formats = this.config.formats;
    let given = person.givenName;
    const nicknames = NICKNAMES[given];
    if (this.referenceDay - person.birthDay < NEWBORN_DAYS && this.error('newbornPlaceholderName')) {
      given = `${this.rng.chance(0.7) ? 'Baby ' : ''}${person.sex === 'M' ? 'Boy' : 'Girl'}`;
    } else if (nicknames && this.error('nickname')) {
      given = this.rng.pick(nicknames);
    }
    if (this.error('givenTypo')) given = typo(given, this.rng);
    let family = person.earlierFamilyName !== '' && time < person.nameChangeAt ? person.earlierFamilyName : person.familyName;
    if (person.compoundFamilyName && family === person.familyName) family = this.compoundVariant(family);
    if (this.error('familyTypo')) family = typo(family, this.rng);
    if (this.error('phoneticSpelling')) {
      if (this.rng.chance(0.5)) given = respell(given, this.rng);
      else family = respell(family, this.rng);
    }
    let middle = person.middleName;
    if (middle !== '') {
      if (source.middleInitialOnly || this.rng.chance(formats.middleInitial)) {
        middle = middle.charAt(0) + (this.rng.chance(0.2) ? '.' : '');
      } else if (this.error('middleTypo')) {
        middle = typo(middle, this.rng);
      }
    }
    let suffix = this.suffix(person);
    if (suffix !== '' && this.rng.chance(0.1)) {
      family = `${family} ${suffix}`; // some systems have no suffix field: "Smith Jr"
      suffix = '';
    }
    if (this.error('nameSwap')) [given, family] = [family, given];
    return { given, middle, family, suffix };
  }

  /** "Garcia Lopez" as written by different clerks: whole, hyphenated, or only the first part. */
  private compoundVariant(family: string): string {
    const roll = this.rng.next();
    if (roll < 0.6) return family;
    if (roll < 0.8) return family.replace(' ', '-');
    return family.split(' ')[0] ?? family;
  }

  private suffix(person: Person): string {
    if (person.suffix === '') return '';
    const shown = person.suffix === 'Sr' ? this.config.formats.seniorSuffixShown : this.config.formats.juniorSuffixShown;
    if (!this.rng.chance(shown)) return '';
    const variants = SUFFIX_VARIANTS[person.suffix];
    return variants && this.rng.chance(this.config.formats.suffixVariant) ? this.rng.pick(variants) : person.suffix;
  }

  private sex(person: Person, source: SourceProfile): string {
    let sex = person.sex;
    if (this.error('sexError')) sex = sex === 'M' ? 'F' : 'M';
    if (!source.sexWords) return sex;
    return sex === 'M' ? 'Male' : 'Female';
  }

  private birthDate(person: Person): string {
    let date = civilDate(person.birthDay);
    const swapped = swapDayMonth(date);
    if (swapped && this.error('dayMonthSwap')) date = swapped;
    if (this.error('yearOffByOne')) date = shiftYear(date, this.rng);
    if (this.error('dateTypo')) date = dateTypo(date, this.rng);
    return formatIsoDate(date);
  }

  private jitter(): boolean {
    return this.rng.chance(this.config.formats.formatJitter);
  }

  private ssn(person: Person, source: SourceProfile): string {
    const dashes = this.jitter() ? !source.ssnDashes : source.ssnDashes;
    const boost = person.ssn === '' ? PLACEHOLDER_BOOST_WITHOUT_SSN : 1;
    if (this.rng.chance(Math.min(1, this.errors.ssnPlaceholder * boost))) {
      this.errorCounts.ssnPlaceholder += 1;
      this.dirty = true;
      return formatSsn(SSN_PLACEHOLDERS.sample(this.rng), dashes);
    }
    if (person.ssn === '') return '';
    const digits = this.error('ssnTypo') ? digitTypo(person.ssn, this.rng) : person.ssn;
    return formatSsn(digits, dashes);
  }

  private phone(person: Person, residence: Residence, source: SourceProfile): string {
    const format = this.jitter() ? this.rng.pick(PHONE_FORMATS) : source.phoneFormat;
    if (this.error('phonePlaceholder')) return formatPhone(PHONE_PLACEHOLDERS.sample(this.rng), format);
    const home = residence.homePhone;
    const digits = person.mobile !== '' && (home === '' || this.rng.chance(0.5)) ? person.mobile : home;
    if (digits === '') return '';
    return formatPhone(this.error('phoneTypo') ? digitTypo(digits, this.rng) : digits, format);
  }

  private email(person: Person): string {
    if (person.email === '' || !this.error('emailTypo')) return person.email;
    const at = person.email.indexOf('@');
    return typo(person.email.slice(0, at), this.rng) + person.email.slice(at);
  }

  private address(
    residence: Residence,
    blank: Set<RecordField>,
  ): Pick<SynthRecord, 'addressLine1' | 'addressLine2' | 'city' | 'state' | 'postalCode'> {
    const formats = this.config.formats;
    const { street } = residence;
    let { number, name } = street;
    if (this.error('addressTypo')) {
      if (this.rng.chance(0.5)) number = digitTypo(number, this.rng);
      else name = typo(name, this.rng);
    }
    const direction = street.direction ? (this.rng.chance(0.8) ? street.direction[0] : street.direction[1]) : '';
    const [abbreviation, full] = street.suffix;
    const period = abbreviation !== full && this.rng.chance(0.1) ? '.' : '';
    const suffix = this.rng.chance(formats.streetSuffixFull) ? full : abbreviation + period;
    let line1 = [number, direction, name, suffix].filter((part) => part !== '').join(' ');
    let line2 = '';
    if (street.unit !== '') {
      const designator = UNIT_DESIGNATORS.sample(this.rng);
      const unit = designator === '#' ? `#${street.unit}` : `${designator} ${street.unit}`;
      if (this.rng.chance(formats.unitInLine1)) line1 = `${line1} ${unit}`;
      else line2 = unit;
    }
    let city = residence.city.name;
    if (this.error('cityTypo')) city = typo(city, this.rng);
    else if (city.startsWith('St. ') && this.rng.chance(0.3)) city = city.replace('St. ', 'Saint ');
    const zip = this.error('postalTypo') ? digitTypo(residence.zip, this.rng) : residence.zip;
    const noStreet = blank.has('addressLine1');
    return {
      addressLine1: noStreet ? '' : line1,
      addressLine2: noStreet || blank.has('addressLine2') ? '' : line2,
      city: blank.has('city') ? '' : city,
      state: blank.has('state') ? '' : residence.city.state,
      postalCode: blank.has('postalCode') ? '' : this.rng.chance(formats.zipPlus4) ? `${zip}-${residence.plus4}` : zip,
    };
  }

  /** Source conventions last: upper-case systems, and systems that drop punctuation. */
  private applyStyle(record: SynthRecord, source: SourceProfile): void {
    const textFields = ['givenName', 'middleName', 'familyName', 'suffix', 'addressLine1', 'addressLine2', 'city'] as const;
    if (this.rng.chance(source.stripPunctuation)) {
      for (const field of ['givenName', 'middleName', 'familyName', 'suffix', 'addressLine1'] as const) {
        record[field] = stripPunctuation(record[field], this.rng);
      }
    }
    if (source.upperCase || this.rng.chance(this.config.formats.formatJitter / 2)) {
      for (const field of textFields) record[field] = record[field].toUpperCase();
      if (source.upperCase && this.rng.chance(0.5)) record.email = record.email.toUpperCase();
    }
  }
}
