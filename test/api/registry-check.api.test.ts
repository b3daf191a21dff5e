import { execFileSync } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorBodySchema, IntegrationSummarySchema, IntegrationTestReportSchema, type Role } from '@dcs/shared';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRegistryProbe } from '../../daemon/src/registry/registry-probe.js';
import { distinctiveSecret, SECRET_MARKER, type IntegrationBodyInput } from '../support/factories.js';
import { startFakeRegistry, type FakeRegistryMode } from '../support/fake-registry.js';
import { loopbackServers } from '../support/loopback-server.js';
import { buildTestApp, seedIntegration, type TestApp, withToken } from '../support/test-app.js';
import { requireTool } from '../support/tools.js';

/** The test app with the real node:http(s) registry probe. */
function buildProbingApp(): Promise<TestApp> {
  return buildTestApp({ probe: createRegistryProbe() });
}

/** A fake registry in `mode`, the probing app, and an integration for the registry's host (`fields` add its credential or CA). */
async function registryUnderTest(mode: FakeRegistryMode, fields: IntegrationBodyInput = {}, tls?: { key: string; cert: string }) {
  const registry = await startFakeRegistry(mode, tls);
  const ops = await buildProbingApp();
  const integration = await seedIntegration(ops, { host: registry.host, ...fields });
  return { registry, ops, integration };
}

/** A bearer registry that accepts bob:p (`mode` changes its realm or token handling), with an integration holding that credential. */
function bobsRegistry(mode: { realm?: string; rejectToken?: boolean } = {}) {
  return registryUnderTest({ kind: 'bearer', user: 'bob', pass: 'p', ...mode }, { username: 'bob', secret: 'p' });
}

/** A loopback server that records what reaches it (the headers) and answers `status` with `headers`. */
const recorders = loopbackServers();
afterEach(() => recorders.closeAll());
async function startRecorder(status = 200, headers: Record<string, string> = {}): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = await recorders.listen((req, res) => (seen.push(req.headers), res.writeHead(status, headers).end('{"token":"stolen"}')));
  return { url: server.origin, seen };
}

function testIntegration(ops: TestApp, id: string, role: Role = 'admin') {
  return withToken(ops, ops.tokens[role]).post(`/v1/integrations/${id}/test`);
}

async function check(ops: TestApp, id: string) {
  const res = await testIntegration(ops, id);
  expect(res.status).toBe(200);
  return IntegrationTestReportSchema.parse(res.body);
}

