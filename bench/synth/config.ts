// Every rate the generator uses, in one validated object, so a benchmark can vary one knob at a time.
// The defaults aim at a realistic registry (most records mostly clean), not an adversarial one; README.md
// explains where each number comes from.
import { z } from 'zod';

const rate = z.number().min(0).max(1);
const weights = z.array(z.number().min(0)).min(1);

/** The CSV columns of a record, in contract order (after record_id and source). */
export const RECORD_FIELDS = [
  'givenName',
  'middleName',
  'familyName',
  'suffix',
  'sex',
  'birthDate',
  'ssn',
  'phone',
  'email',
  'addressLine1',
  'addressLine2',
  'city',
  'state',
  'postalCode',
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

const PHONE_FORMATS = ['parens', 'dashes', 'digits', 'dots', 'international'] as const;
export type PhoneFormat = (typeof PHONE_FORMATS)[number];

const HOUSEHOLD_TYPES = ['single', 'couple', 'coupleWithChildren', 'singleParent', 'multiGeneration', 'roommates'] as const;
export type HouseholdType = (typeof HOUSEHOLD_TYPES)[number];

const sourceProfileSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/),
  /** Relative share of all records that come from this source. */
  weight: z.number().positive(),
  /** Stores names and addresses in upper case. */
  upperCase: z.boolean(),
  /** Chance per record that apostrophes, hyphens and periods are dropped (O'Brien -> OBrien). */
  stripPunctuation: rate,
  phoneFormat: z.enum(PHONE_FORMATS),
  ssnDashes: z.boolean(),
  /** Writes sex as "Male"/"Female" instead of "M"/"F". */
  sexWords: z.boolean(),
  /** Keeps only the middle initial. */
  middleInitialOnly: z.boolean(),
  /** Chance that a field is blank in this source even when the person has a value. */
  missing: z.partialRecord(z.enum(RECORD_FIELDS), rate),
});
export type SourceProfile = z.infer<typeof sourceProfileSchema>;

const populationSchema = z.strictObject({
  householdTypes: z.record(z.enum(HOUSEHOLD_TYPES), z.number().min(0)),
  /** Weights for 1, 2, 3, ... children in a family household. */
  childrenWeights: weights,
  /** Chance that a birth is twins. */
  twinBirth: rate,
  /** Chance that twins get look-alike names (Jayden/Jaylen). */
  similarTwinNames: rate,
  /** Chance that a father's first son is named after him (Jr/Sr, II/III). */
  junior: rate,
  /** Chance that a wife's earlier records carry her maiden name. */
  marriedNameChange: rate,
  /** Of those, the chance her later name is hyphenated (Maiden-Married). */
  hyphenatedMarriedName: rate,
  /** Chance that a wife keeps her own family name throughout. */
  keepsMaidenName: rate,
  /** Chance of a two-part family name (Garcia Lopez), later written whole, hyphenated or halved. */
  compoundSurname: rate,
  /** Chance that a household moves during the record period (later records carry the new address). */
  move: rate,
  moveWithinCity: rate,
  movePhoneChange: rate,
  hasSsn: rate,
  newbornHasSsn: rate,
  hasMiddleName: rate,
  hasMobile: rate,
  hasEmail: rate,
  /** Weights for 1, 2, 3, ... records per person. */
  recordsPerPerson: weights,
});

const errorsSchema = z.strictObject({
  nickname: rate,
  givenTypo: rate,
  familyTypo: rate,
  middleTypo: rate,
  phoneticSpelling: rate,
  nameSwap: rate,
  newbornPlaceholderName: rate,
  dayMonthSwap: rate,
  yearOffByOne: rate,
  dateTypo: rate,
  ssnTypo: rate,
  ssnPlaceholder: rate,
  phoneTypo: rate,
  phonePlaceholder: rate,
  emailTypo: rate,
  addressTypo: rate,
  postalTypo: rate,
  cityTypo: rate,
  sexError: rate,
});
export type ErrorKind = keyof z.infer<typeof errorsSchema>;

