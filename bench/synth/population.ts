// The true people behind the registry, generated household by household so that look-alikes arise the way
// they do in life: families share a family name, an address and a home phone; twins also share a birth date;
// a Jr shares his father's name and address. Everything here is clean truth; records.ts adds the errors.
import type { HouseholdType, SynthConfig } from './config.ts';
import { SsnAllocator, emailAddress, phoneNumber } from './identifiers.ts';
import { TWIN_NAME_PAIRS, drawGivenName, drawSurname } from './names.ts';
import { type City, type Street, drawCity, drawStreet } from './places.ts';
import { type Rng, WeightedTable } from './prng.ts';

export type Sex = 'M' | 'F';
export type Suffix = '' | 'Jr' | 'Sr' | 'II' | 'III';
export type RelationKind = 'twin' | 'juniorSenior' | 'spouse' | 'sibling' | 'parentChild' | 'housemate';

/** Two people who are easy to confuse because they share a household. */
export interface Relation {
  readonly a: string;
  readonly b: string;
  readonly kind: RelationKind;
  /** Twins with look-alike given names (Jayden/Jaylen). */
  readonly similarNames: boolean;
}

/** Where a household lives during part of the record period. */
export interface Residence {
  readonly street: Street;
  readonly city: City;
  readonly zip: string;
  readonly plus4: string;
  /** Ten digits, or '' for households without a landline (roommates). */
  readonly homePhone: string;
}

/** One real person: the truth every record of theirs is derived from. */
export interface Person {
  readonly clusterId: string;
  readonly sex: Sex;
  givenName: string;
  middleName: string;
  familyName: string;
  /** The family name in records before `nameChangeAt` (maiden name), or ''. */
  earlierFamilyName: string;
  nameChangeAt: number;
  /** The two parts of a compound family name ("Garcia Lopez"), which records write in several ways. */
  compoundFamilyName: boolean;
  suffix: Suffix;
  /** Days since 1970-01-01 (UTC); look-alike twins share it exactly. */
  readonly birthDay: number;
  readonly ssn: string;
  readonly mobile: string;
  email: string;
  /** How many records this person has across the sources. */
  readonly recordCount: number;
}

export interface Household {
  readonly type: HouseholdType;
  readonly members: Person[];
  /** The first residence, and the one after a move (if any). */
  readonly residences: readonly Residence[];
  /** Record time (0..1) from which the household lives at the second residence. */
  readonly moveAt: number;
  readonly relations: Relation[];
}

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365.25;
const MAX_MOTHER_AGE_DAYS = 45 * YEAR_DAYS;
/** Namesake sons are born when the father is at most this old, so Jr and Sr are ~20-42 years apart. */
const MAX_JUNIOR_GAP_DAYS = 42 * YEAR_DAYS;

