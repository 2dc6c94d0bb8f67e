import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadR4DefinitionsInBackground } from '../interop/index.ts';
import { DataDirLockedError } from '../platform/db/data-dir-lock.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger, errorFields } from '../platform/logger.ts';
import { startTelemetry } from '../platform/telemetry-sdk.ts';
import { createApp } from './app.ts';
import { toNodeListener } from './http.ts';
import { startHl7Listener } from './mllp.ts';
import { attachGraphqlWebSocket } from './websocket.ts';

const config = loadConfig();
// Every line names the replica, so the logs of several `npm start` processes on one database can be told apart.
const logger = createLogger(config.LOG_LEVEL, undefined, config.LOG_FORMAT).child({ replica: config.MPI_REPLICA_ID });
const telemetry = startTelemetry(config);
const app = await createApp(config, logger).catch((error: unknown) => {
  // A data directory held by another process is an expected refusal: say so plainly, without a stack trace.
  if (error instanceof DataDirLockedError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
});
// Unsecured local mode never listens beyond loopback.
const host = app.localMode ? '127.0.0.1' : (config.HOST ?? '0.0.0.0');
if (app.localMode) {
  logger.warn(
    'NO API KEYS CONFIGURED: every request on 127.0.0.1 acts as a local admin. Create keys with ' +
      '`npx mpi keys create` or set MPI_BOOTSTRAP_ADMIN_KEY before exposing this service.',
  );
}

const server = createServer(toNodeListener(app.http));
// Subscriptions over WebSocket (graphql-ws) beside server-sent events on the same path.
const websocket = attachGraphqlWebSocket(server, app.yoga);
server.listen(config.PORT, host, () => {
  const { port } = server.address() as AddressInfo;
  // `mpi keys` and the other admin commands find the server (and their per-run token) through the data directory.
  app.services.database.dataDirLock?.publishServer(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
  logger.info({ port, host, database: app.services.database.kind }, `MPI listening on http://${host}:${port}/graphql`);
});
// The FHIR validator's definitions load in a worker while the server already answers, so the first FHIR
// request does not pay for them.
loadR4DefinitionsInBackground().then(
  (ms) => logger.info({ ms: Math.round(ms) }, 'FHIR R4 definitions loaded'),
  (error: unknown) => logger.warn(errorFields(error), 'FHIR definitions not preloaded'),
);
const mllp = await startHl7Listener(app.services);
if (mllp) logger.info({ port: mllp.port, host: mllp.host }, 'HL7 MLLP listener started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await websocket.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await mllp?.close();
  await app.close();
  await telemetry?.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
