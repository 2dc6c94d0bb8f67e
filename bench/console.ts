// Console benchmark: the production bundle's initial JavaScript (gzipped), the first screen's time to interactive
// on localhost, and the render time of a 50-item review-queue page and of an identity page with 50 linked
// records, in Debian's chromium, against a PostgreSQL index seeded with `--records` records.
//   npm run bench:console -- --records 1000000 --runs 5
// `--keep` keeps the seeded database (named after the record count, or `--database NAME`) and reuses it on the next
// run, so the index can be built once and measured again on a quiet machine. Each page is timed from the click
// event (what a user's click starts), and also from the driver's click call for comparison with older numbers.
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { createApp } from '../api/app.ts';
import { toNodeListener } from '../api/http.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { buildConsole, CONSOLE_DIST } from '../web/build.ts';
import { launchBrowser, openPage } from '../web/e2e/browser.ts';
import { httpGql, registerSources, seedLargeIdentity, seedReviewCases } from '../web/e2e/seed.ts';
import { readRows, seed } from './seed.ts';
import { BENCH_OUT, freshDatabase, keptDatabase, machine, percentile, syntheticRegistry } from './support.ts';

/** The budgets, printed beside each number. */
const BUDGET = { initialJsKb: 400, firstScreenMs: 1000, renderMs: 300 };
const PAGE = 50;

/** The JavaScript `index.html` loads before any route: its module script and every module it preloads. */
function initialJavaScript(): { files: string[]; rawBytes: number; gzipBytes: number; allJsGzipBytes: number } {
  const html = readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8');
  const files = [...html.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const sizes = files.map((f) => readFileSync(join(CONSOLE_DIST, f)));
  const assets = readdirSync(join(CONSOLE_DIST, 'assets')).filter((f) => f.endsWith('.js'));
  return {
    files,
    rawBytes: sizes.reduce((n, b) => n + b.length, 0),
    gzipBytes: sizes.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    allJsGzipBytes: assets.reduce((n, f) => n + gzipSync(readFileSync(join(CONSOLE_DIST, 'assets', f)), { level: 9 }).length, 0),
  };
}

/** Resolves in the page once the main thread has painted a frame and run a task after it: the page responds. */
const IDLE_THEN_NOW = () => new Promise<number>((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)));

/** A cold load of `/` (new context: empty HTTP cache) until the review queue's rows are on screen and the page responds. */
async function firstScreen(browser: Browser, base: string): Promise<{ ms: number; jsGzipBytes: number }> {
  const { context, page } = await openPage(browser);
  let jsBytes = 0;
  page.on('response', (response) => {
    if (response.url().endsWith('.js')) void response.body().then((b) => (jsBytes += gzipSync(b).length));
  });
  await page.goto(base);
  await page.getByTestId('queue-row').first().waitFor();
  const ms = await page.evaluate(IDLE_THEN_NOW);
  await context.close();
  return { ms, jsGzipBytes: jsBytes };
}

/**
 * Milliseconds until `done` holds and the page responds, counted from the click `act` makes (the click event's
 * own timestamp, so the browser driver's checks before it clicks are not counted) and, for comparison with the
 * first measurements, from the moment `act` is called.
 */
async function timeInPage(
  page: Page,
  act: () => Promise<void>,
  done: () => Promise<void>,
): Promise<{ fromClick: number; fromCall: number }> {
  // The driver builds its helper script in the page's own world the first time it waits on a function there: a
  // 10-70 ms task on the page's main thread (seen in traces) that is the driver's, not the console's. Built here,
  // before the click, so `done` does not add it to the page's time.
  await page.waitForFunction(() => true);
  const start = await page.evaluate(() => {
    addEventListener('click', (event) => ((window as unknown as { clickedAt: number }).clickedAt = event.timeStamp), {
      capture: true,
      once: true,
    });
    return performance.now();
  });
  await act();
  try {
    await done();
  } catch (error) {
    const shot = join(BENCH_OUT, 'console-failure.png');
    await page.screenshot({ path: shot });
    process.stderr.write(`the screen did not finish (${new URL(page.url()).pathname}); see ${shot}\n`);
    throw error;
  }
  const end = await page.evaluate(IDLE_THEN_NOW);
  const clickedAt = await page.evaluate(() => (window as unknown as { clickedAt: number }).clickedAt);
  return { fromClick: end - clickedAt, fromCall: end - start };
}

type Timing = Awaited<ReturnType<typeof timeInPage>>;

