import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's responses may load only what this server serves: no third-party origin, no inline script.
 * Inline styles stay allowed because the component library sets CSS variables through `style` attributes and one
 * `<style>` element; the favicon is an empty `data:` URL.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's production build, made by `npm start` (web/build.ts) when missing or stale. */
export const CONSOLE_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Paths the API owns; everything else a browser asks for by GET is the console's. */
const API_PATHS = ['/graphql', '/fhir', '/healthz', '/readyz', '/auth'];

/** What `/` answers before the console is built: how to build it, and where the API is meanwhile. */
const NOT_BUILT = [
  'The console is not built: run `npm run build:web` (npm start builds it).',
  '',
  'Meanwhile the service answers at:',
  '  /graphql         GraphQL API (POST; GraphiQL in a browser outside production)',
  '  /fhir/metadata   FHIR R4 capability statement',
  '  /healthz         liveness; /readyz readiness',
  '',
].join('\n');

export interface ConsoleOptions {
  /** The Vite build (`web/dist`). */
  distDir: string;
  /** GraphiQL is a development tool: in production `/graphql` serves no page. */
  graphiql: boolean;
}

/** A request the console (or the offline GraphiQL page) should answer, rather than the API. */
export function isConsoleRequest(request: Request, url: URL, options: ConsoleOptions): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (url.pathname === '/graphql') return options.graphiql && (request.headers.get('accept') ?? '').includes('text/html');
  return !API_PATHS.some((path) => url.pathname === path || url.pathname.startsWith(`${path}/`));
}

/**
 * Serves the console's build: hashed assets cached for good, every other path the single page (`index.html`)
 * so bookmarked screens load, and `/graphql` (asked for as HTML) the GraphiQL page built from our own
 * dependencies, which works without internet.
 */
export function createConsoleHandler(options: ConsoleOptions): (request: Request, url: URL) => Promise<Response> {
  const root = normalize(options.distDir);
  return async (request, url) => {
    if (!existsSync(join(root, 'index.html'))) {
      return text(503, NOT_BUILT);
    }
    if (url.pathname === '/graphql') return file(join(root, 'graphiql.html'), request, false);
    if (url.pathname.startsWith('/assets/')) {
      const decoded = decodedPath(url.pathname);
      const path = decoded === null ? null : normalize(join(root, decoded));
      if (path === null || !path.startsWith(`${root}${sep}assets${sep}`) || !existsSync(path)) return text(404, 'Not found');
      return file(path, request, true);
    }
    // A missing file with an extension is a 404; anything else is a screen of the single-page app.
    if (extname(url.pathname) !== '') return text(404, 'Not found');
    return file(join(root, 'index.html'), request, false);
  };
}

/** The path with its percent-escapes decoded; null for a malformed escape (`/assets/%ZZ`), which names no file. */
function decodedPath(pathname: string): string | null {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return null;
  }
}

async function file(path: string, request: Request, immutable: boolean): Promise<Response> {
  const body = request.method === 'HEAD' ? null : await readFile(path);
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      'content-security-policy': CONSOLE_CSP,
      // Hashed names change with their content; the page itself is always fetched fresh.
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    },
  });
}

function text(status: number, message: string): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': CONSOLE_CSP },
  });
}
