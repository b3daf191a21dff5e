// The helper as clients run it, both ways it ships (the npm entry on Node, the packaged binary on
// Bun): a child process with argv, stdin and env, against a fake scalr-credd on a Unix socket. Both
// are rebuilt first when stale, so this tests the current sources.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_ENTRIES, buildHelperEntries, type HelperEntry } from '../../test/support/helper-entries.js';
import { makeTlsFixture, type TlsFixture } from '../../test/support/tls.js';
import { HELP_TEXT, HUB_OAUTH_REFUSAL } from './run-helper.js';
import { HELPER_VERSION } from './version.js';

const dir = mkdtempSync(join(tmpdir(), 'helper-bin-test-'));
const socketPath = join(dir, 'credd.sock');
const NOT_FOUND = 'credentials not found in native keychain\n';
/** Near the 1 MiB answer cap: the answer must reach a pipe complete. */
const BIG_SECRET = 's'.repeat(1000 * 1024);

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  elapsedMs: number;
}

/** Runs the helper; `stdin` undefined leaves the pipe open (never ended), null gives no stdin at all. */
function runEntry(entry: HelperEntry, args: string[], stdin: string | null | undefined, env: Record<string, string | undefined> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(entry.command, [...entry.args, ...args], {
      ...(cwd === undefined ? {} : { cwd }),
      env: definedOnly({ PATH: process.env['PATH'] ?? '', HOME: dir, SCALR_CREDD_URL: `unix:${socketPath}`, SCALR_CREDD_TOKEN: 'tok_good', ...env }),
      stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A hung helper is a failure, not a hung test run.
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ stdout, stderr, code, elapsedMs: Date.now() - started });
    });
    if (typeof stdin === 'string') child.stdin!.end(stdin);
  });
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The fake daemon: tok_good may do everything, tok_runner only read; hosts name their behaviour. */
function daemon(req: IncomingMessage, res: ServerResponse): void {
  let raw = '';
  req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  req.on('end', () => {
    const json = (status: number, body?: unknown) =>
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    const token = req.headers['authorization'];
    if (token !== 'Bearer tok_good' && token !== 'Bearer tok_runner') {
      json(401, { error: { code: 'unauthenticated', message: 'unknown or revoked token' } });
      return;
    }
    const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, string>);
    const route = `${req.method} ${req.url}`;
    if (route === 'POST /v1/credentials/get') {
      const serverUrl = body['serverURL'] ?? '';
      if (serverUrl.includes('hang.example.com')) return; // accept, never answer
      if (serverUrl.includes('boom.example.com')) return json(500, { error: { code: 'internal', message: 'internal error', requestId: 'req_7' } });
      if (serverUrl.includes('evil.example.com')) return json(400, { error: { code: 'invalid_request', message: 'bad\u009b2J\u202eexe.txt\u2028next\u0085line' } });
      if (serverUrl === 'big.example.com') return json(200, { ServerURL: serverUrl, Username: 'big', Secret: BIG_SECRET });
      if (/^(https:\/\/)?hit\.example\.com(:443)?$/.test(serverUrl)) {
        return json(200, { ServerURL: serverUrl, Username: '<token>', Secret: 'identity "token"' });
      }
      return json(404, { error: { code: 'not_found', message: 'credentials not found' } });
    }
    if (route === 'GET /v1/credentials') return json(200, { 'hit.example.com': '<token>', 'https://index.docker.io/v1/': 'hub' });
    if (route === 'POST /v1/credentials/store' || route === 'POST /v1/credentials/erase') {
      if (token === 'Bearer tok_runner') {
        return json(403, { error: { code: 'forbidden', message: `a runner token may not credential ${route.endsWith('store') ? 'store' : 'erase'}` } });
      }
      return json(204);
    }
    json(404, { error: { code: 'route_not_found', message: 'no such route' } });
  });
}

