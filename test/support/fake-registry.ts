/**
 * A stand-in for a registry's `/v2/` endpoint and token realm, in-process on a free loopback port,
 * for API tests of the credential check. The real distribution registry is in the e2e suite.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach } from 'vitest';
import { loopbackServers } from './loopback-server.js';

/** How the fake answers `/v2/`. */
export type FakeRegistryMode =
  | { kind: 'basic'; user: string; pass: string }
  | { kind: 'bearer'; user: string; pass: string; realm?: string; rejectToken?: boolean; refreshToken?: string }
  | { kind: 'open' }
  | { kind: 'status'; status: number }
  | { kind: 'hang' };

/** One request the fake saw. */
export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A running fake registry. */
export interface FakeRegistry {
  /** `127.0.0.1:PORT` (or `localhost:PORT` with TLS). */
  host: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const servers = loopbackServers();
afterEach(() => servers.closeAll());

const TOKEN = 'fake-registry-issued-token';

/** Starts a fake registry; closed after each test. `tls` makes it HTTPS with that key and certificate. */
export async function startFakeRegistry(mode: FakeRegistryMode, tls?: { key: string; cert: string }): Promise<FakeRegistry> {
  const seen: SeenRequest[] = [];
  let base = '';
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      answer(mode, base, req, body, res);
    });
  };
  const server = await servers.listen(handler, tls);
  base = server.origin;
  return { host: new URL(server.origin).host, seen, close: server.close };
}

function answer(mode: FakeRegistryMode, base: string, req: IncomingMessage, body: string, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const auth = req.headers.authorization ?? '';
  const basicOk = (user: string, pass: string) => auth === `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const unauthorized = (challenge: string) => {
    res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  };
  switch (mode.kind) {
    case 'hang':
      return; // never answers
    case 'open':
      res.writeHead(200).end('{}');
      return;
    case 'status':
      res.writeHead(mode.status).end();
      return;
    case 'basic':
      if (basicOk(mode.user, mode.pass)) res.writeHead(200).end('{}');
      else unauthorized('Basic realm="fake"');
      return;
    case 'bearer': {
      if (url.pathname === '/token') {
        const form = new URLSearchParams(body);
        const refreshOk = req.method === 'POST' && mode.refreshToken !== undefined && form.get('refresh_token') === mode.refreshToken;
        const basic = req.method === 'GET' && basicOk(mode.user, mode.pass) && url.searchParams.get('account') === mode.user;
        if (!refreshOk && !basic) {
          res.writeHead(401).end('{"details":"bad credentials"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
        return;
      }
      if (auth === `Bearer ${TOKEN}` && !mode.rejectToken) res.writeHead(200).end('{}');
      else unauthorized(`Bearer realm="${mode.realm ?? `${base}/token`}",service="fake-service"`);
      return;
    }
  }
}
