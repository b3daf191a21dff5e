import { API_ROUTES, CredentialListSchema, LookupResponseSchema } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { buildStoreBody, distinctiveSecret } from '../support/factories.js';
import { auditRows, buildTestApp, errorOf, matrixCases, type RoleMatrix, routesMissingFrom, seedIntegration, type TestApp, withToken } from '../support/test-app.js';

function lookup(t: TestApp, token: string, serverURL: string) {
  return withToken(t, token).post('/v1/credentials/get').send({ serverURL });
}

function store(t: TestApp, token: string, body: object) {
  return withToken(t, token).post('/v1/credentials/store').send(body);
}

function erase(t: TestApp, token: string, serverURL: string) {
  return withToken(t, token).post('/v1/credentials/erase').send({ serverURL });
}

/** Seeds the registries most cases use; returns their secrets by canonical host. */
async function seedRegistries(t: TestApp) {
  const secrets = {
    'ghcr.io': distinctiveSecret('ghcr'),
    'docker.io': distinctiveSecret('hub'),
    'registry.example.com:5000': distinctiveSecret('port'),
    'quay.io': distinctiveSecret('quay'),
    'private.example.com': distinctiveSecret('private'),
  };
  await seedIntegration(t, { host: 'ghcr.io', username: 'ghcr-bot', secret: secrets['ghcr.io'] });
  await seedIntegration(t, { host: 'docker.io', username: 'hub-bot', secret: secrets['docker.io'] });
  await seedIntegration(t, { host: 'registry.example.com:5000', username: 'port-bot', secret: secrets['registry.example.com:5000'] });
  await seedIntegration(t, { host: 'quay.io', username: 'quay-bot', secret: secrets['quay.io'] });
  await seedIntegration(t, { host: 'private.example.com', username: 'hidden-bot', secret: secrets['private.example.com'], export: false });
  return secrets;
}

type RouteKey = 'POST /v1/credentials/get' | 'GET /v1/credentials' | 'POST /v1/credentials/store' | 'POST /v1/credentials/erase';

/** Every credential route × every role, written out as data. */
const EXPECTED: RoleMatrix<RouteKey, number> = {
  'POST /v1/credentials/get':   { admin: 200, manager: 200, auditor: 403, runner: 200 },
  'GET /v1/credentials':        { admin: 200, manager: 200, auditor: 403, runner: 200 },
  'POST /v1/credentials/store': { admin: 204, manager: 204, auditor: 403, runner: 403 },
  'POST /v1/credentials/erase': { admin: 204, manager: 204, auditor: 403, runner: 403 },
};

describe('credential routes × roles', () => {
  it('covers every credential route of API_ROUTES when the matrix is read', () => {
    const missing = routesMissingFrom(EXPECTED, [API_ROUTES.credentials, API_ROUTES.credentialsGet, API_ROUTES.credentialsStore, API_ROUTES.credentialsErase]);

    expect(missing).toEqual([]);
  });

  it.each(matrixCases(EXPECTED))('answers $status to $key when the token is a $role', async ({ key, role, status }) => {
    const t = await buildTestApp();
    await seedRegistries(t);
    const token = t.tokens[role];
    const send = {
      'POST /v1/credentials/get': () => lookup(t, token, 'ghcr.io'),
      'GET /v1/credentials': () => withToken(t, token).get('/v1/credentials'),
      'POST /v1/credentials/store': () => store(t, token, buildStoreBody({ ServerURL: 'ghcr.io' })),
      'POST /v1/credentials/erase': () => erase(t, token, 'ghcr.io'),
    }[key];

    const res = await send();

    expect(res.status).toBe(status);
    if (status === 403) expect(errorOf(res).code).toBe('forbidden');
    if (key === 'POST /v1/credentials/get' && status === 200) LookupResponseSchema.parse(res.body);
    if (key === 'GET /v1/credentials' && status === 200) CredentialListSchema.parse(res.body);
  });
});

