import { CREDENTIAL_WARNING_HEADER, ErrorBodySchema, IntegrationListSchema, IntegrationSummarySchema, LookupResponseSchema } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { buildTestApp, seedIntegration, type TestApp, withToken } from '../support/test-app.js';

const DAY = 24 * 3600 * 1000;
const HEADER = CREDENTIAL_WARNING_HEADER.toLowerCase();

function inDays(ops: TestApp, days: number): string {
  return new Date(ops.clock.now().getTime() + days * DAY).toISOString();
}

async function lookup(ops: TestApp, host: string) {
  const res = await withToken(ops, ops.tokens.runner).post('/v1/credentials/get').send({ serverURL: host });
  expect(res.status).toBe(200);
  LookupResponseSchema.parse(res.body);
  return res;
}

function expiryWarnings(ops: TestApp): Array<{ msg: string; host: string }> {
  return ops.logs.map((line) => JSON.parse(line) as { level: string; msg: string; host: string }).filter((line) => line.level === 'warn' && /expire/.test(line.msg));
}

describe('integration expiresAt', () => {
  it('is stored, normalised to UTC, and shown in list and show', async () => {
    const ops = await buildTestApp();

    const created = await withToken(ops, ops.tokens.admin)
      .post('/v1/integrations')
      .send({ host: 'exp.example', username: 'u', secret: 's', expiresAt: '2026-04-01T12:00:00+02:00' });
    const list = await withToken(ops, ops.tokens.auditor).get('/v1/integrations');

    expect(created.status).toBe(201);
    expect(IntegrationSummarySchema.parse(created.body).expiresAt).toBe('2026-04-01T10:00:00.000Z');
    expect(IntegrationListSchema.parse(list.body).integrations[0]!.expiresAt).toBe('2026-04-01T10:00:00.000Z');
  });

  it('is changed and cleared by PATCH', async () => {
    const ops = await buildTestApp();
    const integration = await seedIntegration(ops, { host: 'patch-exp.example', expiresAt: inDays(ops, 30) });
    const patch = (body: object) =>
      withToken(ops, ops.tokens.admin).patch(`/v1/integrations/${integration.id}`).send(body);

    const changed = await patch({ expiresAt: '2027-01-01T00:00:00Z' });
    const cleared = await patch({ expiresAt: null });

    expect(IntegrationSummarySchema.parse(changed.body).expiresAt).toBe('2027-01-01T00:00:00.000Z');
    expect(IntegrationSummarySchema.parse(cleared.body).expiresAt).toBeNull();
  });
});

describe('POST /v1/credentials/get with an expiring credential', () => {
  it('adds no warning when the expiry is more than 7 days away or unknown', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'far.example', expiresAt: inDays(ops, 8) });
    await seedIntegration(ops, { host: 'never.example' });

    const far = await lookup(ops, 'far.example');
    const never = await lookup(ops, 'never.example');

    expect(far.headers[HEADER]).toBeUndefined();
    expect(never.headers[HEADER]).toBeUndefined();
    expect(expiryWarnings(ops)).toEqual([]);
  });

  it('adds the warning header when the credential expires within 7 days', async () => {
    const ops = await buildTestApp();
    const expiresAt = inDays(ops, 3);
    await seedIntegration(ops, { host: 'soon.example', expiresAt });

    const res = await lookup(ops, 'soon.example');

    expect(res.headers[HEADER]).toBe(`credential for soon.example expires at ${expiresAt}`);
  });

  it('refuses an expired credential with 410 credential_expired, a message naming the host, and no secret', async () => {
    const ops = await buildTestApp();
    const expiresAt = inDays(ops, -1);
    await seedIntegration(ops, { host: 'past.example', expiresAt, secret: 'never-served-after-expiry' });

    const res = await withToken(ops, ops.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'past.example' });

    expect(res.status).toBe(410);
    const body = ErrorBodySchema.parse(res.body);
    expect(body.error.code).toBe('credential_expired');
    expect(body.error.message).toContain(`past.example expired at ${expiresAt}`);
    expect(JSON.stringify(res.body)).not.toContain('never-served-after-expiry');
    expect(expiryWarnings(ops).map((line) => line.host)).toEqual(['past.example']);
  });

  it('logs the warning once per hour per host', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'w1.example', expiresAt: inDays(ops, 2) });
    await seedIntegration(ops, { host: 'w2.example', expiresAt: inDays(ops, 2) });

    await lookup(ops, 'w1.example');
    await lookup(ops, 'w1.example');
    await lookup(ops, 'w2.example');
    ops.clock.advance(59 * 60 * 1000);
    await lookup(ops, 'w1.example');
    const withinHour = expiryWarnings(ops).map((line) => line.host);
    ops.clock.advance(60 * 1000);
    const again = await lookup(ops, 'w1.example');

    expect(withinHour).toEqual(['w1.example', 'w2.example']);
    expect(expiryWarnings(ops).map((line) => line.host)).toEqual(['w1.example', 'w2.example', 'w1.example']);
    expect(again.headers[HEADER]).toMatch(/^credential for w1\.example expires at /);
  });
});
