import {
  API_ROUTES,
  CreatedTokenSchema,
  IntegrationListSchema,
  IntegrationSummarySchema,
  IntegrationTestReportSchema,
  LookupResponseSchema,
  parseServerUrl,
} from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildIntegrationBody, distinctiveSecret } from '../support/factories.js';
import { auditRows, buildTestApp, errorOf, matrixCases, type RoleMatrix, routesMissingFrom, seedIntegration, type TestApp, withToken } from '../support/test-app.js';

/** Mints a host-limited manager token through the API as the admin. */
async function scopedManager(t: TestApp, hosts: string[]): Promise<string> {
  const res = await withToken(t, t.tokens.admin).post('/v1/tokens').send({ name: 'scoped manager', role: 'manager', hosts });
  return CreatedTokenSchema.parse(res.body).token;
}

type RouteKey =
  | 'POST /v1/integrations'
  | 'GET /v1/integrations'
  | 'GET /v1/integrations/:id'
  | 'PATCH /v1/integrations/:id'
  | 'DELETE /v1/integrations/:id'
  | 'POST /v1/integrations/:id/test';

/**
 * The expected answer of every integration route for every role, written out as data: a change to
 * permissions.ts must show up here as a failing row.
 */
const EXPECTED: RoleMatrix<RouteKey, number> = {
  'POST /v1/integrations':        { admin: 201, manager: 201, auditor: 403, runner: 403 },
  'GET /v1/integrations':         { admin: 200, manager: 200, auditor: 200, runner: 403 },
  'GET /v1/integrations/:id':     { admin: 200, manager: 200, auditor: 200, runner: 403 },
  'PATCH /v1/integrations/:id':   { admin: 200, manager: 200, auditor: 403, runner: 403 },
  'DELETE /v1/integrations/:id':  { admin: 204, manager: 204, auditor: 403, runner: 403 },
  'POST /v1/integrations/:id/test': { admin: 200, manager: 200, auditor: 403, runner: 403 },
};

const SEND: Record<RouteKey, (t: TestApp, token: string, id: string) => request.Test> = {
  'POST /v1/integrations': (t, token) =>
    withToken(t, token).post('/v1/integrations').send(buildIntegrationBody({ host: 'quay.io' })),
  'GET /v1/integrations': (t, token) => withToken(t, token).get('/v1/integrations'),
  'GET /v1/integrations/:id': (t, token, id) => withToken(t, token).get(`/v1/integrations/${id}`),
  'PATCH /v1/integrations/:id': (t, token, id) =>
    withToken(t, token).patch(`/v1/integrations/${id}`).send({ username: 'renamed' }),
  'DELETE /v1/integrations/:id': (t, token, id) => withToken(t, token).delete(`/v1/integrations/${id}`),
  'POST /v1/integrations/:id/test': (t, token, id) => withToken(t, token).post(`/v1/integrations/${id}/test`),
};

const SUCCESS_SCHEMA: Record<RouteKey, { parse(value: unknown): unknown } | null> = {
  'POST /v1/integrations': IntegrationSummarySchema,
  'GET /v1/integrations': IntegrationListSchema,
  'GET /v1/integrations/:id': IntegrationSummarySchema,
  'PATCH /v1/integrations/:id': IntegrationSummarySchema,
  'DELETE /v1/integrations/:id': null,
  'POST /v1/integrations/:id/test': IntegrationTestReportSchema,
};

describe('integration routes × roles', () => {
  it('covers every integration route of API_ROUTES when the matrix is read', () => {
    const missing = routesMissingFrom(EXPECTED, [API_ROUTES.integrations, API_ROUTES.integration, API_ROUTES.integrationTest]);

    expect(missing).toEqual([]);
  });

  it.each(matrixCases(EXPECTED))('answers $status to $key when the token is a $role', async ({ key, role, status }) => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'ghcr.io' });

    const res = await SEND[key](t, t.tokens[role], existing.id);

    expect(res.status).toBe(status);
    if (status === 403) expect(errorOf(res).code).toBe('forbidden');
    else SUCCESS_SCHEMA[key]?.parse(res.body);
  });
});

