import {
  AuditPageSchema,
  CreatedTokenSchema,
  CredentialListSchema,
  ErrorBodySchema,
  IntegrationListSchema,
  IntegrationSummarySchema,
  IntegrationTestReportSchema,
  LookupResponseSchema,
  MAX_BODY_BYTES,
  TokenListSchema,
} from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { SECRET_MARKER, buildIntegrationBody, buildStoreBody, distinctiveSecret } from '../support/factories.js';
import { runSql, tableNames } from '../support/raw-sql.js';
import { auditRows, buildTestApp, type TestApp, withToken } from '../support/test-app.js';

interface Recorded {
  label: string;
  lookup: boolean;
  status: number;
  text: string;
}

/** Runs a full scenario, keeping every response's status, body and headers. */
async function runScenario(t: TestApp) {
  const recorded: Recorded[] = [];
  const record = async (label: string, req: request.Test, schema?: { parse(value: unknown): unknown }) => {
    const res = await req;
    recorded.push({
      label,
      lookup: label.startsWith('lookup'),
      status: res.status,
      text: `${res.text}\n${JSON.stringify(res.headers)}`,
    });
    if (res.status >= 400) ErrorBodySchema.parse(res.body);
    else if (schema) schema.parse(res.body);
    return res;
  };
  const as = (token: string) => ({
    post: (path: string) => withToken(t, token).post(path),
    get: (path: string) => withToken(t, token).get(path),
    patch: (path: string) => withToken(t, token).patch(path),
    delete: (path: string) => withToken(t, token).delete(path),
  });
  const admin = as(t.tokens.admin);
  const manager = as(t.tokens.manager);
  const runner = as(t.tokens.runner);

  const ghcr = buildIntegrationBody({ host: 'https://ghcr.io', username: 'ghcr-bot' });
  const hub = buildIntegrationBody({ host: 'docker.io', username: 'hub-bot' });
  const hidden = buildIntegrationBody({ host: 'private.example.com', export: false });
  const rotated = distinctiveSecret('rotated');
  const firstLogin = buildStoreBody({ ServerURL: 'quay.io' });
  const secondLogin = buildStoreBody({ ServerURL: 'https://quay.io' });

  const ghcrRes = await record('create ghcr', admin.post('/v1/integrations').send(ghcr), IntegrationSummarySchema);
  const hubRes = await record('create hub', manager.post('/v1/integrations').send(hub), IntegrationSummarySchema);
  await record('create hidden', admin.post('/v1/integrations').send(hidden), IntegrationSummarySchema);
  const ghcrId = IntegrationSummarySchema.parse(ghcrRes.body).id;
  const hubId = IntegrationSummarySchema.parse(hubRes.body).id;
  await record('rotate ghcr secret', admin.patch(`/v1/integrations/${ghcrId}`).send({ secret: rotated }), IntegrationSummarySchema);
  await record('list integrations', admin.get('/v1/integrations'), IntegrationListSchema);
  await record('show ghcr', as(t.tokens.auditor).get(`/v1/integrations/${ghcrId}`), IntegrationSummarySchema);
  const minted = await record('mint token', admin.post('/v1/tokens').send({ name: 'scenario runner', role: 'runner' }), CreatedTokenSchema);
  const mintedToken = CreatedTokenSchema.parse(minted.body);
  await record('list tokens', admin.get('/v1/tokens'), TokenListSchema);
  await record('docker login quay', manager.post('/v1/credentials/store').send(firstLogin));
  await record('docker login quay again', manager.post('/v1/credentials/store').send(secondLogin));
  await record('list credentials', runner.get('/v1/credentials'), CredentialListSchema);
  await record('list credentials scoped', as(t.tokens.scopedRunner).get('/v1/credentials'), CredentialListSchema);
  await record('test ghcr', manager.post(`/v1/integrations/${ghcrId}/test`), IntegrationTestReportSchema);

  const hits = {
    ghcr: await record('lookup ghcr', as(mintedToken.token).post('/v1/credentials/get').send({ serverURL: 'ghcr.io/acme/app' }), LookupResponseSchema),
    hub: await record('lookup hub', runner.post('/v1/credentials/get').send({ serverURL: 'https://index.docker.io/v1/' }), LookupResponseSchema),
    quay: await record('lookup quay', runner.post('/v1/credentials/get').send({ serverURL: 'quay.io:443' }), LookupResponseSchema),
  };
  await record('lookup hidden', runner.post('/v1/credentials/get').send({ serverURL: 'private.example.com' }));
  await record('lookup out of scope', as(t.tokens.scopedRunner).post('/v1/credentials/get').send({ serverURL: 'quay.io' }));
  await record('lookup access-token', runner.post('/v1/credentials/get').send({ serverURL: 'https://index.docker.io/v1/access-token' }));

  // Rejected requests that carry a secret: none of them may echo it.
  await record('unknown field', admin.post('/v1/integrations').send(buildIntegrationBody({ host: 'a.example.com', password: distinctiveSecret() })));
  await record('bad host', admin.post('/v1/integrations').send(buildIntegrationBody({ host: `https://u:${distinctiveSecret()}@b.example.com` })));
  await record('wrong type', admin.post('/v1/integrations').send(buildIntegrationBody({ host: 'c.example.com', export: distinctiveSecret() })));
  await record('bad json', admin.post('/v1/integrations').set('Content-Type', 'application/json').send(`{"secret": "${distinctiveSecret()}",`));
  await record('too large', admin.post('/v1/integrations').send(buildIntegrationBody({ host: 'd.example.com', description: `${distinctiveSecret()}${'x'.repeat(MAX_BODY_BYTES)}` })));
  await record('text body', admin.post('/v1/integrations').set('Content-Type', 'text/plain').send(JSON.stringify(buildIntegrationBody({ host: 'e.example.com' }))));
  await record('auditor create', as(t.tokens.auditor).post('/v1/integrations').send(buildIntegrationBody({ host: 'f.example.com' })));
  await record('duplicate', admin.post('/v1/integrations').send(buildIntegrationBody({ host: 'GHCR.io:443' })));
  await record('revoked token', as(t.tokens.revoked).post('/v1/integrations').send(buildIntegrationBody({ host: 'g.example.com' })));
  await record('update unknown', admin.patch('/v1/integrations/int_0123456789abcdef').send({ secret: distinctiveSecret() }));
  await record('update bad', admin.patch(`/v1/integrations/${ghcrId}`).send({ secret: distinctiveSecret(), host: 'h.example.com' }));
  await record('runner store', runner.post('/v1/credentials/store').send(buildStoreBody({ ServerURL: 'i.example.com' })));
  await record('store path', manager.post('/v1/credentials/store').send(buildStoreBody({ ServerURL: 'quay.io/org/repo' })));
  await record('token in body', admin.post('/v1/tokens').send({ name: 'x', role: 'runner', token: t.tokens.admin }));

  await record('docker logout quay', manager.post('/v1/credentials/erase').send({ serverURL: 'quay.io' }));
  await record('delete hub', admin.delete(`/v1/integrations/${hubId}`));
  await record('revoke minted', admin.delete(`/v1/tokens/${mintedToken.id}`));
  await record('read audit', as(t.tokens.auditor).get('/v1/audit?limit=500'), AuditPageSchema);

  // Last: an envelope moved onto another host's row makes the lookup fail (and log an error).
  const hidden2 = (await t.services.store.integrations.findByHost('private.example.com'))!;
  const ghcrRow = (await t.services.store.integrations.findByHost('ghcr.io'))!;
  await t.services.store.integrations.update({ ...ghcrRow, envelope: hidden2.envelope });
  await record('lookup moved envelope', runner.post('/v1/credentials/get').send({ serverURL: 'ghcr.io' }));

  return {
    recorded,
    hits,
    expected: { ghcr: rotated, hub: hub.secret, quay: secondLogin.Secret },
    tokenValues: [...Object.values(t.tokens), mintedToken.token],
  };
}

