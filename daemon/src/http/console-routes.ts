/**
 * The admin console's static files at `/ui/`: the page, its script and its style sheet, built into
 * `daemon/dist/ui/` by `npm run build` (scripts/bundle-ui.mjs) and read into memory once at start.
 * They are public (they hold no data: the page asks the API with the token typed into it) and get
 * a strict Content-Security-Policy: only this origin's script and style, no inline code, no eval,
 * no framing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { methodNotAllowed } from './error-handler.js';

/** Where the console is served. */
export const CONSOLE_PATH = '/ui';

/** The built console next to the compiled daemon (`dist/ui/` beside `dist/http/`). */
export const CONSOLE_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

/** The files of the console build and their media types; nothing else under /ui/ is served. */
const CONSOLE_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** The Content-Security-Policy of every console response. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's files, read into memory. */
export interface ConsoleAssets {
  files: ReadonlyMap<string, { type: string; body: Buffer }>;
}

/** Reads the console build from `dir`; undefined when it was not built (the daemon then serves no console). */
export function loadConsoleAssets(dir: string = CONSOLE_DIR): ConsoleAssets | undefined {
  if (!Object.keys(CONSOLE_FILES).every((name) => existsSync(join(dir, name)))) return undefined;
  const files = new Map(Object.entries(CONSOLE_FILES).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  return { files };
}

/** `GET /ui/` and its files; `/ui` redirects to `/ui/` so the page's relative URLs resolve. */
export function consoleRoutes(assets: ConsoleAssets): Router {
  const router = Router({ strict: true, caseSensitive: true });
  const send = (res: Response, name: string) => {
    const file = assets.files.get(name)!;
    setConsoleHeaders(res);
    res.setHeader('Content-Type', file.type);
    res.setHeader('Content-Length', file.body.length);
    res.status(200).end(file.body);
  };
  router
    .route(CONSOLE_PATH)
    .get((_req, res) => {
      setConsoleHeaders(res);
      res.redirect(301, `${CONSOLE_PATH}/`);
    })
    .all(methodNotAllowed);
  router
    .route(`${CONSOLE_PATH}/`)
    .get((_req, res) => send(res, 'index.html'))
    .all(methodNotAllowed);
  for (const name of assets.files.keys()) {
    if (name === 'index.html') continue;
    router
      .route(`${CONSOLE_PATH}/${name}`)
      .get((_req, res) => send(res, name))
      .all(methodNotAllowed);
  }
  return router;
}

function setConsoleHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}