describe('POST /v1/integrations', () => {
  it('stores the canonical host and answers a summary without the secret when an admin creates one', async () => {
    const t = await buildTestApp();
    const body = buildIntegrationBody({ host: 'https://GHCR.io/' });

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(body);

    expect(res.status).toBe(201);
    const summary = IntegrationSummarySchema.parse(res.body);
    expect(summary).toMatchObject({ host: 'ghcr.io', username: body.username, export: true, description: body.description });
    expect(res.text).not.toContain(body.secret);
    expect((await t.services.store.integrations.findByHost('ghcr.io'))?.id).toBe(summary.id);
  });

  it('defaults export to true and description to null when they are omitted', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.manager)
      .post('/v1/integrations')
      .send({ host: 'quay.io', username: 'robot', secret: distinctiveSecret() });

    expect(res.status).toBe(201);
    expect(IntegrationSummarySchema.parse(res.body)).toMatchObject({ export: true, description: null });
  });

  it('writes an integration.create audit row tied to the request when it succeeds', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.manager)
      .post('/v1/integrations')
      .set('X-Request-Id', 'create-1')
      .send(buildIntegrationBody({ host: 'quay.io' }));

    const summary = IntegrationSummarySchema.parse(res.body);
    const row = (await auditRows(t)).find((r) => r.action === 'integration.create' && r.requestId === 'create-1');
    expect(row).toMatchObject({ outcome: 'ok', host: 'quay.io', targetId: summary.id, tokenId: t.tokenIds.manager, role: 'manager' });
  });

  it('answers 409 conflict when the host already exists in another spelling', async () => {
    const t = await buildTestApp();
    await withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host: 'https://GHCR.io/' }));

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host: 'ghcr.io:443' }));

    expect(res.status).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
    expect(await t.services.store.integrations.count()).toBe(1);
  });

  it('answers 400 with the unknown key reported when the body has an extra field', async () => {
    const t = await buildTestApp();
    const body = buildIntegrationBody({ password: 'extra-field-value' });

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(body);

    expect(res.status).toBe(400);
    const error = errorOf(res);
    expect(error.code).toBe('validation_failed');
    expect(error.issues?.map((issue) => issue.path)).toEqual(['(root)']);
    expect(res.text).not.toContain('extra-field-value');
    expect(res.text).not.toContain(body.secret);
  });

  it('answers 400 naming the host and the reason when the host is not a registry', async () => {
    const t = await buildTestApp();
    const host = 'https://deploy:hunter2-pw@ghcr.io';
    const reason = (() => {
      try {
        parseServerUrl(host);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected the host to be invalid');
    })();

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(buildIntegrationBody({ host }));

    expect(res.status).toBe(400);
    const error = errorOf(res);
    expect(error.code).toBe('validation_failed');
    expect(error.issues).toEqual([{ path: 'host', message: reason }]);
    expect(error.message).toContain(reason);
    expect(res.text).not.toContain('hunter2-pw');
  });

  it.each([
    ['fields have the wrong types', buildIntegrationBody({ username: 42, export: 'yes', description: ['x'] }), ['description', 'export', 'username']],
    ['the body is empty', {}, ['host', 'secret', 'username']],
    ['the username carries a control character', buildIntegrationBody({ username: 'bot\nadmin' }), ['username']],
    ['expiresAt is a date without a time or zone', buildIntegrationBody({ expiresAt: '2026-04-01' }), ['expiresAt']],
    ['caCert is not a parsable certificate', buildIntegrationBody({ caCert: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----' }), ['caCert']],
  ])('answers 400 validation_failed with one issue per bad field when %s', async (_what, body, paths) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(body);

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(errorOf(res).issues?.map((issue) => issue.path).sort()).toEqual(paths);
  });

  it('answers 400 when the body is a JSON array instead of an object', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send([buildIntegrationBody()]);

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });

  it('answers 403 and writes a denied audit row when an auditor tries to create', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.auditor)
      .post('/v1/integrations')
      .set('X-Request-Id', 'denied-1')
      .send(buildIntegrationBody({ host: 'quay.io' }));

    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect((await auditRows(t)).find((r) => r.requestId === 'denied-1')).toMatchObject({
      action: 'integration.create',
      outcome: 'denied',
      tokenId: t.tokenIds.auditor,
    });
    expect(await t.services.store.integrations.count()).toBe(0);
  });

  it('answers 403 when a host-limited manager creates one outside its hosts', async () => {
    const t = await buildTestApp();
    const token = await scopedManager(t, ['ghcr.io']);

    const res = await withToken(t, token).post('/v1/integrations').send(buildIntegrationBody({ host: 'quay.io' }));

    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
  });
});