describe('POST /v1/integrations/:id/test', () => {
  it.each([
    ['admin', 200],
    ['manager', 200],
    ['auditor', 403],
    ['runner', 403],
  ] as const)('answers %s with %i', async (role, status) => {
    const { registry, ops, integration } = await registryUnderTest({ kind: 'open' });

    const res = await testIntegration(ops, integration.id, role);

    expect(res.status).toBe(status);
    if (status === 403) expect(registry.seen).toEqual([]);
  });

  it('answers 403, not 404, to an auditor for an unknown id, so ids cannot be probed', async () => {
    const ops = await buildProbingApp();

    const res = await testIntegration(ops, 'int_0123456789abcdef', 'auditor');

    expect(res.status).toBe(403);
  });

  it('answers 404 for an unknown integration and 401 without a token', async () => {
    const ops = await buildProbingApp();

    const unknown = await testIntegration(ops, 'int_0123456789abcdef');
    const anonymous = await request(ops.app).post('/v1/integrations/int_0123456789abcdef/test');

    expect(unknown.status).toBe(404);
    expect(ErrorBodySchema.parse(unknown.body).error.code).toBe('not_found');
    expect(anonymous.status).toBe(401);
  });

  it('answers ok for the right password and unauthorized for a wrong one (basic auth)', async () => {
    const registry = await startFakeRegistry({ kind: 'basic', user: 'alice', pass: 'right-pass' });
    const ops = await buildProbingApp();
    const good = await seedIntegration(ops, { host: registry.host, username: 'alice', secret: 'right-pass' });

    const ok = await check(ops, good.id);
    await ops.services.integrations.update({ principal: await ops.services.tokens.authenticate(ops.tokens.admin), requestId: 'arrange' }, good.id, {
      secret: 'wrong-pass',
    });
    const bad = await check(ops, good.id);

    expect(ok).toMatchObject({ id: good.id, host: registry.host, result: 'ok' });
    expect(bad.result).toBe('unauthorized');
    expect(registry.seen[0]!.authorization).toBeUndefined();
  });

  it('follows the bearer token flow: realm with service and account, then /v2/ with the token', async () => {
    const { registry, ops, integration } = await registryUnderTest({ kind: 'bearer', user: 'bob', pass: 'token-pass' }, { username: 'bob', secret: 'token-pass' });

    const report = await check(ops, integration.id);

    expect(report.result).toBe('ok');
    const tokenRequest = registry.seen.find((seen) => seen.url.startsWith('/token'))!;
    const query = new URL(tokenRequest.url, 'http://x').searchParams;
    expect([query.get('service'), query.get('account')]).toEqual(['fake-service', 'bob']);
    expect(registry.seen.at(-1)!.authorization).toBe('Bearer fake-registry-issued-token');
  });

  it('answers unauthorized when the token endpoint rejects the credential', async () => {
    const { ops, integration } = await registryUnderTest({ kind: 'bearer', user: 'bob', pass: 'token-pass' }, { username: 'bob', secret: 'not-the-pass' });

    const report = await check(ops, integration.id);

    expect(report.result).toBe('unauthorized');
    expect(report.detail).toContain('token endpoint');
  });

  it('answers unauthorized when the registry rejects the issued token', async () => {
    const { ops, integration } = await bobsRegistry({ rejectToken: true });

    expect((await check(ops, integration.id)).result).toBe('unauthorized');
  });

  it('uses the OAuth2 refresh-token post for an identity token (username <token>)', async () => {
    const { registry, ops, integration } = await registryUnderTest(
      { kind: 'bearer', user: 'x', pass: 'y', refreshToken: 'identity-token-value' },
      { username: '<token>', secret: 'identity-token-value' },
    );

    const report = await check(ops, integration.id);

    expect(report.result).toBe('ok');
    expect(registry.seen.find((seen) => seen.url.startsWith('/token'))!.method).toBe('POST');
  });

  it('does not send the credential to a plain-HTTP realm on another host', async () => {
    const { registry, ops, integration } = await bobsRegistry({ realm: 'http://auth.registry.invalid/token' });

    const report = await check(ops, integration.id);

    expect(report.result).toBe('error');
    expect(report.detail).toContain('not HTTPS');
    expect(registry.seen.every((seen) => seen.authorization === undefined)).toBe(true);
  });

  it('does not send the credential to a realm on a link-local (metadata) address', async () => {
    const registry = await startFakeRegistry({ kind: 'bearer', user: 'bob', pass: 'p', realm: 'https://169.254.169.254/latest/token' });
    const ops = await buildTestApp({ probe: createRegistryProbe({ timeoutMs: 500 }) });
    const integration = await seedIntegration(ops, { host: registry.host, username: 'bob', secret: 'p' });

    const report = await check(ops, integration.id);

    expect(report).toMatchObject({ result: 'error', detail: expect.stringContaining('internal address (169.254.169.254)') });
  });

  it('does not follow a redirect from the realm, so the credential never reaches the redirect target', async () => {
    const target = await startRecorder();
    const realm = await startRecorder(302, { location: `${target.url}/steal` });
    const { ops, integration } = await bobsRegistry({ realm: `${realm.url}/token` });

    const report = await check(ops, integration.id);

    expect(report).toMatchObject({ result: 'error', detail: 'token endpoint answered HTTP 302' });
    expect(realm.seen).toHaveLength(1);
    expect(target.seen).toEqual([]);
  });

  it.each([
    ['an unexpected status', { kind: 'status', status: 500 } as const, 'error'],
    ['no challenge on 401', { kind: 'status', status: 401 } as const, 'error'],
    ['no auth at all', { kind: 'open' } as const, 'ok'],
  ])('answers %s as %s', async (_name, mode, result) => {
    const { ops, integration } = await registryUnderTest(mode);

    expect((await check(ops, integration.id)).result).toBe(result);
  });

  it('answers unreachable when nothing listens on the port', async () => {
    const registry = await startFakeRegistry({ kind: 'open' });
    const host = registry.host;
    await registry.close();
    const ops = await buildProbingApp();
    const integration = await seedIntegration(ops, { host });

    const report = await check(ops, integration.id);

    expect(report.result).toBe('unreachable');
    expect(report.detail).toContain('connection refused');
  });

  it('answers unreachable when the registry never answers within the deadline', async () => {
    const registry = await startFakeRegistry({ kind: 'hang' });
    const ops = await buildTestApp({ probe: createRegistryProbe({ timeoutMs: 200 }) });
    const integration = await seedIntegration(ops, { host: registry.host });

    const report = await check(ops, integration.id);

    expect(report.result).toBe('unreachable');
    expect(report.detail).toContain('no answer within');
  });

  it('records the result on the integration and in the audit log, never the secret', async () => {
    const registry = await startFakeRegistry({ kind: 'basic', user: 'carol', pass: 'nope' });
    const ops = await buildProbingApp();
    const secret = distinctiveSecret();
    const integration = await seedIntegration(ops, { host: registry.host, username: 'carol', secret });

    const res = await testIntegration(ops, integration.id, 'manager');
    const shown = await withToken(ops, ops.tokens.auditor).get(`/v1/integrations/${integration.id}`);
    const audit = await ops.services.audit.list({ action: 'integration.test', limit: 10 });

    const summary = IntegrationSummarySchema.parse(shown.body);
    expect(summary).toMatchObject({ lastTestResult: 'unauthorized', lastTestedAt: res.body.testedAt, lastTestDetail: res.body.detail });
    expect(audit).toEqual([
      expect.objectContaining({ host: registry.host, targetId: integration.id, tokenId: ops.tokenIds.manager, outcome: 'ok', detail: { result: 'unauthorized' } }),
    ]);
    for (const text of [res.text, shown.text, JSON.stringify(audit), ops.logs.join('\n')]) expect(text).not.toContain(SECRET_MARKER);
  });

  it('clears the last result when the secret changes', async () => {
    const { ops, integration } = await registryUnderTest({ kind: 'open' });
    await check(ops, integration.id);

    const res = await withToken(ops, ops.tokens.admin).patch(`/v1/integrations/${integration.id}`).send({ secret: 'rotated' });

    expect(IntegrationSummarySchema.parse(res.body)).toMatchObject({ lastTestResult: null, lastTestedAt: null, lastTestDetail: null });
  });
});

