/**
 * The HTTP part every cloud fake shares: a server on 127.0.0.1 (HTTP, or HTTPS with a test
 * certificate), request bodies read whole (capped), per-route call counts and failure switches.
 * Every fake started here is closed when its test file ends.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll } from 'vitest';
import { loopbackServers } from '../loopback-server.js';

/** How a fake route can be told to misbehave: refuse (403), break (500), never answer, or answer garbage. */
export type FakeFailure = 'forbidden' | 'server_error' | 'slow' | 'malformed';

/**
 * What every cloud fake records, and how each of its routes can be told to fail: calls and failure
 * switches per route, why requests were refused (in order), and every secret it issued (to look for
 * in logs and errors).
 */
export interface FakeLedger<Route extends string> {
  calls: Record<Route, number>;
  failures: Partial<Record<Route, FakeFailure>>;
  rejections: string[];
  issuedSecrets: string[];
}

/** A fresh ledger for a fake with these routes. */
export function newLedger<Route extends string>(routes: readonly Route[]): FakeLedger<Route> {
  const calls = Object.fromEntries(routes.map((route) => [route, 0])) as Record<Route, number>;
  return { calls, failures: {}, rejections: [], issuedSecrets: [] };
}

/** A request as a fake route sees it. */
export interface FakeRequest {
  method: string;
  /** The raw request target (path and query). */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a route answers; `hang` holds the request until the fake closes. */
export type FakeAnswer = { status: number; headers?: Record<string, string>; body: string } | 'hang';

/** A listening fake. */
export interface FakeListener {
  /** `http://127.0.0.1:PORT/` or `https://localhost:PORT/`. */
  url: URL;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const servers = loopbackServers();
afterAll(() => servers.closeAll());

/** Requests a fake passes on, as they are, to a real server (a registry behind a fake token exchange). */
export interface FakeForward {
  target: URL;
  when: (req: IncomingMessage) => boolean;
}

/**
 * Starts a fake on a free loopback port; `tls` makes it HTTPS (the certificate must name localhost);
 * requests `forward.when` picks are streamed to `forward.target` and its answers streamed back.
 */
export async function listenFake(route: (request: FakeRequest) => FakeAnswer, tls?: { key: string; cert: string }, forward?: FakeForward): Promise<FakeListener> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (forward?.when(req)) return pass(req, res, forward.target);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return answer(res, { status: 413, body: '' });
      const request = { method: req.method ?? '', target: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      let result: FakeAnswer;
      try {
        result = route(request);
      } catch (error) {
        result = { status: 500, body: JSON.stringify({ fakeError: String(error) }) };
      }
      if (result !== 'hang') answer(res, result);
    });
  };
  const server = await servers.listen(handler, tls);
  return { url: new URL(`${server.origin}/`), close: server.close };
}

function pass(req: IncomingMessage, res: ServerResponse, target: URL): void {
  const outgoing = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (incoming) => {
    res.writeHead(incoming.statusCode ?? 502, incoming.headers);
    incoming.pipe(res);
  });
  outgoing.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(outgoing);
}

function answer(res: ServerResponse, result: Exclude<FakeAnswer, 'hang'>): void {
  res.writeHead(result.status, { 'content-type': 'application/json', ...result.headers });
  res.end(result.body);
}

/** Parses a form body; repeated fields keep the last value. */
export function parseForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

/** Whether a request carries a form body. */
export function isForm(request: FakeRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim() === 'application/x-www-form-urlencoded';
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers?: Record<string, string>): FakeAnswer {
  return { status, body: JSON.stringify(body), headers };
}

/**
 * Applies the route's failure switch, if any: `refuse` builds the provider-shaped
 * 403 or 500 answer. Returns undefined when the route should answer normally.
 */
export function applyFailure(failure: FakeFailure | undefined, refuse: (status: 403 | 500) => FakeAnswer): FakeAnswer | undefined {
  switch (failure) {
    case undefined:
      return undefined;
    case 'forbidden':
      return refuse(403);
    case 'server_error':
      return refuse(500);
    case 'slow':
      return 'hang';
    case 'malformed':
      return { status: 200, body: '{"truncated": ' };
  }
}
