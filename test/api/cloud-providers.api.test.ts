import { ErrorBodySchema, IntegrationListSchema, IntegrationSummarySchema, IntegrationTestReportSchema, LookupResponseSchema } from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createOutbound } from '../../daemon/src/providers/outbound.js';
import { startFakeAws, type FakeAws } from '../support/cloud-fakes/aws-fake.js';
import { startFakeAzure } from '../support/cloud-fakes/azure-fake.js';
import type { FakeFailure } from '../support/cloud-fakes/fake-http.js';
import { generateServiceAccount, startFakeGoogle } from '../support/cloud-fakes/google-fake.js';
import { auditRows, buildTestApp, type TestApp, withToken } from '../support/test-app.js';

const HOUR = 3600 * 1000;
const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/ecr-puller';
const AZURE = { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'azure-client-secret~Zq9' };
const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';

/** A test app whose providers reach the fakes (their clocks are the app's); `timeoutMs` bounds each outbound call. */
async function cloudApp(env: Record<string, string>, timeoutMs?: number): Promise<TestApp> {
  const t = await buildTestApp({
    env,
    ...(timeoutMs === undefined ? {} : { send: createOutbound({ env, timeoutMs, connectTimeoutMs: timeoutMs }) }),
  });
  return t;
}

function lookup(t: TestApp, serverURL: string, token = t.tokens.runner) {
  return withToken(t, token).post('/v1/credentials/get').send({ serverURL });
}

async function create(t: TestApp, body: object) {
  const res = await withToken(t, t.tokens.admin).post('/v1/integrations').send(body);
  expect(res.status, res.text).toBe(201);
  return { summary: IntegrationSummarySchema.parse(res.body), text: res.text };
}

async function lookupAudits(t: TestApp) {
  return (await auditRows(t)).filter((event) => event.action === 'credential.get');
}

/** Everything the app said and recorded, to look for secrets in. */
async function recordedText(t: TestApp): Promise<string> {
  return [...t.logs, JSON.stringify(await auditRows(t)), await t.services.store.integrations.listingsJson(null)].join('\n');
}

async function awsSetup(options: { role?: boolean; tokenLifetimeSeconds?: number; timeoutMs?: number } = {}) {
  const t0 = { now: () => Date.now() };
  const fake = await startFakeAws({
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: 'eu-west-1',
    ...(options.role ? { role: { arn: ROLE_ARN, externalId: 'ext-1234' } } : {}),
    ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
    nowMs: () => t0.now(),
  });
  const t = await cloudApp({ AWS_ENDPOINT_URL: fake.url.href }, options.timeoutMs);
  t0.now = () => t.clock.now().getTime();
  const aws = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...(options.role ? { roleArn: ROLE_ARN, externalId: 'ext-1234' } : {}) };
  const { summary, text } = await create(t, { provider: 'aws-ecr', host: ECR_HOST, aws });
  return { t, fake, summary, text };
}

