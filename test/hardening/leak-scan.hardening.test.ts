/**
 * Leak scan: a full scenario against a real daemon process (integrations with distinctive secrets,
 * tokens of every role, the real helper's get/list/store/erase, rejected requests, failed logins),
 * then a byte-wise search, in every encoding, of every place a secret could escape to: the database,
 * its WAL and shm, every other file of the data dir, the daemon's stdout/stderr, every HTTP answer
 * (headers and body; the helper's through a recording proxy) except the lookups that must carry the
 * secret, the audit rows, and the helper's stdout/stderr. Token values are searched for too: the
 * store keeps only their hashes. Cloud provider integrations take part against the strict fakes:
 * their identities (access keys, client secrets, private keys) must appear nowhere, and what they
 * mint (registry passwords, role sessions, refresh and access tokens) only in the lookups of their hosts.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeRegistryHost } from '../../shared/src/registry-host.js';
import { initStore, runDaemonCli, startDaemon, type DaemonProcess } from '../support/hardening/daemon-process.js';
import { makeTempDir, removeTempDir } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { helperEnv, helperExes, runHelperProcess, type HelperExe, type HelperRun } from '../support/hardening/helper-process.js';
import { call, replyBytes, type CallOptions, type Reply } from '../support/hardening/http.js';
import { classifyStdout } from '../support/hardening/protocol.js';
import { startRecordingProxy, type RecordingProxy } from '../support/hardening/recording-proxy.js';
import { LeakScanner, describeHits, needleForms } from '../support/hardening/scan.js';
import { startFakeAws } from '../support/cloud-fakes/aws-fake.js';
import { startFakeAzure } from '../support/cloud-fakes/azure-fake.js';
import { generateServiceAccount, startFakeGoogle } from '../support/cloud-fakes/google-fake.js';

const hex = () => randomBytes(6).toString('hex');

/** A place that was scanned, with the needles it may legitimately carry. */
interface Place {
  where: string;
  data: Buffer;
  allow: ReadonlySet<string>;
}

let dir: string | undefined;
let daemon: DaemonProcess | undefined;
let proxy: RecordingProxy | undefined;
const registries: Server[] = [];

afterAll(async () => {
  await proxy?.close();
  await Promise.all(registries.map((server) => new Promise((done) => server.close(done))));
  await daemon?.kill();
  removeTempDir(dir);
  printFigures();
});

