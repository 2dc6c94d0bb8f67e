// An example FHIR rest-hook receiver for the service's patient-links Subscription: accepts notification Bundles,
// checks the Authorization header the Subscription asked for, and prints one line per notification: the event
// number, the focus, and each Patient's links (IHE PMIR: replaced-by on a retired identity, replaces on its survivor).
//
//   node examples/fhir-receiver.mjs --port 8080 --token order-system-token [--count 1] [--url-file receiver.url]
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    token: { type: 'string' },
    count: { type: 'string' },
    'url-file': { type: 'string' },
  },
});
let remaining = args.count === undefined ? Infinity : Number(args.count);

const server = createServer((req, res) => {
  if (args.token && req.headers.authorization !== `Bearer ${args.token}`) {
    res.statusCode = 401;
    return res.end();
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const bundle = JSON.parse(body);
    const status = bundle.entry[0].resource;
    const event = status.parameter.find((p) => p.name === 'notification-event');
    const part = (name) => event?.part.find((p) => p.name === name);
    const patients = bundle.entry.slice(1).map((e) => e.resource);
    console.log(
      JSON.stringify({
        eventNumber: part('event-number')?.valueString,
        focus: part('focus')?.valueReference.reference.replace(/^.*\/(Patient\/)/, '$1'),
        patients: patients.map((p) => ({ id: p.id, active: p.active, links: (p.link ?? []).map((l) => `${l.type} ${l.other.reference}`) })),
      }),
    );
    res.statusCode = 200;
    res.end();
    if (--remaining === 0) server.close();
  });
});
server.listen(Number(args.port), '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/notify`;
  if (args['url-file']) writeFileSync(args['url-file'], url);
  else console.error(`listening on ${url}`);
});
