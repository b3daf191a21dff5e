// The direct lookup route (daemon/src/http/lookup-route.ts) against the express route it stands in
// front of. `/v1/credentials/get/` (trailing slash) reaches the express route, so each request is
// sent both ways to the same app and the answers (status, headers, body) and the audit rows they
// wrote must be the same, apart from request ids and times.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { lookupRoute } from '../../daemon/src/http/lookup-route.js';
import { preflight } from '../../daemon/src/http/preflight.js';
import { createFailureLimiter } from '../../daemon/src/http/failure-limiter.js';
import { createLogger } from '../../daemon/src/observability/logger.js';
import { buildTestApp, seedIntegration, type TestApp } from '../support/test-app.js';

const DIRECT = '/v1/credentials/get';
const VIA_EXPRESS = '/v1/credentials/get/';
const DAY = 24 * 3600 * 1000;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface RawRequest {
  method?: string;
  path: string;
  headers: Record<string, string>;
  /** Sent as is; without Content-Length when `chunked`. */
  body?: Buffer | string;
  chunked?: boolean;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function send(port: number, { method = 'POST', path, headers, body, chunked = false }: RawRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const all = { ...headers, ...(payload && !chunked ? { 'Content-Length': String(payload.length) } : {}) };
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (payload && chunked) {
      // Two writes without a length: node sends the body chunked.
      req.write(payload.subarray(0, payload.length >> 1));
      req.write(payload.subarray(payload.length >> 1));
    } else if (payload) {
      req.write(payload);
    }
    req.end();
  });
}

/** Writes `raw` on a new connection and returns everything the server sent until it closed. */
function sendRaw(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Written, not ended: node:http drops the answer to a request whose client half-closed before it
    // was ready (an answer that waits for the store); the request's `Connection: close` ends the exchange.
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(raw));
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

