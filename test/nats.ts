import { connect } from 'nats';
import { ingestNames } from '../api/nats-ingest.ts';
import { EVENT_FAMILIES, streamOf } from '../events/index.ts';

/** The NATS server tests publish to: the machine's own (CI runs one too). */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Deletes the streams a test run created under its own subject prefix. */
export async function deleteTestStreams(prefix: string, url = TEST_NATS_URL): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    const ingest = ingestNames(prefix);
    for (const stream of [...EVENT_FAMILIES.map((family) => streamOf(family, prefix)), ingest.stream, ingest.deadStream]) {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}
