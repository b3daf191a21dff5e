import { API_ROUTES, CreatedTokenSchema, TokenListSchema, WhoAmISchema, type Role } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { buildTokenBody } from '../support/factories.js';
import { auditRows, buildTestApp, errorOf, matrixCases, type RoleMatrix, routesMissingFrom, SCOPED_HOST, type SeededTokenName, type TestApp, withToken } from '../support/test-app.js';

/** Mints a token of any role directly through the service, as the seeded admin. */
async function mintAsAdmin(t: TestApp, role: Role, extra: { hosts?: string[]; ttlSeconds?: number } = {}) {
  const ctx = { principal: await t.services.tokens.authenticate(t.tokens.admin), requestId: 'arrange' };
  return t.services.tokens.create(ctx, { name: `extra ${role}`, role, ...extra });
}

async function mint(t: TestApp, token: string, body: object) {
  return withToken(t, token).post('/v1/tokens').send(body);
}

/** A refused revocation of the seeded admin: 409 conflict, and the admin token still works afterwards. */
async function expectAdminKept(t: TestApp, res: { status: number; body: unknown }): Promise<void> {
  const use = await withToken(t, t.tokens.admin).get('/v1/tokens');

  expect(res.status).toBe(409);
  expect(errorOf(res).code).toBe('conflict');
  expect(use.status).toBe(200);
}

type RouteKey = 'POST /v1/tokens' | 'GET /v1/tokens' | 'DELETE /v1/tokens/:id' | 'GET /v1/whoami';

/** Every token route × every role, written out as data (the target of POST and DELETE is a runner token). */
const EXPECTED: RoleMatrix<RouteKey, number> = {
  'POST /v1/tokens':       { admin: 201, manager: 201, auditor: 403, runner: 403 },
  'GET /v1/tokens':        { admin: 200, manager: 200, auditor: 200, runner: 403 },
  'DELETE /v1/tokens/:id': { admin: 204, manager: 204, auditor: 403, runner: 403 },
  'GET /v1/whoami':        { admin: 200, manager: 200, auditor: 200, runner: 200 },
};

/** Which role each role may mint and revoke tokens of: caller (rows) × target role (columns). */
const MANAGE_EXPECTED: Record<Role, Record<Role, 'allowed' | 'forbidden'>> = {
  admin:   { admin: 'allowed',   manager: 'allowed',   auditor: 'allowed',   runner: 'allowed' },
  manager: { admin: 'forbidden', manager: 'forbidden', auditor: 'forbidden', runner: 'allowed' },
  auditor: { admin: 'forbidden', manager: 'forbidden', auditor: 'forbidden', runner: 'forbidden' },
  runner:  { admin: 'forbidden', manager: 'forbidden', auditor: 'forbidden', runner: 'forbidden' },
};

describe('token routes × roles', () => {
  it('covers every token route of API_ROUTES when the matrix is read', () => {
    const missing = routesMissingFrom(EXPECTED, [API_ROUTES.tokens, API_ROUTES.token, API_ROUTES.whoami]);

    expect(missing).toEqual([]);
  });

  it.each(matrixCases(EXPECTED))('answers $status to $key when the token is a $role', async ({ key, role, status }) => {
    const t = await buildTestApp();
    const target = await mintAsAdmin(t, 'runner');
    const send = {
      'POST /v1/tokens': () => mint(t, t.tokens[role], buildTokenBody()),
      'GET /v1/tokens': () => withToken(t, t.tokens[role]).get('/v1/tokens'),
      'DELETE /v1/tokens/:id': () => withToken(t, t.tokens[role]).delete(`/v1/tokens/${target.id}`),
      'GET /v1/whoami': () => withToken(t, t.tokens[role]).get('/v1/whoami'),
    }[key];

    const res = await send();

    expect(res.status).toBe(status);
    if (status === 403) expect(errorOf(res).code).toBe('forbidden');
    if (status === 201) CreatedTokenSchema.parse(res.body);
    if (status === 200) (key === 'GET /v1/whoami' ? WhoAmISchema : TokenListSchema).parse(res.body);
  });

  const manageCases = Object.entries(MANAGE_EXPECTED).flatMap(([caller, byTarget]) =>
    Object.entries(byTarget).map(([target, outcome]) => ({ caller: caller as Role, target: target as Role, outcome })),
  );

  it.each(manageCases)('is $outcome to mint a $target token when the caller is a $caller', async ({ caller, target, outcome }) => {
    const t = await buildTestApp();

    const res = await mint(t, t.tokens[caller], buildTokenBody({ role: target }));

    expect(res.status).toBe(outcome === 'allowed' ? 201 : 403);
    if (outcome === 'allowed') expect(CreatedTokenSchema.parse(res.body).role).toBe(target);
    else expect(errorOf(res).code).toBe('forbidden');
  });

  it.each(manageCases)('is $outcome to revoke a $target token when the caller is a $caller', async ({ caller, target, outcome }) => {
    const t = await buildTestApp();
    const victim = await mintAsAdmin(t, target);

    const res = await withToken(t, t.tokens[caller]).delete(`/v1/tokens/${victim.id}`);

    expect(res.status).toBe(outcome === 'allowed' ? 204 : 403);
    expect((await t.services.store.tokens.findById(victim.id))?.revokedAt !== null).toBe(outcome === 'allowed');
  });
});

