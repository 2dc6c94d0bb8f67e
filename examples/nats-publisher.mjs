// An example pipeline that publishes records to the service's NATS JetStream ingest: one canonical JSON record
// per line (the fields of SourceRecordInput, without `source`) from files or standard input, to
// `<prefix>.ingest.<source>`. Each message carries a `Nats-Msg-Id` made of the source, the local id and a hash of
// the line, so a publisher that resends after a crash is de-duplicated by JetStream; at most --window messages
// await JetStream's acknowledgement at once (backpressure instead of unbounded memory).
//
//   node examples/nats-publisher.mjs --source ehr records.ndjson [--wait]
//
// --wait returns once the service has ingested (or dead-lettered) everything in the queue.
// MPI_NATS_URL (default nats://127.0.0.1:4222) and MPI_NATS_SUBJECT_PREFIX (default mpi) as for the server.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect } from 'nats';

const { values: args, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: 'string' },
    window: { type: 'string', default: '1000' },
    wait: { type: 'boolean', default: false },
  },
});
if (!args.source) throw new Error('--source is required');
const prefix = process.env.MPI_NATS_SUBJECT_PREFIX ?? 'mpi';
const subject = `${prefix}.ingest.${args.source}`;
const stream = `${prefix.toUpperCase()}_INGEST`;

const nc = await connect({ servers: process.env.MPI_NATS_URL ?? 'nats://127.0.0.1:4222' });
const js = nc.jetstream();
const jsm = await nc.jetstreamManager();
// The service creates the stream when its consumer starts; a publisher started before that waits for it.
for (let tries = 0; !(await jsm.streams.info(stream).then(() => true, () => false)); tries++) {
  if (tries === 100) throw new Error(`stream ${stream} does not exist: is the service running with MPI_NATS_INGEST=true?`);
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const window = Number(args.window);
const pending = new Set();
let published = 0;
for (const file of files.length > 0 ? files : ['-']) {
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let localId = '';
    try {
      localId = String(JSON.parse(line).localId ?? '');
    } catch {
      // Published anyway: the service dead-letters it as INVALID_JSON, where it can be seen.
    }
    const msgID = `${args.source}:${localId}:${createHash('sha256').update(line).digest('hex').slice(0, 32)}`;
    const ack = js.publish(subject, line, { msgID }).finally(() => pending.delete(ack));
    pending.add(ack);
    published += 1;
    if (pending.size >= window) await Promise.race(pending);
  }
}
await Promise.all(pending);
let waited = '';
if (args.wait) {
  while ((await jsm.streams.info(stream)).state.messages > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  waited = '; the queue is empty';
}
console.log(`published ${published} records to ${subject}${waited}`);
await nc.close();