const hasOpenssl = requireTool('openssl');

describe.skipIf(!hasOpenssl)('POST /v1/integrations/:id/test over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function makeCert(name: string): { key: string; cert: string } {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
  }

  it('does not send the credential to a plain-HTTP realm of an HTTPS registry, even on the same loopback host', async () => {
    const tls = makeCert('realm-downgrade');
    const thief = await startRecorder();
    const { ops, integration } = await registryUnderTest(
      { kind: 'bearer', user: 'dave', pass: 'tls-pass', realm: `${thief.url}/token` },
      { username: 'dave', secret: 'tls-pass', caCert: tls.cert },
      tls,
    );

    const report = await check(ops, integration.id);

    expect(report).toMatchObject({ result: 'error', detail: expect.stringContaining('not HTTPS though the registry is') });
    expect(thief.seen).toEqual([]);
  });

  it('verifies the registry with the integration caCert and uses https for it', async () => {
    const tls = makeCert('registry');
    const { ops, integration } = await registryUnderTest({ kind: 'basic', user: 'dave', pass: 'tls-pass' }, { username: 'dave', secret: 'tls-pass', caCert: tls.cert }, tls);

    expect((await check(ops, integration.id)).result).toBe('ok');
  });

  it('refuses a certificate the caCert does not vouch for', async () => {
    const tls = makeCert('server');
    const other = makeCert('other');
    const { registry, ops, integration } = await registryUnderTest({ kind: 'basic', user: 'dave', pass: 'tls-pass' }, { username: 'dave', secret: 'tls-pass', caCert: other.cert }, tls);

    const report = await check(ops, integration.id);

    expect(report.result).toBe('error');
    expect(report.detail).toContain('not trusted');
    expect(registry.seen).toEqual([]);
  });
});
