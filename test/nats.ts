import { connect } from 'nats';
import { EVENT_FAMILIES, streamOf } from '../events/index.ts';

/** The NATS server tests publish to: the machine's own (CI runs one too). */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Deletes the streams a test run created under its own subject prefix. */
export async function deleteTestStreams(prefix: string, url = TEST_NATS_URL): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    for (const family of EVENT_FAMILIES) await jsm.streams.delete(streamOf(family, prefix)).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
