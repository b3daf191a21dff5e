/**
 * Cloud provider integrations end to end: a real scalr-credd process mints registry credentials from
 * an aws-ecr, an azure-acr and a google identity against the strict cloud fakes (started here on
 * 127.0.0.1, reached through the daemon's endpoint overrides), and real clients pull through
 * docker-credential-scalr from Debian's docker-registry configured to accept exactly what is minted:
 * - ECR and Google: htpasswd registries whose only users are `AWS` and `oauth2accesstoken` with the
 *   password the fake mints;
 * - ACR: a token-auth registry behind the fake ACR host (which answers `/oauth2/exchange` and passes
 *   everything else to the registry); the token server accepts the all-zero username with the
 *   refresh token the fake mints.
 * The integrations' hosts are the loopback registries: ECR's region is given explicitly, Google's key
 * names its token_uri, ACR's exchange goes to the registry host itself as on Azure.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AuditEvent } from '@dcs/shared';
import { requestJson, type JsonResponse } from '@dcs/shared/http-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/cloud-fakes/aws-fake.js';
import { startFakeAzure, type FakeAzure } from '../support/cloud-fakes/azure-fake.js';
import type { FakeFailure } from '../support/cloud-fakes/fake-http.js';
import { generateServiceAccount, startFakeGoogle, type FakeGoogle, type TestServiceAccount } from '../support/cloud-fakes/google-fake.js';
import { REPO_ROOT, makePrivateDir, makeTempDir, runCli, runProcess, startDaemon, type ProcessResult, type RunningDaemon } from '../support/processes.js';
import { makeCertificate, startRegistry, startTokenServer, type RunningRegistry } from '../support/registry.js';
import { findTool, requireTool } from '../support/tools.js';

const HELPER_NAME = 'docker-credential-scalr';
const BINARY = join(REPO_ROOT, 'dist', `${HELPER_NAME}-linux-${process.arch}`);
const BUNDLE = join(REPO_ROOT, 'helper', 'dist', `${HELPER_NAME}.cjs`);
const MK_OCI_IMAGE = join(REPO_ROOT, 'test', 'support', 'oci', 'mk-oci-image.sh');
const IN_CI = process.env['CI'] === 'true';

const toolsPresent = requireTool('docker-registry', 'htpasswd', 'skopeo', 'openssl', 'bash');
const dockerMissing = findTool('docker') === undefined;

const ACCESS_KEY_ID = 'AKIAE2ECLOUDEXAMPLE1';
const SECRET_ACCESS_KEY = `e2e/${randomBytes(24).toString('base64')}`;
const AZURE = { tenantId: 'e2e-tenant.onmicrosoft.com', clientId: '0f0f0f0f-1111-2222-3333-444444444444', clientSecret: `azs~${randomBytes(18).toString('hex')}` };
const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';
/** An ECR host no registry serves: a helper `get` for it only mints (the failure cases use it). */
const ECR_ONLY_HOST = '210987654321.dkr.ecr.eu-west-1.amazonaws.com';

