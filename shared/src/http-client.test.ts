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
  type JsonResponse,
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

  it.each([
    ['refuses an answer that declares more than the cap', '/huge-declared', 'protocol'],
    ['stops reading an answer that grows past the cap', '/huge-chunked', 'protocol'],
    ['fails with a closed error when the connection closes mid-answer', '/cut-body', 'closed'],
    ['fails with a closed error when the server hangs up without an answer', '/hang-up', 'closed'],
  ] as const)('%s', async (_title, path, kind) => {
    const error = await failure({ ...base(), method: 'GET', path });

    expect(error.kind).toBe(kind);
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

/** A raw server (TCP on 127.0.0.1 or a Unix socket) whose answer is scripted per connection, for what node:http will not send. */
async function rawServer(
  where: 'tcp' | 'unix',
  name: string,
  onRequest: (socket: Socket, request: string) => void,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const { createServer: createNetServer } = await import('node:net');
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    let received = '';
    socket.on('data', (chunk) => {
      const before = received;
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 || before.includes('\r\n\r\n')) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received)?.[1] ?? 0);
      const waitForBody = () => {
        if (received.length < end + 4 + length) return;
        socket.off('data', waitForBody);
        requests.push(received);
        onRequest(socket, received);
      };
      socket.on('data', waitForBody);
      waitForBody();
    });
  });
  const path = join(dir, `${name}.sock`);
  await new Promise<void>((resolve) => (where === 'tcp' ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)));
  const address = server.address();
  const url = where === 'tcp' ? `http://127.0.0.1:${(address as { port: number }).port}` : `unix:${path}`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.each([{ where: 'tcp' as const }, { where: 'unix' as const }])('the node:net transport ($where)', ({ where }) => {
  let serial = 0;
  const run = async (
    onRequest: (socket: Socket, request: string) => void,
    request: Partial<JsonRequest> = {},
  ): Promise<{ response?: JsonResponse; error?: HttpClientError; requests: string[] }> => {
    const server = await rawServer(where, `raw-${where}-${serial++}`, onRequest);
    try {
      const outcome = await requestJson({ url: server.url, method: 'GET', path: '/v1/x', timeoutMs: 2000, ...request }).then(
        (response) => ({ response }),
        (error: unknown) => {
          if (error instanceof HttpClientError) return { error };
          throw error;
        },
      );
      return { ...outcome, requests: server.requests };
    } finally {
      await server.close();
    }
  };

  it('sends one well-formed request with Connection: close', async () => {
    const { response, requests } = await run((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'), {
      method: 'POST',
      token: 'tok_abc',
      body: { a: 'é' },
    });

    expect(response).toEqual({ status: 200, body: {} });
    const [head, body] = requests[0]!.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('POST /v1/x HTTP/1.1');
    expect(lines.filter((line) => /^Host: /.test(line))).toEqual([expect.stringMatching(where === 'unix' ? /^Host: localhost$/ : /^Host: 127\.0\.0\.1:\d+$/)]);
    expect(lines).toContain('Authorization: Bearer tok_abc');
    expect(lines).toContain('Content-Type: application/json');
    expect(lines).toContain(`Content-Length: ${Buffer.byteLength('{"a":"é"}')}`);
    expect(lines).toContain('Accept: application/json');
    expect(lines).toContain('Connection: close');
    expect(body).toBe(Buffer.from('{"a":"é"}').toString('latin1'));
  });

  it('does not wait for a keep-alive server to close once the Content-Length is read', async () => {
    const started = Date.now();
    const { response } = await run((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{"ok":true}'));

    expect(response).toEqual({ status: 200, body: { ok: true } });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reads a chunked answer from a server that keeps the connection open', async () => {
    const { response } = await run((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{"a":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n'),
    );

    expect(response).toEqual({ status: 200, body: { a: 'b' } });
  });

  it('skips interim responses', async () => {
    const { response } = await run((socket) => socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n{"e":404}'));

    expect(response).toEqual({ status: 404, body: { e: 404 } });
  });

  it('reads an answer delimited by the close', async () => {
    const { response } = await run((socket) => socket.end('HTTP/1.0 200 OK\r\n\r\n{"closed":1}'));

    expect(response).toEqual({ status: 200, body: { closed: 1 } });
  });

  it('reads an answer dripped one byte at a time', async () => {
    const answer = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    const { response } = await run((socket) => {
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || i >= answer.length) return clearInterval(timer);
        socket.write(answer.subarray(i, ++i));
      }, 1);
    });

    expect(response).toEqual({ status: 200, body: {} });
  });

  it('lets a connected request run past the connect deadline, to the whole deadline', async () => {
    const { response } = await run((socket) => setTimeout(() => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'), 150), {
      connectTimeoutMs: 30,
    });

    expect(response).toEqual({ status: 200, body: {} });
  });

  it('times out on a slow drip that does not finish within the deadline', async () => {
    const { error } = await run(
      (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
        const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write('x')), 20);
      },
      { timeoutMs: 300 },
    );

    expect(error).toMatchObject({ kind: 'timeout', detail: 'no answer within 300 ms' });
  });

  it.each([
    ['garbage', 'SSH-2.0-OpenSSH_9.6\r\n', false, 'protocol', 'the answer is not HTTP/1.x (it starts with "S")'],
    ['a close mid-body', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Username":', true, 'closed', 'the connection closed before the answer was complete'],
    ['a close mid-head', 'HTTP/1.1 200 OK\r\nContent-', true, 'closed', 'the connection closed before the answer was complete'],
    ['a close mid-chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{', true, 'closed', 'the connection closed before the answer was complete'],
    ['an invalid chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n', false, 'protocol', 'invalid chunk size "xyz"'],
    ['an invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n', false, 'protocol', 'invalid content-length "1e3"'],
    ['a close without an answer', '', true, 'closed', 'the connection closed before an answer arrived'],
    ['a 200 that is not JSON', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n<html', false, 'protocol', 'the answer (status 200) is not valid JSON'],
  ])('fails on %s (%s)', async (_name, answer, close, kind, detail) => {
    const { error } = await run((socket) => (close ? socket.end(answer) : socket.write(answer)));

    expect(error).toMatchObject({ kind, detail });
    expect(error!.message).toMatch(/^(http|unix):.*: /);
  });

  // A reset (RST) exists only on TCP, so the case is defined for the TCP transport alone.
  if (where === 'tcp') {
    it('fails with a closed error on a reset mid-answer', async () => {
      const { error } = await run((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{', () => socket.resetAndDestroy()));

      expect(error).toMatchObject({ kind: 'closed', detail: 'the connection closed before the answer was complete' });
    });
  }

  it('stops reading a huge answer at the cap and closes the connection', async () => {
    let closedByClient: Promise<void> | undefined;
    let written = 0;
    const { error } = await run((socket) => {
      closedByClient = new Promise((resolve) => socket.on('close', () => resolve()));
      socket.write('HTTP/1.1 200 OK\r\n\r\n"');
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!socket.destroyed && written < 64 * 1024 * 1024 && socket.write(chunk)) written += chunk.length;
      };
      socket.on('drain', pump);
      pump();
    });

    expect(error).toMatchObject({ kind: 'protocol', status: 200, detail: `the answer is larger than ${1024 * 1024} bytes` });
    await closedByClient;
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a declared Content-Length over the cap before the body arrives', async () => {
    const { error } = await run((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`));

    expect(error).toMatchObject({ kind: 'protocol', status: 200, detail: `the answer is larger than ${1024 * 1024} bytes` });
  });

  it('refuses a token or path that would break the request line or headers, without sending', async () => {
    const token = await run(() => undefined, { token: 'tok\r\nX-Injected: 1' });
    const path = await run(() => undefined, { path: '/v1/x HTTP/1.1\r\nX: y' });

    expect(token.error).toMatchObject({ kind: 'protocol', detail: 'the request could not be sent (ERR_INVALID_CHAR)' });
    expect(path.error).toMatchObject({ kind: 'protocol', detail: 'the request could not be sent (ERR_UNESCAPED_CHARACTERS)' });
    expect([...token.requests, ...path.requests]).toEqual([]);
  });
});

describe('the node:net transport against node:http servers', () => {
  it('reads chunked answers, 103 Early Hints and keep-alive answers from node:http', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/hints') res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"parts":[');
      setTimeout(() => res.end('1,2]}'), 20);
    });
    server.keepAliveTimeout = 60_000;
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
    const path = join(dir, 'node-http.sock');
    await listen(server, path);
    try {
      expect(await requestJson({ url: `unix:${path}`, method: 'GET', path: '/', timeoutMs: 2000 })).toEqual({ status: 200, body: { parts: [1, 2] } });
      expect(await requestJson({ url: `unix:${path}`, method: 'GET', path: '/hints', timeoutMs: 2000 })).toEqual({ status: 200, body: { parts: [1, 2] } });
    } finally {
      await close(server, sockets);
    }
  });
});
