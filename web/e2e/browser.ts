import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium: nothing downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * One browser for a whole test file. Playwright launches it on a fresh temporary profile directory of its own
 * (and removes it on close); every role then gets a new context, so no session storage is shared.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** What the page printed to its console and every URL and title it showed: checked for patient data. */
export interface PageTrail {
  console: string[];
  urls: string[];
  titles: string[];
}

/** A fresh context (own session storage) and page at the given width, recording its trail. */
export async function openPage(browser: Browser, width = 1280): Promise<{ context: BrowserContext; page: Page; trail: PageTrail }> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const trail: PageTrail = { console: [], urls: [], titles: [] };
  page.on('console', (message) => trail.console.push(message.text()));
  page.on('pageerror', (error) => trail.console.push(error.message));
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) trail.urls.push(frame.url());
  });
  page.on(
    'load',
    () =>
      void page.title().then(
        (t) => trail.titles.push(t),
        () => undefined,
      ),
  );
  return { context, page, trail };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
  targets: string;
}

/** Runs axe on the page (injected over the debugging protocol, so the page's CSP stays in force). */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            opts: object,
          ) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: unknown[] }> }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
      targets: (v.nodes as Array<{ target: unknown }>)
        .slice(0, 3)
        .map((n) => JSON.stringify(n.target))
        .join(' '),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
