// The registry as a stream: households -> people -> records -> a bounded shuffle -> numbered records.
// Memory stays flat (one household plus the shuffle window) however many records are asked for.
import { type SynthConfig, type SynthConfigOverrides, resolveConfig, selectSources } from './config.ts';
import { type Person, PopulationGenerator, type Relation, type RelationKind } from './population.ts';
import { Rng } from './prng.ts';
import { type ErrorCounts, RecordMaker, type SynthRecord } from './records.ts';

export type { SynthRecord } from './records.ts';
export type { Relation, RelationKind } from './population.ts';

export interface GenerateOptions {
  /** Same seed and options give the same records in the same order. */
  seed: number;
  /** Stop after this many records (the last person may get fewer records than drawn). */
  records?: number;
  /** Or stop after this many people. Exactly one of `records` and `people` is required. */
  people?: number;
  /** Number of sources (default 4: hosp_a, hosp_b, lab, payer). */
  sources?: number;
  /** Overrides of the default rates (see config.ts). */
  config?: SynthConfigOverrides;
  /** Records are shuffled within a window of this size so one person's records are not adjacent. */
  shuffleWindow?: number;
  /** Called for each pair of look-alike people who both appear in the output. */
  onRelation?: (relation: Relation) => void;
}

/** What was generated: the composition of the registry and how many errors of each kind it carries. */
export interface RegistrySummary {
  seed: number;
  people: number;
  households: number;
  records: number;
  /** `recordsPerPerson[k]` people have exactly k records. */
  recordsPerPerson: number[];
  recordsBySource: Record<string, number>;
  relations: Record<RelationKind, number>;
  similarNamedTwins: number;
  /** People whose earlier records carry a maiden name. */
  marriedNameChanges: number;
  /** People whose household moves during the record period (at least one record on each side not guaranteed). */
  movers: number;
  errors: ErrorCounts;
  recordsWithErrors: number;
}

// Wide enough that one person's records are far apart; larger windows cost garbage-collector time.
const DEFAULT_SHUFFLE_WINDOW = 8_192;
const RECORD_ID_WIDTH = 8;

function emptyRelations(): Record<RelationKind, number> {
  return { twin: 0, juniorSenior: 0, spouse: 0, sibling: 0, parentChild: 0, housemate: 0 };
}

function checkOptions(options: GenerateOptions): void {
  const { records, people } = options;
  if ((records === undefined) === (people === undefined)) throw new Error('give exactly one of records and people');
  const limit = records ?? people;
  if (!Number.isInteger(limit) || (limit as number) < 1) throw new Error('records/people must be a positive integer');
  if (!Number.isInteger(options.seed) || options.seed < 0) throw new Error('seed must be a non-negative integer');
}

/**
 * Streams a synthetic patient registry: records with their true cluster, in shuffled order, numbered R00000001...
 * The generator's return value is the summary.
 */
export function* generateRegistry(options: GenerateOptions): Generator<SynthRecord, RegistrySummary, undefined> {
  checkOptions(options);
  const config: SynthConfig = resolveConfig(options.config);
  const sources = selectSources(config, options.sources ?? 4);
  // Independent streams: changing error rates leaves the population (and vice versa) unchanged.
  const population = new PopulationGenerator(config, new Rng(options.seed, 1));
  const maker = new RecordMaker(config, sources, new Rng(options.seed, 2));
  const orderRng = new Rng(options.seed, 3);
  const window = Math.max(1, options.shuffleWindow ?? DEFAULT_SHUFFLE_WINDOW);
  const buffer: SynthRecord[] = [];
  const summary: RegistrySummary = {
    seed: options.seed,
    people: 0,
    households: 0,
    records: 0,
    recordsPerPerson: [],
    recordsBySource: Object.fromEntries(sources.map((source) => [source.name, 0])),
    relations: emptyRelations(),
    similarNamedTwins: 0,
    marriedNameChanges: 0,
    movers: 0,
    errors: maker.errorCounts,
    recordsWithErrors: 0,
  };
  let generated = 0;
  let emitted = 0;
  const number = (record: SynthRecord): SynthRecord => {
    emitted += 1;
    record.recordId = `R${String(emitted).padStart(RECORD_ID_WIDTH, '0')}`;
    return record;
  };

  const done = (): boolean => (options.records !== undefined ? generated >= options.records : summary.people >= (options.people as number));
  while (!done()) {
    const household = population.nextHousehold();
    const present: Person[] = [];
    for (const person of household.members) {
      if (done()) break;
      const wanted = person.recordCount;
      const count = options.records !== undefined ? Math.min(wanted, options.records - generated) : wanted;
      present.push(person);
      for (const record of maker.recordsFor(person, household, count)) {
        summary.recordsBySource[record.source] = (summary.recordsBySource[record.source] ?? 0) + 1;
        generated += 1;
        if (buffer.length < window) {
          buffer.push(record);
          continue;
        }
        const slot = Math.floor(orderRng.next() * window);
        const out = buffer[slot] as SynthRecord;
        buffer[slot] = record;
        yield number(out);
      }
      countPerson(summary, person, household.moveAt <= 1, count);
    }
    summary.households += 1;
    reportRelations(summary, household.relations, present, options.onRelation);
  }
  // Drain what is left in random order (Fisher-Yates).
  for (let i = buffer.length - 1; i >= 0; i--) {
    const j = Math.floor(orderRng.next() * (i + 1));
    const out = buffer[j] as SynthRecord;
    buffer[j] = buffer[i] as SynthRecord;
    yield number(out);
  }
  summary.records = emitted;
  summary.recordsPerPerson = Array.from(summary.recordsPerPerson, (people) => people ?? 0);
  summary.recordsWithErrors = maker.recordsWithErrors;
  return summary;
}

function countPerson(summary: RegistrySummary, person: Person, moves: boolean, count: number): void {
  summary.people += 1;
  summary.recordsPerPerson[count] = (summary.recordsPerPerson[count] ?? 0) + 1;
  if (person.earlierFamilyName !== '') summary.marriedNameChanges += 1;
  if (moves) summary.movers += 1;
}

function reportRelations(
  summary: RegistrySummary,
  relations: readonly Relation[],
  present: readonly Person[],
  onRelation?: (relation: Relation) => void,
): void {
  const ids = new Set(present.map((person) => person.clusterId));
  for (const relation of relations) {
    if (!ids.has(relation.a) || !ids.has(relation.b)) continue;
    summary.relations[relation.kind] += 1;
    if (relation.similarNames) summary.similarNamedTwins += 1;
    onRelation?.(relation);
  }
}
