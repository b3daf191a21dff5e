/**
 * scalr-credd as operators run it: the real process, a real SQLite file, real HTTP over TCP and
 * over a Unix socket, driven by the real admin CLI.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestJson, type JsonResponse } from '@dcs/shared/http-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledHelper, helperEnv, runHelperProcess } from '../support/hardening/helper-process.js';
import { TOKEN_PATTERN, makeTempDir, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const mode = (path: string) => statSync(path).mode & 0o777;

function api(url: string, token: string | undefined, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<JsonResponse> {
  return requestJson({ url, method, path, timeoutMs: 10_000, ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { body }) });
}

const lookup = (url: string, token: string, serverURL: string) => api(url, token, 'POST', '/v1/credentials/get', { serverURL });

/** A distinctive value nothing else would contain. */
const distinctive = (label: string) => `E2E-CANARY-${label}-${randomBytes(8).toString('hex')}`;

/** A secret with characters that change under base64, URL and JSON encoding. */
const specialSecret = (label: string) => `${distinctive(label)}+/=?&% ü"~`;

/**
 * Every form a secret could take in a file or a log: raw UTF-8 and UTF-16, base64 and base64url at
 * each of the three byte alignments, hex, URL- and form-encoding, JSON-escaped.
 */
function encodedForms(label: string, secret: string): Array<{ label: string; bytes: Buffer }> {
  const raw = Buffer.from(secret, 'utf8');
  const forms: Array<[string, string | Buffer]> = [
    ['utf8', raw],
    ['utf16le', Buffer.from(secret, 'utf16le')],
    ['hex', raw.toString('hex')],
    ['HEX', raw.toString('hex').toUpperCase()],
    ['url', encodeURIComponent(secret)],
    ['form', new URLSearchParams({ s: secret }).toString().slice(2)],
    ['json', JSON.stringify(secret).slice(1, -1)],
  ];
  for (let skip = 0; skip < 3; skip++) {
    // Whatever offset the secret sits at, one of these whole-group encodings appears verbatim.
    const groups = raw.subarray(skip, skip + 3 * Math.floor((raw.length - skip) / 3));
    forms.push([`base64@${skip}`, groups.toString('base64')], [`base64url@${skip}`, groups.toString('base64url')]);
  }
  return forms.map(([form, value]) => ({ label: `${label} (${form})`, bytes: Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8') }));
}

/** Labels of every needle found in the haystack. */
function findLeaks(haystack: Buffer, needles: ReadonlyArray<{ label: string; bytes: Buffer }>): string[] {
  return needles.filter(({ bytes }) => haystack.includes(bytes)).map(({ label }) => label);
}

/** Every file of the data dir (database, -wal, -shm, key, anything else), as name → bytes. */
function dataDirFiles(dataDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    // The first admin token's own 0600 file is where it is meant to be (the operator moves it away).
    if (entry.isFile() && entry.name !== 'initial-admin.token') files.set(entry.name, readFileSync(join(dataDir, entry.name)));
  }
  return files;
}

describe('scalr-credd as a real process (TCP and Unix socket, SQLite file, admin CLI)', () => {
  let daemon: RunningDaemon;
  let dataDir: string;
  let adminToken: string;
  let tokenFile: string;
  const ghcrSecret = specialSecret('ghcr');
  const ghcrSecret2 = specialSecret('ghcr-rotated');
  const exampleSecret = specialSecret('example');
  const ids: Record<string, string> = {};

  /** Runs the admin CLI against a URL with the admin token from the environment. */
  const admin = (url: string, args: string[], stdin?: string) =>
    runCli(args, { env: { SCALR_CREDD_URL: url, SCALR_CREDD_TOKEN: adminToken }, ...(stdin === undefined ? {} : { stdin }) });

  beforeAll(async () => {
    daemon = await startDaemon();
    dataDir = daemon.dataDir;
    tokenFile = join(makeTempDir('scalr-e2e-token-'), 'admin.token');
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('first serve creates a private store, listens on TCP and a 0600 socket, and writes the admin token to a 0600 file', async () => {
    expect(daemon.adminToken).toMatch(TOKEN_PATTERN);
    adminToken = daemon.adminToken!;
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    const { stdout, stderr } = daemon.logs();
    const adminTokenFile = join(dataDir, 'initial-admin.token');
    expect(stdout).toContain(`Admin token written to ${adminTokenFile} (mode 0600`);
    expect(readFileSync(adminTokenFile, 'utf8')).toBe(`${adminToken}\n`);
    expect(mode(adminTokenFile)).toBe(0o600);
    // Neither stream carries it: stdout ends up in journald and container logs.
    expect(stdout).not.toContain(adminToken);
    expect(stderr).not.toContain(adminToken);

    expect(statSync(dataDir).isDirectory()).toBe(true);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'root.key'))).toBe(0o600);
    expect(statSync(join(dataDir, 'credd.sqlite')).size).toBeGreaterThan(0);
    expect(mode(join(dataDir, 'credd.sqlite')) & 0o077).toBe(0);
    const socket = join(dataDir, 'credd.sock');
    expect(statSync(socket).isSocket()).toBe(true);
    expect(mode(socket)).toBe(0o600);

    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    expect(daemon.socketUrl).toBe(`unix:${socket}`);
    for (const url of [daemon.url, daemon.socketUrl!]) {
      expect(await api(url, undefined, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok', version: expect.any(String) } });
      expect(await api(url, adminToken, 'GET', '/v1/integrations')).toMatchObject({ status: 200, body: { integrations: [] } });
      expect((await api(url, undefined, 'GET', '/v1/integrations')).status).toBe(401);
    }
  });

  it('the admin CLI adds, lists, shows and updates integrations over TCP and over the socket', async () => {
    const tcp = daemon.url;
    const socket = daemon.socketUrl!;

    // Over TCP, token from SCALR_CREDD_TOKEN, secret piped with a trailing newline.
    const added = await admin(tcp, ['integration', 'add', '--host', 'ghcr.io', '--username', 'robot', '--json'], `${ghcrSecret}\n`);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    ids['ghcr.io'] = (JSON.parse(added.stdout) as { id: string }).id;

    // Over the socket, with --url and --token-file and no token in the environment.
    const viaSocket = await runCli(
      ['integration', 'add', '--url', socket, '--token-file', tokenFile, '--host', 'https://Registry.Example.com:443/', '--username', 'ci-bot', '--description', 'team registry'],
      { stdin: exampleSecret },
    );
    expect(viaSocket.code).toBe(0);
    expect(viaSocket.stdout).toMatch(/^added integration int_[0-9a-f]{16} for registry\.example\.com\n/);
    ids['registry.example.com'] = /int_[0-9a-f]{16}/.exec(viaSocket.stdout)![0];

    const duplicate = await admin(socket, ['integration', 'add', '--host', 'GHCR.io', '--username', 'x'], 'another');
    expect(duplicate).toMatchObject({ code: 1, stdout: '', stderr: "scalr-credd: host ghcr.io already has an integration; change it with 'scalr-credd integration update ghcr.io' (--secret-stdin for a new secret) (conflict)\n" });

    const onArgv = await admin(tcp, ['integration', 'add', '--host', 'quay.io', '--username', 'x', '--secret', 'argv-secret-value']);
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toMatch(/--secret is not accepted: .*pipe it on stdin/);
    expect(onArgv.stderr).not.toContain('argv-secret-value');

    const table = await admin(socket, ['integration', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID +HOST +USERNAME +EXPORT +EXPIRES +UPDATED +DESCRIPTION\n/);
    expect(table.stdout).toContain(`${ids['ghcr.io']}  ghcr.io               robot`);
    expect(table.stdout).toMatch(new RegExp(`${ids['registry.example.com']}  registry\\.example\\.com  ci-bot +yes .* team registry\\n`));

    const listed = JSON.parse((await admin(tcp, ['integration', 'list', '--json'])).stdout) as { integrations: Array<{ id: string; host: string }> };
    expect(listed.integrations.map((i) => i.host).sort()).toEqual(['ghcr.io', 'registry.example.com']);

    const shown = await admin(tcp, ['integration', 'show', 'https://ghcr.io/', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: ids['ghcr.io'], host: 'ghcr.io', username: 'robot', export: true, description: null });

    const updated = await admin(socket, ['integration', 'update', 'ghcr.io', '--username', 'robot2', '--secret-stdin', '--json'], ghcrSecret2);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: ids['ghcr.io'], username: 'robot2' });

    for (const result of [added, viaSocket, duplicate, table, shown, updated]) {
      for (const secret of [ghcrSecret, ghcrSecret2, exampleSecret]) expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('a runner token minted by the CLI reads its host through POST /v1/credentials/get, and only its host', async () => {
    const minted = await admin(daemon.socketUrl!, ['token', 'create', '--name', 'ci-runner', '--role', 'runner', '--ttl', '1h', '--host', 'ghcr.io']);
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(new RegExp(`^${TOKEN_PATTERN.source}\\n$`));
    expect(minted.stderr).toMatch(/created token tok_[0-9a-f]{16} "ci-runner" \(role runner, hosts ghcr\.io, expires 20/);
    const runner = minted.stdout.trim();

    expect(await lookup(daemon.url, runner, 'ghcr.io')).toEqual({ status: 200, body: { ServerURL: 'ghcr.io', Username: 'robot2', Secret: ghcrSecret2 } });
    expect(await lookup(daemon.socketUrl!, runner, 'https://ghcr.io/v2/')).toMatchObject({ status: 200, body: { Secret: ghcrSecret2 } });
    expect(await lookup(daemon.url, runner, 'registry.example.com')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });

    // A runner is no admin: the CLI prints the API's refusal as one line.
    const denied = await runCli(['integration', 'list'], { env: { SCALR_CREDD_URL: daemon.url, SCALR_CREDD_TOKEN: runner } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^scalr-credd: .+ \(forbidden\)\n$/);

    const tokens = JSON.parse((await admin(daemon.url, ['token', 'list', '--json'])).stdout) as { tokens: Array<{ id: string; name: string; hosts: string[] | null }> };
    const runnerSummary = tokens.tokens.find((t) => t.name === 'ci-runner')!;
    expect(runnerSummary.hosts).toEqual(['ghcr.io']);
    expect((await admin(daemon.url, ['token', 'list'])).stdout).toMatch(new RegExp(`${runnerSummary.id}  ci-runner +runner +ghcr\\.io +20\\S+ +active\\n`));

    const revoked = await admin(daemon.url, ['token', 'revoke', runnerSummary.id]);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked token ${runnerSummary.id}\n` });
    expect(await lookup(daemon.url, runner, 'ghcr.io')).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
  });

  it('the helper reports a wrong base path in SCALR_CREDD_URL as an error, and an unknown host as not found', async () => {
    const home = makeTempDir('scalr-e2e-home-');
    const get = (url: string) => runHelperProcess(bundledHelper(), ['get'], 'nowhere.example', helperEnv({ url, token: adminToken, home }));

    const typo = await get(`${daemon.url}/typo`);
    const unknownHost = await get(daemon.url);

    expect(typo.code).toBe(1);
    expect(typo.stdout.toString()).toMatch(/^docker-credential-scalr: .*no such route.*SCALR_CREDD_URL/);
    expect(typo.stdout.toString()).not.toContain('credentials not found');
    expect(unknownHost).toMatchObject({ code: 1 });
    expect(unknownHost.stdout.toString()).toBe('credentials not found in native keychain\n');
  });

  it('integration rm removes by host, and a missing one is reported as not found', async () => {
    const added = await admin(daemon.url, ['integration', 'add', '--host', 'quay.io', '--username', 'q', '--json'], 'quay-secret');
    const id = (JSON.parse(added.stdout) as { id: string }).id;
    expect(await admin(daemon.socketUrl!, ['integration', 'rm', 'quay.io'])).toMatchObject({ code: 0, stdout: `removed integration ${id} for quay.io\n` });
    expect(await admin(daemon.url, ['integration', 'show', 'quay.io'])).toMatchObject({ code: 1, stderr: 'scalr-credd: no integration for host quay.io (not_found)\n' });
    expect(await admin(daemon.url, ['integration', 'rm', id])).toMatchObject({ code: 1, stderr: `scalr-credd: integration ${id} not found (not_found)\n` });
  });

  it('refuses a second serve of a served data dir, a wrong root key and a 0644 key file at start (exit 1), and init refuses an existing store', async () => {
    const other = join(makeTempDir('scalr-e2e-other-'), 'data');
    const init = await runCli(['init', '--data-dir', other, '--json']);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toEqual({ adminTokenFile: join(other, 'initial-admin.token'), dataDir: other });
    expect(mode(join(other, 'initial-admin.token'))).toBe(0o600);
    expect(init.stdout).not.toMatch(TOKEN_PATTERN);
    const otherKey = join(other, 'root.key');
    expect(mode(otherKey)).toBe(0o600);

    // The running daemon holds dataDir's serve lock.
    const second = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`scalr-credd: another scalr-credd serves ${dataDir} (it holds ${join(dataDir, 'serve.lock')}); stop it first\n`);

    // Another store's key (other is not served).
    const dataDirKey = join(dataDir, 'root.key');
    const wrongKey = await runCli(['serve', '--data-dir', other, '--root-key-file', dataDirKey, '--listen', '127.0.0.1:0']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toBe(
      `scalr-credd: database ${join(other, 'credd.sqlite')} does not open with root key file ${dataDirKey}: the key does not match its check value; ` +
        'use the key it was created with (a backup made before a rekey needs the old key: --root-key-file)\n',
    );
    expect(wrongKey.stdout).not.toContain('listening');

    const openKey = join(makeTempDir('scalr-e2e-key-'), 'open.key');
    copyFileSync(otherKey, openKey);
    chmodSync(openKey, 0o644);
    const tooOpen = await runCli(['serve', '--data-dir', other, '--root-key-file', openKey, '--listen', '127.0.0.1:0']);
    expect(tooOpen.code).toBe(1);
    expect(tooOpen.stderr).toMatch(/^scalr-credd: root key file .*open\.key is readable by group or others \(mode 0644\); run: chmod 600 .*open\.key\n$/);

    const reinit = await runCli(['init', '--data-dir', dataDir]);
    expect(reinit.code).toBe(1);
    expect(reinit.stderr).toBe(`scalr-credd: a store already exists in ${dataDir}; refusing to overwrite it\n`);
    expect(reinit.stdout).not.toMatch(TOKEN_PATTERN);

    // The running daemon did not notice.
    expect(await lookup(daemon.url, adminToken, 'ghcr.io')).toMatchObject({ status: 200, body: { Secret: ghcrSecret2 } });
  });

  it('SIGTERM stops gracefully (exit 0, socket removed); a restart keeps every integration, decrypts them, and prints no token', async () => {
    const before = JSON.parse((await admin(daemon.url, ['integration', 'list', '--json'])).stdout) as { integrations: unknown[] };
    expect(await daemon.stop()).toBe(0);
    expect(existsSync(join(dataDir, 'credd.sock'))).toBe(false);
    expect(daemon.logs().stderr).toContain('"msg":"stopped"');

    const unreachable = await admin(daemon.socketUrl!, ['integration', 'list']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^scalr-credd: cannot reach unix:.*credd\.sock \(no socket file at that path\); check that 'scalr-credd serve' is running/);

    daemon = await startDaemon({ dataDir });
    expect(daemon.adminToken).toBeUndefined();
    expect(daemon.logs().stdout).not.toMatch(TOKEN_PATTERN);
    expect(daemon.logs().stdout).not.toContain('Admin token');

    const after = JSON.parse((await admin(daemon.socketUrl!, ['integration', 'list', '--json'])).stdout) as { integrations: unknown[] };
    expect(after.integrations).toEqual(before.integrations);
    expect(await lookup(daemon.url, adminToken, 'ghcr.io')).toEqual({ status: 200, body: { ServerURL: 'ghcr.io', Username: 'robot2', Secret: ghcrSecret2 } });
    expect(await lookup(daemon.socketUrl!, adminToken, 'registry.example.com')).toEqual({
      status: 200,
      body: { ServerURL: 'registry.example.com', Username: 'ci-bot', Secret: exampleSecret },
    });
  });
});

describe('no secret in plaintext or encoded form in the database, its WAL and SHM, or the daemon output', () => {
  it('writes distinctive secrets through the API and the CLI, then scans every file and all output byte-wise', async () => {
    let daemon = await startDaemon({ args: ['--log-level', 'debug'] });
    const { dataDir } = daemon;
    const adminToken = daemon.adminToken!;
    const env = { SCALR_CREDD_URL: daemon.socketUrl!, SCALR_CREDD_TOKEN: adminToken };
    const username = `user-${distinctive('username')}`;
    const secrets = {
      apiCreate: specialSecret('api-create'),
      apiPatch: specialSecret('api-patch'),
      cliAdd: specialSecret('cli-add'),
      cliUpdate: specialSecret('cli-update'),
      helperStore: specialSecret('helper-store'),
    };

    const created = await api(daemon.url, adminToken, 'POST', '/v1/integrations', { host: 'api.example.com', username, secret: secrets.apiCreate });
    expect(created.status).toBe(201);
    const apiId = (created.body as { id: string }).id;
    expect((await api(daemon.url, adminToken, 'PATCH', `/v1/integrations/${apiId}`, { secret: secrets.apiPatch })).status).toBe(200);
    expect((await runCli(['integration', 'add', '--host', 'cli.example.com', '--username', username], { env, stdin: secrets.cliAdd })).code).toBe(0);
    const cliAdded = await runCli(['integration', 'add', '--host', 'cli2.example.com', '--username', username], { env, stdin: `${secrets.cliUpdate}-old\n` });
    expect(cliAdded.code).toBe(0);
    expect((await runCli(['integration', 'update', 'cli2.example.com', '--secret-stdin'], { env, stdin: secrets.cliUpdate })).code).toBe(0);
    const stored = await api(daemon.socketUrl!, adminToken, 'POST', '/v1/credentials/store', {
      ServerURL: 'https://helper.example.com',
      Username: username,
      Secret: secrets.helperStore,
    });
    expect(stored.status).toBe(204);
    const minted = await runCli(['token', 'create', '--name', 'leak-runner', '--role', 'runner'], { env });
    const runnerToken = minted.stdout.trim();
    expect(runnerToken).toMatch(TOKEN_PATTERN);

    const expected: Array<[string, string]> = [
      ['api.example.com', secrets.apiPatch],
      ['cli.example.com', secrets.cliAdd],
      ['cli2.example.com', secrets.cliUpdate],
      ['helper.example.com', secrets.helperStore],
    ];
    const lookupsReturnSecrets = async (url: string) => {
      for (const [host, secret] of expected) {
        expect(await lookup(url, runnerToken, host)).toEqual({ status: 200, body: { ServerURL: host, Username: username, Secret: secret } });
      }
    };
    await lookupsReturnSecrets(daemon.url);

    const secretNeedles = [
      ...Object.entries(secrets).flatMap(([label, secret]) => encodedForms(label, secret)),
      ...encodedForms('replaced cli secret', `${secrets.cliUpdate}-old`),
    ];
    // Token values: only their hashes are stored, and logs never carry them.
    const tokenNeedles = [...encodedForms('runner token', runnerToken), ...encodedForms('admin token', adminToken)];
    const scanDataDir = () => {
      const files = dataDirFiles(dataDir);
      const leaks: string[] = [];
      for (const [name, bytes] of files) leaks.push(...findLeaks(bytes, [...secretNeedles, ...tokenNeedles]).map((leak) => `${name}: ${leak}`));
      return { files, leaks };
    };

    // While running, before any checkpoint: the recent writes are in the WAL.
    const running = scanDataDir();
    expect([...running.files.keys()]).toEqual(expect.arrayContaining(['credd.sqlite', 'credd.sqlite-wal', 'credd.sqlite-shm', 'root.key']));
    expect(running.files.get('credd.sqlite-wal')!.length).toBeGreaterThan(0);
    expect(running.leaks).toEqual([]);
    // The scan reads real content: the (non-secret) username is stored in plaintext, so it is found.
    expect(findLeaks(Buffer.concat([...running.files.values()]), encodedForms('username', username)).length).toBeGreaterThan(0);

    expect(await daemon.stop()).toBe(0);
    const stopped = scanDataDir();
    expect(stopped.files.has('credd.sqlite')).toBe(true);
    expect(stopped.leaks).toEqual([]);

    const firstRun = daemon.output();
    expect(findLeaks(firstRun, [...secretNeedles, ...encodedForms('runner token', runnerToken)])).toEqual([]);
    // The admin token went to its 0600 file: neither stdout nor the JSON logs on stderr carry it.
    expect(findLeaks(firstRun, encodedForms('admin token', adminToken))).toEqual([]);

    // And the lookups still return every secret after a restart.
    daemon = await startDaemon({ dataDir, args: ['--log-level', 'debug'] });
    await lookupsReturnSecrets(daemon.socketUrl!);
    expect(await daemon.stop()).toBe(0);
    expect(findLeaks(daemon.output(), [...secretNeedles, ...tokenNeedles])).toEqual([]);
    expect(scanDataDir().leaks).toEqual([]);
  });
});

/** Pids of the node processes (not npm's, not the shell's) whose arguments name `marker`. */
function nodeProcessesNaming(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (/(^|\/)node$/.test(argv[0] ?? '') && argv.includes('serve') && argv.some((arg) => arg.includes(marker))) pids.push(Number(entry));
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('scalr-credd serve under npx', () => {
  it('stops the daemon below npm when npx gets SIGTERM: no process survives and the socket is gone', async () => {
    const dataDir = join(makeTempDir('scalr-npx-'), 'data');
    const socket = join(dataDir, 'credd.sock');
    const daemon = await startDaemon({ command: ['npx', '--no-install', 'scalr-credd'], dataDir, listen: [`unix:${socket}`] });
    const below = nodeProcessesNaming(dataDir).filter((pid) => pid !== daemon.pid);
    try {
      expect(below).toHaveLength(1);
      expect(existsSync(socket)).toBe(true);

      // npm forwards it to its `sh -c` only, which dies of it without passing it on.
      process.kill(daemon.pid, 'SIGTERM');
      await daemon.exited;
      const deadline = Date.now() + 15_000;
      while (below.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

      // What the daemon logged says whether it saw its parent go and where its shutdown stopped.
      expect(below.filter(isAlive), `the daemon below npm is still running; its log:\n${daemon.logs().stderr.slice(-4000)}`).toEqual([]);
      expect(existsSync(socket)).toBe(false);
    } finally {
      // An orphan this test made must not outlive it.
      for (const pid of below.filter(isAlive)) process.kill(pid, 'SIGKILL');
    }
  });
});
