import { afterEach, expect, test } from 'vitest';
import { createFhirHandler } from './fhir/handler.ts';
import { createHl7Handler } from './hl7/handler.ts';
import { sendMllp } from './mllp/client.ts';
import { startMllpServer, type MllpServer } from './mllp/server.ts';
import { FakePort, type TestContext } from './testing/fake-port.ts';
import { adtMerge, adtUpsert, ZEPHYRINE } from './testing/hl7-samples.ts';

let listener: MllpServer | null = null;
afterEach(async () => {
  await listener?.close();
  listener = null;
});

/** FHIR over fetch and HL7 over MLLP feeding one port, as the service wires them. */
async function setup() {
  const port = new FakePort({ 'urn:ehr': 'EHR', 'urn:lab': 'LAB' });
  const ctx: TestContext = { actor: 'integration' };
  const fhir = createFhirHandler(port);
  const hl7 = createHl7Handler(port, { deadLetter: () => undefined });
  listener = await startMllpServer({ port: 0, handle: async (m) => (await hl7(m, ctx)).ack });
  const mllpPort = listener.port;
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/fhir+json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fhir(new Request(`http://mpi.test/fhir${path}`, init), ctx);
    return { status: res.status, body: await res.json() };
  };
  const send = (message: string) => sendMllp('127.0.0.1', mllpPort, message);
  return { port, call, send };
}

test('a FHIR Patient and an HL7 A04 for the same person from two sources end in one identity', async () => {
  const { call, send } = await setup();
  const created = await call('POST', '/Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:ehr', value: 'MRN-1' }],
    name: [{ family: 'Quillfeather', given: ['Zephyrine'] }],
    birthDate: '1984-02-29',
  });
  expect(created.status).toBe(201);
  const ack = await send(adtUpsert('A04', { ...ZEPHYRINE, mrn: 'L-9', authority: 'LAB' }));
  expect(ack).toMatch(/\rMSA\|AA\|/);
  // The created resource is the source record's own Patient; its `refer` link names the golden one.
  const golden = created.body.link.find((l: { type: string }) => l.type === 'refer').other.reference as string;
  const read = await call('GET', `/${golden}`);
  expect(read.body.identifier).toEqual(
    expect.arrayContaining([
      { use: 'usual', system: 'urn:ehr', value: 'MRN-1' },
      { use: 'usual', system: 'urn:lab', value: 'L-9' },
    ]),
  );
});

test('an HL7 A40 merges two identities and FHIR shows the merged one as replaced', async () => {
  const { port, call, send } = await setup();
  await send(adtUpsert('A04', ZEPHYRINE));
  await send(adtUpsert('A04', { ...ZEPHYRINE, mrn: 'MRN-2', birth: '19900101' }));
  const gone = port.identityOf({ source: 'EHR', localId: 'MRN-2' }) as string;
  expect(await send(adtMerge(ZEPHYRINE, { mrn: 'MRN-2', authority: 'EHR' }))).toMatch(/\rMSA\|AA\|/);
  const survivor = port.identityOf({ source: 'EHR', localId: 'MRN-1' });
  const merged = await call('GET', `/Patient/${gone}`);
  expect(merged.body).toMatchObject({ active: false, link: [{ other: { reference: `Patient/${survivor}` }, type: 'replaced-by' }] });
});
