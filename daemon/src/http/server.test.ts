import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]);
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
    running = await listenAll((_req, res) => res.end('unreachable'), [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]);
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
