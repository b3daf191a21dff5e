import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpClientError,
  InvalidEndpointUrlError,
  httpErrorFromResponse,
  parseEndpointUrl,
  readErrorBody,
  requestJson,
  type JsonRequest,
} from './http-client.js';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One fake daemon whose routes exercise every way an answer can go wrong. */
function handler(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body === '' ? null : JSON.parse(body) }));
          break;
        case '/none':
          res.writeHead(204).end();
          break;
        case '/missing':
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"credentials not found","requestId":"req_1"}}');
          break;
        case '/boom':
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"internal error"}}');
          break;
        case '/garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>');
          break;
        case '/proxy-error':
          res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
          break;
        case '/huge-declared':
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) });
          res.write('"');
          break;
        case '/huge-chunked': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = 'x'.repeat(64 * 1024);
          res.write('"');
          for (let i = 0; i < 20; i++) res.write(chunk);
          res.end('"');
          break;
        }
        case '/hang':
          break;
        case '/stall-body':
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"partial":');
          break;
        case '/cut-body':
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"partial":', () => res.destroy());
          break;
        case '/hang-up':
          req.socket.destroy();
          break;
        default:
          res.writeHead(404).end();
      }
    });
  };
}

function listen(server: Server, where: { port: number; host: string } | string): Promise<void> {
  return new Promise((resolve) => server.listen(where as never, () => resolve()));
}

function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function tracked(seen: Seen[]): { server: Server; sockets: Set<Socket> } {
  const server = createServer(handler(seen));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return { server, sockets };
}

async function failure(request: JsonRequest): Promise<HttpClientError> {
  try {
    await requestJson(request);
  } catch (error) {
    if (error instanceof HttpClientError) return error;
    throw error;
  }
  throw new Error('expected requestJson to fail');
}

const dir = mkdtempSync(join(tmpdir(), 'http-client-test-'));
const tcpSeen: Seen[] = [];
const unixSeen: Seen[] = [];
const tcp = tracked(tcpSeen);
const unix = tracked(unixSeen);
let tcpUrl = '';
const unixUrl = `unix:${join(dir, 'credd.sock')}`;

beforeAll(async () => {
  await listen(tcp.server, { port: 0, host: '127.0.0.1' });
  const address = tcp.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  tcpUrl = `http://127.0.0.1:${address.port}`;
  await listen(unix.server, join(dir, 'credd.sock'));
});

afterAll(async () => {
  await close(tcp.server, tcp.sockets);
  await close(unix.server, unix.sockets);
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  { transport: 'TCP', url: () => tcpUrl, seen: tcpSeen },
  { transport: 'Unix socket', url: () => unixUrl, seen: unixSeen },
])('requestJson over $transport', ({ url, seen }) => {
  const base = () => ({ url: url(), timeoutMs: 2000 });

  it('sends the token and a JSON body and parses the JSON answer', async () => {
    const response = await requestJson({ ...base(), method: 'POST', path: '/ok', token: 'tok_abc', body: { serverURL: 'ghcr.io' } });

    expect(response).toEqual({ status: 200, body: { echo: { serverURL: 'ghcr.io' } } });
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.headers['authorization']).toBe('Bearer tok_abc');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['host']).toMatch(/^(localhost|127\.0\.0\.1:\d+)$/);
  });

  it('sends no Authorization header without a token', async () => {
    await requestJson({ ...base(), method: 'GET', path: '/ok' });

    expect(seen.at(-1)!.headers['authorization']).toBeUndefined();
  });

  it('returns an empty body as undefined', async () => {
    expect(await requestJson({ ...base(), method: 'POST', path: '/none', body: {} })).toEqual({ status: 204, body: undefined });
  });

  it('returns a 404 with its error body instead of throwing', async () => {
    const response = await requestJson({ ...base(), method: 'POST', path: '/missing', body: {} });

    expect(response.status).toBe(404);
    expect(readErrorBody(response.body)).toEqual({ code: 'not_found', message: 'credentials not found', requestId: 'req_1' });
  });

  it('returns a 500 with its error body', async () => {
    const response = await requestJson({ ...base(), method: 'GET', path: '/boom' });

    expect(response.status).toBe(500);
    const error = httpErrorFromResponse(url(), response);
    expect(error).toMatchObject({ kind: 'http', status: 500, code: 'internal', serverMessage: 'internal error' });
  });

  it('fails with a protocol error when a 200 answer is not JSON', async () => {
    const error = await failure({ ...base(), method: 'GET', path: '/garbage' });

    expect(error).toMatchObject({ kind: 'protocol', status: 200, target: url() });
  });

  it('keeps the status of an error answer that is not JSON', async () => {
    expect(await requestJson({ ...base(), method: 'GET', path: '/proxy-error' })).toEqual({ status: 502, body: undefined });
  });

  it('refuses an answer that declares more than the cap', async () => {
    const error = await failure({ ...base(), method: 'GET', path: '/huge-declared' });

    expect(error.kind).toBe('protocol');
  });

  it('stops reading an answer that grows past the cap', async () => {
    const error = await failure({ ...base(), method: 'GET', path: '/huge-chunked' });

    expect(error.kind).toBe('protocol');
  });

  it('accepts a large answer under a raised cap', async () => {
    const response = await requestJson({ ...base(), method: 'GET', path: '/huge-chunked', maxResponseBytes: 2 * 1024 * 1024 });

    expect((response.body as string).length).toBe(20 * 64 * 1024);
  });

  it('times out when the server accepts but never answers', async () => {
    const error = await failure({ ...base(), timeoutMs: 300, method: 'GET', path: '/hang' });

    expect(error.kind).toBe('timeout');
  });

  it('times out when the answer starts but never completes', async () => {
    const error = await failure({ ...base(), timeoutMs: 300, method: 'GET', path: '/stall-body' });

    expect(error.kind).toBe('timeout');
  });

  it('fails with a protocol error when the connection closes mid-answer', async () => {
    const error = await failure({ ...base(), method: 'GET', path: '/cut-body' });

    expect(error.kind).toBe('protocol');
  });

  it('fails with a protocol error when the server hangs up without an answer', async () => {
    const error = await failure({ ...base(), method: 'GET', path: '/hang-up' });

    expect(error.kind).toBe('protocol');
  });
});

