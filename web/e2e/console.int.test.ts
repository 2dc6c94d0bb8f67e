import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toNodeListener } from '../../api/http.ts';
import { createApiKey } from '../../platform/api-keys.ts';
import { createTestApp, type TestApp } from '../../test/app.ts';
import { startMockIssuer, type MockIssuer } from '../../test/mock-issuer.ts';
import { buildConsole, CONSOLE_DIST } from '../build.ts';
import { launchBrowser, openPage, seriousAxeViolations, type PageTrail } from './browser.ts';
import { httpGql, ingestMany, registerSources, seedReviewCases, syntheticPerson, type Gql, type ReviewCase } from './seed.ts';

/** Screenshots of every screen; `CONSOLE_SCREENSHOTS=docs` writes the ones the docs show. */
const SHOTS =
  process.env.CONSOLE_SCREENSHOTS === 'docs'
    ? fileURLToPath(new URL('../../docs/images', import.meta.url))
    : fileURLToPath(new URL('./screenshots', import.meta.url));
const ROLES = ['steward', 'governance', 'auditor', 'pipeline', 'admin'] as const;
type Role = (typeof ROLES)[number];
/** A family name no other test uses, shared by more people than a page of Find results holds. */
const FIND_FAMILY = 'Pemberley';
const FIND_PEOPLE = Array.from({ length: 56 }, (_, i): Record<string, string> => ({
  ...syntheticPerson(500 + i),
  familyName: FIND_FAMILY,
}));
/** How long a polled expectation waits for the page: a loaded machine may take seconds to render. */
const POLL = { timeout: 20_000, interval: 200 };

/** Screens each role finds in the menu (and those it must not). */
const MENU: Record<Role, { shows: string[]; hides: string[] }> = {
  steward: { shows: ['Review queue', 'Find a patient'], hides: ['Audit', 'Catalog', 'Data quality'] },
  governance: { shows: ['Find a patient', 'Catalog', 'Data quality', 'Ingest runs'], hides: ['Review queue', 'Audit'] },
  auditor: { shows: ['Audit'], hides: ['Review queue', 'Find a patient', 'Catalog'] },
  pipeline: { shows: ['Ingest runs'], hides: ['Review queue', 'Audit', 'Data quality'] },
  admin: { shows: ['Review queue', 'Find a patient', 'Catalog', 'Data quality', 'Audit', 'Ingest runs'], hides: [] },
};