function yearOfDay(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

/**
 * Ages of adults who head single and couple households. Weighted towards older adults because parents of
 * children, roommates and the adult children of multi-generation homes fill the younger bands; together they
 * give roughly the US age pyramid (about 12% per decade up to 60, tapering after 70).
 */
const ADULT_AGE_BANDS = WeightedTable.of<readonly [number, number]>([
  [[18, 24], 4],
  [[25, 34], 7],
  [[35, 44], 8],
  [[45, 54], 13],
  [[55, 64], 25],
  [[65, 74], 23],
  [[75, 84], 10],
  [[85, 99], 3],
]);

/** Generates households one at a time; holds no more than the current household. */
export class PopulationGenerator {
  private readonly rng: Rng;
  private readonly population: SynthConfig['population'];
  private readonly referenceDay: number;
  private readonly householdTypes: WeightedTable<HouseholdType>;
  private readonly childCounts: WeightedTable<number>;
  private readonly recordCounts: WeightedTable<number>;
  private readonly ssns: SsnAllocator;
  private personSerial = 0;
  /** The city of the household being built: most mobile numbers carry a local area code. */
  private homeCity: City | null = null;

  constructor(config: SynthConfig, rng: Rng) {
    this.rng = rng;
    this.population = config.population;
    this.referenceDay = Math.floor(Date.parse(`${config.referenceDate}T00:00:00Z`) / DAY_MS);
    const types = Object.entries(config.population.householdTypes) as Array<[HouseholdType, number]>;
    this.householdTypes = WeightedTable.of(types);
    this.childCounts = new WeightedTable(
      config.population.childrenWeights.map((_, i) => i + 1),
      config.population.childrenWeights,
    );
    this.recordCounts = new WeightedTable(
      config.population.recordsPerPerson.map((_, i) => i + 1),
      config.population.recordsPerPerson,
    );
    this.ssns = new SsnAllocator(rng);
  }

  /** The next household with all its members, relations and residences. */
  nextHousehold(): Household {
    const type = this.householdTypes.sample(this.rng);
    const residences = this.drawResidences(type !== 'roommates');
    this.homeCity = (residences[0] as Residence).city;
    const builder: HouseholdBuilder = { members: [], relations: [], family: this.drawFamilySurname() };
    const { members, family } = builder;
    switch (type) {
      case 'single':
        members.push(this.adult(this.randomSex(), this.adultAgeDays(), family.surname, family.compound));
        break;
      case 'couple':
        this.addCouple(builder, this.adultAgeDays());
        break;
      case 'coupleWithChildren': {
        const [father, mother] = this.addCouple(builder, this.yearsToDays(this.rng.int(22, 58)));
        this.addChildren(builder, father, mother);
        break;
      }
      case 'singleParent': {
        const sex: Sex = this.rng.chance(0.78) ? 'F' : 'M';
        const parent = this.adult(sex, this.yearsToDays(this.rng.int(19, 55)), family.surname, family.compound);
        members.push(parent);
        this.addChildren(builder, sex === 'M' ? parent : null, sex === 'F' ? parent : null);
        break;
      }
      case 'multiGeneration':
        this.addMultiGeneration(builder);
        break;
      case 'roommates':
        this.addRoommates(builder);
        break;
    }
    const moveAt = residences.length > 1 ? 0.1 + 0.8 * this.rng.next() : 2;
    for (const person of members) {
      if (this.wantsEmail(person)) person.email = emailAddress(this.rng, person.givenName, person.familyName, yearOfDay(person.birthDay));
    }
    // Grown children who left home were generated but are not members; drop their relations.
    const present = new Set(members.map((person) => person.clusterId));
    const relations = builder.relations.filter((relation) => present.has(relation.a) && present.has(relation.b));
    return { type, members, residences, moveAt, relations };
  }

  /** A family name; a few are compound (Garcia Lopez), which records later write whole, hyphenated or halved. */
  private drawFamilySurname(): { surname: string; compound: boolean } {
    const first = drawSurname(this.rng);
    if (!this.rng.chance(this.population.compoundSurname)) return { surname: first, compound: false };
    const second = drawSurname(this.rng);
    if (second === first || first.includes(' ') || second.includes(' ')) return { surname: first, compound: false };
    return { surname: `${first} ${second}`, compound: true };
  }

  private randomSex(): Sex {
    return this.rng.chance(0.5) ? 'M' : 'F';
  }

  private yearsToDays(years: number): number {
    return Math.floor(years * YEAR_DAYS + this.rng.next() * YEAR_DAYS);
  }

  private adultAgeDays(): number {
    const [low, high] = ADULT_AGE_BANDS.sample(this.rng);
    return this.yearsToDays(this.rng.int(low, high));
  }

  private birthYear(ageDays: number): number {
    return yearOfDay(this.referenceDay - ageDays);
  }

  /** A person with fresh identifiers; names are drawn unless given. */
  private person(sex: Sex, ageDays: number, familyName: string, compound: boolean, givenName?: string): Person {
    const year = this.birthYear(ageDays);
    const given = givenName ?? drawGivenName(this.rng, sex, year);
    let middle = '';
    if (this.rng.chance(this.population.hasMiddleName)) {
      for (let attempt = 0; attempt < 3 && (middle === '' || middle === given); attempt++) {
        middle = drawGivenName(this.rng, sex, year - 20);
      }
      if (middle === given) middle = '';
    }
    const ageYears = ageDays / YEAR_DAYS;
    const isNewborn = ageYears < 1;
    const hasSsn = this.rng.chance(isNewborn ? this.population.newbornHasSsn : this.population.hasSsn);
    const phoneChance = ageYears >= 18 ? this.population.hasMobile : ageYears >= 13 ? this.population.hasMobile / 2 : 0;
    return {
      clusterId: `P${String(++this.personSerial).padStart(8, '0')}`,
      sex,
      givenName: given,
      middleName: middle,
      familyName,
      earlierFamilyName: '',
      nameChangeAt: 2,
      compoundFamilyName: compound,
      suffix: '',
      birthDay: this.referenceDay - ageDays,
      ssn: hasSsn ? this.ssns.ssnFor(this.personSerial) : '',
      mobile: this.rng.chance(phoneChance) ? this.mobileNumber() : '',
      email: '',
      recordCount: this.recordCounts.sample(this.rng),
    };
  }

  private adult(sex: Sex, ageDays: number, familyName: string, compound: boolean): Person {
    return this.person(sex, Math.max(ageDays, this.yearsToDays(18)), familyName, compound);
  }

  private relate(builder: HouseholdBuilder, a: Person, b: Person, kind: RelationKind, similarNames = false): void {
    builder.relations.push({ a: a.clusterId, b: b.clusterId, kind, similarNames });
  }

  /** A husband and wife; the wife may keep her name or show her maiden name in earlier records. */
  private addCouple(builder: HouseholdBuilder, husbandAgeDays: number): [Person, Person] {
    const { surname, compound } = builder.family;
    const husband = this.adult('M', husbandAgeDays, surname, compound);
    const wifeAge = Math.round(husbandAgeDays + this.rng.normal(-2, 3) * YEAR_DAYS);
    const wife = this.adult('F', wifeAge, surname, compound);
    const rates = this.population;
    if (this.rng.chance(rates.keepsMaidenName)) {
      wife.familyName = drawSurname(this.rng);
      wife.compoundFamilyName = false;
    } else if (wifeAge < 50 * YEAR_DAYS && this.rng.chance(rates.marriedNameChange)) {
      const maiden = drawSurname(this.rng);
      wife.earlierFamilyName = maiden;
      wife.nameChangeAt = 0.1 + 0.8 * this.rng.next();
      if (this.rng.chance(rates.hyphenatedMarriedName) && !compound) wife.familyName = `${maiden}-${surname}`;
    }
    builder.members.push(husband, wife);
    this.relate(builder, husband, wife, 'spouse');
    return [husband, wife];
  }

  /** Children of one or two parents, with birth spacing, twins and a possible Jr. */
  private addChildren(builder: HouseholdBuilder, father: Person | null, mother: Person | null): void {
    const parents = [father, mother].filter((parent): parent is Person => parent !== null);
    const youngestParentAge = Math.min(...parents.map((parent) => this.referenceDay - parent.birthDay));
    let ageAtBirth = Math.round(Math.max(18, this.rng.normal(27, 5)) * YEAR_DAYS);
    const children: Person[] = [];
    const count = this.childCounts.sample(this.rng);
    let hasJunior = false;
    for (let birth = 0; birth < count; birth++) {
      const ageDays = youngestParentAge - ageAtBirth;
      if (ageDays < 0 || ageAtBirth > MAX_MOTHER_AGE_DAYS) break;
      const twins = this.rng.chance(this.population.twinBirth);
      const born = twins
        ? this.twins(builder, ageDays)
        : [this.person(this.randomSex(), ageDays, builder.family.surname, builder.family.compound)];
      for (const child of born) {
        const fatherAgeAtBirth = father ? child.birthDay - father.birthDay : 0;
        const canBeJunior = father && child.sex === 'M' && !twins && fatherAgeAtBirth <= MAX_JUNIOR_GAP_DAYS;
        if (!hasJunior && canBeJunior && this.rng.chance(this.population.junior)) {
          this.nameAfterFather(child, father);
          this.relate(builder, father, child, 'juniorSenior');
          hasJunior = true;
        } else if (ageDays > 18 * YEAR_DAYS && this.rng.chance(ageDays > 25 * YEAR_DAYS ? 0.85 : 0.5)) {
          continue; // grown children mostly live elsewhere; they are not in this household
        }
        children.push(child);
      }
      ageAtBirth += Math.round((1 + this.rng.next() * 4) * YEAR_DAYS);
    }
    for (const child of children) {
      builder.members.push(child);
      for (const parent of parents) this.relateParent(builder, parent, child);
    }
    this.relateSiblings(builder, children);
  }

  private relateParent(builder: HouseholdBuilder, parent: Person, child: Person): void {
    const isJuniorPair = builder.relations.some((r) => r.kind === 'juniorSenior' && r.a === parent.clusterId && r.b === child.clusterId);
    if (!isJuniorPair) this.relate(builder, parent, child, 'parentChild');
  }

  private relateSiblings(builder: HouseholdBuilder, children: Person[]): void {
    for (let i = 0; i < children.length; i++) {
      for (let j = i + 1; j < children.length; j++) {
        const a = children[i] as Person;
        const b = children[j] as Person;
        if (a.birthDay !== b.birthDay) this.relate(builder, a, b, 'sibling');
      }
    }
  }

  /** Twins: same birth date and family; different (sometimes look-alike) given names. */
  private twins(builder: HouseholdBuilder, ageDays: number): Person[] {
    const { surname, compound } = builder.family;
    const similar = this.rng.chance(this.population.similarTwinNames);
    let pair: Person[];
    if (similar) {
      const [nameA, sexA, nameB, sexB] = this.rng.pick(TWIN_NAME_PAIRS);
      pair = [this.person(sexA, ageDays, surname, compound, nameA), this.person(sexB, ageDays, surname, compound, nameB)];
    } else {
      const first = this.person(this.randomSex(), ageDays, surname, compound);
      const sex = this.rng.chance(0.65) ? first.sex : first.sex === 'M' ? 'F' : 'M';
      let second = this.person(sex, ageDays, surname, compound);
      for (let attempt = 0; attempt < 5 && second.givenName === first.givenName; attempt++) {
        second = this.person(sex, ageDays, surname, compound);
      }
      pair = [first, second];
    }
    this.relate(builder, pair[0] as Person, pair[1] as Person, 'twin', similar);
    return pair;
  }

  /** Makes `son` his father's namesake: Jr/Sr mostly, sometimes II (father unmarked) or III (father Jr). */
  private nameAfterFather(son: Person, father: Person): void {
    son.givenName = father.givenName;
    if (this.rng.chance(0.8)) son.middleName = father.middleName;
    const style = this.rng.next();
    son.suffix = style < 0.8 ? 'Jr' : style < 0.9 ? 'II' : 'III';
    father.suffix = style < 0.8 ? 'Sr' : style < 0.9 ? '' : 'Jr';
  }

  /** Elderly parents living with an adult child's family (the son may be a Jr). */
  private addMultiGeneration(builder: HouseholdBuilder): void {
    const { surname, compound } = builder.family;
    const elderAge = this.yearsToDays(this.rng.int(62, 90));
    const elders = this.rng.chance(0.5) ? this.addCouple(builder, elderAge) : [this.adult(this.randomSex(), elderAge, surname, compound)];
    if (elders.length === 1) builder.members.push(elders[0] as Person);
    const elderFather = elders.find((elder) => elder.sex === 'M') ?? null;
    const childAge = Math.max(this.yearsToDays(18), elderAge - this.yearsToDays(this.rng.int(20, 40)));
    const sex = this.randomSex();
    const child = this.adult(sex, childAge, surname, compound);
    builder.members.push(child);
    if (elderFather && sex === 'M' && this.rng.chance(this.population.junior * 2)) {
      this.nameAfterFather(child, elderFather);
      this.relate(builder, elderFather, child, 'juniorSenior');
    }
    for (const elder of elders) this.relateParent(builder, elder, child);
    if (sex === 'M' && this.rng.chance(0.5)) {
      const spouse = this.adult('F', Math.round(childAge + this.rng.normal(-2, 3) * YEAR_DAYS), surname, compound);
      builder.members.push(spouse);
      this.relate(builder, child, spouse, 'spouse');
      this.addChildren(builder, child, spouse);
    }
  }

  /** Unrelated adults sharing an address, each with their own name and no shared landline. */
  private addRoommates(builder: HouseholdBuilder): void {
    const count = this.rng.chance(0.7) ? 2 : 3;
    for (let i = 0; i < count; i++) {
      const mate = this.adult(
        this.randomSex(),
        this.yearsToDays(this.rng.int(19, 40)),
        i === 0 ? builder.family.surname : drawSurname(this.rng),
        false,
      );
      for (const other of builder.members) this.relate(builder, other, mate, 'housemate');
      builder.members.push(mate);
    }
  }

  private drawResidences(hasLandline: boolean): Residence[] {
    const first = this.residence(drawCity(this.rng), hasLandline, null);
    if (!this.rng.chance(this.population.move)) return [first];
    const sameCity = this.rng.chance(this.population.moveWithinCity);
    const city = sameCity ? first.city : drawCity(this.rng);
    const keepPhone = sameCity && !this.rng.chance(this.population.movePhoneChange);
    return [first, this.residence(city, hasLandline, keepPhone ? first.homePhone : null)];
  }

  private residence(city: City, hasLandline: boolean, phone: string | null): Residence {
    return {
      street: drawStreet(this.rng),
      city,
      zip: city.zip3 + String(this.rng.int(1, 99)).padStart(2, '0'),
      plus4: String(this.rng.int(1, 9999)).padStart(4, '0'),
      homePhone: phone ?? (hasLandline ? phoneNumber(this.rng, this.rng.pick(city.areaCodes)) : ''),
    };
  }

  /** Mostly a local number; people who moved keep the area code of where they got the phone. */
  private mobileNumber(): string {
    const city = this.homeCity && this.rng.chance(0.75) ? this.homeCity : drawCity(this.rng);
    return phoneNumber(this.rng, this.rng.pick(city.areaCodes));
  }

  private wantsEmail(person: Person): boolean {
    const ageYears = (this.referenceDay - person.birthDay) / YEAR_DAYS;
    const chance = ageYears >= 18 ? this.population.hasEmail : ageYears >= 13 ? this.population.hasEmail / 2 : 0;
    return this.rng.chance(chance);
  }
}

interface HouseholdBuilder {
  members: Person[];
  relations: Relation[];
  family: { surname: string; compound: boolean };
}
