/**
 * POST /v1/integrations/:id/test against real registries: Debian's docker-registry (distribution
 * 2.8) with bcrypt htpasswd, with token auth (the test token server), and over TLS with the
 * integration's caCert. The daemon is a real `scalr-credd serve` process.
 */
import { IntegrationSummarySchema, IntegrationTestReportSchema, type IntegrationTestReport } from '@dcs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../support/ops-http.js';
import { makeTempDir, startDaemon, type RunningDaemon } from '../support/processes.js';
import { makeCertificate, startRegistry, startTokenServer, type RunningRegistry } from '../support/registry.js';
import { requireTool } from '../support/tools.js';

const ready = requireTool('docker-registry', 'htpasswd', 'openssl');

const USER = 'testuser';
const PASS = 'testpass';

describe.skipIf(!ready)('credential test against a real registry', () => {
  let daemon: RunningDaemon;
  let token: string;
  let basicRegistry: RunningRegistry;
  let tokenRegistry: RunningRegistry;
  let tlsRegistry: RunningRegistry;
  let tlsCaPem: string;

  beforeAll(async () => {
    const dir = makeTempDir('scalr-registries-');
    basicRegistry = await startRegistry(`${dir}/basic`, { kind: 'htpasswd', user: USER, pass: PASS });

    const signer = makeCertificate(dir, 'token-signer', '/CN=test-token-issuer');
    const tokenServer = await startTokenServer(signer, { issuer: 'test-issuer', service: 'test-registry', user: USER, pass: PASS });
    tokenRegistry = await startRegistry(`${dir}/token`, {
      kind: 'token',
      realm: tokenServer.realm,
      service: 'test-registry',
      issuer: 'test-issuer',
      rootCertPath: signer.certPath,
    });

    const tls = makeCertificate(dir, 'registry-tls');
    tlsCaPem = tls.pem;
    tlsRegistry = await startRegistry(`${dir}/tls`, { kind: 'htpasswd', user: USER, pass: PASS }, tls);

    daemon = await startDaemon();
    token = daemon.adminToken!;
  });

  afterAll(async () => {
    await daemon?.stop();
  });

  async function create(host: string, secret: string, extra: object = {}): Promise<string> {
    const res = await callDaemon(daemon.url, 'POST', '/v1/integrations', { token, body: { host, username: USER, secret, ...extra } });
    expect(res.status, res.text).toBe(201);
    return IntegrationSummarySchema.parse(res.body).id;
  }

  async function setSecret(id: string, secret: string): Promise<void> {
    const res = await callDaemon(daemon.url, 'PATCH', `/v1/integrations/${id}`, { token, body: { secret } });
    expect(res.status, res.text).toBe(200);
  }

  async function runTest(id: string): Promise<IntegrationTestReport> {
    const res = await callDaemon(daemon.url, 'POST', `/v1/integrations/${id}/test`, { token });
    expect(res.status, res.text).toBe(200);
    return IntegrationTestReportSchema.parse(res.body);
  }

  it('answers ok for the right password and unauthorized for a wrong one (htpasswd)', async () => {
    const id = await create(basicRegistry.host, PASS);

    const right = await runTest(id);
    await setSecret(id, 'wrong-password');
    const wrong = await runTest(id);

    expect(right).toMatchObject({ result: 'ok', host: basicRegistry.host });
    expect(right.detail).toContain('basic auth');
    expect(wrong.result).toBe('unauthorized');
  });

  it('answers ok for the right password and unauthorized for a wrong one (token auth)', async () => {
    const id = await create(tokenRegistry.host, PASS);

    const right = await runTest(id);
    await setSecret(id, 'wrong-password');
    const wrong = await runTest(id);

    expect(right.result).toBe('ok');
    expect(right.detail).toContain('token');
    expect(wrong).toMatchObject({ result: 'unauthorized', detail: expect.stringContaining('token endpoint rejected') });
  });

  it('verifies a TLS registry with the integration caCert', async () => {
    const id = await create(tlsRegistry.host, PASS, { caCert: tlsCaPem });

    const right = await runTest(id);
    await setSecret(id, 'wrong-password');
    const wrong = await runTest(id);

    expect(right.result).toBe('ok');
    expect(wrong.result).toBe('unauthorized');
  });

  it('records the outcome on the integration and in the audit log without the secret', async () => {
    const secret = 'audit-visible-nowhere-9c1f';
    const id = await create(`localhost:${basicRegistry.port}`, secret);

    const report = await runTest(id);
    const shown = IntegrationSummarySchema.parse((await callDaemon(daemon.url, 'GET', `/v1/integrations/${id}`, { token })).body);
    const audit = await callDaemon(daemon.url, 'GET', `/v1/audit?action=integration.test&host=localhost:${basicRegistry.port}`, { token });

    expect(report.result).toBe('unauthorized');
    expect(shown).toMatchObject({ lastTestResult: 'unauthorized', lastTestedAt: report.testedAt });
    expect(audit.status).toBe(200);
    expect(audit.body).toMatchObject({ events: [{ action: 'integration.test', targetId: id, detail: { result: 'unauthorized' } }] });
    expect(audit.text).not.toContain(secret);
    expect(daemon.output().includes(secret)).toBe(false);
  });

  it('answers unreachable once the registry is stopped', async () => {
    const id = await create(`127.0.0.1:${tlsRegistry.port}`, PASS);
    await tlsRegistry.stop();

    const report = await runTest(id);

    expect(report.result).toBe('unreachable');
  });
});