describe('aws-ecr integrations', () => {
  it('stores the identity write-only and shows only its non-secret fields', async () => {
    const { t, summary, text } = await awsSetup({ role: true });
    expect(summary).toMatchObject({ provider: 'aws-ecr', host: ECR_HOST, username: 'AWS', identity: { roleArn: ROLE_ARN } });
    expect(text).not.toContain(SECRET_ACCESS_KEY);
    expect(text).not.toContain(ACCESS_KEY_ID);
    expect(text).not.toContain('ext-1234');
    const listed = IntegrationListSchema.parse((await withToken(t, t.tokens.admin).get('/v1/integrations')).body);
    expect(listed.integrations).toEqual([summary]);
    const one = await withToken(t, t.tokens.admin).get(`/v1/integrations/${summary.id}`);
    expect(one.body).toEqual(summary);
  });

  it('mints on the first get, serves the same credential within half its lifetime, and mints again after', async () => {
    const { t, fake, summary } = await awsSetup();
    const first = await lookup(t, `https://${ECR_HOST}/`);
    expect(first.status, first.text).toBe(200);
    const credential = LookupResponseSchema.parse(first.body);
    expect(credential).toEqual({ ServerURL: `https://${ECR_HOST}/`, Username: 'AWS', Secret: fake.issuedSecrets[0] });
    expect(fake.calls.ecr).toBe(1);

    t.clock.advance(5 * HOUR);
    expect((await lookup(t, ECR_HOST)).body.Secret).toBe(credential.Secret);
    expect(fake.calls.ecr).toBe(1);

    t.clock.advance(1 * HOUR + 60_000); // past half of the 12 h token
    const refreshed = await lookup(t, ECR_HOST);
    expect(refreshed.status).toBe(200);
    expect(fake.calls.ecr).toBe(2);
    expect(refreshed.body.Secret).toBe(fake.issuedSecrets[1]);
    expect(refreshed.body.Secret).not.toBe(credential.Secret);

    const audits = await lookupAudits(t);
    expect(audits.map((event) => [event.outcome, event.targetId, event.detail])).toEqual([
      ['ok', summary.id, { provider: 'aws-ecr' }],
      ['ok', summary.id, { provider: 'aws-ecr' }],
      ['ok', summary.id, { provider: 'aws-ecr' }],
    ]);
    const metrics = await request(t.app).get('/metrics');
    expect(metrics.text).toContain('scalr_credd_mint_duration_seconds_count{provider="aws-ecr"} 2');
    expect(metrics.text).toContain('scalr_credd_mint_cache_hits_total{provider="aws-ecr"} 1');
    for (const secret of [SECRET_ACCESS_KEY, ...fake.issuedSecrets]) expect(await recordedText(t)).not.toContain(secret);
  });

  it('assumes the role first and refreshes at half the role session, which caps the token', async () => {
    const { t, fake } = await awsSetup({ role: true });
    expect((await lookup(t, ECR_HOST)).status).toBe(200);
    expect(fake.calls).toMatchObject({ sts: 1, ecr: 1 });
    expect(fake.assumeRoleForms[0]).toMatchObject({ RoleArn: ROLE_ARN, ExternalId: 'ext-1234', DurationSeconds: '3600' });
    t.clock.advance(29 * 60_000);
    expect((await lookup(t, ECR_HOST)).status).toBe(200);
    expect(fake.calls).toMatchObject({ sts: 1, ecr: 1 });
    t.clock.advance(2 * 60_000); // past half of the one-hour session, long before the 12 h token's
    expect((await lookup(t, ECR_HOST)).status).toBe(200);
    expect(fake.calls).toMatchObject({ sts: 2, ecr: 2 });
  });

  it('fails clearly, audited with the provider code, when the fake fails after the credential expired', async () => {
    const { t, fake, summary } = await awsSetup();
    expect((await lookup(t, ECR_HOST)).status).toBe(200);
    fake.failures.ecr = 'server_error';
    t.clock.advance(12 * HOUR);
    const res = await lookup(t, ECR_HOST);
    expect(res.status).toBe(502);
    const error = ErrorBodySchema.parse(res.body).error;
    expect(error.code).toBe('mint_failed');
    expect(error.message).toBe(`could not mint a registry credential for ${ECR_HOST}: aws-ecr: ECR GetAuthorizationToken was refused (ServerException, HTTP 500)`);
    expect(res.text).not.toContain(fake.issuedSecrets[0]);
    expect((await lookupAudits(t)).at(-1)).toMatchObject({
      outcome: 'error',
      targetId: summary.id,
      detail: { reason: 'mint_failed', provider: 'aws-ecr', code: 'ServerException', upstreamStatus: 500 },
    });
    const metrics = await request(t.app).get('/metrics');
    expect(metrics.text).toContain('scalr_credd_mint_failures_total{provider="aws-ecr",code="ServerException"} 1');
    expect(metrics.text).toContain('scalr_credd_lookups_total{outcome="error"} 1');
  });

  it('replaces the identity on PATCH: the cached credential is dropped and the new identity is used', async () => {
    const { t, fake, summary } = await awsSetup();
    expect((await lookup(t, ECR_HOST)).status).toBe(200);
    const wrongKey = 'wrongSecretAccessKey/0000000000000000000000';
    const patched = await withToken(t, t.tokens.admin)
      .patch(`/v1/integrations/${summary.id}`)
      .send({ aws: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: wrongKey, region: 'eu-west-1' } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ provider: 'aws-ecr', identity: { region: 'eu-west-1' } });
    expect(patched.text).not.toContain(wrongKey);
    const res = await lookup(t, ECR_HOST);
    expect(res.status).toBe(502);
    expect(ErrorBodySchema.parse(res.body).error.message).toContain('(SignatureDoesNotMatch, HTTP 403)');
    expect(fake.rejections).toEqual(['signature does not match']);
    const audit = (await auditRows(t)).find((event) => event.action === 'integration.update');
    expect(audit?.detail).toEqual({ fields: ['aws'] });
    expect(await recordedText(t)).not.toContain(wrongKey);
  });

  it('refuses what the identity cannot serve, and credential changes of the wrong kind', async () => {
    const t = await cloudApp({});
    const post = (body: object) => withToken(t, t.tokens.admin).post('/v1/integrations').send(body);
    const aws = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

    const custom = await post({ provider: 'aws-ecr', host: 'registry.example.com', aws });
    expect(custom.status).toBe(400);
    expect(ErrorBodySchema.parse(custom.body).error.issues).toEqual([{ path: 'aws.region', message: expect.stringContaining('give the region') }]);
    expect((await post({ provider: 'aws-ecr', host: ECR_HOST, username: 'x', aws })).status).toBe(400);
    expect((await post({ provider: 'aws-ecr', host: ECR_HOST, aws: { ...aws, secretAccessKey: '' } })).status).toBe(400);
    expect((await post({ provider: 'aws', host: ECR_HOST, aws })).status).toBe(400);
    expect((await post({ provider: 'google', host: 'gcr.io', google: { serviceAccountKey: '{"type":"user"}' } })).body.error.issues).toEqual([
      { path: 'google.serviceAccountKey', message: 'the service account key is not of type service_account' },
    ]);
    for (const res of [custom]) expect(res.text).not.toContain(SECRET_ACCESS_KEY);

    const ecr = IntegrationSummarySchema.parse((await post({ provider: 'aws-ecr', host: ECR_HOST, aws })).body);
    const patch = (id: string, body: object) => withToken(t, t.tokens.admin).patch(`/v1/integrations/${id}`).send(body);
    expect((await patch(ecr.id, { secret: 'x' })).body.error.issues[0].path).toBe('secret');
    expect((await patch(ecr.id, { username: 'x' })).body.error.issues[0].path).toBe('username');
    expect((await patch(ecr.id, { azure: AZURE })).body.error.issues[0].path).toBe('azure');
    const fixed = await post({ host: 'quay.io', username: 'u', secret: 'static-secret-1' });
    expect(fixed.body.provider).toBe('static');
    expect((await patch(fixed.body.id, { aws })).body.error.issues[0].path).toBe('aws');
    // docker login cannot overwrite a minted integration with a static secret.
    const stored = await withToken(t, t.tokens.admin).post('/v1/credentials/store').send({ ServerURL: ECR_HOST, Username: 'AWS', Secret: 'pasted' });
    expect(stored.status).toBe(409);
  });
});

