import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorBodySchema, MAX_BODY_BYTES } from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { createSourceOf } from '../../daemon/src/http/client-address.js';
import { buildIntegrationBody, buildStoreBody, buildTokenBody } from '../support/factories.js';
import { runSql, tableNames } from '../support/raw-sql.js';
import { auditRows, bearer, buildTestApp, errorOf, seedIntegration, type TestApp, withToken } from '../support/test-app.js';

type Method = 'get' | 'post' | 'patch' | 'delete';

/** Every /v1 route with a valid request for an admin (ids filled in per app). */
async function validRequests(t: TestApp): Promise<Array<{ name: string; method: Method; path: string; body?: object }>> {
  const integration = await seedIntegration(t, { host: 'quay.io' });
  const victim = t.tokenIds.runner;
  return [
    { name: 'POST /v1/integrations', method: 'post', path: '/v1/integrations', body: buildIntegrationBody({ host: 'ghcr.io' }) },
    { name: 'GET /v1/integrations', method: 'get', path: '/v1/integrations' },
    { name: 'GET /v1/integrations/:id', method: 'get', path: `/v1/integrations/${integration.id}` },
    { name: 'PATCH /v1/integrations/:id', method: 'patch', path: `/v1/integrations/${integration.id}`, body: { export: false } },
    { name: 'DELETE /v1/integrations/:id', method: 'delete', path: `/v1/integrations/${integration.id}` },
    { name: 'POST /v1/integrations/:id/test', method: 'post', path: `/v1/integrations/${integration.id}/test` },
    { name: 'POST /v1/tokens', method: 'post', path: '/v1/tokens', body: buildTokenBody() },
    { name: 'GET /v1/tokens', method: 'get', path: '/v1/tokens' },
    { name: 'DELETE /v1/tokens/:id', method: 'delete', path: `/v1/tokens/${victim}` },
    { name: 'POST /v1/credentials/get', method: 'post', path: '/v1/credentials/get', body: { serverURL: 'quay.io' } },
    { name: 'GET /v1/credentials', method: 'get', path: '/v1/credentials' },
    { name: 'POST /v1/credentials/store', method: 'post', path: '/v1/credentials/store', body: buildStoreBody() },
    { name: 'POST /v1/credentials/erase', method: 'post', path: '/v1/credentials/erase', body: { serverURL: 'quay.io' } },
    { name: 'GET /v1/audit', method: 'get', path: '/v1/audit' },
  ];
}

const ROUTE_NAMES = (await validRequests(await buildTestApp())).map((r) => r.name);
const BODY_ROUTE_NAMES = (await validRequests(await buildTestApp()))
  .filter((r) => r.body)
  .map((r) => r.name);

async function send(t: TestApp, name: string, token: string | undefined, tweak: (r: { method: Method; path: string; body?: object }) => void = () => {}) {
  const r = (await validRequests(t)).find((candidate) => candidate.name === name)!;
  tweak(r);
  let req = request(t.app)[r.method](r.path);
  if (token !== undefined) req = req.set('Authorization', bearer(token));
  return r.body ? req.send(r.body) : req;
}

