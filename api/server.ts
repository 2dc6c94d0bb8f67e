import { createServer } from 'node:http';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { startTelemetry } from '../platform/telemetry-sdk.ts';
import { createApp } from './app.ts';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const telemetry = startTelemetry(config);
const app = await createApp(config, logger);
// Unsecured local mode never listens beyond loopback.
const host = app.localMode ? '127.0.0.1' : (config.HOST ?? '0.0.0.0');
if (app.localMode) {
  logger.warn('NO API KEYS CONFIGURED: every request on 127.0.0.1 acts as a local admin. Create keys with '
    + '`npx mpi keys create` or set MPI_BOOTSTRAP_ADMIN_KEY before exposing this service.');
}

const server = createServer((req, res) => app.yoga(req, res, { clientAddress: req.socket.remoteAddress }));
server.listen(config.PORT, host, () => {
  logger.info({ port: config.PORT, host, database: app.services.database.kind }, `MPI listening on http://${host}:${config.PORT}/graphql`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.close();
  await telemetry?.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