describe('leak scan', () => {
  it('finds no secret and no token value anywhere but the lookups that must return them', async () => {
    dir = makeTempDir('leak');
    const dataDir = join(dir, 'data');
    const logFile = join(dir, 'daemon.log');
    const home = join(dir, 'home');
    mkdirSync(home);
    const scanner = new LeakScanner();
    const places: Place[] = [];
    const none = new Set<string>();

    // ---- the cloud fakes, and what they accept and mint ----
    const cloud = {
      awsAccessKeyId: 'AKIALEAKCANARY0000001',
      awsSecretKey: `LeakCanary/aws+${hex()}`,
      awsWrongSecretKey: `LeakCanary/aws-wrong+${hex()}`,
      azureSecret: `LeakCanary~azure~${hex()}`,
      azureWrongSecret: `LeakCanary~azure-wrong~${hex()}`,
      ecrPassword: `LeakCanary-minted-ecr-${hex()}`,
      acrRefreshToken: `LeakCanary.minted-acr.${hex()}`,
      googleToken: `ya29.LeakCanary-minted-google-${hex()}`,
    };
    const account = generateServiceAccount('leak-puller@project-1.iam.gserviceaccount.com');
    const azureIdentity = { tenantId: 'leak-tenant', clientId: 'leak-client-0001', clientSecret: cloud.azureSecret };
    const roleArn = 'arn:aws:iam::123456789012:role/leak-puller';
    const [awsFake, azureFake, googleFake] = await Promise.all([
      startFakeAws({ accessKeyId: cloud.awsAccessKeyId, secretAccessKey: cloud.awsSecretKey, region: 'eu-west-1', role: { arn: roleArn }, password: cloud.ecrPassword }),
      startFakeAzure({ ...azureIdentity, refreshToken: cloud.acrRefreshToken }),
      startFakeGoogle({ account, accessToken: cloud.googleToken }),
    ]);
    for (const [label, value] of Object.entries(cloud)) scanner.add(`cloud:${label}`, value);
    // Lines of the PEM body: any copy of the private key holds them.
    for (const [index, line] of account.privateKeyPem.split('\n').slice(2, 5).entries()) scanner.add(`cloud:google-private-key-${index}`, line);

    // ---- the store, the daemon, the proxy the helper talks through ----
    const adminToken = initStore(dataDir);
    daemon = await startDaemon({
      dataDir,
      logLevel: 'debug',
      logFile,
      env: { AWS_ENDPOINT_URL: awsFake.url.href, AZURE_AUTHORITY_HOST: azureFake.authority.href },
    });
    proxy = await startRecordingProxy(join(dir, 'proxy.sock'), daemon.socketPath);
    const helperUrl = `unix:${proxy.socketPath}`;

    const addToken = (name: string, value: string) => {
      scanner.add(`token:${name}`, value);
      const secretPart = /^scd_tok_[0-9a-f]{16}_(.{43})$/.exec(value)?.[1];
      expect(secretPart, `token ${name} has the documented shape`).toBeDefined();
      scanner.add(`token-secret:${name}`, secretPart!);
    };
    addToken('admin', adminToken);

    /** Sends a request straight to the daemon and keeps the answer for the scan. */
    const api = async (label: string, options: CallOptions, allow: string[] = []): Promise<Reply> => {
      const reply = await call(daemon!.unix(), options);
      places.push({ where: `answer to ${label} (${options.method} ${options.path})`, data: replyBytes(reply), allow: new Set(allow) });
      return reply;
    };

    // ---- tokens of every role ----
    const mint = async (name: string, body: object) => {
      // The value is in this one answer by design; the scan allows it there only.
      const reply = await api(`mint ${name}`, { method: 'POST', path: '/v1/tokens', token: adminToken, body }, [`token:${name}`, `token-secret:${name}`]);
      expect(reply.status, reply.text).toBe(201);
      const created = reply.json<{ id: string; token: string }>();
      addToken(name, created.token);
      return created;
    };
    const admin2 = await mint('admin2', { name: 'second admin', role: 'admin' });
    const manager = await mint('manager', { name: 'leak manager', role: 'manager' });
    const auditor = await mint('auditor', { name: 'leak auditor', role: 'auditor' });
    const runner = await mint('runner', { name: 'leak runner', role: 'runner', ttlSeconds: 3600 });
    const scoped = await mint('scoped', { name: 'scoped runner', role: 'runner', hosts: ['leak-one.registry.test'] });
    const doomed = await mint('revoked', { name: 'revoked runner', role: 'runner' });

    // ---- integrations with distinctive secrets ----
    const secrets = {
      one: `LeakCanary-one-${hex()}-glpat`,
      two: `LeakCanary/two+${hex()}<&>"'\\ \u00e9\u00df-\u2603`,
      hub: `dckr_pat_LeakCanary_hub_${hex()}`,
      four: `LeakCanary-four-via-helper-${hex()}`,
      idt: `LeakCanary-identity-token-${hex()}`,
      oneUpdated: `LeakCanary-one-updated-${hex()}`,
      badHost: `LeakCanary-rejected-host-${hex()}`,
      badPatch: `LeakCanary-rejected-patch-${hex()}`,
      forbidden: `LeakCanary-forbidden-create-${hex()}`,
      runnerStore: `LeakCanary-runner-store-${hex()}`,
      apiRunnerStore: `LeakCanary-api-runner-store-${hex()}`,
      badJson: `LeakCanary-bad-json-${hex()}`,
      helperBadJson: `LeakCanary-helper-bad-json-${hex()}`,
      wrongType: `LeakCanary-wrong-content-type-${hex()}`,
      oversize: `LeakCanary-oversize-${hex()}`,
      basic: `LeakCanary-basic-auth-${hex()}`,
      bearerJunk: `LeakCanary-bearer-junk-${hex()}`,
      cli: `LeakCanary-admin-cli-${hex()}`,
      cliUpdated: `LeakCanary-admin-cli-updated-${hex()}`,
      probeBasic: `LeakCanary-probe-basic-${hex()}`,
      probeBearer: `LeakCanary-probe-bearer-${hex()}`,
      probeIdentity: `LeakCanary-probe-identity-${hex()}`,
    };
    for (const [label, value] of Object.entries(secrets)) scanner.add(`secret:${label}`, value);
    const wrongSecretToken = `scd_${admin2.id}_${randomBytes(32).toString('base64url')}`;
    const unknownToken = `scd_tok_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    addToken('wrong-secret', wrongSecretToken);
    addToken('unknown', unknownToken);
    // Usernames are not secret; they prove that the scan reads the database's real content.
    const usernames = { one: `leak-user-one-${hex()}`, two: `leak-user-two-${hex()}`, hub: `leak-user-hub-${hex()}` };

    const hostOf: Record<string, string> = {
      one: 'leak-one.registry.test',
      two: 'leak-two.registry.test:5000',
      hub: 'docker.io',
      four: 'leak-four.registry.test',
      idt: 'leak-idt.registry.test',
    };
    /** The secret label each canonical host serves right now. */
    const current = new Map<string, string>();
    const ids: Record<string, string> = {};
    for (const key of ['one', 'two', 'hub'] as const) {
      const reply = await api(`create ${key}`, {
        method: 'POST',
        path: '/v1/integrations',
        token: adminToken,
        body: { host: hostOf[key], username: usernames[key], secret: secrets[key], description: `leak scan ${key}` },
      });
      expect(reply.status, reply.text).toBe(201);
      ids[key] = reply.json<{ id: string }>().id;
      current.set(hostOf[key]!, `secret:${key}`);
    }

    // ---- the real helper ----
    const exes = helperExes();
    const helperRuns: Array<{ label: string; run: HelperRun; allow: ReadonlySet<string> }> = [];
    const helper = async (exe: HelperExe, verb: string, stdin: string, token: string, serverForAllow?: string) => {
      const allowHost = serverForAllow === undefined ? undefined : normalizeRegistryHost(serverForAllow);
      const allowLabel = allowHost === undefined ? undefined : current.get(allowHost);
      const allow = new Set(allowLabel ? [allowLabel] : []);
      const run = await runHelperProcess(exe, [verb], stdin, helperEnv({ url: helperUrl, token, home }));
      const label = `${exe.label} ${verb} ${JSON.stringify(stdin.slice(0, 60))}`;
      helperRuns.push({ label, run, allow });
      for (const exchange of proxy!.takeNew()) {
        exchange.label = label;
        exchange.allow = allow;
      }
      expect(run.stderr.toString(), `${label}: stderr`).toBe('');
      expect('problem' in classifyStdout(run.stdout.toString()), `${label}: ${run.stdout.toString().slice(0, 200)}`).toBe(false);
      return run;
    };
    const expectHit = (run: HelperRun, key: keyof typeof secrets) => {
      expect(run.code, run.stdout.toString()).toBe(0);
      expect(JSON.parse(run.stdout.toString())).toMatchObject({ Secret: secrets[key] });
    };

    for (const exe of exes) {
      for (const form of ['leak-one.registry.test', 'https://leak-one.registry.test/', 'leak-one.registry.test:443', 'LEAK-ONE.registry.test\n']) {
        expectHit(await helper(exe, 'get', form, runner.token, form), 'one');
      }
      for (const form of ['leak-two.registry.test:5000', 'https://leak-two.registry.test:5000/v2/']) {
        expectHit(await helper(exe, 'get', form, runner.token, form), 'two');
      }
      for (const form of ['https://index.docker.io/v1/', 'docker.io', 'registry-1.docker.io']) {
        expectHit(await helper(exe, 'get', form, runner.token, form), 'hub');
      }
      const missing = await helper(exe, 'get', 'leak-missing.registry.test', runner.token);
      expect(missing.stdout.toString()).toBe('credentials not found in native keychain\n');
      const list = await helper(exe, 'list', '', runner.token);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout.toString())).toMatchObject({ 'leak-one.registry.test': usernames.one });
    }
    const bundle = exes[0]!;
    // store through the helper (Go's encoder escapes < and > in the username), then read it back
    const storeInput = `{"ServerURL":"https://leak-four.registry.test","Username":"ci","Secret":${JSON.stringify(secrets.four)}}\n`;
    expect((await helper(bundle, 'store', storeInput, manager.token)).code).toBe(0);
    current.set(hostOf.four!, 'secret:four');
    expectHit(await helper(bundle, 'get', 'leak-four.registry.test', runner.token, 'leak-four.registry.test'), 'four');
    const idtInput = `{"ServerURL":"leak-idt.registry.test","Username":"\\u003ctoken\\u003e","Secret":${JSON.stringify(secrets.idt)}}`;
    expect((await helper(bundle, 'store', idtInput, manager.token)).code).toBe(0);
    current.set(hostOf.idt!, 'secret:idt');
    const idt = await helper(bundle, 'get', 'https://leak-idt.registry.test', runner.token, 'leak-idt.registry.test');
    expect(JSON.parse(idt.stdout.toString())).toMatchObject({ Username: '<token>', Secret: secrets.idt });
    // refused stores: a read-only token, and input that is not JSON; neither may echo the secret
    const readOnly = await helper(bundle, 'store', JSON.stringify({ ServerURL: 'leak-five.registry.test', Username: 'u', Secret: secrets.runnerStore }), runner.token);
    expect(readOnly.code).toBe(1);
    const badJson = await helper(bundle, 'store', `{"ServerURL":"leak-six.registry.test","Secret":"${secrets.helperBadJson}"`, manager.token);
    expect(badJson.code).toBe(1);
    // a host-limited runner: its host only
    expectHit(await helper(bundle, 'get', 'leak-one.registry.test', scoped.token, 'leak-one.registry.test'), 'one');
    expect((await helper(bundle, 'get', 'docker.io', scoped.token)).stdout.toString()).toBe('credentials not found in native keychain\n');
    // erase, then the host is gone
    expect((await helper(bundle, 'erase', 'leak-four.registry.test', manager.token)).code).toBe(0);
    current.delete(hostOf.four!);
    expect((await helper(bundle, 'get', 'leak-four.registry.test', runner.token)).stdout.toString()).toBe(
      'credentials not found in native keychain\n',
    );

    // ---- cloud provider integrations: identities in, minted credentials out through the helper ----
    const ecrHost = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    const cloudCreates: Array<[string, object]> = [
      ['aws-ecr', { provider: 'aws-ecr', host: ecrHost, aws: { accessKeyId: cloud.awsAccessKeyId, secretAccessKey: cloud.awsSecretKey, roleArn } }],
      ['azure-acr', { provider: 'azure-acr', host: azureFake.registryHost, azure: azureIdentity }],
      ['google', { provider: 'google', host: 'gcr.io', google: { serviceAccountKey: account.keyJson(googleFake.tokenUri) } }],
    ];
    for (const [label, body] of cloudCreates) {
      const reply = await api(`create ${label}`, { method: 'POST', path: '/v1/integrations', token: adminToken, body });
      expect(reply.status, reply.text).toBe(201);
      ids[label] = reply.json<{ id: string }>().id;
    }
    current.set(ecrHost, 'cloud:ecrPassword');
    current.set(azureFake.registryHost, 'cloud:acrRefreshToken');
    current.set('us-docker.pkg.dev', 'cloud:googleToken');
    current.set('gcr.io', 'cloud:googleToken');
    for (const exe of exes) {
      for (const [host, label] of [
        [ecrHost, 'ecrPassword'],
        [`https://${azureFake.registryHost}/`, 'acrRefreshToken'],
        ['us-docker.pkg.dev', 'googleToken'],
        ['gcr.io', 'googleToken'],
      ] as const) {
        const run = await helper(exe, 'get', host, runner.token, host);
        expect(run.code, run.stdout.toString()).toBe(0);
        expect(JSON.parse(run.stdout.toString())).toMatchObject({ Secret: cloud[label] });
      }
    }
    expect(awsFake.calls).toMatchObject({ sts: 1, ecr: 1 });
    // Wrong identities: the fakes refuse (Azure's answer echoes the form it got, client secret included).
    for (const [label, body] of [
      ['aws-ecr', { aws: { accessKeyId: cloud.awsAccessKeyId, secretAccessKey: cloud.awsWrongSecretKey, roleArn } }],
      ['azure-acr', { azure: { ...azureIdentity, clientSecret: cloud.azureWrongSecret } }],
    ] as const) {
      const reply = await api(`replace ${label} identity`, { method: 'PATCH', path: `/v1/integrations/${ids[label]}`, token: manager.token, body });
      expect(reply.status, reply.text).toBe(200);
    }
    current.delete(ecrHost);
    current.delete(azureFake.registryHost);
    for (const host of [ecrHost, azureFake.registryHost]) {
      const failed = await helper(bundle, 'get', host, runner.token);
      expect(failed.code).toBe(1);
      expect(failed.stdout.toString()).toMatch(/could not mint a registry credential for .*(SignatureDoesNotMatch|invalid_client)/);
    }
    expect(azureFake.rejections).toContain('invalid_client');

    // ---- the admin API: reads, an update, and requests that must be refused without echoing ----
    expect((await api('list integrations', { method: 'GET', path: '/v1/integrations', token: adminToken })).status).toBe(200);
    expect((await api('show integration', { method: 'GET', path: `/v1/integrations/${ids['one']}`, token: auditor.token })).status).toBe(200);
    expect((await api('list tokens', { method: 'GET', path: '/v1/tokens', token: auditor.token })).status).toBe(200);
    expect((await api('list credentials', { method: 'GET', path: '/v1/credentials', token: runner.token })).status).toBe(200);
    const patched = await api('update one', {
      method: 'PATCH',
      path: `/v1/integrations/${ids['one']}`,
      token: manager.token,
      body: { secret: secrets.oneUpdated },
    });
    expect(patched.status, patched.text).toBe(200);
    current.set(hostOf.one!, 'secret:oneUpdated');
    const lookup = await api('lookup one', { method: 'POST', path: '/v1/credentials/get', token: adminToken, body: { serverURL: 'leak-one.registry.test' } }, [
      'secret:oneUpdated',
    ]);
    expect(lookup.json()).toMatchObject({ Secret: secrets.oneUpdated });

    const refused: Array<[string, CallOptions, number]> = [
      ['create with an invalid host', { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host: 'not a host!', username: 'u', secret: secrets.badHost } }, 400],
      ['update of an unknown id', { method: 'PATCH', path: '/v1/integrations/int_0000000000000000', token: adminToken, body: { secret: secrets.badPatch } }, 404],
      ['update with an unknown field', { method: 'PATCH', path: `/v1/integrations/${ids['two']}`, token: adminToken, body: { secret: secrets.badPatch, colour: 'red' } }, 400],
      ['create by an auditor', { method: 'POST', path: '/v1/integrations', token: auditor.token, body: { host: 'leak-x.registry.test', username: 'u', secret: secrets.forbidden } }, 403],
      ['store by a runner', { method: 'POST', path: '/v1/credentials/store', token: runner.token, body: { ServerURL: 'leak-y.registry.test', Username: 'u', Secret: secrets.apiRunnerStore } }, 403],
      ['invalid JSON', { method: 'POST', path: '/v1/integrations', token: adminToken, headers: { 'content-type': 'application/json' }, body: `{"host":"leak-z.registry.test","secret":"${secrets.badJson}",` }, 400],
      ['wrong content type', { method: 'POST', path: '/v1/integrations', token: adminToken, headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ host: 'leak-w.registry.test', username: 'u', secret: secrets.wrongType }) }, 415],
      ['oversize body', { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host: 'leak-v.registry.test', username: 'u', secret: `${secrets.oversize}${'x'.repeat(70 * 1024)}` } }, 413],
      ['oversize secret', { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host: 'leak-v.registry.test', username: 'u', secret: `${secrets.oversize}${'x'.repeat(17 * 1024)}` } }, 400],
    ];
    for (const [label, options, status] of refused) {
      const reply = await api(label, options);
      expect(reply.status, `${label}: ${reply.text.slice(0, 300)}`).toBe(status);
    }

    // failed logins (fewer than the limiter's 30, so the scenario keeps its access)
    const revoke = await api('revoke', { method: 'DELETE', path: `/v1/tokens/${doomed.id}`, token: adminToken });
    expect(revoke.status).toBe(204);
    const failures: Array<[string, Record<string, string>]> = [
      ['unknown token', { authorization: `Bearer ${unknownToken}` }],
      ['wrong secret', { authorization: `Bearer ${wrongSecretToken}` }],
      ['junk bearer', { authorization: `Bearer ${secrets.bearerJunk}` }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`admin:${secrets.basic}`).toString('base64')}` }],
      ['revoked token', { authorization: `Bearer ${doomed.token}` }],
      ['token in a cookie', { cookie: `token=${secrets.bearerJunk}` }],
    ];
    for (const [label, headers] of failures) {
      for (const path of ['/v1/integrations', '/v1/credentials']) {
        const reply = await api(label, { method: 'GET', path, headers });
        expect(reply.status, label).toBe(401);
      }
    }
    const helperDenied = await helper(bundle, 'get', 'leak-one.registry.test', wrongSecretToken);
    expect(helperDenied.code).toBe(1);

    // ---- the admin CLI over the API: the secret goes in on stdin and never comes back out ----
    const cliEnv = { SCALR_CREDD_URL: `unix:${daemon.socketPath}`, SCALR_CREDD_TOKEN: adminToken };
    const cli = (label: string, args: string[], input?: string, allow: string[] = []) => {
      const result = runDaemonCli(args, { env: cliEnv, ...(input === undefined ? {} : { input }) });
      places.push({ where: `cli stdout: ${label}`, data: Buffer.from(result.stdout), allow: new Set(allow) });
      places.push({ where: `cli stderr: ${label}`, data: Buffer.from(result.stderr), allow: none });
      expect(result.code, `${label}: ${result.stderr}`).toBe(0);
      return result;
    };
    cli('integration add', ['integration', 'add', '--host', 'leak-cli.registry.test', '--username', 'cli-user'], `${secrets.cli}\n`);
    cli('integration update', ['integration', 'update', 'leak-cli.registry.test', '--secret-stdin'], `${secrets.cliUpdated}\n`);
    current.set('leak-cli.registry.test', 'secret:cliUpdated');
    cli('integration list', ['integration', 'list']);
    cli('integration show --json', ['integration', 'show', 'leak-cli.registry.test', '--json']);
    const cliToken = cli('token create', ['token', 'create', '--name', 'cli-runner', '--role', 'runner', '--ttl', '1h', '--json'], undefined, [
      'token:cli-runner',
      'token-secret:cli-runner',
    ]);
    const cliTokenValue = /scd_tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(cliToken.stdout)?.[0];
    expect(cliTokenValue, 'token create prints the value once').toBeDefined();
    addToken('cli-runner', cliTokenValue!);
    cli('token list', ['token', 'list']);
    expectHit(await helper(bundle, 'get', 'leak-cli.registry.test', cliTokenValue!, 'leak-cli.registry.test'), 'cliUpdated');

    // ---- the registry credential test: fake registries that echo whatever credential they get ----
    const received: string[] = [];
    const echo = (req: IncomingMessage, body: string) =>
      JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: `you sent ${req.headers.authorization ?? ''} ${body}` }] });
    const listen = (handler: (req: IncomingMessage, body: string, port: number) => [number, Record<string, string>, string]) =>
      new Promise<number>((resolve) => {
        const server = createServer((req, res) => {
          let body = '';
          req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          req.on('end', () => {
            received.push(`${req.headers.authorization ?? ''} ${body}`);
            const [status, headers, text] = handler(req, body, (server.address() as AddressInfo).port);
            res.writeHead(status, { 'content-type': 'application/json', ...headers });
            res.end(text);
          });
        });
        registries.push(server);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      });
    const basicPort = await listen((req, body) =>
      req.headers.authorization
        ? [401, { 'x-echo': req.headers.authorization, 'www-authenticate': 'Basic realm="echo"' }, echo(req, body)]
        : [401, { 'www-authenticate': 'Basic realm="echo"' }, '{}'],
    );
    const bearerPort = await listen((req, body, port) =>
      req.url?.startsWith('/token')
        ? [401, { 'x-echo': `${req.headers.authorization ?? ''} ${body}` }, echo(req, body)]
        : [401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="echo"` }, '{}'],
    );
    const probes: Array<[string, string, string]> = [
      [`127.0.0.1:${basicPort}`, 'probe-user', secrets.probeBasic],
      [`127.0.0.1:${bearerPort}`, 'probe-user', secrets.probeBearer],
      [`localhost:${bearerPort}`, '<token>', secrets.probeIdentity],
    ];
    for (const [host, username, secret] of probes) {
      const created = await api(`create ${host}`, { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host, username, secret, export: false } });
      expect(created.status, created.text).toBe(201);
      const tested = await api(`test ${host}`, { method: 'POST', path: `/v1/integrations/${created.json<{ id: string }>().id}/test`, token: manager.token });
      expect(tested.status, tested.text).toBe(200);
      expect(tested.json<{ result: string }>().result).toBe('unauthorized');
    }
    // The probes really sent the credentials (Basic, Basic to the realm, the refresh-token form), so they were there to leak.
    const sent = received.join('\n');
    expect(sent).toContain(Buffer.from(`probe-user:${secrets.probeBasic}`).toString('base64'));
    expect(sent).toContain(Buffer.from(`probe-user:${secrets.probeBearer}`).toString('base64'));
    expect(sent).toContain(new URLSearchParams({ refresh_token: secrets.probeIdentity }).toString());

    // ---- key rotation with re-sealing, a backup, the audit API and metrics ----
    const ops = (label: string, args: string[]) => {
      const result = runDaemonCli(args);
      places.push({ where: `ops stdout: ${label}`, data: Buffer.from(result.stdout), allow: none });
      places.push({ where: `ops stderr: ${label}`, data: Buffer.from(result.stderr), allow: none });
      expect(result.code, `${label}: ${result.stderr}`).toBe(0);
      return result;
    };
    ops('rotate --reseal', ['rotate', '--reseal', '--data-dir', dataDir]);
    expectHit(await helper(bundle, 'get', 'leak-one.registry.test', runner.token, 'leak-one.registry.test'), 'oneUpdated');
    const backupFile = join(dir, 'backup.sqlite');
    ops('backup', ['backup', '--out', backupFile, '--data-dir', dataDir]);
    ops('audit verify', ['audit', 'verify', '--data-dir', dataDir]);
    let cursor: string | null = null;
    let auditPages = 0;
    do {
      const page: Reply = await api('audit page', { method: 'GET', path: `/v1/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`, token: auditor.token });
      expect(page.status, page.text).toBe(200);
      cursor = page.json<{ nextCursor: string | null }>().nextCursor;
      auditPages++;
    } while (cursor !== null && auditPages < 20);
    const metrics = await api('metrics', { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect((await api('openapi', { method: 'GET', path: '/v1/openapi.json', token: auditor.token })).status).toBe(200);

    // ---- what the store holds: snapshots while running, the audit rows, then after a clean stop ----
    const snapshot = (tag: string) => {
      const target = join(dir!, `snapshot-${tag}`);
      mkdirSync(target);
      for (const name of readdirSync(dataDir)) {
        const path = join(dataDir, name);
        if (statSync(path).isFile()) copyFileSync(path, join(target, name));
      }
      return target;
    };
    const running = snapshot('running');
    const dbNow = new Database(join(dataDir, 'credd.sqlite'), { readonly: true });
    const auditRows = dbNow.prepare('SELECT * FROM audit_events ORDER BY seq').all();
    const tokenRows = dbNow.prepare('SELECT * FROM tokens').all();
    dbNow.close();
    expect(auditRows.length).toBeGreaterThan(20);
    const stopped = await daemon.stop();
    expect(stopped.code).toBe(0);
    const after = snapshot('stopped');

    // ---- the scan ----
    // What the fakes minted at random (role sessions, Entra access tokens) is known only now.
    for (const [index, value] of [...awsFake.issuedSecrets, ...azureFake.issuedSecrets, ...googleFake.issuedSecrets].entries()) {
      if (!Object.values(cloud).includes(value)) scanner.add(`cloud:issued-${index}`, value);
    }
    for (const [tag, folder] of [
      ['running', running],
      ['stopped', after],
    ] as const) {
      for (const name of readdirSync(folder)) places.push({ where: `${tag} data dir: ${name}`, data: readFileSync(join(folder, name)), allow: none });
    }
    expect(readdirSync(running)).toEqual(expect.arrayContaining(['credd.sqlite', 'credd.sqlite-wal', 'credd.sqlite-shm']));
    places.push({ where: 'backup file', data: readFileSync(backupFile), allow: none });
    places.push({ where: 'audit rows (table)', data: Buffer.from(JSON.stringify(auditRows)), allow: none });
    places.push({ where: 'token rows (table)', data: Buffer.from(JSON.stringify(tokenRows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v))), allow: none });
    places.push({ where: 'daemon stdout', data: Buffer.from(daemon.stdout()), allow: none });
    places.push({ where: 'daemon stderr', data: Buffer.from(daemon.stderr()), allow: none });
    places.push({ where: 'daemon log file', data: readFileSync(logFile), allow: none });
    for (const { label, run, allow } of helperRuns) {
      places.push({ where: `helper stdout: ${label}`, data: run.stdout, allow });
      places.push({ where: `helper stderr: ${label}`, data: run.stderr, allow: none });
    }
    for (const [index, exchange] of proxy.exchanges.entries()) {
      places.push({ where: `helper traffic #${index} answer (${exchange.label ?? 'unlabelled'})`, data: exchange.response, allow: exchange.allow ?? none });
    }
    for (const place of places) scanner.scan(place.where, place.data, (label) => place.allow.has(label));

    // Positive controls: the scan finds what it must find, so "0 found" means something.
    const lookupAnswers = places.filter((place) => place.allow.size > 0 && place.where.startsWith('helper traffic'));
    expect(lookupAnswers.length).toBeGreaterThan(10);
    for (const place of lookupAnswers) {
      const [label] = [...place.allow];
      expect(scanner.count(label!, place.data), `${place.where} carries ${label}`).toBeGreaterThan(0);
    }
    const dbText = Buffer.concat(places.filter((p) => p.where.includes('credd.sqlite') || p.where === 'backup file').map((p) => p.data));
    for (const username of Object.values(usernames)) {
      expect(dbText.includes(Buffer.from(username)), 'the scanned database holds the usernames').toBe(true);
      expect(readFileSync(backupFile).includes(Buffer.from(username)), 'the scanned backup holds the usernames').toBe(true);
    }
    const synthetic = new LeakScanner();
    synthetic.add('two', secrets.two);
    for (const form of needleForms(secrets.two)) {
      const embedded = Buffer.concat([randomBytes(7), Buffer.from(form.form), form.bytes, randomBytes(5)]);
      expect(synthetic.count('two', embedded), `a ${form.form} copy is found`).toBeGreaterThan(0);
    }
    for (const shift of [1, 2, 3]) {
      const encoded = Buffer.concat([randomBytes(shift), Buffer.from(secrets.two), randomBytes(4)]).toString('base64');
      expect(synthetic.count('two', encoded), `base64 at offset ${shift}`).toBeGreaterThan(0);
    }

    recordFigures('leak', {
      'secrets found': scanner.hits.length,
      needles: scanner.labels().length,
      'places scanned': scanner.places,
      'bytes scanned': scanner.bytes,
      'helper runs': helperRuns.length,
      helpers: exes.map((exe) => exe.label).join('+'),
    });
    expect(scanner.hits, describeHits(scanner.hits)).toEqual([]);
  });
});