describe('authentication on every /v1 route', () => {
  const FAILURES: Array<[label: string, header: (t: TestApp) => string | undefined, reason: string]> = [
    ['no Authorization header', () => undefined, 'missing'],
    ['a Basic scheme', (t) => `Basic ${Buffer.from(`x:${t.tokens.admin}`).toString('base64')}`, 'malformed'],
    ['a bearer value that is not a token', () => 'Bearer not-a-token', 'malformed'],
    ['a token with a cut secret', (t) => bearer(t.tokens.admin.slice(0, -1)), 'malformed'],
    ['an unknown token id', (t) => bearer(t.tokens.admin.replace(/tok_[0-9a-f]{16}/, 'tok_ffffffffffffffff')), 'unknown'],
    ['a known id with the wrong secret', (t) => bearer(`${t.tokens.admin.slice(0, -1)}${t.tokens.admin.endsWith('A') ? 'B' : 'A'}`), 'mismatch'],
    ['a revoked token', (t) => bearer(t.tokens.revoked), 'revoked'],
    ['an expired token', (t) => bearer(t.tokens.expired), 'expired'],
  ];

  it.each(FAILURES)('answers 401 unauthenticated and audits the reason when the request has %s', async (_label, header, reason) => {
    const t = await buildTestApp();
    const value = header(t);

    let req = request(t.app).get('/v1/credentials').set('X-Request-Id', 'auth-1');
    if (value !== undefined) req = req.set('Authorization', value);
    const res = await req;

    expect(res.status).toBe(401);
    expect(errorOf(res)).toMatchObject({ code: 'unauthenticated', requestId: 'auth-1' });
    expect((await auditRows(t)).find((r) => r.requestId === 'auth-1')).toMatchObject({
      action: 'auth.failed',
      outcome: 'denied',
      detail: { reason },
    });
  });

  it.each(ROUTE_NAMES)('answers 401 to %s when no token is sent', async (name) => {
    const t = await buildTestApp();

    const res = await send(t, name, undefined);

    expect(res.status).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });

  it('records the claimed token id when a revoked token is presented', async () => {
    const t = await buildTestApp();

    await withToken(t, t.tokens.revoked).get('/v1/credentials').set('X-Request-Id', 'auth-2');

    expect((await auditRows(t)).find((r) => r.requestId === 'auth-2')?.tokenId).toBe(t.tokenIds.revoked);
  });

  it('answers 401 rather than 404 when an unknown /v1 route is called without a token', async () => {
    const t = await buildTestApp();

    const res = await request(t.app).get('/v1/secrets');

    expect(res.status).toBe(401);
  });

  it('answers further failures 429 with Retry-After once a source failed too often, lets a valid token through meanwhile, and 401 after the window', async () => {
    const t = await buildTestApp({ maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) await request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong');

    const blocked = await request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong');
    const valid = await withToken(t, t.tokens.runner).get('/v1/credentials');
    t.clock.advance(60_000);
    const later = await request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong');

    expect(blocked.status).toBe(429);
    expect(errorOf(blocked).code).toBe('rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(valid.status).toBe(200);
    expect(later.status).toBe(401);
  });

  it('limits and audits the forwarded client behind a trusted proxy, and ignores X-Forwarded-For otherwise', async () => {
    const behindProxy = await buildTestApp({ maxFailures: 3, sourceOf: createSourceOf(['127.0.0.0/8']) });
    const direct = await buildTestApp({ maxFailures: 3 });
    const fail = (t: TestApp, client: string) => request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong').set('X-Forwarded-For', client);

    for (let i = 0; i < 3; i++) await fail(behindProxy, '203.0.113.1');
    for (let i = 0; i < 3; i++) await fail(direct, `203.0.113.${i + 1}`);
    const sameClient = await fail(behindProxy, '203.0.113.1');
    const otherClient = await fail(behindProxy, '203.0.113.2');
    const spoofed = await fail(direct, '203.0.113.9');

    expect([sameClient.status, otherClient.status, spoofed.status]).toEqual([429, 401, 429]);
    const sources = async (t: TestApp) => (await auditRows(t)).filter((row) => row.action === 'auth.failed').map((row) => row.detail?.['source']);
    expect(await sources(behindProxy)).toEqual(['203.0.113.1', '203.0.113.2']);
    expect(await sources(direct)).toEqual([expect.stringMatching(/127\.0\.0\.1$/)]);
  });

  it("audits a source's first failure at once and its repeats as one row with the count when the window ends", async () => {
    const t = await buildTestApp({ maxFailures: 3, windowMs: 60_000 });
    const before = (await auditRows(t)).length;

    for (let i = 0; i < 10; i++) await request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong');
    const during = (await auditRows(t)).slice(before);
    t.clock.advance(60_000);
    await request(t.app).get('/v1/credentials').set('Authorization', 'Bearer wrong');
    const after = (await auditRows(t)).slice(before);

    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ action: 'auth.failed', detail: { reason: 'malformed' } });
    expect(after).toHaveLength(3);
    expect(after[1]).toMatchObject({ action: 'auth.failed', outcome: 'denied', detail: { reason: 'repeated', count: 9, sources: 1 } });
    expect(after[2]).toMatchObject({ action: 'auth.failed', detail: { reason: 'malformed' } });
  });
});

