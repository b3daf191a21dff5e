import { AuditPageSchema, ErrorBodySchema, type AuditEvent, type Role } from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { distinctiveSecret, SECRET_MARKER } from '../support/factories.js';
import { refuseAuditInserts } from '../support/raw-sql.js';
import { auditRows, bearer, buildTestApp, seedIntegration, type TestApp, withToken } from '../support/test-app.js';

function getAudit(ops: TestApp, query: Record<string, string | number> = {}, role: Role = 'auditor') {
  return withToken(ops, ops.tokens[role]).get('/v1/audit').query(query);
}

async function readAll(ops: TestApp, query: Record<string, string | number>): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await getAudit(ops, { ...query, ...(cursor ? { cursor } : {}) });
    expect(res.status).toBe(200);
    const page = AuditPageSchema.parse(res.body);
    events.push(...page.events);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { events, pages };
}

async function lookup(ops: TestApp, host: string, role: Role = 'runner') {
  return withToken(ops, ops.tokens[role]).post('/v1/credentials/get').send({ serverURL: host });
}

describe('GET /v1/audit', () => {
  it.each([
    ['admin', 200],
    ['auditor', 200],
    ['manager', 403],
    ['runner', 403],
  ] as const)('answers %s with %i', async (role, status) => {
    const ops = await buildTestApp();

    const res = await getAudit(ops, {}, role);

    expect(res.status).toBe(status);
    if (status === 200) AuditPageSchema.parse(res.body);
    else expect(ErrorBodySchema.parse(res.body).error.code).toBe('forbidden');
  });

  it('answers 401 without a token and records the failed authentication', async () => {
    const ops = await buildTestApp();

    const res = await request(ops.app).get('/v1/audit');

    expect(res.status).toBe(401);
    const failed = (await auditRows(ops)).filter((row) => row.action === 'auth.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ outcome: 'denied', requestId: res.headers['x-request-id'] });
  });

  it.each([
    ['65 characters', 'a'.repeat(65)],
    ['a space', 'build 42'],
    ['markup', '<script>x</script>'],
    ['a quote and a newline escape', 'id"\\n'],
    ['Latin-1 bytes', 'caf\u00e9'],
  ])('stores a generated request id, never the client one, when the X-Request-Id has %s', async (_label, offered) => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'audit-a.example' });

    const hit = await withToken(ops, ops.tokens.runner).post('/v1/credentials/get').set('X-Request-Id', offered).send({ serverURL: 'audit-a.example' });

    expect(hit.status).toBe(200);
    expect(hit.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const stored = (await auditRows(ops)).filter((row) => row.action === 'credential.get');
    expect(stored.map((row) => row.requestId)).toEqual([hit.headers['x-request-id']]);
  });

  it('stores a short, plain client request id as sent', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'audit-a.example' });
    const offered = `ci-${'7'.repeat(61)}`;

    await withToken(ops, ops.tokens.runner).post('/v1/credentials/get').set('X-Request-Id', offered).send({ serverURL: 'audit-a.example' });

    expect((await auditRows(ops)).filter((row) => row.action === 'credential.get').map((row) => row.requestId)).toEqual([offered]);
  });

  it('records a denied read of the log as audit.read denied', async () => {
    const ops = await buildTestApp();

    await getAudit(ops, {}, 'manager');

    const denied = (await auditRows(ops)).filter((row) => row.action === 'audit.read');
    expect(denied).toEqual([expect.objectContaining({ outcome: 'denied', tokenId: ops.tokenIds.manager, role: 'manager' })]);
  });

  it('records every lookup with time, token id and name, role, action, host, outcome and request id', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'audit-a.example' });

    const hit = await lookup(ops, 'audit-a.example');
    const miss = await lookup(ops, 'nowhere.example');
    const list = await withToken(ops, ops.tokens.runner).get('/v1/credentials');

    expect([hit.status, miss.status, list.status]).toEqual([200, 404, 200]);
    const { events } = await readAll(ops, { token: ops.tokenIds.runner });
    expect(events.map((e) => [e.action, e.host, e.outcome])).toEqual([
      ['credential.get', 'audit-a.example', 'ok'],
      ['credential.get', 'nowhere.example', 'not_found'],
      ['credential.list', null, 'ok'],
    ]);
    expect(events[0]).toMatchObject({ tokenName: 'test runner', role: 'runner', requestId: hit.headers['x-request-id'] });
    expect(events[1]!.requestId).toBe(miss.headers['x-request-id']);
    for (const event of events) expect(Date.parse(event.at)).not.toBeNaN();
  });

  it('records changes to integrations and tokens', async () => {
    const ops = await buildTestApp();
    const admin = bearer(ops.tokens.admin);

    const created = await request(ops.app).post('/v1/integrations').set('Authorization', admin).send({ host: 'chg.example', username: 'u', secret: distinctiveSecret() });
    await request(ops.app).patch(`/v1/integrations/${created.body.id}`).set('Authorization', admin).send({ secret: distinctiveSecret() });
    await request(ops.app).delete(`/v1/integrations/${created.body.id}`).set('Authorization', admin);
    const token = await request(ops.app).post('/v1/tokens').set('Authorization', admin).send({ name: 'ci', role: 'runner' });
    await request(ops.app).delete(`/v1/tokens/${token.body.id}`).set('Authorization', admin);

    const { events: all } = await readAll(ops, { token: ops.tokenIds.admin });
    const events = all.filter((e) => e.requestId !== 'seed');
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'integration.create:ok',
      'integration.update:ok',
      'integration.delete:ok',
      'token.create:ok',
      'token.revoke:ok',
    ]);
    expect(events[1]!.detail).toEqual({ fields: ['secret'] });
  });

  it('never holds a secret or a token value', async () => {
    const ops = await buildTestApp();
    const secret = distinctiveSecret();
    await seedIntegration(ops, { host: 'leak.example', secret });
    await lookup(ops, 'leak.example');
    await request(ops.app).get('/v1/audit').set('Authorization', `Bearer ${ops.tokens.runner}x`);
    await withToken(ops, ops.tokens.admin).post('/v1/tokens').send({ name: 'n', role: 'runner' });

    const res = await getAudit(ops, { limit: 500 });

    expect(res.text).not.toContain(SECRET_MARKER);
    expect(res.text).not.toMatch(/scd_tok_[0-9a-f]{16}_/);
  });

  it('filters by host, action, token and since', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'f-one.example' });
    await seedIntegration(ops, { host: 'f-two.example' });
    await lookup(ops, 'f-one.example');
    ops.clock.advance(60_000);
    const since = ops.clock.now().toISOString();
    await lookup(ops, 'f-two.example');
    await lookup(ops, 'f-one.example', 'manager');

    const byHost = await readAll(ops, { host: 'F-ONE.example' });
    const byAction = await readAll(ops, { action: 'credential.get' });
    const byToken = await readAll(ops, { token: ops.tokenIds.manager });
    const bySince = await readAll(ops, { since, action: 'credential.get' });
    const combined = await readAll(ops, { host: 'f-one.example', action: 'credential.get', token: ops.tokenIds.runner });

    expect(byHost.events.map((e) => e.action)).toEqual(['integration.create', 'credential.get', 'credential.get']);
    expect(byAction.events.map((e) => e.host)).toEqual(['f-one.example', 'f-two.example', 'f-one.example']);
    expect(byToken.events.map((e) => [e.action, e.host])).toEqual([['credential.get', 'f-one.example']]);
    expect(bySince.events.map((e) => e.host)).toEqual(['f-two.example', 'f-one.example']);
    expect(combined.events).toHaveLength(1);
  });

  it('accepts since with an offset and compares it as UTC', async () => {
    const ops = await buildTestApp();
    ops.clock.advance(3_600_000);
    const cut = ops.clock.now();
    await seedIntegration(ops, { host: 'tz.example' });
    const local = new Date(cut.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');

    const { events } = await readAll(ops, { since: local, action: 'integration.create' });

    expect(events.map((e) => e.host)).toEqual(['tz.example']);
  });

  it('pages with an opaque cursor until nextCursor is null, in log order without gaps or repeats', async () => {
    const ops = await buildTestApp();
    for (let i = 0; i < 7; i++) await seedIntegration(ops, { host: `page-${i}.example` });

    const paged = await readAll(ops, { action: 'integration.create', limit: 3 });

    expect(paged.pages).toBe(3);
    expect(paged.events.map((e) => e.host)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}.example`));
    const seqs = paged.events.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('pages newest first with order=desc, the cursor moving back through the log without gaps or repeats', async () => {
    const ops = await buildTestApp();
    for (let i = 0; i < 7; i++) await seedIntegration(ops, { host: `desc-${i}.example` });

    const paged = await readAll(ops, { action: 'integration.create', limit: 3, order: 'desc' });

    expect(paged.pages).toBe(3);
    expect(paged.events.map((e) => e.host)).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `desc-${i}.example`));
  });

  it('answers the newest event first with order=desc and limit=1, reads of the log included', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'newest.example' });
    await getAudit(ops);

    const page = AuditPageSchema.parse((await getAudit(ops, { order: 'desc', limit: 1 })).body);

    const all = await auditRows(ops);
    // The read that answers this page is written after its events were read: the newest row before it.
    expect(page.events.map((e) => e.seq)).toEqual([all.at(-2)!.seq]);
    expect(page.events[0]).toMatchObject({ action: 'audit.read' });
  });

  it('answers nextCursor null when the last page is exactly full', async () => {
    const ops = await buildTestApp();
    for (let i = 0; i < 4; i++) await seedIntegration(ops, { host: `exact-${i}.example` });

    const first = AuditPageSchema.parse((await getAudit(ops, { action: 'integration.create', limit: 2 })).body);
    const second = AuditPageSchema.parse((await getAudit(ops, { action: 'integration.create', limit: 2, cursor: first.nextCursor! })).body);

    expect(first.nextCursor).not.toBeNull();
    expect(second.events).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
  });

  it('defaults to 100 events and allows up to 500', async () => {
    const ops = await buildTestApp();
    for (let i = 0; i < 120; i++) await ops.services.audit.append({ action: 'test.fill', outcome: 'ok' });

    const byDefault = AuditPageSchema.parse((await getAudit(ops, { action: 'test.fill' })).body);
    const large = AuditPageSchema.parse((await getAudit(ops, { action: 'test.fill', limit: 500 })).body);

    expect(byDefault.events).toHaveLength(100);
    expect(byDefault.nextCursor).not.toBeNull();
    expect(large.events).toHaveLength(120);
    expect(large.nextCursor).toBeNull();
  });

  it.each([
    ['limit 0', { limit: 0 }],
    ['limit 501', { limit: 501 }],
    ['a non-numeric limit', { limit: 'ten' }],
    ['a malformed cursor', { cursor: 'abc' }],
    ['an unknown order', { order: 'newest' }],
    ['a negative cursor', { cursor: '-4' }],
    ['a malformed since', { since: 'yesterday' }],
    ['a malformed token id', { token: 'admin' }],
    ['an invalid host', { host: 'not a host' }],
    ['an unknown parameter', { verbose: 1 }],
  ])('answers 400 for %s', async (_name, query) => {
    const ops = await buildTestApp();

    const res = await getAudit(ops, query as Record<string, string | number>);

    expect(res.status).toBe(400);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe('validation_failed');
  });

  it('answers 400 for a repeated parameter', async () => {
    const ops = await buildTestApp();

    const res = await withToken(ops, ops.tokens.admin).get('/v1/audit?action=a.b&action=c.d');

    expect(res.status).toBe(400);
  });

  it('records each read of the log with the page size', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'read.example' });

    await getAudit(ops, { action: 'integration.create' });

    const reads = (await auditRows(ops)).filter((row) => row.action === 'audit.read');
    expect(reads).toEqual([expect.objectContaining({ outcome: 'ok', tokenId: ops.tokenIds.auditor, detail: { count: 1 } })]);
  });

  it('answers 405 to other methods', async () => {
    const ops = await buildTestApp();

    const res = await withToken(ops, ops.tokens.admin).delete('/v1/audit');

    expect(res.status).toBe(405);
  });
});

describe('audit write failure', () => {
  function breakAuditWrites(ops: TestApp): Promise<void> {
    return refuseAuditInserts(ops.services.store);
  }

  it('fails a create and stores nothing when its audit row cannot be written', async () => {
    const ops = await buildTestApp();
    await breakAuditWrites(ops);

    const res = await withToken(ops, ops.tokens.admin)
      .post('/v1/integrations')
      .send({ host: 'no-audit.example', username: 'u', secret: distinctiveSecret() });

    expect(res.status).toBe(500);
    expect(await ops.services.store.integrations.findByHost('no-audit.example')).toBeUndefined();
  });

  it('fails a token revoke and keeps the token when its audit row cannot be written', async () => {
    const ops = await buildTestApp();
    await breakAuditWrites(ops);

    const res = await withToken(ops, ops.tokens.admin).delete(`/v1/tokens/${ops.tokenIds.runner}`);

    expect(res.status).toBe(500);
    expect((await ops.services.store.tokens.findById(ops.tokenIds.runner))!.revokedAt).toBeNull();
  });

  it('does not serve a secret when the lookup cannot be audited', async () => {
    const ops = await buildTestApp();
    await seedIntegration(ops, { host: 'quiet.example', secret: distinctiveSecret() });
    await breakAuditWrites(ops);

    const res = await lookup(ops, 'quiet.example');

    expect(res.status).toBe(500);
    expect(res.text).not.toContain(SECRET_MARKER);
  });
  it('fails every lookup of a group commit, serving no secret, when one row of the batch cannot be written', async () => {
    const ops = await buildTestApp();
    const hosts = ['batch-a.example', 'batch-b.example', 'batch-c.example'];
    for (const host of hosts) await seedIntegration(ops, { host, secret: distinctiveSecret() });
    const ctx = { principal: await ops.services.tokens.authenticate(ops.tokens.runner), requestId: 'batch' };
    // One lookup each first: the rows a lookup reads are cached, so below no lookup waits for the
    // store (a round trip on PostgreSQL) and none misses the batch of the others.
    for (const host of hosts) await ops.services.credentials.lookupWithNotice(ctx, host);
    await refuseAuditInserts(ops.services.store, { name: 'refuse_b', host: 'batch-b.example' });
    const before = (await auditRows(ops)).length;

    // Started in one event-loop turn, the three lookups share one audit transaction.
    const results = await Promise.allSettled(hosts.map((host) => ops.services.credentials.lookupWithNotice(ctx, host)));

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(JSON.stringify(results)).not.toContain(SECRET_MARKER);
    expect(await auditRows(ops)).toHaveLength(before);
  });
});

describe('GET /v1/audit under a host-limited reader', () => {
  /** Lookups on ghcr.io and quay.io, a token minted for each host, and readers limited to ghcr.io. */
  async function arrange() {
    const t = await buildTestApp();
    await seedIntegration(t, { host: 'ghcr.io' });
    await seedIntegration(t, { host: 'quay.io' });
    const admin = { principal: await t.services.tokens.authenticate(t.tokens.admin), requestId: 'arrange' };
    const readers = {
      auditor: await t.services.tokens.create(admin, { name: 'ghcr auditor', role: 'auditor', hosts: ['ghcr.io'] }),
      admin: await t.services.tokens.create(admin, { name: 'ghcr admin', role: 'admin', hosts: ['ghcr.io'] }),
    };
    const quayRunner = await t.services.tokens.create(admin, { name: 'quay runner', role: 'runner', hosts: ['quay.io'] });
    await lookup(t, 'ghcr.io');
    await lookup(t, 'quay.io');
    await withToken(t, quayRunner.token).get('/v1/credentials');
    await withToken(t, t.tokens.scopedRunner).get('/v1/credentials');
    return { t, readers, quayRunner };
  }

  async function readAs(t: TestApp, token: string, query: Record<string, string> = {}): Promise<AuditEvent[]> {
    const res = await withToken(t, token).get('/v1/audit').query({ limit: 500, ...query });
    expect(res.status).toBe(200);
    return AuditPageSchema.parse(res.body).events;
  }

  it.each(['auditor', 'admin'] as const)('shows a ghcr.io-limited %s only ghcr.io events and host-less events of tokens within ghcr.io', async (role) => {
    const { t, readers } = await arrange();
    const within = new Set([readers.auditor.id, readers.admin.id, t.tokenIds.scopedRunner]);

    const events = await readAs(t, readers[role].token);

    expect(events.filter((event) => event.host === 'ghcr.io' && event.action === 'credential.get')).toHaveLength(1);
    expect(events.some((event) => event.action === 'credential.list' && event.tokenId === t.tokenIds.scopedRunner)).toBe(true);
    for (const event of events) {
      if (event.host !== null) expect(event.host).toBe('ghcr.io');
      else expect(within.has(event.tokenId ?? '')).toBe(true);
    }
  });

  it('shows nothing of another host even when the query asks for it', async () => {
    const { t, readers, quayRunner } = await arrange();

    const byHost = await readAs(t, readers.auditor.token, { host: 'quay.io' });
    const byToken = await readAs(t, readers.auditor.token, { token: quayRunner.id });

    expect(byHost).toEqual([]);
    expect(byToken).toEqual([]);
  });

  it('shows everything to an unlimited auditor', async () => {
    const { t, quayRunner } = await arrange();

    const events = await readAs(t, t.tokens.auditor);

    expect(events.some((event) => event.host === 'quay.io')).toBe(true);
    expect(events.some((event) => event.tokenId === quayRunner.id)).toBe(true);
  });
});
