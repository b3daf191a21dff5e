/**
 * docker-credential-scalr with real clients against a real registry, credentials served by a real
 * scalr-credd process:
 * - Debian's docker-registry (distribution 2.8) with htpasswd (bcrypt) auth on 127.0.0.1;
 * - skopeo (containers/image) pushing, inspecting and pulling an image and an OpenTofu module artifact;
 * - the docker CLI (client only, no engine) logging in and out through the helper;
 * - podman logging in and out, reading the login and pulling the image through the helper;
 * - the ORAS CLI (Debian trixie's, scripts/fetch-oras.sh) logging in, pushing and pulling an OpenTofu
 *   module artifact and logging out through the helper;
 * - the helper both ways it ships, each first on PATH in its own run of the whole suite: the npm entry
 *   (helper/bin/docker-credential-scalr.cjs on this Node) and the packaged binary (Bun), rebuilt first
 *   when stale.
 *
 * Every client runs with HOME, DOCKER_CONFIG, XDG_RUNTIME_DIR, XDG_CONFIG_HOME and REGISTRY_AUTH_FILE
 * in temp dirs: `--authfile` alone does not isolate containers/image (docs/real-clients.md §2).
 * The config the clients read holds only `credHelpers`, so any credential they send came from the helper.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AuditEvent } from '@dcs/shared';
import { requestJson, type JsonResponse } from '@dcs/shared/http-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_BINARY, HELPER_ENTRIES, buildHelperEntries, type HelperEntry } from '../support/helper-entries.js';
import { REPO_ROOT, makePrivateDir, makeTempDir, runCli, runProcess, startDaemon, type ProcessResult, type RunningDaemon } from '../support/processes.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { findTool, requireTool } from '../support/tools.js';

const HELPER_NAME = 'docker-credential-scalr';
const IN_CI = process.env['CI'] === 'true';
/** The npm `.bin` shim as npm links it (`#!/usr/bin/env node`). */
const NPM_BIN = join(REPO_ROOT, 'helper', 'bin', `${HELPER_NAME}.cjs`);
/** The ORAS CLI: on PATH, or where scripts/fetch-oras.sh unpacks it. */
const ORAS = findTool('oras') ?? join(REPO_ROOT, '.cache', 'tools', 'oras-root', 'usr', 'bin', 'oras');
// OCI layouts built by hand (copies of the shared tools): an image, and an OpenTofu module artifact.
const MK_OCI_IMAGE = join(REPO_ROOT, 'test', 'support', 'oci', 'mk-oci-image.sh');
const MK_OCI_ARTIFACT = join(REPO_ROOT, 'test', 'support', 'oci', 'mk-oci-artifact.sh');