describe('request bodies on every body route', () => {
  const JSON_TYPE = 'application/json';
  const BAD_BODIES: Array<{ what: string; status: number; code: string; send: (req: request.Test) => request.Test }> = [
    { what: 'malformed JSON', status: 400, code: 'invalid_json', send: (req) => req.set('Content-Type', JSON_TYPE).send('{"serverURL": "quay.io",') },
    { what: 'a bare JSON string', status: 400, code: 'invalid_json', send: (req) => req.set('Content-Type', JSON_TYPE).send('"quay.io"') },
    {
      what: 'more than 64 KiB',
      status: 413,
      code: 'payload_too_large',
      send: (req) => req.set('Content-Type', JSON_TYPE).send(JSON.stringify({ padding: 'x'.repeat(MAX_BODY_BYTES) })),
    },
    { what: 'a form body', status: 415, code: 'unsupported_media_type', send: (req) => req.type('form').send('serverURL=quay.io') },
  ];
  const BAD_BODY_CASES = BODY_ROUTE_NAMES.flatMap((name) => BAD_BODIES.map((body) => ({ name, ...body })));

  it.each(BAD_BODY_CASES)('answers $status $code when $name gets $what', async ({ name, status, code, send: sendBody }) => {
    const t = await buildTestApp();
    const r = (await validRequests(t)).find((candidate) => candidate.name === name)!;

    const res = await sendBody(request(t.app)[r.method](r.path).set('Authorization', bearer(t.tokens.admin)));

    expect(res.status).toBe(status);
    expect(errorOf(res).code).toBe(code);
  });

  it.each([
    ['JSON text sent as text/plain', 'text/plain', 415],
    ['JSON in a charset other than UTF-8', 'application/json; charset=koi8-r', 415],
    ['JSON whose content type names the UTF-8 charset', 'application/json; charset=utf-8', 200],
  ])('answers %s with %s: %s', async (_what, contentType, status) => {
    const t = await buildTestApp();
    await seedIntegration(t, { host: 'quay.io' });

    const res = await withToken(t, t.tokens.runner)
      .post('/v1/credentials/get')
      .set('Content-Type', contentType)
      .send(JSON.stringify({ serverURL: 'quay.io' }));

    expect(res.status).toBe(status);
    if (status === 415) expect(errorOf(res).code).toBe('unsupported_media_type');
  });
});

describe('query strings on every /v1 route', () => {
  it.each(ROUTE_NAMES)('answers 400 validation_failed when %s gets an unknown query parameter', async (name) => {
    const t = await buildTestApp();

    const res = await send(t, name, t.tokens.admin, (r) => void (r.path += '?verbose=1'));

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });

  it.each([
    ['/v1/credentials?all=1', 'runner'],
    ['/v1/integrations?host=ghcr.io', 'admin'],
    ['/v1/tokens?role=admin', 'admin'],
  ] as const)('answers 400 validation_failed to GET %s, a plausible filter the listing does not take', async (path, role) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens[role]).get(path);

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });
});

describe('ids and methods the routes do not know', () => {
  const UNKNOWN_INTEGRATION = 'int_0123456789abcdef';
  const UNKNOWN_TOKEN = 'tok_0123456789abcdef';

  it.each([
    ['get', `/v1/integrations/${UNKNOWN_INTEGRATION}`, undefined],
    ['patch', `/v1/integrations/${UNKNOWN_INTEGRATION}`, { export: false }],
    ['post', `/v1/integrations/${UNKNOWN_INTEGRATION}/test`, undefined],
    ['delete', `/v1/tokens/${UNKNOWN_TOKEN}`, undefined],
  ] as const)('answers 404 not_found when %s %s names an unknown id', async (method, path, body) => {
    const t = await buildTestApp();

    const req = request(t.app)[method](path).set('Authorization', bearer(t.tokens.admin));
    const res = await (body ? req.send(body) : req);

    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });

  it.each([
    ['put', '/v1/integrations'],
    ['delete', '/v1/integrations'],
    ['post', `/v1/integrations/${UNKNOWN_INTEGRATION}`],
    ['put', `/v1/integrations/${UNKNOWN_INTEGRATION}`],
    ['get', `/v1/integrations/${UNKNOWN_INTEGRATION}/test`],
    ['put', '/v1/tokens'],
    ['patch', '/v1/tokens'],
    ['get', `/v1/tokens/${UNKNOWN_TOKEN}`],
    ['patch', `/v1/tokens/${UNKNOWN_TOKEN}`],
    ['get', '/v1/credentials/get'],
    ['post', '/v1/credentials'],
    ['delete', '/v1/credentials'],
    ['get', '/v1/credentials/store'],
    ['put', '/v1/credentials/erase'],
  ] as const)('answers 405 method_not_allowed when %s %s is called', async (method, path) => {
    const t = await buildTestApp();

    const res = await request(t.app)[method](path).set('Authorization', bearer(t.tokens.admin));

    expect(res.status).toBe(405);
    expect(errorOf(res).code).toBe('method_not_allowed');
  });
});