const sockets = new Set<Socket>();
function tracked<T extends Server>(server: T): T {
  server.on('connection', (socket: Socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  return server;
}
const server = tracked(createServer(daemon));
/** The same daemon over TLS with a certificate from a private CA; `mtls` also asks for a client certificate. */
let tlsServers: { plain: HttpsServer; mtls: HttpsServer; elsewhere: HttpsServer } | undefined;
let tls: TlsFixture;
const httpsUrl = (which: 'plain' | 'mtls' | 'elsewhere', host = '127.0.0.1') => `https://${host}:${(tlsServers![which].address() as AddressInfo).port}`;

beforeAll(async () => {
  buildHelperEntries();
  tls = makeTlsFixture(mkdtempSync(join(dir, 'tls-')));
  const options = { key: tls.pem.serverKey, cert: tls.pem.serverCert, ca: tls.pem.ca };
  tlsServers = {
    plain: tracked(createHttpsServer(options, daemon)),
    mtls: tracked(createHttpsServer({ ...options, requestCert: true, rejectUnauthorized: true }, daemon)),
    elsewhere: tracked(createHttpsServer({ key: tls.pem.elsewhereKey, cert: tls.pem.elsewhereCert }, daemon)),
  };
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  for (const https of Object.values(tlsServers)) await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all([server, ...Object.values(tlsServers ?? {})].map((open) => new Promise((resolve) => open.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

describe.each(HELPER_ENTRIES)('docker-credential-scalr ($label)', (entry) => {
const runHelper = (args: string[], stdin: string | null | undefined, env: Record<string, string | undefined> = {}, cwd?: string) => runEntry(entry, args, stdin, env, cwd);

describe('get', () => {
  it.each([
    ['docker form without newline', 'hit.example.com'],
    ['echo form with newline', 'hit.example.com\n'],
    ['OpenTofu form', 'https://hit.example.com'],
  ])('prints exactly one JSON line and nothing on stderr for the %s', async (_form, stdin) => {
    const run = await runHelper(['get'], stdin);

    expect(run.stdout).toBe(`${JSON.stringify({ ServerURL: stdin.trim(), Username: '<token>', Secret: 'identity "token"' })}\n`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('reads a stdin handed over non-blocking (EAGAIN) to its end, arriving later', async () => {
    const fifo = join(dir, `stdin-${entry.label.replace(' ', '-')}.fifo`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // The write end stays open, so a read finds no EOF but, on a non-blocking descriptor, EAGAIN.
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeEnd = openSync(fifo, constants.O_WRONLY);
    try {
      // Node's spawn makes a child's fds 0-2 blocking again; python sets O_NONBLOCK on fd 0 and execs the helper.
      const setNonBlocking = 'import fcntl, os, sys; fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])';
      const child = spawn('python3', ['-c', setNonBlocking, entry.command, ...entry.args, 'get'], {
        env: { PATH: process.env['PATH'] ?? '', HOME: dir, SCALR_CREDD_URL: `unix:${socketPath}`, SCALR_CREDD_TOKEN: 'tok_good' },
        stdio: [readEnd, 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      setTimeout(() => {
        writeSync(writeEnd, 'https://hit');
        setTimeout(() => (writeSync(writeEnd, '.example.com\n'), closeSync(writeEnd)), 100);
      }, 300);
      const code = await new Promise((resolve) => child.on('close', resolve));
      clearTimeout(killer);

      expect(code).toBe(0);
      expect(stdout).toBe(`${JSON.stringify({ ServerURL: 'https://hit.example.com', Username: '<token>', Secret: 'identity "token"' })}\n`);
    } finally {
      closeSync(readEnd);
      try {
        closeSync(writeEnd);
      } catch {
        // Closed once the input was written.
      }
    }
  });

  it('exits quietly when the client closed its end of stdout before the answer', async () => {
    const child = spawn(entry.command, [...entry.args, 'get'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, SCALR_CREDD_URL: `unix:${socketPath}`, SCALR_CREDD_TOKEN: 'tok_good' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.destroy();
    child.stdin!.end('hit.example.com');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(killer);

    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('prints the not-found line for an unknown host, nothing on stderr', async () => {
    expect(await runHelper(['get'], 'unknown.example.com')).toMatchObject({ stdout: NOT_FOUND, stderr: '', code: 1 });
  });

  it('answers not-found for an invalid address even without a daemon or a token', async () => {
    const run = await runHelper(['get'], 'ftp://hit.example.com', { SCALR_CREDD_URL: `unix:${join(dir, 'absent.sock')}`, SCALR_CREDD_TOKEN: '' });

    expect(run).toMatchObject({ stdout: NOT_FOUND, stderr: '', code: 1 });
  });

  it('fails with one clear line when the daemon is down, never not-found', async () => {
    const absent = join(dir, 'absent.sock');

    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_URL: `unix:${absent}` });

    expect(run.stdout).toBe(
      `docker-credential-scalr: cannot reach scalr-credd at unix:${absent} (no socket file at that path); is the daemon running? check SCALR_CREDD_URL\n`,
    );
    expect(run).toMatchObject({ stderr: '', code: 1 });
  });

  it('gives up on a hung daemon within the timeout plus slack', async () => {
    const timeoutMs = 600;

    const run = await runHelper(['get'], 'hang.example.com', { SCALR_CREDD_TIMEOUT_MS: String(timeoutMs) });

    expect(run.stdout).toMatch(/^docker-credential-scalr: scalr-credd at unix:.* did not answer within 600 ms; .*SCALR_CREDD_TIMEOUT_MS\n$/);
    expect(run).toMatchObject({ stderr: '', code: 1 });
    expect(run.elapsedMs).toBeLessThan(timeoutMs + 2500);
  });

  it('reports a rejected token on one line naming the token variables', async () => {
    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_TOKEN: 'tok_revoked' });

    expect(run.stdout).toMatch(/^docker-credential-scalr: scalr-credd at unix:.* rejected the token \(401: unknown or revoked token\); check SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE\n$/);
    expect(run).toMatchObject({ stderr: '', code: 1 });
  });

  it('reports a daemon failure with its request id', async () => {
    const run = await runHelper(['get'], 'boom.example.com');

    expect(run.stdout).toMatch(/^docker-credential-scalr: scalr-credd at .* failed \(status 500 internal: internal error\) \(request id req_7\); check the daemon's log\n$/);
    expect(run.code).toBe(1);
  });

  it('reads the token from SCALR_CREDD_TOKEN_FILE', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok_good\n', { mode: 0o600 });

    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_TOKEN: '', SCALR_CREDD_TOKEN_FILE: tokenFile });

    expect(run.code).toBe(0);
  });

  it('names the token variables when no token is configured', async () => {
    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_TOKEN: '' });

    expect(run.stdout).toMatch(/^docker-credential-scalr: .*SCALR_CREDD_TOKEN_FILE.*SCALR_CREDD_TOKEN\n$/);
    expect(run).toMatchObject({ stderr: '', code: 1 });
  });

  it('answers no server URL when there is no stdin at all', async () => {
    expect(await runHelper(['get'], null)).toMatchObject({ stdout: 'no credentials server URL\n', stderr: '', code: 1 });
  });
});

describe('other verbs', () => {
  it('lists keys and usernames as one JSON line', async () => {
    expect(await runHelper(['list'], 'unused')).toMatchObject({
      stdout: '{"hit.example.com":"<token>","https://index.docker.io/v1/":"hub"}\n',
      stderr: '',
      code: 0,
    });
  });

  it('stores pretty-printed JSON with Go escapes, printing nothing', async () => {
    const stdin = '{\n  "ServerURL": "hit.example.com",\n  "Username": "\\u003ctoken\\u003e",\n  "Secret": "x"\n}\n';

    expect(await runHelper(['store'], stdin)).toMatchObject({ stdout: '', stderr: '', code: 0 });
  });

  it('refuses store and erase for a read-only token with one clear line', async () => {
    for (const [verb, stdin] of [
      ['store', '{"ServerURL":"hit.example.com","Username":"u","Secret":"hunter2"}'],
      ['erase', 'hit.example.com'],
    ] as const) {
      const run = await runHelper([verb], stdin, { SCALR_CREDD_TOKEN: 'tok_runner' });

      expect(run).toMatchObject({
        stdout: 'docker-credential-scalr: the token is read-only (role runner); store and erase need a manager or admin token\n',
        stderr: '',
        code: 1,
      });
    }
  });

  // The docker CLI's web (device-code) login to Docker Hub cannot run here (Docker Hub is unreachable):
  // these are the bytes it hands the helper for its two OAuth keys, as protocol.md §2.1 documents them.
  it('refuses the OAuth tokens of a Docker Hub web login with one line naming --password-stdin', async () => {
    for (const stdin of [
      '{"ServerURL":"https://index.docker.io/v1/access-token","Username":"hubuser","Secret":"eyJhbGciOiJSUzI1NiJ9.hunter2"}\n',
      '{"ServerURL":"https://index.docker.io/v1/refresh-token","Username":"hubuser","Secret":"hunter2..client-id"}\n',
    ]) {
      const run = await runHelper(['store'], stdin);

      expect(run).toMatchObject({ stdout: `docker-credential-scalr: ${HUB_OAUTH_REFUSAL}\n`, stderr: '', code: 1 });
      expect(run.stdout).not.toContain('hunter2');
    }
  });

  it('rejects malformed store input with one line that does not echo it', async () => {
    const run = await runHelper(['store'], '{"ServerURL":"hit.example.com","Secret":"hunter2"');

    expect(run.stdout).toMatch(/^docker-credential-scalr: store expects .*not valid JSON\n$/);
    expect(run.stdout).not.toContain('hunter2');
    expect(run).toMatchObject({ stderr: '', code: 1 });
  });

  it('erases, succeeding for an entry that is not stored', async () => {
    expect(await runHelper(['erase'], 'https://unknown.example.com')).toMatchObject({ stdout: '', stderr: '', code: 0 });
  });

  it.each([
    { args: ['version'], stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, code: 0 },
    { args: ['--version'], stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, code: 0 },
    { args: ['-v'], stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, code: 0 },
    { args: ['--help'], stdout: HELP_TEXT, code: 0 },
    { args: ['help'], stdout: HELP_TEXT, code: 0 },
    { args: [], stdout: 'Usage: docker-credential-scalr <store|get|erase|list|version>\n', code: 1 },
    { args: ['get', 'extra'], stdout: 'Usage: docker-credential-scalr <store|get|erase|list|version>\n', code: 1 },
    { args: ['fetch'], stdout: 'docker-credential-scalr: unknown action: fetch\n', code: 1 },
  ])('answers $args with exit $code and nothing on stderr', async ({ args, stdout, code }) => {
    expect(await runHelper(args, '')).toMatchObject({ stdout, stderr: '', code });
  });

  it('answers version even when the client never closes stdin', async () => {
    const run = await runHelper(['version'], undefined);

    expect(run).toMatchObject({ stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, stderr: '', code: 0 });
  });

  it('configures a Docker config from the daemon list without writing a secret', async () => {
    const config = join(dir, 'docker', 'config.json');

    const run = await runHelper(['configure', '--config', join(dir, 'docker'), '--json'], null);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ hosts: ['docker.io', 'hit.example.com'] });
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual({
      credHelpers: { 'https://index.docker.io/v1/': 'scalr', 'docker.io': 'scalr', 'hit.example.com': 'scalr' },
    });
  });
});

describe('runtime hazards', () => {
  it('writes a 1 MiB answer to a pipe completely before exiting', async () => {
    const run = await runHelper(['get'], 'big.example.com');

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${JSON.stringify({ ServerURL: 'big.example.com', Username: 'big', Secret: BIG_SECRET })}\n`);
  });

  it('never reads .env or bunfig.toml from the working directory', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    // Were .env read, it would point the helper at the working fake daemon and the get would succeed.
    writeFileSync(join(cwd, '.env'), `SCALR_CREDD_URL=unix:${socketPath}\nSCALR_CREDD_TOKEN=tok_good\n`);
    writeFileSync(join(cwd, 'preload.js'), 'process.stdout.write("preloaded\\n");\n');
    writeFileSync(join(cwd, 'bunfig.toml'), 'preload = ["./preload.js"]\n');

    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_URL: undefined }, cwd);

    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toBe(`docker-credential-scalr: cannot reach scalr-credd at unix:${dir}/.local/share/scalr-credd/credd.sock (no socket file at that path); is the daemon running? check SCALR_CREDD_URL\n`);
  });

  it('refuses SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE set together, naming both', async () => {
    const tokenFile = join(dir, 'token-both');
    writeFileSync(tokenFile, 'tok_good\n');

    const run = await runHelper(['get'], 'hit.example.com', { SCALR_CREDD_TOKEN_FILE: tokenFile });

    expect(run).toMatchObject({ code: 1, stderr: '', stdout: 'docker-credential-scalr: set only one of SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE, not both\n' });
  });

  it('strips C1 controls, bidi overrides and separators from a daemon message', async () => {
    const run = await runHelper(['get'], 'evil.example.com');

    expect(run).toMatchObject({ code: 1, stderr: '', stdout: 'docker-credential-scalr: scalr-credd refused the request: bad 2J exe.txt next line\n' });
  });
});

describe('an https daemon URL', () => {
  const tlsEnv = (extra: Record<string, string> = {}) => ({ SCALR_CREDD_URL: httpsUrl('plain'), SCALR_CREDD_CA_FILE: tls.caPath, ...extra });
  const hit = `${JSON.stringify({ ServerURL: 'hit.example.com', Username: '<token>', Secret: 'identity "token"' })}\n`;

  it('answers over TLS with SCALR_CREDD_CA_FILE added to the default roots, by IP address and by name', async () => {
    expect(await runHelper(['get'], 'hit.example.com', tlsEnv())).toMatchObject({ code: 0, stderr: '', stdout: hit });
    expect(await runHelper(['get'], 'hit.example.com', tlsEnv({ SCALR_CREDD_URL: httpsUrl('plain', 'localhost') }))).toMatchObject({ code: 0, stdout: hit });
  });

  it('reports an untrusted certificate on one line naming SCALR_CREDD_CA_FILE, never not-found', async () => {
    for (const env of [{ SCALR_CREDD_CA_FILE: undefined }, { SCALR_CREDD_CA_FILE: tls.otherCaPath }]) {
      const run = await runHelper(['get'], 'hit.example.com', { ...tlsEnv(), ...env });

      expect(run).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toMatch(/^docker-credential-scalr: cannot reach scalr-credd at https:\/\/127\.0\.0\.1:\d+ \(TLS: [^)]+\); check SCALR_CREDD_URL's host name and SCALR_CREDD_CA_FILE .*\n$/);
    }
  });

  it('reports a certificate for another host name on one line', async () => {
    const run = await runHelper(['get'], 'hit.example.com', tlsEnv({ SCALR_CREDD_URL: httpsUrl('elsewhere') }));

    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toMatch(/^docker-credential-scalr: cannot reach scalr-credd at https:\/\/127\.0\.0\.1:\d+ \(TLS: certificate does not match the host name\); check /);
  });

  it('presents SCALR_CREDD_CLIENT_CERT and SCALR_CREDD_CLIENT_KEY to a daemon that asks for a client certificate', async () => {
    const client = { SCALR_CREDD_CLIENT_CERT: tls.clientCertPath, SCALR_CREDD_CLIENT_KEY: tls.clientKeyPath };
    expect(await runHelper(['get'], 'hit.example.com', tlsEnv({ SCALR_CREDD_URL: httpsUrl('mtls'), ...client }))).toMatchObject({ code: 0, stdout: hit });

    const without = await runHelper(['get'], 'hit.example.com', tlsEnv({ SCALR_CREDD_URL: httpsUrl('mtls') }));
    expect(without).toMatchObject({ code: 1, stderr: '' });
    expect(without.stdout).toMatch(/^docker-credential-scalr: (cannot reach|unexpected answer from) scalr-credd at https:/);
    expect(without.stdout).not.toContain('not found');
  });
});
});