const formatsSchema = z.strictObject({
  /** Chance that a record shows only the middle initial (sources with middleInitialOnly always do). */
  middleInitial: rate,
  /** Chance that a record of a Jr / Sr shows the suffix. */
  juniorSuffixShown: rate,
  seniorSuffixShown: rate,
  /** Chance of the suffix being written in its long form (Jr. / JR / Junior). */
  suffixVariant: rate,
  zipPlus4: rate,
  /** Chance that the apartment is written on the first address line ("12 Elm St Apt 3B"). */
  unitInLine1: rate,
  /** Chance of the full street suffix ("Street") instead of the USPS abbreviation ("St"). */
  streetSuffixFull: rate,
  /** Chance that one record ignores its source's phone / SSN style (a clerk typing it differently). */
  formatJitter: rate,
});

export const synthConfigSchema = z.strictObject({
  /** "Today" for ages and newborns, so output does not depend on the clock. */
  referenceDate: z.iso.date(),
  /** Multiplies every rate in `errors` (0 = clean records). */
  errorScale: z.number().min(0).max(10),
  /** Multiplies every source `missing` rate. */
  missingScale: z.number().min(0).max(10),
  population: populationSchema,
  errors: errorsSchema,
  formats: formatsSchema,
  /** Source profiles; `--sources N` uses the first N (cycling with numbered names past the end). */
  sources: z.array(sourceProfileSchema).min(1),
});
export type SynthConfig = z.infer<typeof synthConfigSchema>;

/** A partial config: any subset of keys, at any depth; arrays replace the default. */
export type SynthConfigOverrides = DeepPartial<SynthConfig>;
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

const hospital = { stripPunctuation: 0.05, sexWords: false, middleInitialOnly: false } as const;

/** Default profiles; the first four are the registry's usual feeds. */
export const DEFAULT_SOURCES: SourceProfile[] = [
  {
    name: 'hosp_a',
    weight: 30,
    upperCase: false,
    ...hospital,
    phoneFormat: 'parens',
    ssnDashes: true,
    missing: { middleName: 0.15, ssn: 0.1, phone: 0.04, email: 0.45, addressLine1: 0.02, sex: 0.005, birthDate: 0.002 },
  },
  {
    name: 'hosp_b',
    weight: 25,
    upperCase: true,
    stripPunctuation: 0.6,
    sexWords: false,
    middleInitialOnly: true,
    phoneFormat: 'digits',
    ssnDashes: false,
    missing: { middleName: 0.2, ssn: 0.15, phone: 0.05, email: 0.6, addressLine1: 0.03, sex: 0.01, birthDate: 0.003 },
  },
  {
    name: 'lab',
    weight: 25,
    upperCase: true,
    stripPunctuation: 0.3,
    sexWords: true,
    middleInitialOnly: true,
    phoneFormat: 'dashes',
    ssnDashes: false,
    missing: {
      middleName: 0.6,
      ssn: 0.7,
      phone: 0.1,
      email: 0.9,
      addressLine1: 0.3,
      addressLine2: 0.3,
      sex: 0.02,
      postalCode: 0.05,
      birthDate: 0.001,
    },
  },
  {
    name: 'payer',
    weight: 20,
    upperCase: false,
    stripPunctuation: 0.1,
    sexWords: false,
    middleInitialOnly: false,
    phoneFormat: 'dashes',
    ssnDashes: true,
    missing: { middleName: 0.1, ssn: 0.02, phone: 0.12, email: 0.5, addressLine1: 0.01, sex: 0.001 },
  },
  {
    name: 'clinic_c',
    weight: 15,
    upperCase: false,
    ...hospital,
    phoneFormat: 'dots',
    ssnDashes: true,
    missing: { middleName: 0.3, ssn: 0.35, phone: 0.03, email: 0.3, addressLine1: 0.05, sex: 0.01 },
  },
  {
    name: 'pharmacy',
    weight: 15,
    upperCase: true,
    stripPunctuation: 0.5,
    sexWords: false,
    middleInitialOnly: true,
    phoneFormat: 'digits',
    ssnDashes: false,
    missing: { middleName: 0.7, ssn: 0.9, phone: 0.02, email: 0.7, addressLine2: 0.2, sex: 0.1 },
  },
  {
    name: 'hosp_d',
    weight: 20,
    upperCase: false,
    ...hospital,
    phoneFormat: 'international',
    ssnDashes: true,
    missing: { middleName: 0.2, ssn: 0.12, phone: 0.05, email: 0.5, addressLine1: 0.02, sex: 0.005 },
  },
  {
    name: 'clinic_e',
    weight: 10,
    upperCase: true,
    stripPunctuation: 0.4,
    sexWords: true,
    middleInitialOnly: false,
    phoneFormat: 'parens',
    ssnDashes: false,
    missing: { middleName: 0.4, ssn: 0.4, phone: 0.05, email: 0.6, addressLine1: 0.05, sex: 0.02 },
  },
];