describe('POST /v1/credentials/get', () => {
  // serverURL as each client sends it → the canonical host whose credential answers, or null for 404.
  const CLIENT_FORMS: Array<[client: string, serverURL: string, host: string | null]> = [
    ['docker', 'ghcr.io', 'ghcr.io'],
    ['OpenTofu', 'https://ghcr.io', 'ghcr.io'],
    ['nerdctl', 'ghcr.io:443', 'ghcr.io'],
    ['a client in upper case', 'HTTPS://GHCR.IO/', 'ghcr.io'],
    ['a client with the API path', 'https://ghcr.io/v2/', 'ghcr.io'],
    ['go-containerregistry (host/org/repo falls back to host)', 'ghcr.io/acme/app', 'ghcr.io'],
    ['skopeo', 'docker.io', 'docker.io'],
    ['docker for Docker Hub', 'https://index.docker.io/v1/', 'docker.io'],
    ['a Docker Hub alias', 'registry-1.docker.io', 'docker.io'],
    ['docker for the Hub access-token sub-key', 'https://index.docker.io/v1/access-token', null],
    ['docker for the Hub refresh-token sub-key', 'https://index.docker.io/v1/refresh-token', null],
    ['docker with a port', 'registry.example.com:5000', 'registry.example.com:5000'],
    ['http with a port', 'http://registry.example.com:5000', 'registry.example.com:5000'],
    ['the same host without its port', 'registry.example.com', null],
    ['an export:false host', 'private.example.com', null],
    ['an unknown host', 'unknown.example.com', null],
  ];

  it.each(CLIENT_FORMS)('answers as %s expects when it sends %s', async (_client, serverURL, host) => {
    const t = await buildTestApp();
    const secrets = await seedRegistries(t);

    const res = await lookup(t, t.tokens.runner, serverURL);

    if (host === null) {
      expect(res.status).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
      for (const secret of Object.values(secrets)) expect(res.text).not.toContain(secret);
    } else {
      expect(res.status).toBe(200);
      expect(LookupResponseSchema.parse(res.body)).toEqual({
        ServerURL: serverURL,
        Username: (await t.services.store.integrations.findByHost(host))?.username,
        Secret: secrets[host as keyof typeof secrets],
      });
    }
  });

  it('answers 404 for export:false even when an admin asks', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const res = await lookup(t, t.tokens.admin, 'private.example.com');

    expect(res.status).toBe(404);
  });

  it('answers 404, not 403, when the host is outside a host-limited runner', async () => {
    const t = await buildTestApp();
    const secrets = await seedRegistries(t);

    const outside = await lookup(t, t.tokens.scopedRunner, 'quay.io');
    const inside = await lookup(t, t.tokens.scopedRunner, 'https://ghcr.io');

    expect(outside.status).toBe(404);
    expect(errorOf(outside).code).toBe('not_found');
    expect(LookupResponseSchema.parse(inside.body).Secret).toBe(secrets['ghcr.io']);
  });

  it('answers the same 404 body for an unknown host and an out-of-scope host', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const outside = await lookup(t, t.tokens.scopedRunner, 'quay.io');
    const unknown = await lookup(t, t.tokens.scopedRunner, 'unknown.example.com');

    expect({ ...errorOf(outside), requestId: undefined }).toEqual({ ...errorOf(unknown), requestId: undefined });
  });

  it('keeps a username of <token> verbatim when the secret is an identity token', async () => {
    const t = await buildTestApp();
    const identity = distinctiveSecret('identity');
    await seedIntegration(t, { host: 'acr.example.com', username: '<token>', secret: identity });

    const res = await lookup(t, t.tokens.runner, 'acr.example.com');

    expect(LookupResponseSchema.parse(res.body)).toMatchObject({ Username: '<token>', Secret: identity });
  });

  it('writes an ok audit row for a hit and a not_found row for a miss', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);
    const ghcr = await t.services.store.integrations.findByHost('ghcr.io');

    await withToken(t, t.tokens.runner).post('/v1/credentials/get').set('X-Request-Id', 'hit-1').send({ serverURL: 'https://ghcr.io' });
    await withToken(t, t.tokens.runner).post('/v1/credentials/get').set('X-Request-Id', 'miss-1').send({ serverURL: 'nope.example.com' });

    const rows = await auditRows(t);
    expect(rows.find((r) => r.requestId === 'hit-1')).toMatchObject({
      action: 'credential.get',
      outcome: 'ok',
      host: 'ghcr.io',
      targetId: ghcr?.id,
      tokenId: t.tokenIds.runner,
    });
    expect(rows.find((r) => r.requestId === 'miss-1')).toMatchObject({ action: 'credential.get', outcome: 'not_found', host: 'nope.example.com' });
  });

  it.each([
    ['an unsupported scheme', { ServerURL: 'ftp://ghcr.io' }, 'ServerURL'],
    ['an unsupported scheme under the alias', { serverURL: 'ftp://ghcr.io' }, 'ServerURL'],
    ['an empty serverURL', { serverURL: '' }, 'serverURL'],
    ['a serverURL that is a number', { serverURL: 443 }, 'serverURL'],
    ['no server field', {}, 'ServerURL'],
    ['both spellings of the field', { ServerURL: 'ghcr.io', serverURL: 'ghcr.io' }, 'serverURL'],
    ['another casing of the field', { serverUrl: 'ghcr.io' }, undefined],
  ])('answers 400 when the body has %s', async (_label, body, path) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send(body);

    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    if (path) expect(errorOf(res).issues?.map((issue) => issue.path)).toContain(path);
  });

  it('answers 500 internal without detail, audits an error and logs it when the envelope was moved from another host', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);
    const ghcr = (await t.services.store.integrations.findByHost('ghcr.io'))!;
    const quay = (await t.services.store.integrations.findByHost('quay.io'))!;
    await t.services.store.integrations.update({ ...quay, envelope: ghcr.envelope });

    const res = await withToken(t, t.tokens.runner).post('/v1/credentials/get').set('X-Request-Id', 'moved-1').send({ serverURL: 'quay.io' });

    expect(res.status).toBe(500);
    const error = errorOf(res);
    expect(error.code).toBe('internal');
    expect(error.message).not.toMatch(/integrity|context/i);
    expect((await auditRows(t)).find((r) => r.requestId === 'moved-1')).toMatchObject({ action: 'credential.get', outcome: 'error', host: 'quay.io' });
    const logged = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line['level'] === 'error');
    expect(logged).toMatchObject({ requestId: 'moved-1', error: { name: 'IntegrityError' } });
  });

  it('answers 500 internal when a byte of the stored envelope was changed', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);
    const quay = (await t.services.store.integrations.findByHost('quay.io'))!;
    const tampered = Uint8Array.from(quay.envelope);
    tampered[tampered.length - 1]! ^= 0x01;
    await t.services.store.integrations.update({ ...quay, envelope: tampered });

    const res = await lookup(t, t.tokens.runner, 'quay.io');

    expect(res.status).toBe(500);
    expect(errorOf(res).code).toBe('internal');
  });
});