/** What must match between the two routes: no date, no request id (in the header or the body). */
function comparable(reply: Reply) {
  const { date: _date, 'x-request-id': requestId, connection: _connection, 'keep-alive': _keepAlive, ...headers } = reply.headers;
  expect(requestId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  let body: unknown = reply.body;
  try {
    body = JSON.parse(reply.body) as unknown;
    const error = (body as { error?: { requestId?: string } }).error;
    if (error) {
      expect(error.requestId).toBe(requestId);
      delete error.requestId;
    }
  } catch {
    // Not JSON: compared as text.
  }
  return { status: reply.status, headers, body };
}

async function auditRowsAfter(ops: TestApp, seq: number) {
  return (await ops.services.audit.list({ after: seq, limit: 100 })).map(({ action, outcome, host, targetId, tokenId, tokenName, role, detail }) => ({ action, outcome, host, targetId, tokenId, tokenName, role, detail }));
}

/**
 * Moves the clock past the failure limiter's window: a source's first failure in a window is audited
 * on its own and its repeats only as a summary, so each compared request starts a new window.
 */
function nextFailureWindow(ops: TestApp): void {
  ops.clock.advance(60_000);
}

async function lastSeq(ops: TestApp): Promise<number> {
  return (await ops.services.audit.list({ limit: 1_000_000 })).at(-1)?.seq ?? 0;
}

async function arrange(options: { maxFailures?: number } = {}) {
  const ops = await buildTestApp(options);
  const now = ops.clock.now().getTime();
  await seedIntegration(ops, { host: 'quay.io', username: 'quay-bot' });
  await seedIntegration(ops, { host: 'ghcr.io', username: 'gh-bot' });
  await seedIntegration(ops, { host: 'soon.example', expiresAt: new Date(now + 2 * DAY).toISOString() });
  await seedIntegration(ops, { host: 'gone.example', expiresAt: new Date(now + DAY).toISOString() });
  await seedIntegration(ops, { host: 'hidden.example', export: false });
  ops.clock.advance(DAY + 1000); // gone.example has expired, soon.example expires within the week
  const admin = { principal: await ops.services.tokens.authenticate(ops.tokens.admin), requestId: 'seed' };
  const scoped = (await ops.services.tokens.create(admin, { name: 'scoped runner', role: 'runner', hosts: ['ghcr.io'] })).token;
  const revoked = await ops.services.tokens.create(admin, { name: 'revoked runner', role: 'runner' });
  await ops.services.tokens.revoke(admin, revoked.id);
  return { ops, tokens: { ...ops.tokens, scoped, revoked: revoked.token } };
}

/** The direct route on its own server: what it does not claim is answered 418 `not claimed`. */
function listenRouteAlone(ops: TestApp): Promise<number> {
  const logger = createLogger(() => undefined);
  const route = lookupRoute({
    tokens: ops.services.tokens,
    audit: ops.services.audit,
    limiter: createFailureLimiter({ maxFailures: 10_000, windowMs: 60_000, now: Date.now }),
    credentials: ops.services.credentials,
    logger,
  });
  return listen((req, res) => {
    if (!route(req, res, preflight(req, res, { logger }))) res.writeHead(418).end('not claimed');
  });
}

type Tokens = Awaited<ReturnType<typeof arrange>>['tokens'];
const JSON_TYPE = { 'Content-Type': 'application/json' };
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Requests the direct route claims, each with what it exercises. */
const CLAIMED: Array<[string, (tokens: Tokens) => Omit<RawRequest, 'path'>]> = [
  ['a hit', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"quay.io"}' })],
  ['a hit written as a URL with padding', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"  https://quay.io/v2/ "}' })],
  ['a repository path', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.manager) }, body: '{"serverURL":"ghcr.io/org/repo"}' })],
  ['a Hub OAuth sub-key', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"https://quay.io/v1/access-token"}' })],
  ['a credential expiring soon', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"soon.example"}' })],
  ['an expired credential', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"gone.example"}' })],
  ['an unknown host', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"nowhere.example"}' })],
  ['an unexported host', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.admin) }, body: '{"serverURL":"hidden.example"}' })],
  ['a host outside the token scope', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.scoped) }, body: '{"serverURL":"quay.io"}' })],
  ['a host inside the token scope', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.scoped) }, body: '{"serverURL":"ghcr.io"}' })],
  ['an auditor (no credential.get)', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.auditor) }, body: '{"serverURL":"quay.io"}' })],
  ['no Authorization header', () => ({ headers: JSON_TYPE, body: '{"serverURL":"quay.io"}' })],
  ['a malformed token', () => ({ headers: { ...JSON_TYPE, Authorization: 'Bearer not-a-token' }, body: '{"serverURL":"quay.io"}' })],
  ['an unknown token', () => ({ headers: { ...JSON_TYPE, ...auth(`scd_tok_0123456789abcdef_${'A'.repeat(43)}`) }, body: '{"serverURL":"quay.io"}' })],
  ['a revoked token', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.revoked) }, body: '{"serverURL":"quay.io"}' })],
  ['Basic instead of Bearer', () => ({ headers: { ...JSON_TYPE, Authorization: 'Basic dXNlcjpwYXNz' }, body: '{"serverURL":"quay.io"}' })],
  ['invalid JSON', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL": "quay.io",' })],
  ['a JSON string', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '"quay.io"' })],
  ['a JSON number after whitespace', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: ' \n 42' })],
  ['a JSON array', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '["quay.io"]' })],
  ['whitespace, then an object', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '\r\n\t {"serverURL":"quay.io"}' })],
  ['a byte order mark, then an object', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '\ufeff{"serverURL":"quay.io"}' })],
  ['an empty body', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '' })],
  ['whitespace only', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '   ' })],
  ['an unknown field', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"quay.io","extra":1}' })],
  ['serverURL of the wrong type', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":["quay.io"]}' })],
  ['an invalid host', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"https://"}' })],
  ['invalid UTF-8', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) })],
  ['a body over 64 KiB', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: JSON.stringify({ serverURL: 'quay.io', pad: 'x'.repeat(70_000) }) })],
  ['a chunked body over 64 KiB', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: JSON.stringify({ serverURL: 'quay.io', pad: 'x'.repeat(70_000) }), chunked: true })],
  ['a chunked hit', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner) }, body: '{"serverURL":"quay.io"}', chunked: true })],
  ['charset=utf-8', (t) => ({ headers: { 'Content-Type': 'application/json; charset=utf-8', ...auth(t.runner) }, body: '{"serverURL":"quay.io"}' })],
  ['an upper-case media type', (t) => ({ headers: { 'Content-Type': 'Application/JSON', ...auth(t.runner) }, body: '{"serverURL":"quay.io"}' })],
  ['a client request id', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner), 'X-Request-Id': 'client-id.1' }, body: '{"serverURL":"quay.io"}' })],
  ['an unusable client request id', (t) => ({ headers: { ...JSON_TYPE, ...auth(t.runner), 'X-Request-Id': 'has spaces' }, body: '{"serverURL":"quay.io"}' })],
];