const toolsPresent = requireTool('docker-registry', 'htpasswd', 'skopeo', 'podman', 'python3', 'bash');
if (!existsSync(ORAS)) {
  const message = `the ORAS CLI is missing: run scripts/fetch-oras.sh (it unpacks Debian's oras into ${ORAS})`;
  if (IN_CI) throw new Error(`${message}; CI=true, so this is a failure, not a skip`);
  process.stderr.write(`SKIPPING the ORAS test: ${message}\n`);
}
// The docker CLI only matters to the docker login tests: without it they alone are skipped (or fail under CI).
const dockerMissing = findTool('docker') === undefined;
if (dockerMissing && !IN_CI && toolsPresent) {
  process.stderr.write('SKIPPING the docker login/logout tests: the docker CLI is not on PATH (any docker CLI; no engine is needed)\n');
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const TOFU_MODULE = 'application/vnd.opentofu.modulepkg';
const NOT_FOUND = 'credentials not found in native keychain';

/** One htpasswd account. */
interface RegistryUser {
  username: string;
  password: string;
}

interface Integration {
  id: string;
  host: string;
  username: string;
}
interface MintedToken {
  id: string;
  token: string;
}

/** An isolated set of client dirs and the environment that points every client at them. */
interface ClientHome {
  root: string;
  configFile: string;
  configText: string;
  env: Record<string, string | undefined>;
}

const describeOutput = (result: ProcessResult) => `exit ${result.code ?? result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Every regular file under a dir, as path → bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [p, b] of filesUnder(path)) files.set(p, b);
    else if (entry.isFile()) files.set(path, readFileSync(path));
  }
  return files;
}

describe.skipIf(!toolsPresent).each(HELPER_ENTRIES)(`real clients through ${HELPER_NAME} ($label) against docker-registry and scalr-credd`, (entry: HelperEntry) => {
  const user: RegistryUser = { username: 'e2e-user', password: `pw-user-${randomBytes(12).toString('hex')}` };
  /** A stored secret the registry does not accept. */
  const stale: RegistryUser = { username: 'e2e-stale', password: `pw-stale-${randomBytes(12).toString('hex')}` };

  let registry: RunningRegistry;
  let daemon: RunningDaemon;
  let socketUrl: string;
  let adminToken: string;
  let runner: MintedToken;
  let manager: MintedToken;
  let runnerTokenFile: string;
  let managerTokenFile: string;
  let binDir: string;
  let policyFile: string;
  let work: string;
  let host: string;
  let imageDigest: string;

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, token = adminToken): Promise<JsonResponse> =>
    requestJson({ url: socketUrl, method, path, token, timeoutMs: 10_000, ...(body === undefined ? {} : { body }) });

  /** What a runner lookup through the daemon's API answers (the helper's own call, made directly). */
  const runnerLookup = (serverURL: string) => api('POST', '/v1/credentials/get', { serverURL }, runner.token);

  async function integrationFor(registryHost: string): Promise<Integration | undefined> {
    const listed = await api('GET', '/v1/integrations');
    expect(listed.status).toBe(200);
    return (listed.body as { integrations: Integration[] }).integrations.find((i) => i.host === registryHost);
  }

  /** Makes the daemon hold exactly `credential` for the registry host (none when null), through the admin API. */
  async function setIntegration(credential: RegistryUser | null): Promise<void> {
    const existing = await integrationFor(host);
    if (existing) expect((await api('DELETE', `/v1/integrations/${existing.id}`)).status).toBe(204);
    if (credential) {
      const created = await api('POST', '/v1/integrations', { host, username: credential.username, secret: credential.password });
      expect(created.status).toBe(201);
    }
  }

  /** A request straight to the registry (not through any helper), with basic auth when a user is given. */
  async function registryGet(path: string, options: { user?: RegistryUser; accept?: string } = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const headers: Record<string, string> = {};
    if (options.user) headers['Authorization'] = `Basic ${Buffer.from(`${options.user.username}:${options.user.password}`).toString('base64')}`;
    if (options.accept) headers['Accept'] = options.accept;
    const response = await fetch(`http://${host}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  }

  /** The daemon's audit of credential lookups made with a token, in log order. */
  async function lookupsBy(tokenId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `action=credential.get&token=${tokenId}${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await api('GET', `/v1/audit?${query}`);
      expect(page.status).toBe(200);
      const body = page.body as { events: AuditEvent[]; nextCursor: string | null };
      events.push(...body.events);
      cursor = body.nextCursor;
    } while (cursor);
    return events;
  }

  /** Runs `action` and returns the runner's credential lookups the daemon logged meanwhile. */
  async function lookupsDuring<T>(action: () => Promise<T>): Promise<{ result: T; lookups: AuditEvent[] }> {
    const before = (await lookupsBy(runner.id)).length;
    const result = await action();
    return { result, lookups: (await lookupsBy(runner.id)).slice(before) };
  }

  /** Fresh client dirs whose only config is `{"credHelpers":{HOST:"scalr"}}`, and a helper token file. */
  function makeClientHome(label: string, tokenFile: string): ClientHome {
    const root = makeTempDir(`scalr-e2e-client-${label}-`);
    const home = makePrivateDir(join(root, 'home'));
    const runtime = makePrivateDir(join(root, 'xdg-runtime'));
    const configHome = makePrivateDir(join(root, 'xdg-config'));
    const dockerConfig = makePrivateDir(join(root, 'docker'));
    const configFile = join(dockerConfig, 'config.json');
    const configText = `${JSON.stringify({ credHelpers: { [host]: 'scalr' } })}\n`;
    writeFileSync(configFile, configText, { mode: 0o600 });
    // PATH: our bin dir first, and no other directory that holds a docker-credential-scalr
    // (npx puts node_modules/.bin, with the bundled script, on PATH).
    const path = [binDir, ...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir && !existsSync(join(dir, HELPER_NAME)))];
    return {
      root,
      configFile,
      configText,
      env: {
        PATH: path.join(delimiter),
        HOME: home,
        XDG_RUNTIME_DIR: runtime,
        XDG_CONFIG_HOME: configHome,
        DOCKER_CONFIG: dockerConfig,
        REGISTRY_AUTH_FILE: configFile,
        SCALR_CREDD_URL: socketUrl,
        SCALR_CREDD_TOKEN_FILE: tokenFile,
      },
    };
  }

  const skopeo = (client: ClientHome, args: string[]) => runProcess('skopeo', ['--policy', policyFile, ...args], { env: client.env, cwd: work, timeoutMs: 30_000 });
  const docker = (client: ClientHome, args: string[], stdin?: string) =>
    runProcess('docker', args, { env: client.env, cwd: work, timeoutMs: 30_000, ...(stdin === undefined ? {} : { stdin }) });
  const helper = (client: ClientHome, verb: string, stdin: string) => runProcess(HELPER_NAME, [verb], { env: client.env, cwd: work, stdin, timeoutMs: 30_000 });

  /** No secret (registry passwords, daemon tokens) in any file the clients could write. */
  function expectNoSecretsIn(client: ClientHome): void {
    const secrets = { 'registry password': user.password, 'stale password': stale.password, 'runner token': runner.token, 'manager token': manager.token, 'admin token': adminToken };
    const leaks: string[] = [];
    for (const [path, bytes] of filesUnder(client.root)) {
      for (const [label, secret] of Object.entries(secrets)) {
        for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(`${user.username}:${secret}`).toString('base64'), Buffer.from(`${stale.username}:${secret}`).toString('base64')]) {
          if (bytes.includes(form)) leaks.push(`${label} in ${path}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  }

  beforeAll(async () => {
    // The helper the clients run, as it ships: the npm shim (on this Node), or the packaged binary.
    buildHelperEntries();
    binDir = makeTempDir('scalr-e2e-bin-');
    symlinkSync(entry.label === 'packaged binary' ? HELPER_BINARY : NPM_BIN, join(binDir, HELPER_NAME));

    work = makeTempDir('scalr-e2e-work-');
    policyFile = join(work, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

    [registry, daemon] = await Promise.all([
      startRegistry(join(makeTempDir('scalr-e2e-registry-'), 'registry'), { kind: 'htpasswd', user: user.username, pass: user.password }),
      startDaemon(),
    ]);
    host = registry.host;
    socketUrl = daemon.socketUrl!;
    expect(daemon.adminToken).toBeDefined();
    adminToken = daemon.adminToken!;

    // As an operator would: the integration through the admin CLI (secret on stdin), then tokens.
    const adminEnv = { SCALR_CREDD_URL: socketUrl, SCALR_CREDD_TOKEN: adminToken };
    const added = await runCli(['integration', 'add', '--host', host, '--username', user.username], { env: adminEnv, stdin: user.password });
    expect(added.code, describeOutput(added)).toBe(0);
    const mint = async (name: string, role: string): Promise<MintedToken> => {
      const minted = await runCli(['token', 'create', '--name', name, '--role', role, '--ttl', '1h', '--host', host, '--json'], { env: adminEnv });
      expect(minted.code, describeOutput(minted)).toBe(0);
      return JSON.parse(minted.stdout) as MintedToken;
    };
    runner = await mint('e2e-runner', 'runner');
    manager = await mint('e2e-manager', 'manager');
    const tokens = makeTempDir('scalr-e2e-tokens-');
    runnerTokenFile = join(tokens, 'runner.token');
    managerTokenFile = join(tokens, 'manager.token');
    writeFileSync(runnerTokenFile, `${runner.token}\n`, { mode: 0o600 });
    writeFileSync(managerTokenFile, `${manager.token}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await Promise.all([registry?.stop(), daemon?.stop()]);
  });

  it(`clients find the ${entry.label} first on PATH, and it answers version with nothing on stderr`, async () => {
    const client = makeClientHome('version', runnerTokenFile);
    const which = await runProcess('sh', ['-c', `command -v ${HELPER_NAME}`], { env: client.env });
    expect(which.stdout.trim()).toBe(join(binDir, HELPER_NAME));
    const version = await helper(client, 'version', '');
    expect(version, describeOutput(version)).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^docker-credential-scalr \(\S+\) \S+\n$/);
  });

  it('skopeo pushes, inspects and pulls an image with credentials only the helper gives, from a runner token', async () => {
    await setIntegration(user);
    const client = makeClientHome('skopeo', runnerTokenFile);
    expect(JSON.parse(readFileSync(client.configFile, 'utf8'))).toEqual({ credHelpers: { [host]: 'scalr' } });

    const layout = join(work, 'image');
    const made = await runProcess('bash', [MK_OCI_IMAGE, layout, 'v1'], { cwd: work });
    expect(made.code, describeOutput(made)).toBe(0);
    imageDigest = made.stdout.trim().split('\n').at(-1)!;
    expect(imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ref = `docker://${host}/test/hello:v1`;

    // Without the helper the registry refuses: the credentials below can only come from it.
    expect((await registryGet('/v2/test/hello/manifests/v1')).status).toBe(401);

    const push = await lookupsDuring(() => skopeo(client, ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, ref]));
    expect(push.result.code, describeOutput(push.result)).toBe(0);
    expect(push.lookups.length).toBeGreaterThanOrEqual(1);
    expect(push.lookups.every((e) => e.outcome === 'ok' && e.host === host)).toBe(true);

    const raw = await skopeo(client, ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(raw.code, describeOutput(raw)).toBe(0);
    expect(sha256(Buffer.from(raw.stdout, 'utf8'))).toBe(imageDigest);

    const inspect = await lookupsDuring(() => skopeo(client, ['inspect', '--tls-verify=false', ref]));
    expect(inspect.result.code, describeOutput(inspect.result)).toBe(0);
    expect(JSON.parse(inspect.result.stdout)).toMatchObject({ Name: `${host}/test/hello`, Digest: imageDigest, RepoTags: ['v1'] });
    expect(inspect.lookups.length).toBeGreaterThanOrEqual(1);

    const pulledDir = join(work, 'image-pulled');
    const pull = await lookupsDuring(() => skopeo(client, ['copy', '--src-tls-verify=false', ref, `oci:${pulledDir}:v1`]));
    expect(pull.result.code, describeOutput(pull.result)).toBe(0);
    expect(pull.lookups.map((e) => e.outcome)).toContain('ok');
    const index = JSON.parse(readFileSync(join(pulledDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    expect(index.manifests.map((m) => m.digest)).toEqual([imageDigest]);
    const original = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', imageDigest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
    for (const { digest } of original.layers) {
      expect(sha256(readFileSync(join(pulledDir, 'blobs', 'sha256', digest.slice(7))))).toBe(digest);
    }

    // skopeo never wrote the config, and no secret or token reached any client file.
    expect(readFileSync(client.configFile, 'utf8')).toBe(client.configText);
    expectNoSecretsIn(client);
    expect(readFileSync(client.configFile, 'utf8')).not.toContain(runner.token);
  });

  it('the helper answers get for host:port, host:port with a newline and https://host:port (OpenTofu) alike, and list names the host', async () => {
    await setIntegration(user);
    const client = makeClientHome('forms', runnerTokenFile);
    for (const input of [host, `${host}\n`, `https://${host}`]) {
      const got = await helper(client, 'get', input);
      expect(got, describeOutput(got)).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(got.stdout)).toEqual({ ServerURL: input.trim(), Username: user.username, Secret: user.password });
      expect(got.stdout.endsWith('}\n')).toBe(true);
    }
    const listed = await helper(client, 'list', 'unused');
    expect(listed, describeOutput(listed)).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toEqual({ [host]: user.username });
    expect(listed.stdout).not.toContain(user.password);
  });

  it('a wrong password stored in the integration ends in the registry\'s unauthorized from skopeo', async () => {
    await setIntegration({ username: user.username, password: stale.password });
    const client = makeClientHome('wrong', runnerTokenFile);
    const { result, lookups } = await lookupsDuring(() => skopeo(client, ['inspect', '--raw', '--tls-verify=false', `docker://${host}/test/hello:v1`]));
    expect(result.code, describeOutput(result)).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized/i);
    // The helper did serve a credential (the wrong one); it did not fail.
    expect(lookups.map((e) => e.outcome)).toContain('ok');
    expect(result.stderr).not.toContain(`${HELPER_NAME}:`);
  });

  it('a host the daemon has no integration for ends in unauthorized: the helper says not found and the client goes on anonymously', async () => {
    await setIntegration(null);
    const client = makeClientHome('missing', runnerTokenFile);
    const { result, lookups } = await lookupsDuring(() =>
      skopeo(client, ['copy', '--src-tls-verify=false', `docker://${host}/test/hello:v1`, `oci:${join(work, 'never')}:v1`]),
    );
    expect(result.code, describeOutput(result)).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized/i);
    expect(lookups.length).toBeGreaterThanOrEqual(1);
    expect(lookups.every((e) => e.outcome === 'not_found')).toBe(true);
    expect(result.stderr).not.toContain(`${HELPER_NAME}:`);
    const got = await helper(client, 'get', host);
    expect(got).toMatchObject({ code: 1, stdout: `${NOT_FOUND}\n`, stderr: '' });
  });

  it.skipIf(dockerMissing && !IN_CI)('docker login with a manager token stores the credential in the daemon, and docker logout erases it', async () => {
    requireTool('docker');
    await setIntegration(null);
    const client = makeClientHome('docker-login', managerTokenFile);

    const login = await docker(client, ['login', '-u', user.username, '--password-stdin', host], user.password);
    expect(login.code, describeOutput(login)).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    expect(await integrationFor(host)).toMatchObject({ host, username: user.username });
    const looked = await runnerLookup(host);
    expect(looked).toMatchObject({ status: 200, body: { Username: user.username, Secret: user.password } });

    // What docker stored is what skopeo now gets through the helper with a runner token.
    const runnerClient = makeClientHome('docker-login-runner', runnerTokenFile);
    const inspect = await skopeo(runnerClient, ['inspect', '--raw', '--tls-verify=false', `docker://${host}/test/hello:v1`]);
    expect(inspect.code, describeOutput(inspect)).toBe(0);

    // docker keeps only an empty marker in auths; the credential is in the daemon.
    const config = JSON.parse(readFileSync(client.configFile, 'utf8')) as { auths?: Record<string, unknown>; credHelpers?: unknown };
    expect(config.credHelpers).toEqual({ [host]: 'scalr' });
    for (const entry of Object.values(config.auths ?? {})) expect(entry).toEqual({});
    expectNoSecretsIn(client);

    const logout = await docker(client, ['logout', host]);
    expect(logout.code, describeOutput(logout)).toBe(0);
    expect(logout.stderr).not.toContain(`${HELPER_NAME}:`);
    expect(await integrationFor(host)).toBeUndefined();
    expect(await runnerLookup(host)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const after = JSON.parse(readFileSync(client.configFile, 'utf8')) as { auths?: Record<string, unknown>; credHelpers?: unknown };
    expect(after.credHelpers).toEqual({ [host]: 'scalr' });
    expect(Object.keys(after.auths ?? {})).not.toContain(host);
    expectNoSecretsIn(client);
  });

  it.skipIf(dockerMissing && !IN_CI)('docker login with a runner token fails with the helper\'s read-only message and changes nothing', async () => {
    requireTool('docker');
    // The daemon holds a stale credential; a runner's login (which the registry accepts) must not replace it.
    await setIntegration(stale);
    const client = makeClientHome('docker-runner', runnerTokenFile);
    const login = await docker(client, ['login', '-u', user.username, '--password-stdin', host], user.password);
    expect(login.code, describeOutput(login)).not.toBe(0);
    expect(login.stderr).toContain(`${HELPER_NAME}: the token is read-only (role runner)`);
    expect(login.stdout).not.toContain('Login Succeeded');
    expect(await integrationFor(host)).toMatchObject({ host, username: stale.username });
    expect(await runnerLookup(host)).toMatchObject({ status: 200, body: { Username: stale.username, Secret: stale.password } });
    expectNoSecretsIn(client);
  });

  it('an OpenTofu module package (artifactType modulepkg, one archive/zip layer) goes up and comes back unchanged', async () => {
    await setIntegration(user);
    const client = makeClientHome('tofu', runnerTokenFile);
    const moduleDir = join(work, 'tofu-module');
    mkdirSync(moduleDir);
    const mainTf = `output "greeting" {\n  value = "hello from the scalr e2e module ${randomBytes(4).toString('hex')}"\n}\n`;
    writeFileSync(join(moduleDir, 'main.tf'), mainTf);
    const layout = join(work, 'tofu-oci');
    const made = await runProcess('bash', [MK_OCI_ARTIFACT, layout, 'v1', moduleDir], { cwd: work });
    expect(made.code, describeOutput(made)).toBe(0);
    const digest = made.stdout.trim().split('\n').at(-1)!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ref = `docker://${host}/modules/hello:v1`;

    const push = await lookupsDuring(() => skopeo(client, ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, ref]));
    expect(push.result.code, describeOutput(push.result)).toBe(0);
    expect(push.lookups.map((e) => e.outcome)).toContain('ok');

    // What the registry holds, read with the password directly: the very same manifest bytes.
    const stored = await registryGet('/v2/modules/hello/manifests/v1', { user, accept: OCI_MANIFEST });
    expect(stored.status).toBe(200);
    expect(stored.headers.get('docker-content-digest')).toBe(digest);
    expect(sha256(stored.body)).toBe(digest);

    const raw = await skopeo(client, ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(raw.code, describeOutput(raw)).toBe(0);
    expect(sha256(Buffer.from(raw.stdout, 'utf8'))).toBe(digest);

    const outDir = join(work, 'tofu-pulled');
    const pull = await lookupsDuring(() => skopeo(client, ['copy', '--src-tls-verify=false', ref, `oci:${outDir}:v1`]));
    expect(pull.result.code, describeOutput(pull.result)).toBe(0);
    expect(pull.lookups.map((e) => e.outcome)).toContain('ok');
    const index = JSON.parse(readFileSync(join(outDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    expect(index.manifests.map((m) => m.digest)).toEqual([digest]);
    const manifestBytes = readFileSync(join(outDir, 'blobs', 'sha256', digest.slice(7)));
    expect(sha256(manifestBytes)).toBe(digest);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      mediaType: string;
      artifactType: string;
      config: { mediaType: string };
      layers: Array<{ mediaType: string; digest: string }>;
    };
    expect(manifest).toMatchObject({ mediaType: OCI_MANIFEST, artifactType: TOFU_MODULE, config: { mediaType: 'application/vnd.oci.empty.v1+json' } });
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['archive/zip']);
    const zipPath = join(outDir, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7));
    expect(sha256(readFileSync(zipPath))).toBe(manifest.layers[0]!.digest);
    const unzip = await runProcess('python3', [
      '-c',
      'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"names": z.namelist(), "main": z.read("main.tf").decode()}))',
      zipPath,
    ]);
    expect(unzip.code, describeOutput(unzip)).toBe(0);
    expect(JSON.parse(unzip.stdout)).toEqual({ names: ['main.tf'], main: mainTf });
    expectNoSecretsIn(client);
  });

  it('podman logs in (manager), reads the login and pulls the image (runner), and logs out, all through the helper', async () => {
    await setIntegration(null);
    const manage = makeClientHome('podman-manager', managerTokenFile);
    const read = makeClientHome('podman-runner', runnerTokenFile);
    // Private storage, so that podman (run as root here) touches nothing of the machine's.
    const storage = makeTempDir('scalr-e2e-podman-');
    const podman = (client: ClientHome, args: string[], stdin?: string) =>
      runProcess(
        'podman',
        ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs', ...args],
        { env: client.env, cwd: work, timeoutMs: 60_000, ...(stdin === undefined ? {} : { stdin }) },
      );

    const login = await podman(manage, ['login', '--tls-verify=false', '-u', user.username, '--password-stdin', host], user.password);
    expect(login.code, describeOutput(login)).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    expect(await integrationFor(host)).toMatchObject({ host, username: user.username });

    const who = await lookupsDuring(() => podman(read, ['login', '--get-login', host]));
    expect(who.result, describeOutput(who.result)).toMatchObject({ code: 0, stdout: `${user.username}\n` });
    expect(who.lookups.map((e) => e.outcome)).toEqual(['ok']);

    const pull = await lookupsDuring(() => podman(read, ['pull', '--tls-verify=false', '--quiet', `${host}/test/hello:v1`]));
    expect(pull.result.code, describeOutput(pull.result)).toBe(0);
    expect(pull.lookups.map((e) => e.outcome)).toContain('ok');
    const digest = await podman(read, ['image', 'inspect', '--format', '{{.Digest}}', `${host}/test/hello:v1`]);
    expect(digest.stdout.trim()).toBe(imageDigest);

    const logout = await podman(manage, ['logout', host]);
    expect(logout.code, describeOutput(logout)).toBe(0);
    expect(await integrationFor(host)).toBeUndefined();
    expectNoSecretsIn(manage);
    expectNoSecretsIn(read);
  });

  it.skipIf(!existsSync(ORAS) && !IN_CI)('oras logs in (manager), pushes and pulls an OpenTofu module artifact (runner) and logs out, all through the helper', async () => {
    await setIntegration(null);
    const manage = makeClientHome('oras-manager', managerTokenFile);
    const read = makeClientHome('oras-runner', runnerTokenFile);
    const oras = (client: ClientHome, args: string[], stdin?: string) =>
      runProcess(ORAS, [...args, '--registry-config', client.configFile], { env: client.env, cwd: work, timeoutMs: 30_000, ...(stdin === undefined ? {} : { stdin }) });

    // oras login sends `store` to the helper: the credential lands in the daemon, not in the file.
    const login = await oras(manage, ['login', '--plain-http', '-u', user.username, '--password-stdin', host], user.password);
    expect(login.code, describeOutput(login)).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    expect(await integrationFor(host)).toMatchObject({ host, username: user.username });
    expect(readFileSync(manage.configFile, 'utf8')).not.toContain(user.password);

    // An OpenTofu-style module package, pushed and pulled with a runner token.
    const moduleDir = join(work, 'oras-module');
    mkdirSync(moduleDir);
    const mainTf = `output "greeting" {\n  value = "hello from oras ${randomBytes(4).toString('hex')}"\n}\n`;
    const zipped = await runProcess('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("main.tf", sys.argv[2])', join(moduleDir, 'module.zip'), mainTf]);
    expect(zipped.code, describeOutput(zipped)).toBe(0);
    const ref = `${host}/modules/oras:v1`;
    const push = await lookupsDuring(() =>
      runProcess(ORAS, ['push', '--plain-http', '--registry-config', read.configFile, '--artifact-type', TOFU_MODULE, ref, 'module.zip:archive/zip'], {
        env: read.env,
        cwd: moduleDir,
        timeoutMs: 30_000,
      }),
    );
    expect(push.result.code, describeOutput(push.result)).toBe(0);
    expect(push.lookups.length).toBeGreaterThanOrEqual(1);
    expect(push.lookups.every((e) => e.outcome === 'ok' && e.host === host)).toBe(true);

    const stored = await registryGet('/v2/modules/oras/manifests/v1', { user, accept: OCI_MANIFEST });
    expect(stored.status).toBe(200);
    expect(JSON.parse(stored.body.toString('utf8'))).toMatchObject({ artifactType: TOFU_MODULE, layers: [{ mediaType: 'archive/zip' }] });

    const outDir = join(work, 'oras-pulled');
    const pull = await lookupsDuring(() => oras(read, ['pull', '--plain-http', ref, '-o', outDir]));
    expect(pull.result.code, describeOutput(pull.result)).toBe(0);
    expect(pull.lookups.map((e) => e.outcome)).toContain('ok');
    expect(readFileSync(join(outDir, 'module.zip'))).toEqual(readFileSync(join(moduleDir, 'module.zip')));

    // oras logout sends `erase`: the credential is gone from the daemon.
    const logout = await oras(manage, ['logout', host]);
    expect(logout.code, describeOutput(logout)).toBe(0);
    expect(await integrationFor(host)).toBeUndefined();
    expectNoSecretsIn(manage);
    expectNoSecretsIn(read);
  });

  // Last: it stops the daemon.
  it('with the daemon stopped, skopeo fails with the helper\'s message about the daemon, not with unauthorized', async () => {
    await setIntegration(user);
    const client = makeClientHome('down', runnerTokenFile);
    expect(await daemon.stop()).toBe(0);

    const inspect = await skopeo(client, ['inspect', '--raw', '--tls-verify=false', `docker://${host}/test/hello:v1`]);
    expect(inspect.code, describeOutput(inspect)).not.toBe(0);
    expect(inspect.stderr).toContain(`${HELPER_NAME}:`);
    expect(inspect.stderr).toMatch(/cannot reach scalr-credd .*is the daemon running\?/);
    expect(inspect.stderr).not.toMatch(/unauthorized/i);

    const got = await helper(client, 'get', host);
    expect(got.code).toBe(1);
    expect(got.stdout).toMatch(/^docker-credential-scalr: cannot reach scalr-credd at unix:\S+ .*\n$/);
    expect(got.stdout).not.toContain(NOT_FOUND);
    expect(got.stderr).toBe('');
  });
});