/** Every cell of every table; blobs are searched as raw bytes. */
async function tableCells(t: TestApp): Promise<Array<string | Buffer>> {
  const cells: Array<string | Buffer> = [];
  for (const name of await tableNames(t.services.store)) {
    for (const row of await runSql(t.services.store, `SELECT * FROM "${name}"`)) {
      cells.push(...Object.values(row).map((cell) => (Buffer.isBuffer(cell) ? cell : String(cell))));
    }
  }
  return cells;
}

function containsText(cell: string | Buffer, needle: string): boolean {
  return Buffer.isBuffer(cell) ? cell.includes(Buffer.from(needle)) : cell.includes(needle);
}

describe('secrets across a full scenario', () => {
  it('serves each secret only in credentials/get bodies, and the scenario really served them', async () => {
    const t = await buildTestApp();

    const { recorded, hits, expected } = await runScenario(t);

    expect(LookupResponseSchema.parse(hits.ghcr.body).Secret).toBe(expected.ghcr);
    expect(LookupResponseSchema.parse(hits.hub.body).Secret).toBe(expected.hub);
    expect(LookupResponseSchema.parse(hits.quay.body).Secret).toBe(expected.quay);
    const leaking = recorded.filter((r) => r.text.includes(SECRET_MARKER)).map((r) => r.label);
    expect(leaking).toEqual(['lookup ghcr', 'lookup hub', 'lookup quay']);
    for (const r of recorded.filter((candidate) => candidate.lookup && candidate.status === 200)) {
      expect(r.text.split(SECRET_MARKER)).toHaveLength(2);
    }
  });

  it('writes no secret and no token value into the logs', async () => {
    const t = await buildTestApp();

    const { tokenValues } = await runScenario(t);

    const logs = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(30);
    expect(logs).toContain('"level":"error"');
    expect(logs).not.toContain(SECRET_MARKER);
    for (const value of tokenValues) expect(logs).not.toContain(value);
  });

  it('writes no secret and no token value into the audit rows', async () => {
    const t = await buildTestApp();

    const { tokenValues } = await runScenario(t);

    const rows = await auditRows(t);
    const text = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThan(20);
    expect(text).not.toContain(SECRET_MARKER);
    for (const value of tokenValues) expect(text).not.toContain(value);
  });

  it('stores no plaintext secret and no token value anywhere in the database', async () => {
    const t = await buildTestApp();

    const { tokenValues } = await runScenario(t);

    const cells = await tableCells(t);
    expect(cells.length).toBeGreaterThan(100);
    expect(cells.filter((cell) => containsText(cell, SECRET_MARKER))).toEqual([]);
    for (const value of tokenValues) {
      const secretPart = value.slice(-43);
      expect(cells.filter((cell) => containsText(cell, secretPart))).toEqual([]);
    }
  });

  it('answers every scenario step with the status the step expects', async () => {
    const t = await buildTestApp();

    const { recorded } = await runScenario(t);

    expect(Object.fromEntries(recorded.map((r) => [r.label, r.status]))).toEqual({
      'create ghcr': 201,
      'create hub': 201,
      'create hidden': 201,
      'rotate ghcr secret': 200,
      'list integrations': 200,
      'show ghcr': 200,
      'mint token': 201,
      'list tokens': 200,
      'docker login quay': 204,
      'docker login quay again': 204,
      'list credentials': 200,
      'list credentials scoped': 200,
      'test ghcr': 200,
      'lookup ghcr': 200,
      'lookup hub': 200,
      'lookup quay': 200,
      'lookup hidden': 404,
      'lookup out of scope': 404,
      'lookup access-token': 404,
      'unknown field': 400,
      'bad host': 400,
      'wrong type': 400,
      'bad json': 400,
      'too large': 413,
      'text body': 415,
      'auditor create': 403,
      duplicate: 409,
      'revoked token': 401,
      'update unknown': 404,
      'update bad': 400,
      'runner store': 403,
      'store path': 400,
      'token in body': 400,
      'docker logout quay': 204,
      'delete hub': 204,
      'revoke minted': 204,
      'read audit': 200,
      'lookup moved envelope': 500,
    });
  });
});