describe.skipIf(process.env.MPI_TEST_DB === 'postgres' && !process.env.CONSOLE_E2E_POSTGRES)(
  'console in a real browser',
  { timeout: 120_000 },
  () => {
    let app: TestApp;
    let server: Server;
    let base: string;
    let browser: Browser;
    let admin: Gql;
    const keys = {} as Record<Role, string>;
    let cases: ReviewCase[];
    let issuer: MockIssuer;
    const trails: PageTrail[] = [];
    const pages: Page[] = [];

    beforeAll(async () => {
      const [, launched] = await Promise.all([buildConsole({ quiet: true }), launchBrowser()]);
      browser = launched;
      mkdirSync(SHOTS, { recursive: true });
      // API keys, and sign-in through an OpenID Connect issuer (a stand-in on localhost) for the console's client.
      issuer = await startMockIssuer({ clientId: 'mpi-console', audience: 'mpi-api' });
      app = await createTestApp({
        localMode: false,
        env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'mpi-api', OIDC_CONSOLE_CLIENT_ID: 'mpi-console' },
      });
      for (const role of ROLES) keys[role] = (await createApiKey(app.services.database.db, `${role}-key`, role)).key;
      server = createServer(toNodeListener(app.http));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      admin = httpGql(base, keys.admin);
      await registerSources(admin);
      cases = await seedReviewCases(admin, [1, 2, 3, 4, 5, 6]);
      expect(cases.length).toBe(6);
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await app?.close();
      await issuer?.close();
    });

    async function signIn(role: Role, width = 1280): Promise<Page> {
      const { page, trail } = await openPage(browser, width);
      trails.push(trail);
      pages.push(page);
      await page.goto(base);
      await page.getByLabel('API key').fill(keys[role]);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByTestId('who-am-i').getByText(role, { exact: true }).waitFor();
      return page;
    }

    async function shoot(page: Page, name: string): Promise<void> {
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
    }

    async function expectAccessible(page: Page): Promise<void> {
      expect(await seriousAxeViolations(page)).toEqual([]);
    }

    test("serves React's production build, though the test runner built it", () => {
      // The runner sets NODE_ENV=test, for which Vite would bundle React's development build (jsxDEV and all).
      const assets = join(CONSOLE_DIST, 'assets');
      const scripts = readdirSync(assets).filter((f) => f.endsWith('.js'));
      expect(scripts.length).toBeGreaterThan(0);
      expect(scripts.filter((f) => readFileSync(join(assets, f), 'utf8').includes('jsxDEV'))).toEqual([]);
    });

    test('refuses an unknown key and signs each role in, showing only the screens it may use', async () => {
      const { page, trail } = await openPage(browser);
      trails.push(trail);
      await page.goto(base);
      await page.getByRole('button', { name: /^Sign in with / }).waitFor();
      await shoot(page, 'sign-in');
      await expectAccessible(page);
      await page.getByLabel('API key').fill('mpi_not-a-real-key');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByText('Key refused').waitFor();
      await page.close();

      for (const role of ROLES) {
        const signedIn = await signIn(role);
        const nav = signedIn.getByRole('navigation', { name: 'Screens' });
        await expect.poll(() => signedIn.getByTestId('who-am-i').innerText(), POLL).toContain(`${role}-key`);
        for (const label of MENU[role].shows) expect(await nav.getByText(label, { exact: true }).count(), `${role} sees ${label}`).toBe(1);
        for (const label of MENU[role].hides)
          expect(await nav.getByText(label, { exact: true }).count(), `${role} does not see ${label}`).toBe(0);
        await signedIn.close();
      }
    });

    test("a steward signs in through the identity provider's own page (authorization code with PKCE)", async () => {
      issuer.nextUser = { sub: 'oidc-steward', roles: ['steward'] };
      const { page, trail } = await openPage(browser);
      trails.push(trail);
      await page.goto(`${base}/review?sort=OLDEST`);
      await page.getByRole('button', { name: `Sign in with ${new URL(issuer.issuer).host}` }).click();
      await page.getByTestId('who-am-i').getByText('steward', { exact: true }).waitFor();
      expect(await page.getByTestId('who-am-i').innerText()).toContain('oidc-steward');
      await page.getByTestId('queue-row').first().waitFor();
      // Back where the sign-in started; the code came through /oidc-callback and is in neither the address nor history.
      expect(page.url()).toBe(`${base}/review?sort=OLDEST`);
      expect(trail.urls.some((u) => u.startsWith(`${base}/oidc-callback?code=`))).toBe(true);
      expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(['mpi.console.apiKey']);
      await page.goBack();
      expect(page.url()).not.toContain('code=');
      expect(issuer.refusals).toEqual([]);
      await page.close();

      // An answer whose state is not the one this tab sent (a forged or replayed callback) signs nobody in and is
      // never redeemed: the tab starts a sign-in, stays on the issuer's page, and a crafted callback comes instead.
      const forged = await openPage(browser);
      trails.push(forged.trail);
      await forged.page.route(`${issuer.issuer}/authorize**`, (route) => route.fulfill({ status: 200, body: "the issuer's sign-in page" }));
      await forged.page.goto(base);
      await forged.page.getByRole('button', { name: /^Sign in with / }).click();
      await forged.page.getByText("the issuer's sign-in page").waitFor();
      await forged.page.goto(`${base}/oidc-callback?code=stolen&state=forged`);
      await forged.page.getByText('Sign-in failed').waitFor();
      expect(new URL(forged.page.url()).pathname).toBe('/');
      expect(await forged.page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
      expect(issuer.refusals).toEqual([]);
      await expectAccessible(forged.page);
      await shoot(forged.page, 'sign-in-oidc');
      await forged.page.close();
    });

    test('a steward works the queue: merges one record and keeps another apart', async () => {
      const page = await signIn('steward');
      await page.goto(`${base}/review`);
      await page.getByTestId('queue-row').first().waitFor();
      expect(await page.getByTestId('queue-row').count()).toBe(cases.length);
      await expectAccessible(page);
      await shoot(page, 'review-queue');

      const [toMerge, toKeepApart] = cases;
      await page.goto(`${base}/review/${toMerge!.reviewItemId}`);
      await page.getByTestId('compare-table').waitFor();
      expect(await page.locator('[data-agreement="differ"]').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-agreement="agree"]').count()).toBeGreaterThan(0);
      await page.getByTestId('waterfall-table').getByText('Match weight').waitFor();
      const graded = await admin<{ reviewItem: { grade: string } }>('query($id: ID!) { reviewItem(id: $id) { grade } }', {
        id: toMerge!.reviewItemId,
      });
      expect((await page.getByTestId('grade').innerText()).toUpperCase()).toBe(`${graded.reviewItem.grade} MATCH`);
      await expectAccessible(page);
      await shoot(page, 'review-item');
      await page.keyboard.press('m');
      await page.getByLabel('Reason').fill('Same birth date and city; family name changed at marriage');
      await page.getByRole('button', { name: /^Decide: Link/ }).click();
      await page.getByTestId('decided').getByText('Decided: MATCH').waitFor();

      await page.goto(`${base}/review/${toKeepApart!.reviewItemId}`);
      await page.getByTestId('compare-table').waitFor();
      await page.keyboard.press('n');
      await page.getByLabel('Reason').fill('Different people: mother and daughter');
      await page.getByRole('button', { name: /^Decide: New identity/ }).click();
      await page.getByTestId('decided').getByText('Decided: NOT_MATCH').waitFor();

      const merged = await admin<{ sourceRecord: { identity: { id: string } } }>(
        'query($id: ID!) { sourceRecord(id: $id) { identity { id } } }',
        { id: toMerge!.recordId },
      );
      expect(merged.sourceRecord.identity.id).toBe(toMerge!.baseIdentityId);
      const apart = await admin<{ sourceRecord: { identity: { id: string } } }>(
        'query($id: ID!) { sourceRecord(id: $id) { identity { id } } }',
        { id: toKeepApart!.recordId },
      );
      expect(apart.sourceRecord.identity.id).not.toBe(toKeepApart!.baseIdentityId);
    });

    test('a decision on an item another steward already decided says so and reloads', async () => {
      const page = await signIn('steward');
      const item = cases[2]!;
      await page.goto(`${base}/review/${item.reviewItemId}`);
      await page.getByTestId('compare-table').waitFor();
      await httpGql(base, keys.steward)(
        'mutation($id: ID!) { resolveReviewItem(id: $id, decision: MATCH, reason: "decided elsewhere") { id } }',
        { id: item.reviewItemId },
      );
      await page.getByLabel('Reason').fill('Looks like the same patient');
      await page.getByRole('button', { name: /^Decide/ }).click();
      await page.getByText('This item changed since you opened it').waitFor();
      await page.getByRole('button', { name: 'Reload the item' }).click();
      await page.getByTestId('decided').getByText('Decided: MATCH').waitFor();
    });

    test('a steward narrows the queue by grade, source and age, and sorts it', async () => {
      const page = await signIn('steward');
      await page.goto(`${base}/review`);
      const rows = page.getByTestId('queue-row');
      const summary = page.getByTestId('pager-summary');
      /** How many open items the API counts for a filter: what the console must show. */
      const apiCount = async (filter: Record<string, unknown>) =>
        (
          await admin<{ reviewQueue: { totalCount: number } }>(
            'query($filter: ReviewQueueFilter) { reviewQueue(filter: $filter) { totalCount } }',
            { filter: { status: 'OPEN', ...filter } },
          )
        ).reviewQueue.totalCount;
      const choose = async (label: string, option: string) => {
        await page.getByRole('combobox', { name: label, exact: true }).selectOption({ label: option });
      };

      const open = await apiCount({});
      expect(open).toBeGreaterThan(0);
      await expect.poll(() => summary.innerText(), POLL).toBe(`${Math.min(open, 50)} shown of ${open} open`);

      await choose('Source', 'clinic');
      await page.getByText('No review items match these filters.').waitFor();
      expect(page.url()).toContain('source=clinic');
      await choose('Source', 'lab');
      const fromLab = await apiCount({ source: 'lab' });
      await expect.poll(() => summary.innerText(), POLL).toBe(`${fromLab} shown of ${fromLab} matching`);

      await choose('Grade', 'Probable');
      const probable = await apiCount({ source: 'lab', grade: 'PROBABLE' });
      await expect.poll(() => rows.count(), POLL).toBe(probable);
      await choose('Grade', 'Certain');
      const certain = await apiCount({ source: 'lab', grade: 'CERTAIN' });
      await expect.poll(() => rows.count(), POLL).toBe(certain);
      expect(probable + certain).toBeGreaterThan(0);

      await page.goto(`${base}/review?source=lab`);
      await choose('Age', 'Older than a day');
      await page.getByText('No review items match these filters.').waitFor();
      await page.goto(`${base}/review?source=lab&sort=NEWEST`);
      await expect.poll(() => rows.count(), POLL).toBe(fromLab);
      const newest = await admin<{ reviewQueue: { edges: Array<{ node: { id: string } }> } }>(
        '{ reviewQueue(filter: { source: "lab" }, orderBy: NEWEST) { edges { node { id } } } }',
      );
      const links = await rows.getByRole('link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(links).toEqual(newest.reviewQueue.edges.map((e) => `/review/${e.node.id}`));
      await expectAccessible(page);
      await shoot(page, 'review-queue-filtered');
    });

    test("a steward travels back in time on an identity, reads a field's lineage, then unmerges a record", async () => {
      const page = await signIn('steward');
      const merged = cases[0]!;
      await page.goto(`${base}/identities/${merged.baseIdentityId}`);
      const records = page.getByTestId('records-table').locator('tr');
      await expect.poll(() => records.count(), POLL).toBe(2);
      await expectAccessible(page);
      await shoot(page, 'identity');

      // The first event is the identity's creation: then it had the clinic record only.
      await page.getByRole('button', { name: 'View as of this moment' }).first().click();
      await page.getByTestId('as-of').waitFor();
      await expect.poll(() => records.count(), POLL).toBe(1);
      expect(page.url()).toContain('asOf=');
      await page.getByRole('button', { name: 'Back to now' }).click();
      await expect.poll(() => records.count(), POLL).toBe(2);

      await page.getByRole('button', { name: /Given name: show lineage/ }).click();
      await page.getByTestId('lineage-table').waitFor();
      await shoot(page, 'lineage');
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: /^Unlink lab / }).click();
      await page.getByLabel('Reason').fill('Lab record belongs to a different patient');
      await page.getByRole('button', { name: 'Unlink to a new identity' }).click();
      await expect.poll(() => records.count(), POLL).toBe(1);
      const moved = await admin<{ sourceRecord: { identity: { id: string } } }>(
        'query($id: ID!) { sourceRecord(id: $id) { identity { id } } }',
        { id: merged.recordId },
      );
      expect(moved.sourceRecord.identity.id).not.toBe(merged.baseIdentityId);
    });

    test('a steward finds a patient by source and local id', async () => {
      const page = await signIn('steward');
      await page.goto(`${base}/find`);
      await page.getByText('Source and local id', { exact: true }).click();
      await page.getByLabel('Source code', { exact: true }).fill('clinic');
      await page.getByLabel('Local id', { exact: true }).fill(`C-${cases[3]!.seed}`);
      await expectAccessible(page);
      await shoot(page, 'find');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(`**/identities/${cases[3]!.baseIdentityId}`);
    });

    test('a steward finds patients by name, pages through them and opens one', async () => {
      const page = await signIn('steward');
      const people = await ingestMany(
        admin,
        FIND_PEOPLE.map((person, i) => ({ source: 'clinic', localId: `F-${i}`, ...person })),
      );
      /** The identities the API lists for the family name, in its order: what the console must show. */
      const listed = await admin<{ identities: { edges: Array<{ node: { id: string } }> } }>(
        'query($filter: IdentityFilter!) { identities(filter: $filter, first: 100) { edges { node { id } } } }',
        { filter: { familyName: FIND_FAMILY.slice(0, 6) } },
      );
      const ids = listed.identities.edges.map((e) => e.node.id);
      expect(ids.length).toBeGreaterThan(50);
      expect(new Set(ids)).toEqual(new Set(people.map((p) => p.identity.id)));
      const pageOf = (slice: string[]) => slice.map((id) => `/identities/${id}`);

      // From the menu: the menu marks the screen it is on.
      const menu = page.getByRole('navigation', { name: 'Screens' });
      await menu.getByText('Find a patient', { exact: true }).click();
      await page.getByLabel('Family name (starts with)').waitFor();
      expect(await menu.locator('a[aria-current="page"]').allInnerTexts()).toEqual(['Find a patient']);
      await page.getByLabel('Family name (starts with)').fill(FIND_FAMILY.slice(0, 6).toLowerCase());
      await page.getByRole('button', { name: 'Search' }).click();
      const results = page.getByTestId('find-results');
      const links = () => results.getByRole('link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      await expect.poll(links, POLL).toEqual(pageOf(ids.slice(0, 50)));
      // The oldest identity (the first row): its row shows the person's birth date and links to the identity page.
      const first = FIND_PEOPLE[people.findIndex((p) => p.identity.id === ids[0])]!;
      const firstRow = results.getByTestId('find-row').filter({ has: page.locator(`a[href="/identities/${ids[0]}"]`) });
      expect(await firstRow.innerText()).toContain(first.birthDate!);
      await expectAccessible(page);
      await shoot(page, 'find-results');

      await page.getByRole('button', { name: 'Next' }).click();
      await expect.poll(links, POLL).toEqual(pageOf(ids.slice(50)));
      expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Previous' }).click();
      await expect.poll(links, POLL).toEqual(pageOf(ids.slice(0, 50)));

      await firstRow.getByRole('link').click();
      await page.waitForURL(`**/identities/${ids[0]}`);
      await page.getByTestId('golden-table').getByText(FIND_FAMILY).waitFor();
      // Back from the identity, the results are there again; the criteria never were in the address.
      await page.goBack();
      await expect.poll(links, POLL).toEqual(pageOf(ids.slice(0, 50)));
      expect(page.url()).toBe(`${base}/find`);
    });

    test('governance edits the catalog, sees a quality breach, and sees demographics masked', async () => {
      const page = await signIn('governance');
      await page.goto(`${base}/catalog`);
      await page.getByTestId('sources-table').waitFor();
      await expectAccessible(page);
      await page.getByRole('button', { name: 'Edit clinic' }).click();
      await page.getByLabel('Owner').fill('Patient access team');
      expect(await page.getByLabel(/Trust rank/).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByTestId('sources-table').getByText('Patient access team').waitFor();
      await shoot(page, 'catalog');
      const source = await admin<{ source: { owner: string } }>('{ source(code: "clinic") { owner } }');
      expect(source.source.owner).toBe('Patient access team');

      await page.goto(`${base}/quality`);
      await page.getByRole('button', { name: 'Measure now' }).click();
      await page.getByTestId('breaches').getByText('DUPLICATE_RATE').waitFor();
      await page.getByTestId('scorecard-clinic').getByText('Completeness').waitFor();
      await expectAccessible(page);
      await shoot(page, 'quality');

      const person = syntheticPerson(cases[4]!.seed);
      await page.goto(`${base}/identities/${cases[4]!.baseIdentityId}`);
      const golden = page.getByTestId('golden-table');
      await golden.waitFor();
      await page.getByText('masked for your role').waitFor();
      const text = await golden.innerText();
      expect(text).not.toContain(person.givenName);
      expect(text).not.toContain(person.phone);
      expect(text).toContain(`${person.givenName!.charAt(0)}.`);
      expect(await page.getByRole('button', { name: /^Merge/ }).count()).toBe(0);
      await expectAccessible(page);

      // Find lists identities for governance masked (searching by demographics needs a role that sees them).
      await page.goto(`${base}/find`);
      await page.getByRole('button', { name: 'Search' }).click();
      const results = page.getByTestId('find-results');
      await expect.poll(() => results.getByTestId('find-row').count(), POLL).toBeGreaterThan(0);
      await page.getByText('masked for your role').waitFor();
      const found = await results.innerText();
      expect(found).toContain(`${person.givenName!.charAt(0)}.`);
      for (const c of cases) expect(found).not.toContain(syntheticPerson(c.seed).givenName);
      await expectAccessible(page);
    });

    test("the auditor sees the steward's decisions and an intact hash chain", async () => {
      const page = await signIn('auditor');
      await page.goto(`${base}/audit?actor=${encodeURIComponent('api-key:steward-key')}&action=${encodeURIComponent('mutation:*')}`);
      const table = page.getByTestId('audit-table');
      await table.waitFor();
      await expect.poll(() => table.getByText('mutation:resolveReviewItem').count(), POLL).toBeGreaterThanOrEqual(2);
      expect(await table.getByText('mutation:unlinkRecord').count()).toBe(1);
      await page.getByRole('button', { name: 'Verify the hash chain' }).click();
      await page.getByTestId('chain-status').getByText('Chain intact').waitFor();
      await expectAccessible(page);
      await shoot(page, 'audit');
    });

    test('ingest runs are listed', async () => {
      const page = await signIn('admin');
      await page.goto(`${base}/runs`);
      await page
        .getByText(/No ingest runs yet|Job/)
        .first()
        .waitFor();
      await expectAccessible(page);
      await shoot(page, 'ingest-runs');
    });

    test.each([1280, 1920])('every screen fits a %i px wide window and its content spans the main area', async (width) => {
      const page = await signIn('admin', width);
      const item = cases[5]!;
      /** Each screen's URL and something that shows once its data is on screen. */
      const screens: Array<[name: string, path: string, ready: () => Promise<void>]> = [
        ['review-queue', '/review?status=RESOLVED', () => page.getByTestId('queue-row').first().waitFor()],
        ['review-item', `/review/${item.reviewItemId}`, () => page.getByTestId('waterfall-table').getByText('Match weight').waitFor()],
        ['find', '/find', () => page.getByRole('button', { name: 'Search' }).waitFor()],
        ['identity', `/identities/${item.baseIdentityId}`, () => page.getByTestId('records-table').first().waitFor()],
        ['catalog', '/catalog', () => page.getByTestId('sources-table').waitFor()],
        ['quality', '/quality', () => page.getByTestId('scorecard-clinic').waitFor()],
        ['audit', '/audit', () => page.getByTestId('audit-table').waitFor()],
        [
          'ingest-runs',
          '/runs',
          () =>
            page
              .getByText(/No ingest runs yet|Job/)
              .first()
              .waitFor(),
        ],
      ];
      for (const [name, path, ready] of screens) {
        await page.goto(`${base}${path}`);
        await ready();
        const layout = await page.evaluate(() => {
          const main = document.querySelector('main')!;
          const box = main.getBoundingClientRect();
          const padding = parseFloat(getComputedStyle(main).paddingLeft) + parseFloat(getComputedStyle(main).paddingRight);
          const screen = main.firstElementChild!.firstElementChild!.getBoundingClientRect();
          // Any element whose right edge passes the main area's: cut off, or pushing the page sideways.
          const sticking = [...main.querySelectorAll('*')]
            .filter((e) => e.getBoundingClientRect().right > box.right + 1)
            .map((e) => `${e.tagName.toLowerCase()}.${e.className}`.slice(0, 80));
          return {
            pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
            mainRight: box.right,
            mainInner: box.width - padding,
            screenWidth: screen.width,
            sticking: sticking.slice(0, 5),
          };
        });
        expect(layout.pageOverflow, `${name} at ${width} px scrolls sideways`).toBeLessThanOrEqual(0);
        expect(layout.sticking, `${name} at ${width} px: elements past the right edge`).toEqual([]);
        expect(layout.mainRight, `${name} at ${width} px: the main area reaches the window's edge`).toBeCloseTo(width, 0);
        expect(layout.screenWidth, `${name} at ${width} px uses the main area's width`).toBeGreaterThanOrEqual(layout.mainInner - 1);
        if (width === 1920 && ['review-queue', 'review-item', 'identity', 'quality'].includes(name)) await shoot(page, `${name}-1920`);
      }
    });

    test('no patient data reached a URL, a title or the browser console', () => {
      const names = cases.flatMap((c) => {
        const p = syntheticPerson(c.seed);
        return [p.givenName!, p.familyName!, p.birthDate!, p.phone!];
      });
      names.push(FIND_FAMILY, FIND_FAMILY.slice(0, 6).toLowerCase(), ...FIND_PEOPLE.flatMap((p) => [p.birthDate!, p.phone!]));
      const seen = trails.flatMap((t) => [...t.urls, ...t.titles, ...t.console]);
      expect(seen.length).toBeGreaterThan(10);
      for (const value of names) expect(seen.filter((s) => s.includes(value))).toEqual([]);
    });
  },
);