/** From a freshly loaded Find screen (empty GraphQL cache), the menu link to the queue until 50 rows show. */
async function queuePage(browser: Browser, base: string): Promise<Timing> {
  const { context, page } = await openPage(browser);
  await page.goto(`${base}/find`);
  await page.getByRole('button', { name: 'Search' }).waitFor();
  const ms = await timeInPage(
    page,
    () => page.getByRole('navigation', { name: 'Screens' }).getByText('Review queue', { exact: true }).click(),
    async () => {
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="queue-row"]').length === n, PAGE, { polling: 'raf' });
    },
  );
  await context.close();
  return ms;
}

/** From a freshly loaded Find screen, a search by enterprise id until the identity page lists its `size` records. */
async function identityPage(browser: Browser, base: string, identityId: string, size: number): Promise<Timing> {
  const { context, page } = await openPage(browser);
  await page.goto(`${base}/find`);
  await page.getByText('Enterprise id', { exact: true }).click();
  await page.getByRole('textbox', { name: 'Enterprise id', exact: true }).fill(identityId);
  const ms = await timeInPage(
    page,
    () => page.getByRole('button', { name: 'Search' }).click(),
    async () => {
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="records-table"] tr').length === n, size, {
        polling: 'raf',
      });
    },
  );
  await context.close();
  return ms;
}

/** The API's share of the two screens: their main GraphQL operations, timed from Node without a browser. */
const QUEUE_OPERATION = `{ reviewQueue(first: ${PAGE}, filter: { status: OPEN }) { totalCount edges { cursor node { id kind status priority
  probability createdAt decidedBy decision record { id source } } } pageInfo { hasNextPage endCursor } } }`;
const IDENTITY_OPERATION = `query($id: ID!) { identity(id: $id) { id status version golden { givenName familyName birthDate phone city }
  provenance(current: true) { id field value rule validFrom source { code } } records { id source localId receivedAt
  link { linkSource matchResult probability } givenName familyName birthDate } history { id type at actor } } }`;

async function timeOperation(gql: ReturnType<typeof httpGql>, query: string, variables: Record<string, unknown>, runs: number) {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    await gql(query, variables);
    times.push(performance.now() - t);
  }
  return times;
}

/** What a finished seeding left in a kept database: enough to measure again without seeding. */
interface SeedState {
  identityId: string;
  cases: number;
  seedSeconds: number;
}

/** What an earlier run recorded in a kept database, if one finished seeding it. */
async function consoleSeedState(sql: postgres.Sql): Promise<SeedState | undefined> {
  const [table] = await sql`select to_regclass('bench_console_state') is not null as present`;
  if (!table?.present) return undefined;
  const [row] = await sql`select identity_id, cases, seed_seconds from bench_console_state`;
  return row ? { identityId: row.identity_id as string, cases: row.cases as number, seedSeconds: row.seed_seconds as number } : undefined;
}

async function markSeeded(url: string, state: SeedState): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  await sql`create table bench_console_state (identity_id uuid not null, cases integer not null, seed_seconds real not null)`;
  await sql`insert into bench_console_state values (${state.identityId}, ${state.cases}, ${state.seedSeconds})`;
  await sql.end();
}

const program = new Command('bench:console')
  .option('--records <n>', 'records stored in the index before measuring', '1000000')
  .option('--runs <n>', 'measurements per screen (the median and worst are printed)', '5')
  .option('--keep', 'keep the seeded database and reuse it when it is already there (mpi_bench_console_r<records>)')
  .option('--database <name>', "the kept database's name with --keep (default mpi_bench_console_r<records>)")
  .option('--seed-only', 'seed the kept database (implies --keep) and stop without measuring, e.g. niced outside a benchmark lock')
  .parse();
const opts = program.opts<{ records: string; runs: string; keep?: boolean; database?: string; seedOnly?: boolean }>();
if (opts.seedOnly) opts.keep = true;
const records = Number(opts.records);
const runs = Number(opts.runs);

// The production build `npm start` serves (rebuilt only when stale, as `npm start` does).
await buildConsole({ quiet: true });
const bundle = initialJavaScript();

const db = opts.keep
  ? await keptDatabase(opts.database ?? `mpi_bench_console_r${records}`, consoleSeedState)
  : { ...(await freshDatabase('mpi_bench_console')), state: undefined };
