// An example NATS JetStream consumer of the service's change events: prints one JSON line per event of a family's
// stream, skips ids it has already handled, and resumes either from an event position (--from) or, with --durable,
// from where its durable consumer left off (JetStream remembers what it acknowledged).
//
//   node examples/nats-consumer.mjs --family identity --from 0 --once
//   node examples/nats-consumer.mjs --family record --durable orders
//
// MPI_NATS_URL (default nats://127.0.0.1:4222) and MPI_NATS_SUBJECT_PREFIX (default mpi) as for the server.
import { parseArgs } from 'node:util';
import { AckPolicy, connect, DeliverPolicy } from 'nats';

const { values: args } = parseArgs({
  options: {
    family: { type: 'string', default: 'identity' },
    from: { type: 'string' },
    durable: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
});
const prefix = process.env.MPI_NATS_SUBJECT_PREFIX ?? 'mpi';
const stream = `${prefix.toUpperCase()}_${args.family.toUpperCase()}`;
const POSITION = 'Mpi-Position';

const nc = await connect({ servers: process.env.MPI_NATS_URL ?? 'nats://127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();

// The server creates its streams when it first publishes; a consumer started before that waits for them.
for (let tries = 0; !(await jsm.streams.info(stream).then(() => true, () => false)); tries++) {
  if (tries === 50) throw new Error(`stream ${stream} does not exist`);
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/** The stream sequence of the first message whose event position is after `from` (messages are in position order). */
async function firstSequenceAfter(from) {
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return state.last_seq + 1;
  let low = state.first_seq;
  let high = state.last_seq + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const message = await jsm.streams.getMessage(stream, { seq: mid });
    if (Number(message.header.get(POSITION)) > from) high = mid;
    else low = mid + 1;
  }
  return low;
}

let consumer;
if (args.durable) {
  const exists = await jsm.consumers.info(stream, args.durable).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const start = args.from === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: await firstSequenceAfter(Number(args.from)) };
    await jsm.consumers.add(stream, { durable_name: args.durable, ack_policy: AckPolicy.Explicit, ...start });
  }
  consumer = await js.consumers.get(stream, args.durable);
} else {
  const from = Number(args.from ?? 0);
  consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: await firstSequenceAfter(from) });
}

// At least once: a message may come twice (after a crash of either side); the event id tells.
const seen = new Set();
for (;;) {
  const message = await consumer.next({ expires: args.once ? 1_000 : 30_000 });
  if (!message) {
    if (args.once) break;
    continue;
  }
  const event = message.json();
  if (!seen.has(event.id)) {
    seen.add(event.id);
    console.log(JSON.stringify({ position: event.position, type: event.type, id: event.id, identityId: event.identityId }));
  }
  message.ack();
}
await nc.close();
