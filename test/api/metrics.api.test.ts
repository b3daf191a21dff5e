import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, buildTestApp, seedIntegration, TEST_VERSION, type TestApp, withToken } from '../support/test-app.js';

/** Parses Prometheus text into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    values.set(match[1]!, Number(match[2]));
  }
  return values;
}

async function scrape(ops: TestApp): Promise<Map<string, number>> {
  const res = await request(ops.app).get('/metrics');
  expect(res.status).toBe(200);
  return parseMetrics(res.text);
}

async function lookup(ops: TestApp, host: string) {
  return withToken(ops, ops.tokens.runner).post('/v1/credentials/get').send({ serverURL: host });
}

const LOOKUP_OK = 'scalr_credd_http_requests_total{method="POST",route="/v1/credentials/get",status="200"}';
const LOOKUP_404 = 'scalr_credd_http_requests_total{method="POST",route="/v1/credentials/get",status="404"}';

describe('GET /metrics', () => {
  it('answers Prometheus text without a token', async () => {
    const ops = await buildTestApp();

    const res = await request(ops.app).get('/metrics');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE scalr_credd_lookup_duration_seconds histogram');
    expect(parseMetrics(res.text).get(`scalr_credd_build_info{version="${TEST_VERSION}"}`)).toBe(1);
  });

  it('moves the request, lookup and histogram counters when lookups happen', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'metrics.example' });
    const before = await scrape(ops);

    await lookup(ops, 'metrics.example');
    await lookup(ops, 'metrics.example');
    await lookup(ops, 'absent.example');
    const after = await scrape(ops);

    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(delta(LOOKUP_OK)).toBe(2);
    expect(delta(LOOKUP_404)).toBe(1);
    expect(delta('scalr_credd_lookups_total{outcome="hit"}')).toBe(2);
    expect(delta('scalr_credd_lookups_total{outcome="not_found"}')).toBe(1);
    expect(delta('scalr_credd_lookup_duration_seconds_count')).toBe(3);
    expect(delta('scalr_credd_lookup_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(delta('scalr_credd_http_requests_total{method="GET",route="/metrics",status="200"}')).toBe(1);
  });

  it('puts every lookup in exactly one outcome, so the outcomes add up to the duration count', async () => {
    const ops = await buildTestApp({ maxFailures: 3 });
    await seedIntegration(ops, { host: 'fresh.example' });
    await seedIntegration(ops, { host: 'stale.example', expiresAt: new Date(ops.clock.now().getTime() + 60_000).toISOString() });
    ops.clock.advance(120_000);
    const before = await scrape(ops);
    const post = (token: string | undefined, body: object, path = '/v1/credentials/get') => {
      const req = request(ops.app).post(path);
      return (token === undefined ? req : req.set('Authorization', bearer(token))).send(body);
    };

    const statuses = [
      (await post(ops.tokens.runner, { serverURL: 'fresh.example' })).status,
      (await post(ops.tokens.runner, { serverURL: 'stale.example' })).status,
      (await post(ops.tokens.runner, { serverURL: 'absent.example' })).status,
      (await post(ops.tokens.expired, { serverURL: 'fresh.example' })).status,
      (await post(undefined, { serverURL: 'fresh.example' })).status,
      (await post(ops.tokens.auditor, { serverURL: 'fresh.example' })).status,
      (await post(ops.tokens.runner, { serverURL: 'not a host' })).status,
      // The express path (a query string) answers the same lookups.
      (await post(ops.tokens.revoked, { serverURL: 'fresh.example' }, '/v1/credentials/get?via=express')).status,
      (await post('scd_tok_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { serverURL: 'fresh.example' })).status,
    ];
    const after = await scrape(ops);

    expect(statuses).toEqual([200, 410, 404, 401, 401, 403, 400, 401, 429]);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const outcomes = [...after.keys()].filter((name) => name.startsWith('scalr_credd_lookups_total{'));
    expect(Object.fromEntries(outcomes.map((name) => [/outcome="(\w+)"/.exec(name)![1], delta(name)]))).toEqual({
      hit: 1,
      expired: 1,
      not_found: 1,
      unauthenticated: 3,
      rate_limited: 1,
      denied: 1,
      invalid: 1,
      error: 0,
    });
    expect(outcomes.reduce((sum, name) => sum + delta(name), 0)).toBe(delta('scalr_credd_lookup_duration_seconds_count'));
  });

  it('labels a request refused before routing (401, 400) with its route, not unmatched', async () => {
    const ops = await buildTestApp();
    const before = await scrape(ops);

    await request(ops.app).get('/v1/integrations');
    await request(ops.app).get('/v1/integrations/int_0123456789abcdef').set('Authorization', 'Bearer nope');
    await withToken(ops, ops.tokens.admin).post('/v1/tokens').set('Content-Type', 'application/json').send('{"name":');
    await request(ops.app).post('/v1/credentials/get?x=1').send({ serverURL: 'a.example' });
    const after = await scrape(ops);

    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(delta('scalr_credd_http_requests_total{method="GET",route="/v1/integrations",status="401"}')).toBe(1);
    expect(delta('scalr_credd_http_requests_total{method="GET",route="/v1/integrations/:id",status="401"}')).toBe(1);
    expect(delta('scalr_credd_http_requests_total{method="POST",route="/v1/tokens",status="400"}')).toBe(1);
    expect(delta('scalr_credd_http_requests_total{method="POST",route="/v1/credentials/get",status="401"}')).toBe(1);
    expect([...after.keys()].filter((name) => name.includes('unmatched'))).toEqual([]);
  });

  it('keeps histogram buckets cumulative', async () => {
    const ops = await buildTestApp();
    for (let i = 0; i < 5; i++) await lookup(ops, 'absent.example');

    const values = await scrape(ops);

    const buckets = [...values].filter(([name]) => name.startsWith('scalr_credd_lookup_duration_seconds_bucket')).map(([, value]) => value);
    expect(buckets.at(-1)).toBe(5);
    expect(buckets.every((value, i) => i === 0 || value >= buckets[i - 1]!)).toBe(true);
  });

  it('reports integrations and active tokens by role as gauges', async () => {
    const ops = await buildTestApp();
    const before = await scrape(ops);

    await seedIntegration(ops, { host: 'g1.example' });
    await seedIntegration(ops, { host: 'g2.example' });
    await withToken(ops, ops.tokens.admin).post('/v1/tokens').send({ name: 'r2', role: 'runner' });
    await withToken(ops, ops.tokens.admin).delete(`/v1/tokens/${ops.tokenIds.auditor}`);
    const after = await scrape(ops);

    expect(before.get('scalr_credd_integrations')).toBe(0);
    expect(after.get('scalr_credd_integrations')).toBe(2);
    expect(after.get('scalr_credd_tokens{role="runner"}')).toBe((before.get('scalr_credd_tokens{role="runner"}') ?? 0) + 1);
    expect(after.get('scalr_credd_tokens{role="auditor"}')).toBe(0);
    expect(after.get('scalr_credd_keyring_active_term')).toBe(1);
  });

  it('labels requests by route pattern, never by id or host', async () => {
    const ops = await buildTestApp();
    const created = await seedIntegration(ops, { host: 'secret-host-name.example' });
    await withToken(ops, ops.tokens.admin).get(`/v1/integrations/${created.id}`);
    await lookup(ops, 'secret-host-name.example');
    await withToken(ops, ops.tokens.admin).get('/v1/no-such-route/int_0123456789abcdef');

    const res = await request(ops.app).get('/metrics');

    expect(res.text).toContain('route="/v1/integrations/:id"');
    expect(res.text).toContain('route="unmatched"');
    expect(res.text).not.toContain(created.id);
    expect(res.text).not.toContain('secret-host-name');
    expect(res.text).not.toContain('int_0123456789abcdef');
  });

  it('answers 405 to other methods', async () => {
    const ops = await buildTestApp();

    const res = await request(ops.app).post('/metrics');

    expect(res.status).toBe(405);
  });
});