describe('GET /v1/credentials', () => {
  it('lists Docker-CLI keys and usernames of exported hosts only when a runner asks', async () => {
    const t = await buildTestApp();
    const secrets = await seedRegistries(t);

    const res = await withToken(t, t.tokens.runner).get('/v1/credentials');

    expect(res.status).toBe(200);
    expect(CredentialListSchema.parse(res.body)).toEqual({
      'https://index.docker.io/v1/': 'hub-bot',
      'ghcr.io': 'ghcr-bot',
      'quay.io': 'quay-bot',
      'registry.example.com:5000': 'port-bot',
    });
    for (const secret of Object.values(secrets)) expect(res.text).not.toContain(secret);
  });

  it('lists only in-scope hosts when the runner is host-limited', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const res = await withToken(t, t.tokens.scopedRunner).get('/v1/credentials');

    expect(CredentialListSchema.parse(res.body)).toEqual({ 'ghcr.io': 'ghcr-bot' });
  });

  it('writes a credential.list audit row with the count when it answers', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    await withToken(t, t.tokens.scopedRunner).get('/v1/credentials').set('X-Request-Id', 'list-1');

    expect((await auditRows(t)).find((r) => r.requestId === 'list-1')).toMatchObject({ action: 'credential.list', outcome: 'ok', detail: { count: 1 } });
  });
});