describe('azure-acr integrations', () => {
  async function azureSetup(failAt?: 'token' | 'exchange') {
    const clock = { now: () => Date.now() };
    const fake = await startFakeAzure({ ...AZURE, nowMs: () => clock.now() });
    const t = await cloudApp({ AZURE_AUTHORITY_HOST: fake.authority.href });
    clock.now = () => t.clock.now().getTime();
    const { summary, text } = await create(t, { provider: 'azure-acr', host: fake.registryHost, azure: AZURE });
    if (failAt) fake.failures[failAt] = 'forbidden';
    return { t, fake, summary, text };
  }

  it('exchanges an Entra token for a refresh token served with the all-zero username, and caches it for half its 3 h', async () => {
    const { t, fake, summary, text } = await azureSetup();
    expect(summary).toMatchObject({ provider: 'azure-acr', username: ACR_USERNAME, identity: { tenantId: AZURE.tenantId, clientId: AZURE.clientId } });
    expect(text).not.toContain(AZURE.clientSecret);
    const res = await lookup(t, fake.registryHost);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ ServerURL: fake.registryHost, Username: ACR_USERNAME, Secret: fake.issuedSecrets[1] });
    expect(fake.calls).toEqual({ token: 1, exchange: 1 });
    t.clock.advance(HOUR);
    expect((await lookup(t, fake.registryHost)).body.Secret).toBe(fake.issuedSecrets[1]);
    expect(fake.calls).toEqual({ token: 1, exchange: 1 });
    t.clock.advance(HOUR);
    expect((await lookup(t, fake.registryHost)).body.Secret).toBe(fake.issuedSecrets[3]);
    expect(fake.calls).toEqual({ token: 2, exchange: 2 });
    for (const secret of [AZURE.clientSecret, ...fake.issuedSecrets]) expect(await recordedText(t)).not.toContain(secret);
  });

  it('reports a refused client secret with the provider code, and integration test says unauthorized', async () => {
    const { t, summary } = await azureSetup('token');
    const res = await lookup(t, summary.host);
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('Entra ID client-credentials token was refused (invalid_client, HTTP 403)');
    const report = await withToken(t, t.tokens.admin).post(`/v1/integrations/${summary.id}/test`);
    expect(IntegrationTestReportSchema.parse(report.body)).toMatchObject({ result: 'unauthorized', detail: expect.stringContaining('could not mint a credential') });
    expect(t.probes).toEqual([]);
  });
});