describe('GET /v1/integrations', () => {
  it('lists every integration as a summary without secrets when an auditor asks', async () => {
    const t = await buildTestApp();
    const bodies = [buildIntegrationBody({ host: 'quay.io' }), buildIntegrationBody({ host: 'ghcr.io', export: false })];
    for (const body of bodies) await seedIntegration(t, body);

    const res = await withToken(t, t.tokens.auditor).get('/v1/integrations');

    expect(res.status).toBe(200);
    const list = IntegrationListSchema.parse(res.body);
    expect(list.integrations.map((i) => i.host)).toEqual(['ghcr.io', 'quay.io']);
    for (const body of bodies) expect(res.text).not.toContain(body.secret);
  });

  it('lists each integration exactly as show answers it, no field more or less', async () => {
    const t = await buildTestApp();
    const created = [await seedIntegration(t, { host: 'quay.io', expiresAt: '2027-01-01T00:00:00.000Z' }), await seedIntegration(t, { host: 'ghcr.io', export: false })];

    const list = await withToken(t, t.tokens.auditor).get('/v1/integrations');
    const shownReplies = await Promise.all(created.map(({ id }) => withToken(t, t.tokens.auditor).get(`/v1/integrations/${id}`)));
    const shown = shownReplies.map((reply) => reply.body as object);

    expect(list.status).toBe(200);
    expect(list.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(list.headers['content-type']).toBe(shownReplies[0]!.headers['content-type']);
    expect((list.body as { integrations: object[] }).integrations).toEqual([shown[1], shown[0]]);
    expect(Object.keys((list.body as { integrations: object[] }).integrations[0]!)).toEqual(Object.keys(shown[1]!));
  });

  it('lists only in-scope integrations when the manager token is host-limited', async () => {
    const t = await buildTestApp();
    await seedIntegration(t, { host: 'quay.io' });
    await seedIntegration(t, { host: 'ghcr.io' });
    const token = await scopedManager(t, ['ghcr.io']);

    const res = await withToken(t, token).get('/v1/integrations');

    expect(IntegrationListSchema.parse(res.body).integrations.map((i) => i.host)).toEqual(['ghcr.io']);
  });
});

describe('GET /v1/integrations/:id', () => {
  it('answers the summary when the id exists', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'quay.io' });

    const res = await withToken(t, t.tokens.manager).get(`/v1/integrations/${existing.id}`);

    expect(res.status).toBe(200);
    expect(IntegrationSummarySchema.parse(res.body)).toEqual(existing);
  });

  it('answers 400 when the id is not an id', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).get('/v1/integrations/ghcr.io');

    expect(res.status).toBe(400);
    expect(errorOf(res).issues?.map((issue) => issue.path)).toEqual(['id']);
  });

  it('answers 404 rather than 403 when the host is outside a host-limited token', async () => {
    const t = await buildTestApp();
    const outside = await seedIntegration(t, { host: 'quay.io' });
    const token = await scopedManager(t, ['ghcr.io']);

    const res = await withToken(t, token).get(`/v1/integrations/${outside.id}`);

    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });
});

describe('PATCH /v1/integrations/:id', () => {
  it('changes the given fields and keeps the others when a manager updates', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'quay.io', username: 'old-user' });
    t.clock.advance(5_000);

    const res = await withToken(t, t.tokens.manager).patch(`/v1/integrations/${existing.id}`).send({ username: 'new-user', description: null });

    expect(res.status).toBe(200);
    const summary = IntegrationSummarySchema.parse(res.body);
    expect(summary).toEqual({ ...existing, username: 'new-user', description: null, updatedAt: t.clock.now().toISOString() });
  });

  it('serves the new secret to lookups and records the changed field names when the secret changes', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'quay.io' });
    const secret = distinctiveSecret('rotated');

    const res = await withToken(t, t.tokens.admin).patch(`/v1/integrations/${existing.id}`).set('X-Request-Id', 'patch-1').send({ secret });
    const lookup = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ serverURL: 'quay.io' });

    expect(res.status).toBe(200);
    expect(res.text).not.toContain(secret);
    expect(LookupResponseSchema.parse(lookup.body).Secret).toBe(secret);
    expect((await auditRows(t)).find((r) => r.requestId === 'patch-1')).toMatchObject({
      action: 'integration.update',
      outcome: 'ok',
      targetId: existing.id,
      detail: { fields: ['secret'] },
    });
  });

  it('answers 400 when the body changes nothing', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t);

    const res = await withToken(t, t.tokens.admin).patch(`/v1/integrations/${existing.id}`).send({});

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });

  it('answers 400 when the body tries to change the host', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'quay.io' });

    const res = await withToken(t, t.tokens.admin).patch(`/v1/integrations/${existing.id}`).send({ host: 'ghcr.io' });

    expect(res.status).toBe(400);
    expect((await t.services.store.integrations.findById(existing.id))?.host).toBe('quay.io');
  });

  it('answers 404 when a host-limited manager updates an integration outside its hosts', async () => {
    const t = await buildTestApp();
    const outside = await seedIntegration(t, { host: 'quay.io' });
    const token = await scopedManager(t, ['ghcr.io']);

    const res = await withToken(t, token).patch(`/v1/integrations/${outside.id}`).send({ export: false });

    expect(res.status).toBe(404);
    expect((await t.services.store.integrations.findById(outside.id))?.export).toBe(true);
  });
});