const describeOutput = (result: ProcessResult) => `exit ${result.code ?? result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!toolsPresent)('cloud provider integrations: real clients pull through the helper with minted credentials', () => {
  // What the fakes mint, and so what the registries accept.
  const ecrPassword = `ecr-${randomBytes(24).toString('base64url')}`;
  const googleToken = `ya29.${randomBytes(24).toString('base64url')}`;
  const acrRefreshToken = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3 * 3600 })).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

  let aws: FakeAws;
  let azure: FakeAzure;
  let google: FakeGoogle;
  let account: TestServiceAccount;
  let ecrRegistry: RunningRegistry;
  let googleRegistry: RunningRegistry;
  let acrRegistry: RunningRegistry;
  let daemon: RunningDaemon;
  let adminToken: string;
  let runner: { id: string; token: string };
  let runnerTokenFile: string;
  let binDir: string;
  let work: string;
  let policyFile: string;
  let hosts: { ecr: string; acr: string; google: string };
  let imageDigest: string;
  const clientRoots: string[] = [];

  const api = (method: 'GET' | 'POST', path: string, body?: unknown, token = adminToken): Promise<JsonResponse> =>
    requestJson({ url: daemon.socketUrl!, method, path, token, timeoutMs: 10_000, ...(body === undefined ? {} : { body }) });

  async function lookups(): Promise<AuditEvent[]> {
    const page = await api('GET', `/v1/audit?action=credential.get&token=${runner.id}&limit=500`);
    expect(page.status).toBe(200);
    return (page.body as { events: AuditEvent[] }).events;
  }

  /** Client dirs whose only config sends the three registry hosts (and the ECR-only host) to the helper. */
  function clientEnv(label: string): Record<string, string | undefined> {
    const root = makeTempDir(`scalr-e2e-cloud-${label}-`);
    clientRoots.push(root);
    const dockerConfig = makePrivateDir(join(root, 'docker'));
    const configFile = join(dockerConfig, 'config.json');
    const credHelpers = Object.fromEntries([...Object.values(hosts), ECR_ONLY_HOST].map((host) => [host, 'scalr']));
    writeFileSync(configFile, `${JSON.stringify({ credHelpers })}\n`, { mode: 0o600 });
    const path = [binDir, ...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir && !existsSync(join(dir, HELPER_NAME)))];
    return {
      PATH: path.join(delimiter),
      HOME: makePrivateDir(join(root, 'home')),
      XDG_RUNTIME_DIR: makePrivateDir(join(root, 'xdg-runtime')),
      XDG_CONFIG_HOME: makePrivateDir(join(root, 'xdg-config')),
      DOCKER_CONFIG: dockerConfig,
      REGISTRY_AUTH_FILE: configFile,
      SCALR_CREDD_URL: daemon.socketUrl!,
      SCALR_CREDD_TOKEN_FILE: runnerTokenFile,
    };
  }

  const skopeo = (env: Record<string, string | undefined>, args: string[]) => runProcess('skopeo', ['--policy', policyFile, ...args], { env, cwd: work, timeoutMs: 30_000 });
  const helperGet = (env: Record<string, string | undefined>, serverUrl: string) => runProcess(HELPER_NAME, ['get'], { env, cwd: work, stdin: serverUrl, timeoutMs: 30_000 });

  beforeAll(async () => {
    binDir = makeTempDir('scalr-e2e-cloud-bin-');
    if (existsSync(BINARY)) {
      symlinkSync(BINARY, join(binDir, HELPER_NAME));
    } else {
      if (IN_CI) throw new Error(`${BINARY} is missing; CI=true requires the packaged binary`);
      console.warn(`WARNING: ${BINARY} is missing; running the bundled script ${BUNDLE} instead`);
      writeFileSync(join(binDir, HELPER_NAME), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(BUNDLE)} "$@"\n`, { mode: 0o755 });
    }
    work = makeTempDir('scalr-e2e-cloud-work-');
    policyFile = join(work, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

    // The ACR registry: token auth, its token server accepting the refresh token the fake will mint.
    const tokenDir = makeTempDir('scalr-e2e-cloud-token-');
    const signing = makeCertificate(tokenDir, 'token-signing', '/CN=e2e token issuer');
    const tokenServer = await startTokenServer(signing, { issuer: 'e2e-issuer', service: 'e2e-acr', user: ACR_USERNAME, pass: acrRefreshToken });
    [ecrRegistry, googleRegistry, acrRegistry] = await Promise.all([
      startRegistry(join(makeTempDir('scalr-e2e-cloud-ecr-'), 'registry'), { kind: 'htpasswd', user: 'AWS', pass: ecrPassword }),
      startRegistry(join(makeTempDir('scalr-e2e-cloud-gcp-'), 'registry'), { kind: 'htpasswd', user: 'oauth2accesstoken', pass: googleToken }),
      startRegistry(join(makeTempDir('scalr-e2e-cloud-acr-'), 'registry'), {
        kind: 'token',
        realm: tokenServer.realm,
        service: 'e2e-acr',
        issuer: 'e2e-issuer',
        rootCertPath: signing.certPath,
      }),
    ]);

    account = generateServiceAccount('e2e-puller@project-1.iam.gserviceaccount.com');
    [aws, azure, google] = await Promise.all([
      startFakeAws({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: 'eu-west-1', password: ecrPassword }),
      startFakeAzure({ ...AZURE, refreshToken: acrRefreshToken, registryUpstream: new URL(`http://${acrRegistry.host}/`) }),
      startFakeGoogle({ account, accessToken: googleToken }),
    ]);
    hosts = { ecr: ecrRegistry.host, acr: azure.registryHost, google: googleRegistry.host };

    daemon = await startDaemon({
      env: { AWS_ENDPOINT_URL: aws.url.href, AZURE_AUTHORITY_HOST: azure.authority.href, SCALR_CREDD_OUTBOUND_TIMEOUT_MS: '1000' },
    });
    adminToken = daemon.adminToken!;

    // As an operator would: identities on stdin or from a key file, never in an argument.
    const adminEnv = { SCALR_CREDD_URL: daemon.socketUrl!, SCALR_CREDD_TOKEN: adminToken };
    const keyFile = join(makeTempDir('scalr-e2e-cloud-key-'), 'key.json');
    writeFileSync(keyFile, account.keyJson(google.tokenUri), { mode: 0o600 });
    const awsIdentity = JSON.stringify({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: 'eu-west-1' });
    for (const [args, stdin] of [
      [['--provider', 'aws-ecr', '--host', hosts.ecr], awsIdentity],
      [['--provider', 'aws-ecr', '--host', ECR_ONLY_HOST], awsIdentity],
      [['--provider', 'azure-acr', '--host', hosts.acr], JSON.stringify(AZURE)],
      [['--provider', 'google', '--host', hosts.google, '--identity-file', keyFile], ''],
    ] as const) {
      const added = await runCli(['integration', 'add', ...args], { env: adminEnv, stdin });
      expect(added.code, describeOutput(added)).toBe(0);
      expect(added.stdout).not.toContain(SECRET_ACCESS_KEY);
    }
    const minted = await runCli(['token', 'create', '--name', 'cloud-runner', '--role', 'runner', '--ttl', '1h', '--json'], { env: adminEnv });
    expect(minted.code, describeOutput(minted)).toBe(0);
    runner = JSON.parse(minted.stdout) as { id: string; token: string };
    runnerTokenFile = join(makeTempDir('scalr-e2e-cloud-tokens-'), 'runner.token');
    writeFileSync(runnerTokenFile, `${runner.token}\n`, { mode: 0o600 });

    const made = await runProcess('bash', [MK_OCI_IMAGE, join(work, 'image'), 'v1'], { cwd: work });
    expect(made.code, describeOutput(made)).toBe(0);
    imageDigest = made.stdout.trim().split('\n').at(-1)!;
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
  });

  it.each(['ecr', 'acr', 'google'] as const)('skopeo copies to and inspects the %s registry with credentials only the helper mints', async (kind) => {
    const env = clientEnv(`skopeo-${kind}`);
    const ref = `docker://${hosts[kind]}/team/hello:v1`;
    const push = await skopeo(env, ['copy', '--dest-tls-verify=false', `oci:${join(work, 'image')}:v1`, ref]);
    expect(push.code, describeOutput(push)).toBe(0);
    const raw = await skopeo(env, ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(raw.code, describeOutput(raw)).toBe(0);
    expect(sha256(Buffer.from(raw.stdout, 'utf8'))).toBe(imageDigest);
    const pulled = await skopeo(env, ['copy', '--src-tls-verify=false', ref, `oci:${join(work, `pulled-${kind}`)}:v1`]);
    expect(pulled.code, describeOutput(pulled)).toBe(0);
    const mine = (await lookups()).filter((event) => event.host === hosts[kind]);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    const provider = { ecr: 'aws-ecr', acr: 'azure-acr', google: 'google' }[kind];
    expect(mine.every((event) => event.outcome === 'ok' && (event.detail as { provider?: string }).provider === provider)).toBe(true);
  });

  it('mints once per integration: every later get within the lifetime is served from memory', () => {
    expect(aws.calls.ecr).toBe(1);
    expect(azure.calls).toEqual({ token: 1, exchange: 1 });
    expect(google.calls.token).toBe(1);
    expect([...aws.rejections, ...azure.rejections, ...google.rejections]).toEqual([]);
  });

  it.skipIf(dockerMissing && !IN_CI)('the docker CLI reads manifests from all three registries through the helper', async () => {
    requireTool('docker');
    const env = clientEnv('docker');
    for (const kind of ['ecr', 'acr', 'google'] as const) {
      const result = await runProcess('docker', ['manifest', 'inspect', '--insecure', `${hosts[kind]}/team/hello:v1`], { env, cwd: work, timeoutMs: 30_000 });
      expect(result.code, `${kind}: ${describeOutput(result)}`).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    }
  });

  const FAILURES: Array<[FakeFailure, RegExp]> = [
    ['forbidden', /ECR GetAuthorizationToken was refused \(AccessDeniedException, HTTP 403\)/],
    ['server_error', /ECR GetAuthorizationToken was refused \(ServerException, HTTP 500\)/],
    ['slow', /ECR GetAuthorizationToken: no answer from 127\.0\.0\.1:\d+ within 1000 ms/],
    ['malformed', /ECR GetAuthorizationToken: the answer \(HTTP 200\) is not a JSON object/],
  ];
  it.each(FAILURES)('a fake switched to %s makes the helper print one clear line and exit 1', async (failure, reason) => {
    const env = clientEnv(`fail-${failure}`);
    aws.failures.ecr = failure;
    try {
      const result = await helperGet(env, ECR_ONLY_HOST);
      expect(result.code, describeOutput(result)).toBe(1);
      const lines = result.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`could not mint a registry credential for ${ECR_ONLY_HOST}: aws-ecr: `);
      expect(lines[0]).toMatch(reason);
      expect(lines[0]).not.toContain('credentials not found');
      expect(result.stdout + result.stderr).not.toMatch(/\bat .*\.js:\d+/);
    } finally {
      delete aws.failures.ecr;
    }
    const last = (await lookups()).at(-1)!;
    expect(last).toMatchObject({ host: ECR_ONLY_HOST, outcome: 'error', detail: { reason: 'mint_failed', provider: 'aws-ecr' } });
  });

  it('no identity secret and no minted credential is in any client file, the daemon output, the audit log or the database', async () => {
    const secrets = [SECRET_ACCESS_KEY, AZURE.clientSecret, account.privateKeyPem.split('\n')[1]!, ecrPassword, googleToken, acrRefreshToken, ...aws.issuedSecrets, ...azure.issuedSecrets];
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : []));
    const leaks: string[] = [];
    const scan = (label: string, bytes: Buffer) => {
      for (const secret of secrets) if (bytes.includes(secret) || bytes.includes(Buffer.from(secret).toString('base64'))) leaks.push(label);
    };
    for (const root of clientRoots) for (const path of files(root)) scan(path, readFileSync(path));
    for (const path of files(daemon.dataDir)) scan(path, readFileSync(path));
    scan('daemon output', daemon.output());
    const audit = await api('GET', '/v1/audit?limit=500');
    scan('audit', Buffer.from(JSON.stringify(audit.body)));
    const listed = await api('GET', '/v1/integrations');
    scan('integration list', Buffer.from(JSON.stringify(listed.body)));
    expect(leaks).toEqual([]);
  });
});