/** The defaults, documented in README.md. */
export const DEFAULT_CONFIG: SynthConfig = {
  referenceDate: '2025-01-01',
  errorScale: 1,
  missingScale: 1,
  population: {
    householdTypes: { single: 28, couple: 24, coupleWithChildren: 27, singleParent: 9, multiGeneration: 6, roommates: 6 },
    childrenWeights: [30, 38, 20, 9, 3],
    twinBirth: 0.02,
    similarTwinNames: 0.3,
    junior: 0.08,
    marriedNameChange: 0.3,
    hyphenatedMarriedName: 0.15,
    keepsMaidenName: 0.1,
    compoundSurname: 0.03,
    move: 0.15,
    moveWithinCity: 0.6,
    movePhoneChange: 0.4,
    hasSsn: 0.96,
    newbornHasSsn: 0.3,
    hasMiddleName: 0.75,
    hasMobile: 0.7,
    hasEmail: 0.75,
    recordsPerPerson: [32, 30, 19, 10, 5, 3, 1],
  },
  errors: {
    nickname: 0.06,
    givenTypo: 0.02,
    familyTypo: 0.02,
    middleTypo: 0.01,
    phoneticSpelling: 0.01,
    nameSwap: 0.008,
    newbornPlaceholderName: 0.4,
    dayMonthSwap: 0.008,
    yearOffByOne: 0.006,
    dateTypo: 0.006,
    ssnTypo: 0.01,
    ssnPlaceholder: 0.01,
    phoneTypo: 0.01,
    phonePlaceholder: 0.01,
    emailTypo: 0.01,
    addressTypo: 0.02,
    postalTypo: 0.005,
    cityTypo: 0.005,
    sexError: 0.003,
  },
  formats: {
    middleInitial: 0.3,
    juniorSuffixShown: 0.6,
    seniorSuffixShown: 0.35,
    suffixVariant: 0.3,
    zipPlus4: 0.1,
    unitInLine1: 0.15,
    streetSuffixFull: 0.2,
    formatJitter: 0.1,
  },
  sources: DEFAULT_SOURCES,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeDeep(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides === undefined ? base : overrides;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) merged[key] = mergeDeep(base[key], value);
  return merged;
}

/** Applies overrides to the defaults and validates the result (a rate outside [0, 1] is an error). */
export function resolveConfig(overrides: SynthConfigOverrides = {}): SynthConfig {
  const parsed = synthConfigSchema.safeParse(mergeDeep(DEFAULT_CONFIG, overrides));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid synthetic registry config at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`);
  }
  return parsed.data;
}

/** The first `count` source profiles, cycling through the defaults with numbered names past the end. */
export function selectSources(config: SynthConfig, count: number): SourceProfile[] {
  if (!Number.isInteger(count) || count < 1) throw new Error('sources must be a positive integer');
  return Array.from({ length: count }, (_, i) => {
    const profile = config.sources[i % config.sources.length] as SourceProfile;
    return i < config.sources.length ? profile : { ...profile, name: `source_${i + 1}` };
  });
}