describe('DELETE /v1/integrations/:id', () => {
  it('removes the integration and writes an audit row when an admin deletes it', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t, { host: 'quay.io' });

    const res = await withToken(t, t.tokens.admin).delete(`/v1/integrations/${existing.id}`).set('X-Request-Id', 'del-1');
    const after = await withToken(t, t.tokens.admin).get(`/v1/integrations/${existing.id}`);

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(after.status).toBe(404);
    expect((await auditRows(t)).find((r) => r.requestId === 'del-1')).toMatchObject({
      action: 'integration.delete',
      outcome: 'ok',
      host: 'quay.io',
      targetId: existing.id,
    });
  });

  it('answers 404 when the integration was already deleted', async () => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t);
    await withToken(t, t.tokens.admin).delete(`/v1/integrations/${existing.id}`);

    const res = await withToken(t, t.tokens.admin).delete(`/v1/integrations/${existing.id}`);

    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });
});

describe('POST /v1/integrations/:id/test', () => {
  it('hands the stored credential to the probe and records the outcome when a manager asks', async () => {
    const t = await buildTestApp();
    const body = buildIntegrationBody({ host: 'quay.io' });
    const existing = await seedIntegration(t, body);

    const res = await withToken(t, t.tokens.manager).post(`/v1/integrations/${existing.id}/test`);

    expect(res.status).toBe(200);
    expect(IntegrationTestReportSchema.parse(res.body)).toMatchObject({ id: existing.id, host: 'quay.io', result: 'ok' });
    expect(res.text).not.toContain(body.secret);
    expect(t.probes).toEqual([expect.objectContaining({ host: 'quay.io', username: body.username, secret: body.secret })]);
    expect((await t.services.store.integrations.findById(existing.id))?.lastTestResult).toBe('ok');
  });

  it.each(['auditor', 'runner'] as const)('never opens the secret for the probe when a %s asks', async (role) => {
    const t = await buildTestApp();
    const existing = await seedIntegration(t);

    await withToken(t, t.tokens[role]).post(`/v1/integrations/${existing.id}/test`);

    expect(t.probes).toEqual([]);
  });

  it('answers 404 rather than 403 when the host is outside a host-limited manager', async () => {
    const t = await buildTestApp();
    const outside = await seedIntegration(t, { host: 'quay.io' });
    const token = await scopedManager(t, ['ghcr.io']);

    const res = await withToken(t, token).post(`/v1/integrations/${outside.id}/test`);

    expect(res.status).toBe(404);
    expect(t.probes).toEqual([]);
  });
});

describe('PATCH and DELETE /v1/integrations/:id for roles that may not change integrations', () => {
  it.each(['auditor', 'runner'] as const)('answers 403 for an unknown id as for a known one when the token is a %s', async (role) => {
    const t = await buildTestApp();
    const known = await seedIntegration(t, { host: 'known.example.com' });
    const unknown = 'int_0000000000000000';

    const patchKnown = await withToken(t, t.tokens[role]).patch(`/v1/integrations/${known.id}`).send({ username: 'x' });
    const patchUnknown = await withToken(t, t.tokens[role]).patch(`/v1/integrations/${unknown}`).send({ username: 'x' });
    const deleteUnknown = await withToken(t, t.tokens[role]).delete(`/v1/integrations/${unknown}`);

    expect([patchKnown.status, patchUnknown.status, deleteUnknown.status]).toEqual([403, 403, 403]);
  });
});