describe('requestJson when nothing listens', () => {
  it('reports a refused TCP connection as unreachable', async () => {
    const spare = createServer();
    await listen(spare, { port: 0, host: '127.0.0.1' });
    const address = spare.address() as { port: number };
    await new Promise((resolve) => spare.close(resolve));

    const error = await failure({ url: `http://127.0.0.1:${address.port}`, method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error).toMatchObject({ kind: 'unreachable', detail: 'connection refused' });
    expect(error.message).toBe(`cannot reach http://127.0.0.1:${address.port} (connection refused)`);
  });

  it('reports a missing socket file as unreachable', async () => {
    const error = await failure({ url: `unix:${join(dir, 'absent.sock')}`, method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error).toMatchObject({ kind: 'unreachable', detail: 'no socket file at that path' });
  });

  it('reports a stale socket file (the daemon was killed) as connection refused', async () => {
    const stalePath = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stalePath)}, () => console.log('ready'))`]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const error = await failure({ url: `unix:${stalePath}`, method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error).toMatchObject({ kind: 'unreachable', detail: 'connection refused' });
  });

  it('reports a path that is not a socket as unreachable', async () => {
    const plain = join(dir, 'plain-file');
    writeFileSync(plain, 'x');

    const error = await failure({ url: `unix:${plain}`, method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error.kind).toBe('unreachable');
  });

  it('reports an https URL pointing at a plain HTTP server as unreachable (loading node:https on demand)', async () => {
    const error = await failure({ url: tcpUrl.replace('http:', 'https:'), method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error.kind).toBe('unreachable');
  });

  it('reports an unusable URL as unreachable without connecting', async () => {
    const error = await failure({ url: 'ftp://example.com', method: 'GET', path: '/ok', timeoutMs: 2000 });

    expect(error.kind).toBe('unreachable');
  });
});

describe('parseEndpointUrl', () => {
  it.each([
    ['unix:/run/credd.sock', { kind: 'unix', socketPath: '/run/credd.sock' }],
    ['unix:///run/credd.sock', { kind: 'unix', socketPath: '/run/credd.sock' }],
    ['http://127.0.0.1:8420', { kind: 'tcp', protocol: 'http:', hostname: '127.0.0.1', port: 8420, basePath: '' }],
    ['http://credd.internal', { kind: 'tcp', protocol: 'http:', hostname: 'credd.internal', port: 80, basePath: '' }],
    ['https://credd.example.com/', { kind: 'tcp', protocol: 'https:', hostname: 'credd.example.com', port: 443, basePath: '' }],
    ['https://credd.example.com:9443/prefix/', { kind: 'tcp', protocol: 'https:', hostname: 'credd.example.com', port: 9443, basePath: '/prefix' }],
    ['http://[::1]:8420', { kind: 'tcp', protocol: 'http:', hostname: '::1', port: 8420, basePath: '' }],
  ])('parses %s', (url, endpoint) => {
    expect(parseEndpointUrl(url)).toEqual(endpoint);
  });

  it.each(['unix:relative.sock', 'unix:', 'ftp://host', 'http://user:pw@host', 'http://host/?x=1', 'http://host/#f', 'localhost:8420', ''])(
    'rejects %j',
    (url) => {
      expect(() => parseEndpointUrl(url)).toThrow(InvalidEndpointUrlError);
    },
  );
});

describe('readErrorBody', () => {
  it.each([undefined, null, 'text', [], {}, { error: 'x' }, { error: { code: 5 } }])('returns no fields for %j', (body) => {
    expect(readErrorBody(body)).toEqual({});
  });
});