describe('google integrations', () => {
  async function googleSetup() {
    const account = generateServiceAccount();
    const clock = { now: () => Date.now() };
    const fake = await startFakeGoogle({ account, nowMs: () => clock.now() });
    const t = await cloudApp({});
    clock.now = () => t.clock.now().getTime();
    const key = account.keyJson(fake.tokenUri);
    const { summary, text } = await create(t, { provider: 'google', host: 'gcr.io', google: { serviceAccountKey: key } });
    return { t, fake, account, summary, text };
  }

  it('serves every Google registry host from the gcr.io integration with one token, and only those hosts', async () => {
    const { t, fake, account, summary, text } = await googleSetup();
    expect(summary).toMatchObject({ provider: 'google', username: 'oauth2accesstoken', identity: { clientEmail: account.clientEmail, projectId: 'project-1' } });
    expect(text).not.toContain('PRIVATE KEY');
    for (const host of ['us-docker.pkg.dev', 'https://europe-west1-docker.pkg.dev/v2/', 'gcr.io', 'eu.gcr.io', 'docker.us-central1.rep.pkg.dev']) {
      const res = await lookup(t, host);
      expect(res.status, host).toBe(200);
      expect(res.body).toMatchObject({ Username: 'oauth2accesstoken', Secret: fake.issuedSecrets[0] });
    }
    expect(fake.calls.token).toBe(1);
    expect((await lookupAudits(t)).map((event) => event.host)).toEqual(['us-docker.pkg.dev', 'europe-west1-docker.pkg.dev', 'gcr.io', 'eu.gcr.io', 'docker.us-central1.rep.pkg.dev']);
    for (const host of ['us-npm.pkg.dev', 'evilgcr.io', 'a.b.gcr.io', 'quay.io']) expect((await lookup(t, host)).status, host).toBe(404);
    // A token limited to ghcr.io may not read a Google host through the shared integration.
    expect((await lookup(t, 'us-docker.pkg.dev', t.tokens.scopedRunner)).status).toBe(404);
    t.clock.advance(31 * 60_000);
    expect((await lookup(t, 'us-docker.pkg.dev')).body.Secret).toBe(fake.issuedSecrets[1]);
    expect(fake.calls.token).toBe(2);
    for (const secret of [account.privateKeyPem.split('\n')[1]!, ...fake.issuedSecrets]) expect(await recordedText(t)).not.toContain(secret);
  });

  it('integration test mints, then checks the registry with the minted credential', async () => {
    const { t, fake, summary } = await googleSetup();
    const report = await withToken(t, t.tokens.admin).post(`/v1/integrations/${summary.id}/test`);
    expect(IntegrationTestReportSchema.parse(report.body)).toMatchObject({ result: 'ok', detail: 'minted a credential; fake probe' });
    expect(t.probes).toEqual([{ host: 'gcr.io', username: 'oauth2accesstoken', secret: fake.issuedSecrets[0], caCert: null }]);
  });
});

describe('provider failures', () => {
  const CASES: Array<[FakeFailure, RegExp]> = [
    ['forbidden', /ECR GetAuthorizationToken was refused \(AccessDeniedException, HTTP 403\)$/],
    ['server_error', /ECR GetAuthorizationToken was refused \(ServerException, HTTP 500\)$/],
    ['malformed', /ECR GetAuthorizationToken: the answer \(HTTP 200\) is not a JSON object$/],
    ['slow', /ECR GetAuthorizationToken: no answer from 127\.0\.0\.1:\d+ within 300 ms$/],
  ];
  it.each(CASES)('a fake switched to %s answers 502 mint_failed with the step and code', async (failure, message) => {
    const { t, fake }: { t: TestApp; fake: FakeAws } = await awsSetup({ timeoutMs: 300 });
    fake.failures.ecr = failure;
    const res = await lookup(t, ECR_HOST);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('mint_failed');
    expect(res.body.error.message).toMatch(message);
    expect(res.text).not.toContain(SECRET_ACCESS_KEY);
  });
});