describe('unknown routes', () => {
  it.each([
    ['an unknown /v1 route is called with a valid token', (t: TestApp) => withToken(t, t.tokens.admin).get('/v1/secrets')],
    ['a path outside /v1 is called', (t: TestApp) => request(t.app).get('/admin')],
  ])('answers 404 route_not_found when %s', async (_what, call) => {
    const t = await buildTestApp();

    const res = await call(t);

    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('route_not_found');
  });

  it('answers a lookup under a wrong base path route_not_found, unlike an unknown host', async () => {
    const t = await buildTestApp();

    const typo = await withToken(t, t.tokens.runner).post('/typo/v1/credentials/get').send({ serverURL: 'nowhere.example' });
    const unknownHost = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'nowhere.example' });

    expect(errorOf(typo).code).toBe('route_not_found');
    expect(errorOf(unknownHost).code).toBe('not_found');
  });
});

describe('unexpected failures', () => {
  it('answers 500 internal with a generic message and logs the error with the request id when the database is gone', async () => {
    const t = await buildTestApp();
    await t.services.store.close();

    const res = await withToken(t, t.tokens.runner).get('/v1/credentials').set('X-Request-Id', 'boom-1');

    expect(res.status).toBe(500);
    const error = errorOf(res);
    expect(error).toMatchObject({ code: 'internal', requestId: 'boom-1' });
    expect(error.message).not.toMatch(/database|sqlite|connection/i);
    const logged = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['level'] === 'error');
    expect(logged).toEqual([expect.objectContaining({ requestId: 'boom-1', msg: 'request failed' })]);
    expect(t.logs.join('\n')).not.toContain(t.tokens.runner);
  });
});