/** Requests the direct route leaves to express. */
const UNCLAIMED: Array<[string, RawRequest]> = [
  ['a trailing slash', { path: VIA_EXPRESS, headers: JSON_TYPE, body: '{}' }],
  ['a query string', { path: `${DIRECT}?x=1`, headers: JSON_TYPE, body: '{}' }],
  ['another letter case', { path: '/V1/credentials/GET', headers: JSON_TYPE, body: '{}' }],
  ['GET', { method: 'GET', path: DIRECT, headers: JSON_TYPE }],
  ['PUT', { method: 'PUT', path: DIRECT, headers: JSON_TYPE, body: '{}' }],
  ['a gzip body', { path: DIRECT, headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' }, body: gzipSync('{}') }],
  ['text/plain', { path: DIRECT, headers: { 'Content-Type': 'text/plain' }, body: '{}' }],
  ['another charset', { path: DIRECT, headers: { 'Content-Type': 'application/json; charset=utf-16' }, body: '{}' }],
  ['a +json media type', { path: DIRECT, headers: { 'Content-Type': 'application/vnd.api+json' }, body: '{}' }],
];

/**
 * Sends one request to the direct route, then (in a fresh failure window) to the express route, and
 * expects the same answer and the same audit rows from both.
 */
async function expectSameOnBothRoutes(ops: TestApp, port: number, request: Omit<RawRequest, 'path'>): Promise<void> {
  const before = await lastSeq(ops);
  const direct = await send(port, { ...request, path: DIRECT });
  const between = await lastSeq(ops);
  nextFailureWindow(ops);
  const viaExpress = await send(port, { ...request, path: VIA_EXPRESS });

  expect(comparable(direct)).toEqual(comparable(viaExpress));
  expect((await auditRowsAfter(ops, before)).slice(0, between - before)).toEqual(await auditRowsAfter(ops, between));
}

describe('the direct lookup route', () => {
  it.each(CLAIMED)('answers %s as the express route does, with the same audit rows', async (_label, build) => {
    const { ops, tokens } = await arrange();
    const port = await listen(ops.app);
    const request = build(tokens);

    await expectSameOnBothRoutes(ops, port, request);
  });

  it('answers random bodies and tokens as the express route does (property)', async () => {
    const { ops, tokens } = await arrange();
    const port = await listen(ops.app);
    const hosts = ['quay.io', 'ghcr.io/org/repo', 'https://soon.example', 'gone.example', 'hidden.example', 'nowhere.example', 'https://', '', ' quay.io '];
    const jsonBody = fc.oneof(
      fc.constantFrom(...hosts).map((serverURL) => JSON.stringify({ serverURL })),
      fc.record({ serverURL: fc.oneof(fc.constantFrom(...hosts), fc.string(), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }).map((body) => JSON.stringify(body)),
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    const body = fc.oneof(jsonBody.map((text) => Buffer.from(text)), fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)));
    const authorization = fc.oneof(
      fc.constantFrom(tokens.runner, tokens.scoped, tokens.auditor, tokens.revoked, tokens.admin).map((token) => `Bearer ${token}`),
      fc.constantFrom('', 'Bearer', 'Bearer  x', 'Basic x', `bearer ${tokens.runner}`, `Bearer ${tokens.runner} `),
    );
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON');

    await fc.assert(
      fc.asyncProperty(body, authorization, contentType, fc.boolean(), async (payload, auth, type, chunked) => {
        const request = { headers: { 'Content-Type': type, ...(auth ? { Authorization: auth } : {}) }, body: payload, chunked };
        nextFailureWindow(ops);
        await expectSameOnBothRoutes(ops, port, request);
      }),
      { numRuns: 300 },
    );
  });

  it.each(CLAIMED)('claims %s', async (_label, build) => {
    const { ops, tokens } = await arrange();
    const port = await listenRouteAlone(ops);

    const reply = await send(port, { ...build(tokens), path: DIRECT });

    expect(reply.status).not.toBe(418);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it.each(UNCLAIMED)('leaves %s to the express app', async (_label, request) => {
    const { ops } = await arrange();
    const port = await listenRouteAlone(ops);

    const reply = await send(port, request);

    expect(reply.status).toBe(418);
    expect((await auditRowsAfter(ops, 0)).filter((row) => row.action === 'credential.get' || row.action === 'auth.failed')).toEqual([]);
  });

  it('leaves a POST without Content-Length or Transfer-Encoding (no body) to the express app', async () => {
    const { ops, tokens } = await arrange();
    const port = await listen(ops.app);

    const head = (path: string) =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${tokens.runner}\r\nConnection: close\r\n\r\n`;
    const [direct, viaExpress] = [await sendRaw(port, head(DIRECT)), await sendRaw(port, head(VIA_EXPRESS))];

    // express answers a body-less POST 415 (there is no JSON to read); the direct route never saw it.
    expect(direct).toMatch(/^HTTP\/1\.1 415 /);
    expect(direct.replace(/\r\n(Date|X-Request-Id): [^\r]*/g, '').replace(/"requestId":"[^"]*"/, '')).toBe(
      viaExpress.replace(/\r\n(Date|X-Request-Id): [^\r]*/g, '').replace(/"requestId":"[^"]*"/, ''),
    );
  });

  it('answers 429 with Retry-After to a TCP source that failed too often, and a valid token 200, as the express route does', async () => {
    const { ops, tokens } = await arrange({ maxFailures: 3 });
    const port = await listen(ops.app);
    const wrong = { headers: { ...JSON_TYPE, Authorization: 'Bearer wrong' }, body: '{"serverURL":"quay.io"}' };
    const valid = { headers: { ...JSON_TYPE, ...auth(tokens.runner) }, body: '{"serverURL":"quay.io"}' };

    for (let i = 0; i < 3; i++) expect((await send(port, { ...wrong, path: DIRECT })).status).toBe(401);
    const direct = await send(port, { ...wrong, path: DIRECT });
    const viaExpress = await send(port, { ...wrong, path: VIA_EXPRESS });
    const validDirect = await send(port, { ...valid, path: DIRECT });
    const validViaExpress = await send(port, { ...valid, path: VIA_EXPRESS });

    expect(direct.status).toBe(429);
    expect(Number(direct.headers['retry-after'])).toBeGreaterThan(0);
    expect(comparable(direct)).toEqual(comparable(viaExpress));
    expect(validDirect.status).toBe(200);
    expect(comparable(validDirect)).toEqual(comparable(validViaExpress));
  });

  it('logs each lookup and counts it in the metrics under the route', async () => {
    const { ops, tokens } = await arrange();
    const port = await listen(ops.app);

    const reply = await send(port, { path: DIRECT, headers: { ...JSON_TYPE, ...auth(tokens.runner), 'X-Request-Id': 'logged-1' }, body: '{"serverURL":"quay.io"}' });
    const metrics = await send(port, { method: 'GET', path: '/metrics', headers: {} });

    expect(reply.status).toBe(200);
    const line = ops.logs.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry['requestId'] === 'logged-1' && entry['msg'] === 'request');
    expect(line).toMatchObject({ method: 'POST', route: DIRECT, status: 200, tokenId: ops.tokenIds.runner });
    expect(metrics.body).toMatch(/route="\/v1\/credentials\/get",status="200"\} 1\b/);
  });
});
