import { ErrorBodySchema, HealthSchema, ROLES } from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTestApp, TEST_VERSION, withToken } from '../support/test-app.js';

describe('GET /healthz', () => {
  it('answers ok and the version when no token is sent', async () => {
    const { app } = await buildTestApp();

    const res = await request(app).get('/healthz');

    expect(res.status).toBe(200);
    expect(HealthSchema.parse(res.body)).toEqual({ status: 'ok', version: TEST_VERSION });
  });

  // Health takes no auth: every role, and a revoked token, get the same answer.
  const EXPECTED_STATUS: Record<(typeof ROLES)[number] | 'revoked', number> = {
    admin: 200,
    manager: 200,
    auditor: 200,
    runner: 200,
    revoked: 200,
  };

  it.each(Object.entries(EXPECTED_STATUS))('answers %s with %i when that token is sent', async (name, status) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens[name as keyof typeof EXPECTED_STATUS]).get('/healthz');

    expect(res.status).toBe(status);
    HealthSchema.parse(res.body);
  });

  it('writes no audit row when probed', async () => {
    const t = await buildTestApp();
    const before = (await t.services.audit.list({ limit: 1000 })).length;

    await request(t.app).get('/healthz');

    expect(await t.services.audit.list({ limit: 1000 })).toHaveLength(before);
  });

  it('echoes a sane client request id and replaces an unsafe one', async () => {
    const { app } = await buildTestApp();

    const sane = await request(app).get('/healthz').set('X-Request-Id', 'build-42.step_7');
    const unsafe = await request(app).get('/healthz').set('X-Request-Id', 'bad id with spaces');

    expect(sane.headers['x-request-id']).toBe('build-42.step_7');
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('GET /readyz', () => {
  it('answers ok and the version when the store answers and the keyring is loaded', async () => {
    const ops = await buildTestApp();

    const res = await request(ops.app).get('/readyz');

    expect(res.status).toBe(200);
    expect(HealthSchema.parse(res.body)).toEqual({ status: 'ok', version: TEST_VERSION });
  });

  it('answers 503 unavailable while /healthz still answers 200 when the store does not answer', async () => {
    const ops = await buildTestApp();
    await ops.services.store.close();

    const ready = await request(ops.app).get('/readyz');
    const live = await request(ops.app).get('/healthz');

    expect(ready.status).toBe(503);
    expect(ErrorBodySchema.parse(ready.body).error.code).toBe('unavailable');
    expect(live.status).toBe(200);
  });
});

describe('both probes', () => {
  it.each(['/healthz', '/readyz'])('%s answers 503 unavailable when the barrier is sealed (the keyring is not loaded)', async (path) => {
    const t = await buildTestApp();
    t.services.barrier.wipe();

    const res = await request(t.app).get(path);

    expect(res.status).toBe(503);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe('unavailable');
  });

  it.each([
    ['post', '/healthz'],
    ['delete', '/readyz'],
  ] as const)('answers 405 method_not_allowed to %s %s: only GET', async (method, path) => {
    const t = await buildTestApp();

    const res = await request(t.app)[method](path);

    expect(res.status).toBe(405);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe('method_not_allowed');
  });
});

describe('API once the barrier is sealed', () => {
  it('answers 503 unavailable when an integration would be created', async () => {
    const t = await buildTestApp();
    t.services.barrier.wipe();

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send({ host: 'ghcr.io', username: 'bot', secret: 'x' });

    expect(res.status).toBe(503);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe('unavailable');
  });
});