describe('POST /v1/credentials/store', () => {
  it('creates an exported integration that lookups then answer when a manager stores', async () => {
    const t = await buildTestApp();
    const body = buildStoreBody({ ServerURL: 'https://index.docker.io/v1/' });

    const res = await store(t, t.tokens.manager, body);
    const got = await lookup(t, t.tokens.runner, 'docker.io');

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await t.services.store.integrations.findByHost('docker.io')).toMatchObject({ username: body.Username, export: true });
    expect(LookupResponseSchema.parse(got.body)).toEqual({ ServerURL: 'docker.io', Username: body.Username, Secret: body.Secret });
  });

  it('replaces username and secret in place when the host is stored again in another form', async () => {
    const t = await buildTestApp();
    await store(t, t.tokens.admin, buildStoreBody({ ServerURL: 'ghcr.io' }));
    const id = (await t.services.store.integrations.findByHost('ghcr.io'))?.id;
    const second = buildStoreBody({ ServerURL: 'https://ghcr.io', Username: 'second-user' });

    const res = await store(t, t.tokens.admin, second);
    const got = await lookup(t, t.tokens.runner, 'ghcr.io');

    expect(res.status).toBe(204);
    expect(await t.services.store.integrations.count()).toBe(1);
    expect((await t.services.store.integrations.findByHost('ghcr.io'))?.id).toBe(id);
    expect(LookupResponseSchema.parse(got.body)).toMatchObject({ Username: 'second-user', Secret: second.Secret });
  });

  it('keeps export:false when an existing hidden integration is stored again', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    await store(t, t.tokens.manager, buildStoreBody({ ServerURL: 'private.example.com' }));

    expect((await t.services.store.integrations.findByHost('private.example.com'))?.export).toBe(false);
  });

  it('writes a credential.store audit row when it stores', async () => {
    const t = await buildTestApp();

    await withToken(t, t.tokens.manager).post('/v1/credentials/store').set('X-Request-Id', 'store-1').send(buildStoreBody({ ServerURL: 'quay.io' }));

    expect((await auditRows(t)).find((r) => r.requestId === 'store-1')).toMatchObject({
      action: 'credential.store',
      outcome: 'ok',
      host: 'quay.io',
      targetId: (await t.services.store.integrations.findByHost('quay.io'))?.id,
    });
  });

  it('answers 403 forbidden and stores nothing when a runner stores', async () => {
    const t = await buildTestApp();

    const res = await store(t, t.tokens.runner, buildStoreBody({ ServerURL: 'quay.io' }));

    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect(await t.services.store.integrations.count()).toBe(0);
  });

  it('answers 403 when a host-limited manager stores outside its hosts', async () => {
    const t = await buildTestApp();
    const ctx = { principal: await t.services.tokens.authenticate(t.tokens.admin), requestId: 'arrange' };
    const scoped = await t.services.tokens.create(ctx, { name: 'scoped manager', role: 'manager', hosts: ['ghcr.io'] });

    const outside = await store(t, scoped.token, buildStoreBody({ ServerURL: 'quay.io' }));
    const inside = await store(t, scoped.token, buildStoreBody({ ServerURL: 'ghcr.io' }));

    expect(outside.status).toBe(403);
    expect(inside.status).toBe(204);
  });

  it.each([
    ['a repository path', { ServerURL: 'ghcr.io/acme/app' }, 'ServerURL'],
    ['an invalid host', { ServerURL: 'https://user:pw@ghcr.io' }, 'ServerURL'],
    ['a missing Username', { Username: undefined }, 'Username'],
    ['a Secret that is not a string', { Secret: 12345 }, 'Secret'],
  ])('answers 400 and stores nothing when the body has %s', async (_label, override, path) => {
    const t = await buildTestApp();

    const res = await store(t, t.tokens.admin, { ...buildStoreBody(), ...override });

    expect(res.status).toBe(400);
    expect(errorOf(res).issues?.map((issue) => issue.path)).toEqual([path]);
    expect(await t.services.store.integrations.count()).toBe(0);
  });
});

