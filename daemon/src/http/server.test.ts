import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request, type RequestListener } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { listenAll, type RunningServers } from './server.js';

let running: RunningServers | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await running?.close(100);
  running = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Sends a GET whose raw path node's parser refuses, with a body still on its way, as a fuzzer did. */
function refusedRequest(port: number): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const body = Buffer.alloc(200_000, 97);
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/integrations/\u00e9/test', method: 'GET', headers: { 'content-length': body.length } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

describe('listenAll', () => {
  it('answers a request the HTTP parser refuses with a JSON 400 instead of resetting the connection', async () => {
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }]);
    const address = running.addresses[0]!;
    const port = address.kind === 'tcp' ? address.port : 0;

    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await refusedRequest(port));

    for (const reply of replies) {
      expect(reply.error).toBeUndefined();
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body!)).toMatchObject({ error: { code: 'validation_failed', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    }
  });

  it('answers a refused HEAD request without a body, so the client parser sees a complete answer', async () => {
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }]);
    const address = running.addresses[0]!;
    const port = address.kind === 'tcp' ? address.port : 0;

    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from('HEAD /v1/\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

    expect(raw.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(raw).toMatch(/\r\nContent-Length: 0\r\n/);
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
  });

  it('creates a Unix socket with mode 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-test-'));
    dirs.push(dir);
    const path = join(dir, 'credd.sock');

    running = await listenAll((_req, res) => res.end('ok'), [{ kind: 'unix', path }]);

    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
  });
});

/** Opens a connection, runs `talk` on it, and resolves with what the server sent and when it closed (ms after connect). */
function watchConnection(port: number, talk: (socket: Socket) => void): Promise<{ received: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1', () => talk(socket));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received, closedAfterMs: performance.now() - started }));
  });
}

/** Writes one byte every 100 ms until the socket closes. */
function trickle(socket: Socket): void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(timer);
    else socket.write('a');
  }, 100);
  socket.on('close', () => clearInterval(timer));
}

describe('listenAll time limits', () => {
  // Node checks these limits only every 30 s by default: every case below took 20-60 s before.
  const limits = { headersMs: 500, requestMs: 1_000, keepAliveMs: 500, lingerMs: 300 };
  const portOf = (servers: RunningServers) => {
    const address = servers.addresses[0]!;
    return address.kind === 'tcp' ? address.port : 0;
  };
  const readAll: RequestListener = (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => res.end('read'));
  };

  it('closes a connection that never sends a request once the headers limit passed', async () => {
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }], { limits });

    const { closedAfterMs } = await watchConnection(portOf(running), () => undefined);

    expect(closedAfterMs).toBeGreaterThanOrEqual(450);
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it('answers 408 to headers sent too slowly and closes at the headers limit', async () => {
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }], { limits });

    const { received, closedAfterMs } = await watchConnection(portOf(running), (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      trickle(socket);
    });

    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'request_timeout' } });
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it('closes a body sent too slowly at the request limit', async () => {
    running = await listenAll(readAll, [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }], { limits });

    const { received, closedAfterMs } = await watchConnection(portOf(running), (socket) => {
      socket.write('POST /v1/credentials/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      trickle(socket);
    });

    expect(received).not.toContain('read');
    expect(closedAfterMs).toBeGreaterThanOrEqual(950);
    expect(closedAfterMs).toBeLessThan(4_000);
  });

  it('does not read the rest of a refused request: the answer arrives, then the connection closes after the linger time', async () => {
    running = await listenAll(
      (_req, res) => res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":{"code":"unauthenticated","message":"no"}}'),
      [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }],
      { limits: { ...limits, requestMs: 60_000, headersMs: 60_000 } },
    );

    const { received, closedAfterMs } = await watchConnection(portOf(running), (socket) => {
      socket.write('POST /v1/credentials/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      trickle(socket);
    });

    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it('keeps a connection whose refused request had its whole body for the next request', async () => {
    running = await listenAll((_req, res) => res.writeHead(401).end('no'), [{ kind: 'tcp', host: '127.0.0.1', port: 0, tls: false }], { limits });
    const request = 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';

    const { received } = await watchConnection(portOf(running), (socket) => {
      socket.write(request);
      setTimeout(() => socket.write(request), 400);
    });

    expect(received.match(/HTTP\/1\.1 401 /g)).toHaveLength(2);
  });
});
