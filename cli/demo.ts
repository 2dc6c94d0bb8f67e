import { generateRegistry } from '../bench/synth/generate.ts';
import { readDataDirLock } from '../platform/db/data-dir-lock.ts';
import type { AppConfig } from '../platform/config.ts';
import { CliError } from './errors.ts';
import { IngestClient, type IngestInput } from './import-client.ts';
import { createProgress } from './link-output.ts';

export const DEFAULT_DEMO_RECORDS = 3000;
const BATCH = 250;

/** The demo's feeding systems: the synthetic registry's sources, as a hospital, a second hospital, a lab and a payer. */
const DEMO_SOURCES: Record<string, { name: string; kind: string; trustRank: number }> = {
  hosp_a: { name: 'Demo General Hospital', kind: 'EHR', trustRank: 80 },
  hosp_b: { name: 'Demo Riverside Hospital', kind: 'EHR', trustRank: 70 },
  lab: { name: 'Demo Regional Lab', kind: 'LAB', trustRank: 40 },
  payer: { name: 'Demo Health Plan', kind: 'PAYER', trustRank: 30 },
};

export interface DemoOptions {
  records: number;
  seed: number;
  url?: string | undefined;
  key?: string | undefined;
  progress?: boolean;
}

export interface DemoSummary {
  url: string;
  records: number;
  outcomes: Record<string, number>;
  rejected: number;
  reviewItems: number;
  seconds: number;
}

/** The server to load into: `--url`, else the server holding the embedded data directory, else the default. */
export function demoTarget(config: AppConfig, options: Pick<DemoOptions, 'url' | 'key'>): { url: string; key: string | undefined } {
  if (options.url) return { url: options.url, key: options.key };
  if (!config.DATABASE_URL && config.MPI_DATA_DIR !== 'memory://') {
    const holder = readDataDirLock(config.MPI_DATA_DIR);
    if (holder?.holder === 'server' && holder.url) return { url: `${holder.url}/graphql`, key: options.key ?? holder.adminToken };
  }
  return { url: `http://127.0.0.1:${config.PORT}/graphql`, key: options.key };
}

/**
 * Loads a seeded synthetic registry (bench/synth: families, twins, Jr/Sr, spouses and housemates, with the typos
 * and gaps of real feeds) from four sources into a running server through its GraphQL API, so the console,
 * quality dashboard, lineage and review queue have something to show. Records the server refuses (the
 * generator's impossible values) are left out and counted. Running it again changes nothing (ingest is an
 * idempotent upsert), unless the seed or size differ.
 */
export async function runDemo(config: AppConfig, options: DemoOptions): Promise<DemoSummary> {
  const { url, key } = demoTarget(config, options);
  const client = new IngestClient(url, key);
  const started = performance.now();
  await registerSources(client);
  const bar = createProgress(options.progress ?? false);
  const outcomes: Record<string, number> = { CREATED: 0, LINKED: 0, REVIEW: 0, UNCHANGED: 0 };
  let rejected = 0;
  let sent = 0;
  let batch: IngestInput[] = [];
  const flush = async () => {
    const result = await sendDroppingInvalid(client, batch);
    rejected += result.rejected;
    for (const outcome of result.outcomes) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    sent += batch.length;
    bar.update('loading', sent, options.records);
    batch = [];
  };
  try {
    bar.update('loading', 0, options.records);
    for (const record of generateRegistry({ seed: options.seed, records: options.records })) {
      const { recordId, clusterId: _truth, source, ...fields } = record;
      const input: IngestInput = { source, localId: recordId };
      for (const [field, value] of Object.entries(fields)) if (value !== '') input[field] = value;
      batch.push(input);
      if (batch.length === BATCH) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    bar.stop();
  }
  const reviewItems = await client.count(
    '{ reviewQueue(first: 1) { totalCount } }',
    (d) => (d.reviewQueue as { totalCount: number }).totalCount,
  );
  return { url, records: sent, outcomes, rejected, reviewItems, seconds: (performance.now() - started) / 1000 };
}

async function registerSources(client: IngestClient): Promise<void> {
  for (const [code, source] of Object.entries(DEMO_SOURCES)) {
    await client.registerSource({ code, ...source });
  }
}

/** Sends a batch; the records the server names as invalid are dropped and the rest sent again. */
async function sendDroppingInvalid(client: IngestClient, input: IngestInput[]): Promise<{ outcomes: string[]; rejected: number }> {
  let remaining = input;
  for (;;) {
    if (remaining.length === 0) return { outcomes: [], rejected: input.length };
    const result = await client.ingestBatch(remaining);
    if (result.ok) return { outcomes: result.outcomes, rejected: input.length - remaining.length };
    const bad = new Set(result.problems.map((p) => p.index));
    if (bad.size === 0) throw new CliError('the server refused a batch without naming a record');
    remaining = remaining.filter((_, i) => !bad.has(i));
  }
}

/** The end-of-run summary (counts only). */
export function formatDemoSummary(s: DemoSummary): string {
  const counts = Object.entries(s.outcomes)
    .map(([k, v]) => `${k.toLowerCase()} ${v}`)
    .join('  ');
  return [
    `loaded ${s.records - s.rejected} records of synthetic patients from 4 sources into ${s.url} in ${s.seconds.toFixed(1)} s`,
    `  ${counts}  refused ${s.rejected}`,
    `  review queue: ${s.reviewItems} open item(s); open the console at ${s.url.replace(/\/graphql$/, '/')}`,
    '',
  ].join('\n');
}