describe('POST /v1/credentials/erase', () => {
  it('removes the integration, after which lookups answer 404, when a manager erases it', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const res = await erase(t, t.tokens.manager, 'https://ghcr.io');
    const got = await lookup(t, t.tokens.runner, 'ghcr.io');

    expect(res.status).toBe(204);
    expect(got.status).toBe(404);
    expect(await t.services.store.integrations.findByHost('ghcr.io')).toBeUndefined();
  });

  it('answers 204 and writes a not_found audit row when nothing is stored for the host', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).post('/v1/credentials/erase').set('X-Request-Id', 'erase-1').send({ serverURL: 'quay.io' });

    expect(res.status).toBe(204);
    expect((await auditRows(t)).find((r) => r.requestId === 'erase-1')).toMatchObject({ action: 'credential.erase', outcome: 'not_found', host: 'quay.io' });
  });

  it('answers 204 twice and keeps the Hub credential when docker logout erases the access-token sub-key and the host', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const subKey = await erase(t, t.tokens.admin, 'https://index.docker.io/v1/access-token');
    const stillThere = await t.services.store.integrations.findByHost('docker.io');
    const host = await erase(t, t.tokens.admin, 'https://index.docker.io/v1/');

    expect(subKey.status).toBe(204);
    expect(stillThere).toBeDefined();
    expect(host.status).toBe(204);
    expect(await t.services.store.integrations.findByHost('docker.io')).toBeUndefined();
  });

  it('answers 403 forbidden and keeps the integration when a runner erases', async () => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const res = await erase(t, t.tokens.runner, 'ghcr.io');

    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect(await t.services.store.integrations.findByHost('ghcr.io')).toBeDefined();
  });
});

describe('the server field of /v1/credentials/get and /erase', () => {
  // ServerURL is the helper protocol's casing (as /store takes it); serverURL is its documented alias.
  it.each(['ServerURL', 'serverURL'])('answers a lookup when the body names the server as %s', async (field) => {
    const t = await buildTestApp();
    const secrets = await seedRegistries(t);

    const res = await withToken(t, t.tokens.runner).post('/v1/credentials/get').send({ [field]: 'https://quay.io' });

    expect(res.status).toBe(200);
    expect(LookupResponseSchema.parse(res.body)).toEqual({ ServerURL: 'https://quay.io', Username: 'quay-bot', Secret: secrets['quay.io'] });
  });

  it.each(['ServerURL', 'serverURL'])('erases when the body names the server as %s', async (field) => {
    const t = await buildTestApp();
    await seedRegistries(t);

    const res = await withToken(t, t.tokens.manager).post('/v1/credentials/erase').send({ [field]: 'quay.io' });

    expect(res.status).toBe(204);
    expect(await t.services.store.integrations.findByHost('quay.io')).toBeUndefined();
  });
});

describe('GET /v1/credentials with a host named like an object key', () => {
  it('lists a host called __proto__ like any other when it is exported', async () => {
    const t = await buildTestApp();
    await seedIntegration(t, { host: '__proto__', username: 'proto-user' });

    const res = await withToken(t, t.tokens.runner).get('/v1/credentials');

    expect(res.status).toBe(200);
    expect(Object.entries(res.body as Record<string, string>)).toContainEqual(['__proto__', 'proto-user']);
  });
});
