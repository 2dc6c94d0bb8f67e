import { getNullableType, isListType, isObjectType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schema } from '../api/schema/index.ts';
import { publishPending } from '../events/store.ts';
import { saveDeadLetter } from '../interop/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person } from './fixtures.ts';

/** Arguments that page or order a list rather than choose what is in it. */
const PAGING = new Set(['first', 'last', 'after', 'before', 'from', 'limit', 'orderBy']);

/** Root fields that return a list or a connection: the list queries. */
function listFields(): Array<[string, GraphQLField<unknown, unknown>]> {
  return [schema.getQueryType()!, schema.getSubscriptionType()!].flatMap((root) =>
    Object.values(root.getFields())
      .filter((f) => {
        const type = getNullableType(f.type);
        return isListType(type) || (isObjectType(type) && type.name.endsWith('Connection'));
      })
      .map((f) => [`${root.name}.${f.name}`, f] as [string, GraphQLField<unknown, unknown>]),
  );
}

describe('one filter input style', () => {
  // `match` scores a record rather than listing stored items; its arguments are the record and how many to return.
  const NOT_A_LIST_QUERY = new Set(['Query.match']);

  test('every list query takes its criteria as one `filter` input; other criteria are deprecated', () => {
    const loose = listFields()
      .filter(([key]) => !NOT_A_LIST_QUERY.has(key))
      .flatMap(([key, field]) =>
        field.args
          .filter((a) => a.name !== 'filter' && !PAGING.has(a.name) && !a.deprecationReason && getNullableType(a.type) === a.type)
          .map((a) => `${key}(${a.name})`),
      );
    expect(loose).toEqual([]);
  });

  test('filter inputs are named after what they list', () => {
    for (const [key, field] of listFields()) {
      const filter = field.args.find((a) => a.name === 'filter');
      if (filter) expect(String(getNullableType(filter.type)), key).toMatch(/Filter$/);
    }
  });
});

describe(`filter inputs answer as the arguments they replace, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let identityId: string;
  beforeAll(async () => {
    app = await createTestApp();
    for (const code of ['ehr', 'lab']) await data(`mutation { registerSource(input: { code: "${code}", name: "${code}" }) { code } }`);
    await data('mutation { updateSource(code: "lab", input: { active: false }) { code } }');
    await data('mutation { defineGlossaryTerm(term: "Filterable term", definition: "Used by a filter test.") { term } }');
    identityId = (await ingest(app, { source: 'ehr', localId: 'FILTER-1', ...person(9301) })).identity.id;
    await ingest(app, { source: 'ehr', localId: 'FILTER-2', ...person(9302) });
    while ((await publishPending(app.services.database.db, 1000)) > 0);
    await saveDeadLetter(app.services.database.db, { channel: 'hl7', payload: 'MSH|x', reason: 'filter test' });
    await saveDeadLetter(app.services.database.db, { channel: 'fhir', payload: '{}', reason: 'filter test' });
  });
  afterAll(async () => {
    await app?.close();
  });

  async function data<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const result = await app.gql<T>(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data!;
  }

  test('sources(filter: { active }) lists the same sources as sources(active:)', async () => {
    const byFilter = await data<{ sources: Array<{ code: string }> }>('{ sources(filter: { active: false }) { code } }');
    const byArgument = await data<{ sources: Array<{ code: string }> }>('{ sources(active: false) { code } }');
    expect(byFilter.sources.map((s) => s.code)).toEqual(['lab']);
    expect(byArgument).toEqual(byFilter);
  });

  test('datasets(filter: { source }) lists only that source’s datasets, as datasets(source:) does', async () => {
    const byFilter = await data<{ datasets: Array<{ source: { code: string } }> }>(
      '{ datasets(filter: { source: "ehr" }) { source { code } } }',
    );
    const byArgument = await data<{ datasets: Array<{ source: { code: string } }> }>('{ datasets(source: "ehr") { source { code } } }');
    expect(byFilter.datasets.length).toBeGreaterThan(0);
    expect(byFilter.datasets.every((d) => d.source.code === 'ehr')).toBe(true);
    expect(byArgument).toEqual(byFilter);
  });

  test('glossary(filter: { search }) finds the same terms as glossary(search:)', async () => {
    const byFilter = await data<{ glossary: Array<{ term: string }> }>('{ glossary(filter: { search: "filterable" }) { term } }');
    const byArgument = await data<{ glossary: Array<{ term: string }> }>('{ glossary(search: "filterable") { term } }');
    expect(byFilter.glossary.map((g) => g.term)).toEqual(['Filterable term']);
    expect(byArgument).toEqual(byFilter);
  });

  test('changeEvents(filter: { identityId, types }) replays only that identity’s events of those types', async () => {
    const query = '{ changeEvents(filter: { identityId: "ID", types: [RECORD_LINKED] }) { type identityId } }'.replace('ID', identityId);
    const byFilter = await data<{ changeEvents: Array<{ type: string; identityId: string }> }>(query);
    expect(byFilter.changeEvents.length).toBeGreaterThan(0);
    expect(byFilter.changeEvents.every((e) => e.type === 'RECORD_LINKED' && e.identityId === identityId)).toBe(true);
    const byArguments = await data(`{ changeEvents(identityId: "${identityId}", types: [RECORD_LINKED]) { type identityId } }`);
    expect(byArguments).toEqual(byFilter);
  });

  test('a filter identityId that is not an id is refused naming filter.identityId', async () => {
    const result = await app.gql('{ changeEvents(filter: { identityId: "nope" }) { type } }');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'filter.identityId' });
  });

  test('deadLetters(filter:) lists open letters by default and narrows by channel, as the old arguments do', async () => {
    type Letters = { deadLetters: Array<{ channel: string; status: string }> };
    const open = await data<Letters>('{ deadLetters(filter: {}) { channel status } }');
    expect(open.deadLetters.map((l) => l.channel).sort()).toEqual(['FHIR', 'HL7']);
    expect(open.deadLetters.every((l) => l.status === 'OPEN')).toBe(true);
    const hl7 = await data<Letters>('{ deadLetters(filter: { channel: HL7 }) { channel status } }');
    expect(hl7.deadLetters.map((l) => l.channel)).toEqual(['HL7']);
    expect(await data<Letters>('{ deadLetters(channel: HL7) { channel status } }')).toEqual(hl7);
    const discarded = await data<Letters>('{ deadLetters(filter: { status: DISCARDED }) { channel } }');
    expect(discarded.deadLetters).toEqual([]);
  });

  test('matchModelEvents(filter: { type }) lists the events of that type, as matchModelEvents(type:) does', async () => {
    const byFilter = await data<{ matchModelEvents: Array<{ type: string }> }>(
      '{ matchModelEvents(filter: { type: ACTIVATED }) { type } }',
    );
    const byArgument = await data<{ matchModelEvents: Array<{ type: string }> }>('{ matchModelEvents(type: ACTIVATED) { type } }');
    expect(byFilter.matchModelEvents.every((e) => e.type === 'ACTIVATED')).toBe(true);
    expect(byArgument).toEqual(byFilter);
  });
});