describe('POST /v1/tokens', () => {
  it('returns the token value once and the value authenticates when a runner token is minted', async () => {
    const t = await buildTestApp();

    const res = await mint(t, t.tokens.admin, buildTokenBody({ name: 'build farm' }));
    const created = CreatedTokenSchema.parse(res.body);
    const use = await withToken(t, created.token).get('/v1/credentials');
    const list = await withToken(t, t.tokens.admin).get('/v1/tokens');

    expect(res.status).toBe(201);
    expect(created).toMatchObject({ name: 'build farm', role: 'runner', hosts: null, expiresAt: null, revokedAt: null });
    expect(created.token.startsWith(`scd_${created.id}_`)).toBe(true);
    expect(use.status).toBe(200);
    expect(list.text).not.toContain(created.token);
  });

  it('stores hosts canonical, sorted and without duplicates when hosts are given in client forms', async () => {
    const t = await buildTestApp();

    const res = await mint(t, t.tokens.admin, buildTokenBody({ hosts: ['quay.io', 'https://GHCR.io/', 'ghcr.io:443'] }));

    expect(res.status).toBe(201);
    expect(CreatedTokenSchema.parse(res.body).hosts).toEqual(['ghcr.io', 'quay.io']);
  });

  it('sets expiresAt from ttlSeconds and the token stops working after it when a TTL is given', async () => {
    const t = await buildTestApp();
    const mintedAt = t.clock.now().getTime();
    const res = await mint(t, t.tokens.admin, buildTokenBody({ ttlSeconds: 120 }));
    const created = CreatedTokenSchema.parse(res.body);

    const before = await withToken(t, created.token).get('/v1/credentials');
    t.clock.advance(120_000);
    const after = await withToken(t, created.token).get('/v1/credentials');

    expect(created.expiresAt).toBe(new Date(mintedAt + 120_000).toISOString());
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
  });

  it('writes a token.create audit row with the role and never the value when a token is minted', async () => {
    const t = await buildTestApp();

    const res = await mint(t, t.tokens.manager, buildTokenBody({ hosts: ['ghcr.io'] }));

    const created = CreatedTokenSchema.parse(res.body);
    const row = (await auditRows(t)).find((r) => r.action === 'token.create' && r.targetId === created.id);
    expect(row).toMatchObject({ outcome: 'ok', tokenId: t.tokenIds.manager, detail: { role: 'runner', hosts: ['ghcr.io'] } });
    expect(JSON.stringify(await auditRows(t))).not.toContain(created.token);
  });

  it.each([
    ['ttlSeconds below one minute', { ttlSeconds: 59 }, 'ttlSeconds'],
    ['ttlSeconds above one year', { ttlSeconds: 366 * 24 * 3600 }, 'ttlSeconds'],
    ['ttlSeconds not an integer', { ttlSeconds: 90.5 }, 'ttlSeconds'],
    ['ttlSeconds as a string', { ttlSeconds: '120' }, 'ttlSeconds'],
    ['an unknown role', { role: 'root' }, 'role'],
    ['an empty host list', { hosts: [] }, 'hosts'],
    ['an invalid host', { hosts: ['ghcr.io', 'not a host'] }, 'hosts.1'],
    ['an empty name', { name: '' }, 'name'],
    ['an unknown field', { scopes: ['all'] }, '(root)'],
  ])('answers 400 at the offending path when the body has %s', async (_label, override, path) => {
    const t = await buildTestApp();
    const before = await t.services.store.tokens.count();

    const res = await mint(t, t.tokens.admin, buildTokenBody(override));

    expect(res.status).toBe(400);
    expect(errorOf(res).issues?.map((issue) => issue.path)).toEqual([path]);
    expect(await t.services.store.tokens.count()).toBe(before);
  });

  it('answers 400 listing name and role when both are missing', async () => {
    const t = await buildTestApp();

    const res = await mint(t, t.tokens.admin, {});

    expect(res.status).toBe(400);
    expect(errorOf(res).issues?.map((issue) => issue.path).sort()).toEqual(['name', 'role']);
  });

  it('answers 403 and audits the denial when a manager mints an admin token', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.manager).post('/v1/tokens').set('X-Request-Id', 'mint-admin').send(buildTokenBody({ role: 'admin' }));

    expect(res.status).toBe(403);
    expect((await auditRows(t)).find((r) => r.requestId === 'mint-admin')).toMatchObject({ action: 'token.create', outcome: 'denied' });
  });

  it('answers 403 when a host-limited manager mints a token that is not limited to its hosts', async () => {
    const t = await buildTestApp();
    const scoped = await mintAsAdmin(t, 'manager', { hosts: ['ghcr.io'] });

    const unlimited = await mint(t, scoped.token, buildTokenBody());
    const wider = await mint(t, scoped.token, buildTokenBody({ hosts: ['ghcr.io', 'quay.io'] }));
    const within = await mint(t, scoped.token, buildTokenBody({ hosts: ['ghcr.io'] }));

    expect(unlimited.status).toBe(403);
    expect(wider.status).toBe(403);
    expect(within.status).toBe(201);
  });
});