// The model stays the default one: a model trained on the seeded registry would decide the review cases differently.
const app = await createApp(
  loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: db.url, MPI_MODEL_TRAIN_AFTER: '0' }),
  createLogger('silent'),
);
const server = createServer(toNodeListener(app.http));
let browser: Browser | undefined;
try {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Local mode: the console goes straight in as the local admin, so every screen is reachable.
  const gql = httpGql(base);
  let state = db.state;
  if (state) {
    process.stderr.write(`reusing ${new URL(db.url).pathname.slice(1)}: ${records} records seeded earlier\n`);
  } else {
    const { csv, truth } = syntheticRegistry(records);
    const rows = await readRows(csv);
    const truthMap = new Map((await readRows(truth)).map((t) => [t.record_id!, t.cluster_id!]));
    process.stderr.write(`seeding ${rows.length} records into PostgreSQL...\n`);
    const seeded = performance.now();
    await seed(db.url, rows, truthMap);
    const seedSeconds = (performance.now() - seeded) / 1000;
    await registerSources(gql);
    process.stderr.write('raising review items and a 50-record identity through the API...\n');
    const cases = await seedReviewCases(
      gql,
      Array.from({ length: 90 }, (_, i) => 10_000 + i),
    );
    if (cases.length < PAGE) throw new Error(`only ${cases.length} review items were raised; a page of ${PAGE} is needed`);
    state = { identityId: await seedLargeIdentity(gql, 20_000, PAGE), cases: cases.length, seedSeconds };
    if (opts.keep) await markSeeded(db.url, state);
  }
  if (opts.seedOnly) {
    process.stderr.write(`${new URL(db.url).pathname.slice(1)} is seeded; --seed-only: nothing measured\n`);
    process.exit(0);
  }
  const { identityId, cases, seedSeconds } = state;
  const linked = await gql<{ identity: { records: unknown[] } }>('query($id: ID!) { identity(id: $id) { records { id } } }', {
    id: identityId,
  });
  // A review case may link to the same person too: the page is measured with however many it holds (at least 50).
  const identitySize = linked.identity.records.length;
  if (identitySize < PAGE) throw new Error(`the large identity holds ${identitySize} records, not ${PAGE}`);
  const stored = await gql<{ queue: { totalCount: number } }>('{ queue: reviewQueue(first: 1) { totalCount } }');

  browser = await launchBrowser();
  await firstScreen(browser, base); // warms the server's file and query caches; not counted
  const first: Array<{ ms: number; jsGzipBytes: number }> = [];
  const queue: Timing[] = [];
  const identity: Timing[] = [];
  for (let i = 0; i < runs; i += 1) {
    first.push(await firstScreen(browser, base));
    queue.push(await queuePage(browser, base));
    identity.push(await identityPage(browser, base, identityId, identitySize));
  }
  const queueApi = await timeOperation(gql, QUEUE_OPERATION, {}, runs);
  const identityApi = await timeOperation(gql, IDENTITY_OPERATION, { id: identityId }, runs);
  const line = (label: string, values: number[], budget: number) =>
    `  ${label.padEnd(44)} median ${percentile(values, 50).toFixed(0).padStart(5)} ms  worst ${Math.max(...values)
      .toFixed(0)
      .padStart(5)} ms  (budget ${budget} ms, ${runs} runs)`;
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  const { loadavg, cpus } = await import('node:os');
  console.log(
    [
      `console benchmark, ${machine()}, ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} at the end`,
      `  initial JavaScript (index.html's script and module preloads, ${bundle.files.length} files): ${kb(bundle.gzipBytes)} kB gzipped, ${kb(bundle.rawBytes)} kB raw (budget ${BUDGET.initialJsKb} kB gzipped)`,
      `  all JavaScript chunks together (every screen): ${kb(bundle.allJsGzipBytes)} kB gzipped`,
      `  index: ${records.toLocaleString('en-US')} records seeded in ${seedSeconds.toFixed(0)} s, plus ${cases * 2 + PAGE} through the API; ${stored.queue.totalCount} open review items`,
      line(
        'first screen interactive (cold load of /)',
        first.map((f) => f.ms),
        BUDGET.firstScreenMs,
      ),
      `  JavaScript fetched for the first screen: ${kb(first[0]!.jsGzipBytes)} kB gzipped`,
      line(
        `review queue page of ${PAGE} items (menu link)`,
        queue.map((t) => t.fromClick),
        BUDGET.renderMs,
      ),
      line(
        "  the same, from the driver's click call",
        queue.map((t) => t.fromCall),
        BUDGET.renderMs,
      ),
      line(
        `identity page with ${identitySize} linked records (find by id)`,
        identity.map((t) => t.fromClick),
        BUDGET.renderMs,
      ),
      line(
        "  the same, from the driver's click call",
        identity.map((t) => t.fromCall),
        BUDGET.renderMs,
      ),
      line("  of which the queue page's GraphQL query alone", queueApi, BUDGET.renderMs),
      line("  of which the identity page's GraphQL query alone", identityApi, BUDGET.renderMs),
    ].join('\n'),
  );
} finally {
  await browser?.close();
  await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  await app.close();
  await db.drop();
}