describe('request observation', () => {
  it('logs one line per request with the route pattern, status and token id, never the URL or the id in it', async () => {
    const t = await buildTestApp();
    const integration = await seedIntegration(t, { host: 'quay.io' });

    await withToken(t, t.tokens.auditor).get(`/v1/integrations/${integration.id}`).set('X-Request-Id', 'obs-1');

    const lines = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['requestId'] === 'obs-1');
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request', method: 'GET', route: '/v1/integrations/:id', status: 200, tokenId: t.tokenIds.auditor }),
    ]);
    expect(t.logs.join('')).not.toContain(integration.id);
  });

  it('reports the route pattern and status to the request metrics when a request finishes', async () => {
    const seen: Array<{ method: string; route: string; status: number }> = [];
    const t = await buildTestApp();
    vi.spyOn(t.metrics, 'observeRequest').mockImplementation(({ method, route, status }) => void seen.push({ method, route, status }));

    await withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.runner}`);

    expect(seen).toEqual([{ method: 'DELETE', route: '/v1/tokens/:id', status: 204 }]);
  });
});

describe('response headers', () => {
  it('sends no-store, a request id matching the error body, and no ETag or X-Powered-By on /v1 answers', async () => {
    const t = await buildTestApp();
    await seedIntegration(t, { host: 'quay.io' });

    const hit = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'quay.io' });
    const miss = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'ghcr.io' });

    for (const res of [hit, miss]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['etag']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    expect(errorOf(miss).requestId).toBe(miss.headers['x-request-id']);
  });

  it('sends no-store and a request id on every answer, inside /v1 or not, on both lookup paths', async () => {
    const t = await buildTestApp();

    const answers = [
      await request(t.app).get('/healthz'),
      await request(t.app).get('/v1/openapi.json'),
      await request(t.app).get('/no/such/route'),
      await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'ghcr.io' }),
      await withToken(t, t.tokens.runner).post('/v1/credentials/get/').send({ serverURL: 'ghcr.io' }),
    ];

    for (const res of answers) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

/** Every table except the audit trail, as plain data. */
async function snapshotState(t: TestApp) {
  const store = t.services.store;
  // The audit head moves with every audit row, which rejected requests do write (a meta row on
  // SQLite, a table of its own on PostgreSQL).
  const tables = (await tableNames(store)).filter((name) => name !== 'audit_events' && name !== 'audit_head');
  const snapshot: Record<string, string[]> = {};
  for (const name of tables) {
    const rows = await runSql(store, `SELECT * FROM "${name}" ORDER BY 1`);
    const kept = name === 'meta' ? rows.filter((row) => row['key'] !== 'audit_head') : rows;
    snapshot[name] = kept.map((row) => JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
  }
  return snapshot;
}

describe('rejected requests', () => {
  const REJECTED: Array<[label: string, status: number, act: (t: TestApp, ids: { integration: string }) => request.Test]> = [
    ['an auditor creating an integration', 403, (t) => withToken(t, t.tokens.auditor).post('/v1/integrations').send(buildIntegrationBody({ host: 'ghcr.io' }))],
    ['a duplicate host', 409, (t) => withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host: 'https://QUAY.io:443/' }))],
    ['an unknown field', 400, (t) => withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host: 'ghcr.io', token: 'x' }))],
    ['a runner updating', 403, (t, ids) => withToken(t, t.tokens.runner).patch(`/v1/integrations/${ids.integration}`).send({ export: false })],
    ['an update with a bad field', 400, (t, ids) => withToken(t, t.tokens.admin).patch(`/v1/integrations/${ids.integration}`).send({ export: 'no' })],
    ['an auditor deleting', 403, (t, ids) => withToken(t, t.tokens.auditor).delete(`/v1/integrations/${ids.integration}`)],
    ['a revoked token deleting', 401, (t, ids) => withToken(t, t.tokens.revoked).delete(`/v1/integrations/${ids.integration}`)],
    ['a manager minting an admin', 403, (t) => withToken(t, t.tokens.manager).post('/v1/tokens').send(buildTokenBody({ role: 'admin' }))],
    ['revoking the last admin', 409, (t) => withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.admin}`)],
    ['a runner storing', 403, (t) => withToken(t, t.tokens.runner).post('/v1/credentials/store').send(buildStoreBody({ ServerURL: 'quay.io' }))],
    ['a runner erasing', 403, (t) => withToken(t, t.tokens.runner).post('/v1/credentials/erase').send({ serverURL: 'quay.io' })],
    ['a store with a repository path', 400, (t) => withToken(t, t.tokens.admin).post('/v1/credentials/store').send(buildStoreBody({ ServerURL: 'quay.io/org/repo' }))],
    ['malformed JSON', 400, (t) => withToken(t, t.tokens.admin).post('/v1/credentials/store').set('Content-Type', 'application/json').send('{')],
    ['an oversized body', 413, (t) => withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host: 'ghcr.io', description: 'x'.repeat(MAX_BODY_BYTES) }))],
  ];

  it.each(REJECTED)('changes no stored state when the request is %s', async (_label, status, act) => {
    const t = await buildTestApp();
    const integration = await seedIntegration(t, { host: 'quay.io' });
    const before = await snapshotState(t);

    const res = await act(t, { integration: integration.id });

    expect(res.status).toBe(status);
    ErrorBodySchema.parse(res.body);
    expect(await snapshotState(t)).toEqual(before);
  });
});

describe('the node:http listener', () => {
  it('answers a request target the router cannot parse with the JSON error shape and a request id', async () => {
    const t = await buildTestApp();
    const server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const reply = await new Promise<{ status: number; type: string; body: string; id: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '//..?a=#@x#y', method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, id: String(res.headers['x-request-id']) }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => server.close(resolve));

    expect(reply.status).toBe(404);
    expect(reply.type).toMatch(/^application\/json/);
    const parsed = ErrorBodySchema.parse(JSON.parse(reply.body));
    expect(parsed.error).toMatchObject({ code: 'route_not_found', requestId: reply.id });
  });
});