describe('GET /v1/tokens', () => {
  it('lists every token without values or hashes when an auditor asks', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.auditor).get('/v1/tokens');

    expect(res.status).toBe(200);
    const list = TokenListSchema.parse(res.body);
    expect(list.tokens.map((token) => token.id).sort()).toEqual(Object.values(t.tokenIds).sort());
    for (const value of Object.values(t.tokens)) expect(res.text).not.toContain(value);
    expect(list.tokens.find((token) => token.id === t.tokenIds.revoked)?.revokedAt).not.toBeNull();
    expect(list.tokens.find((token) => token.id === t.tokenIds.scopedRunner)?.hosts).toEqual(['ghcr.io']);
  });
});

describe('DELETE /v1/tokens/:id', () => {
  it('revokes the token, which then fails to authenticate, and audits it', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.runner}`).set('X-Request-Id', 'revoke-1');
    const use = await withToken(t, t.tokens.runner).get('/v1/credentials');

    expect(res.status).toBe(204);
    expect(use.status).toBe(401);
    expect((await auditRows(t)).find((r) => r.requestId === 'revoke-1')).toMatchObject({
      action: 'token.revoke',
      outcome: 'ok',
      targetId: t.tokenIds.runner,
    });
  });

  it('answers 204 and keeps the first revocation time when the token is already revoked', async () => {
    const t = await buildTestApp();
    const revokedAt = (await t.services.store.tokens.findById(t.tokenIds.revoked))?.revokedAt;
    t.clock.advance(1_000);

    const res = await withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.revoked}`);

    expect(res.status).toBe(204);
    expect((await t.services.store.tokens.findById(t.tokenIds.revoked))?.revokedAt).toBe(revokedAt);
  });

  it('answers 409 and the token keeps working when it is the last active admin token', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.admin}`);

    await expectAdminKept(t, res);
  });

  it('answers 409 when the only other admin token has expired', async () => {
    const t = await buildTestApp();
    await mintAsAdmin(t, 'admin', { ttlSeconds: 60 });
    t.clock.advance(61_000);

    const res = await withToken(t, t.tokens.admin).delete(`/v1/tokens/${t.tokenIds.admin}`);

    expect(res.status).toBe(409);
  });

  it('revokes an admin token when another active admin token remains', async () => {
    const t = await buildTestApp();
    const second = await mintAsAdmin(t, 'admin');

    const res = await withToken(t, second.token).delete(`/v1/tokens/${t.tokenIds.admin}`);

    expect(res.status).toBe(204);
    expect((await t.services.store.tokens.findById(t.tokenIds.admin))?.revokedAt).not.toBeNull();
  });
});

describe('/v1/tokens under a host-limited caller', () => {
  /** A manager and an auditor limited to ghcr.io, and runners of every reach, minted by the seeded admin. */
  async function arrange() {
    const t = await buildTestApp();
    const callers = {
      manager: await mintAsAdmin(t, 'manager', { hosts: ['ghcr.io'] }),
      auditor: await mintAsAdmin(t, 'auditor', { hosts: ['ghcr.io'] }),
    };
    const targets = {
      ghcr: await mintAsAdmin(t, 'runner', { hosts: ['ghcr.io'] }),
      quay: await mintAsAdmin(t, 'runner', { hosts: ['quay.io'] }),
      both: await mintAsAdmin(t, 'runner', { hosts: ['ghcr.io', 'quay.io'] }),
      every: await mintAsAdmin(t, 'runner'),
    };
    return { t, callers, targets };
  }

  it.each(['manager', 'auditor'] as const)('lists only tokens within its hosts when a ghcr.io-limited %s asks', async (role) => {
    const { t, callers, targets } = await arrange();

    const res = await withToken(t, callers[role].token).get('/v1/tokens');

    expect(res.status).toBe(200);
    const ids = TokenListSchema.parse(res.body).tokens.map((token) => token.id);
    expect(ids).toEqual(expect.arrayContaining([callers.manager.id, callers.auditor.id, targets.ghcr.id, t.tokenIds.scopedRunner]));
    for (const hidden of [targets.quay.id, targets.both.id, targets.every.id, t.tokenIds.admin, t.tokenIds.runner]) expect(ids).not.toContain(hidden);
    expect(TokenListSchema.parse(res.body).tokens.every((token) => token.hosts !== null && token.hosts.every((host) => host === 'ghcr.io'))).toBe(true);
  });

  it('lists every token when an unlimited caller asks', async () => {
    const { t, targets } = await arrange();

    const res = await withToken(t, t.tokens.manager).get('/v1/tokens');

    expect(TokenListSchema.parse(res.body).tokens.map((token) => token.id)).toEqual(expect.arrayContaining(Object.values(targets).map((target) => target.id)));
  });

  // Outside its hosts a token is not found, as in the listing and as lookups answer: 404, never 403.
  it.each([
    ['ghcr', 204],
    ['quay', 404],
    ['both', 404],
    ['every', 404],
  ] as const)('answers a ghcr.io-limited manager revoking the %s runner with %i', async (target, status) => {
    const { t, callers, targets } = await arrange();

    const res = await withToken(t, callers.manager.token).delete(`/v1/tokens/${targets[target].id}`);

    expect(res.status).toBe(status);
    const revoked = (await t.services.store.tokens.findById(targets[target].id))!.revokedAt !== null;
    expect(revoked).toBe(status === 204);
    if (status === 404) expect(errorOf(res).code).toBe('not_found');
  });
});

describe('POST /v1/tokens: a child never reaches further or lives longer than its parent', () => {
  const HOUR = 3600;

  it('gives a child without ttlSeconds its parent\'s expiry', async () => {
    const t = await buildTestApp();
    const manager = await mintAsAdmin(t, 'manager', { ttlSeconds: HOUR });

    const res = await mint(t, manager.token, buildTokenBody({ role: 'runner' }));

    expect(res.status).toBe(201);
    expect(CreatedTokenSchema.parse(res.body).expiresAt).toBe(manager.expiresAt);
  });

  it.each([
    ['ends before the parent', HOUR / 2, 201],
    ['ends with the parent', HOUR, 201],
    ['ends after the parent', HOUR + 60, 403],
    ['ends a year later', 365 * 24 * HOUR, 403],
  ] as const)('answers a child whose ttlSeconds %s (%i s) with %i', async (_label, ttlSeconds, status) => {
    const t = await buildTestApp();
    const manager = await mintAsAdmin(t, 'manager', { ttlSeconds: HOUR });

    const res = await mint(t, manager.token, buildTokenBody({ role: 'runner', ttlSeconds }));

    expect(res.status).toBe(status);
    if (status === 403) expect(errorOf(res).code).toBe('forbidden');
    else expect(CreatedTokenSchema.parse(res.body).expiresAt! <= manager.expiresAt!).toBe(true);
  });

  it('stops the child when its parent has expired', async () => {
    const t = await buildTestApp();
    const manager = await mintAsAdmin(t, 'manager', { ttlSeconds: 60 });
    const child = CreatedTokenSchema.parse((await mint(t, manager.token, buildTokenBody({ role: 'runner' }))).body);
    t.clock.advance(61_000);

    const res = await withToken(t, child.token).get('/v1/credentials');

    expect(res.status).toBe(401);
  });

  it('refuses a non-expiring admin minted by an expiring admin, and audits the denial', async () => {
    const t = await buildTestApp();
    const temporary = await mintAsAdmin(t, 'admin', { ttlSeconds: HOUR });

    const res = await mint(t, temporary.token, buildTokenBody({ role: 'admin', ttlSeconds: 2 * HOUR }));

    expect(res.status).toBe(403);
    expect((await auditRows(t)).at(-1)).toMatchObject({ action: 'token.create', outcome: 'denied', tokenId: temporary.id, detail: { reason: 'expiry' } });
  });

  it.each([
    ['no host list', undefined, 403],
    ['a host outside its own', ['quay.io'], 403],
    ['its own and another host', ['ghcr.io', 'quay.io'], 403],
    ['its own host', ['ghcr.io'], 201],
  ] as const)('answers a ghcr.io-limited manager minting a runner with %s with %i', async (_label, hosts, status) => {
    const t = await buildTestApp();
    const manager = await mintAsAdmin(t, 'manager', { hosts: ['ghcr.io'] });

    const res = await mint(t, manager.token, buildTokenBody({ role: 'runner', ...(hosts ? { hosts } : {}) }));

    expect(res.status).toBe(status);
  });
});

describe('DELETE /v1/tokens/:id: the longest-lived admin token stays', () => {
  it('answers 409 and the permanent admin keeps working when a temporary admin revokes it', async () => {
    const t = await buildTestApp();
    const temporary = await mintAsAdmin(t, 'admin', { ttlSeconds: 3600 });

    const res = await withToken(t, temporary.token).delete(`/v1/tokens/${t.tokenIds.admin}`);
    t.clock.advance(3601_000);

    await expectAdminKept(t, res);
  });

  it('revokes a temporary admin when a permanent one remains', async () => {
    const t = await buildTestApp();
    const temporary = await mintAsAdmin(t, 'admin', { ttlSeconds: 3600 });

    const res = await withToken(t, t.tokens.admin).delete(`/v1/tokens/${temporary.id}`);

    expect(res.status).toBe(204);
  });

  it('revokes a permanent admin when another permanent admin remains, whoever asks', async () => {
    const t = await buildTestApp();
    await mintAsAdmin(t, 'admin');
    const temporary = await mintAsAdmin(t, 'admin', { ttlSeconds: 3600 });

    const res = await withToken(t, temporary.token).delete(`/v1/tokens/${t.tokenIds.admin}`);

    expect(res.status).toBe(204);
  });

  it('keeps the longest-lived of expiring admin tokens when no permanent one is left', async () => {
    const t = await buildTestApp();
    const short = await mintAsAdmin(t, 'admin', { ttlSeconds: 3600 });
    const long = await mintAsAdmin(t, 'admin', { ttlSeconds: 7200 });
    // A store whose permanent admin was revoked before this guard existed.
    await t.services.store.tokens.revoke(t.tokenIds.admin, t.clock.now().toISOString());

    const longGone = await withToken(t, short.token).delete(`/v1/tokens/${long.id}`);
    const shortGone = await withToken(t, long.token).delete(`/v1/tokens/${short.id}`);

    expect(longGone.status).toBe(409);
    expect(shortGone.status).toBe(204);
  });
});

describe('GET /v1/whoami', () => {
  it.each<SeededTokenName>(['admin', 'manager', 'auditor', 'runner', 'scopedRunner'])('describes the calling %s token, never its value', async (name) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens[name]).get('/v1/whoami');

    expect(res.status).toBe(200);
    const row = (await t.services.store.tokens.findById(t.tokenIds[name]))!;
    expect(WhoAmISchema.parse(res.body)).toEqual({ id: row.id, name: row.name, role: row.role, hosts: row.hosts, expiresAt: row.expiresAt });
    expect(res.text).not.toContain(t.tokens[name].slice(-16));
  });

  it('gives the hosts of a host-limited token and the expiry of an expiring one', async () => {
    const t = await buildTestApp();
    const limited = await mintAsAdmin(t, 'runner', { hosts: [SCOPED_HOST], ttlSeconds: 3600 });

    const res = await withToken(t, limited.token).get('/v1/whoami');

    expect(res.body).toMatchObject({ id: limited.id, role: 'runner', hosts: [SCOPED_HOST], expiresAt: limited.expiresAt });
    expect(limited.expiresAt).not.toBeNull();
  });

  it.each<SeededTokenName>(['expired', 'revoked'])('answers 401 to a %s token', async (name) => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens[name]).get('/v1/whoami');

    expect(res.status).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });

  it('answers 405 to other methods', async () => {
    const t = await buildTestApp();

    const res = await withToken(t, t.tokens.admin).delete('/v1/whoami');

    expect(res.status).toBe(405);
  });
});
