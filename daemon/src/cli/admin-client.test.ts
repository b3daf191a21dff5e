import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { HttpClientError, type JsonRequest, type JsonResponse } from '@dcs/shared/http-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  AdminError,
  createAdminClient,
  describeApiError,
  parseVerbArgs,
  reportApiErrors,
  resolveConnection,
} from './admin-client.js';
import type { CliIo } from './io.js';
import { UsageError } from './io.js';
import { runCli } from './run-cli.js';
import { runServe } from './serve-command.js';
import { integrationSummary } from '../../../test/support/factories.js';

function fakeIo(options: { env?: Record<string, string>; stdin?: string; home?: string } = {}) {
  const out = { stdout: '', stderr: '', stdinReads: 0 };
  let shutdown: ((signal: string) => void) | undefined;
  const io: CliIo = {
    env: options.env ?? {},
    homeDir: options.home ?? '/home/someone',
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
    readStdin: async () => (out.stdinReads++, options.stdin ?? ''),
    stdinIsTty: false,
    promptSecret: async () => {
      throw new Error('no terminal in this test');
    },
    onShutdownSignal: (handler) => void (shutdown = handler),
  };
  return { io, out, shutdown: (signal = 'SIGTERM') => shutdown?.(signal) };
}

const SUMMARY = integrationSummary({ id: 'int_0123456789abcdef', updatedAt: '2026-01-01T00:00:00.000Z' });

/** A self-signed CA certificate (no key kept): the daemon parses every certificate it is given. */
const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUcyYYFqJ929586aDeVJDz41XXDfQwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXc2NhbHItY3JlZGQtY2xpLXRlc3QtY2EwIBcNMjYxMTI3MDcy
OTQ3WhgPMjEyNjExMDMwNzI5NDdaMCIxIDAeBgNVBAMMF3NjYWxyLWNyZWRkLWNs
aS10ZXN0LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEl97OKj9z7RgJMXsz
XDCgNdIlt2F4z3nyYou1Etg3gXGpNV9xz4N3M9FglFTYwlckuDCtJdwnkMoFu5Ro
O/muX6NTMFEwHQYDVR0OBBYEFEDdk2XqYkX9fReAUntlr2XshbkzMB8GA1UdIwQY
MBaAFEDdk2XqYkX9fReAUntlr2XshbkzMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDRwAwRAIgVRvdtQIxCSM5d0+T0y3GDaii4DeS25VLvTRyn/QwK/8CIFzL
7Q/+cfJzPWujThfmpQ4vSgBJ+Nvo9TVOQHr1Vct5
-----END CERTIFICATE-----
`;

describe('resolveConnection', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'admin-client-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults the URL to the socket of the default data dir', () => {
    const { io } = fakeIo({ env: { SCALR_CREDD_TOKEN: 'scd_x' }, home: '/home/ann' });
    expect(resolveConnection({}, io)).toEqual({ url: 'unix:/home/ann/.local/share/scalr-credd/credd.sock', token: 'scd_x' });
  });

  it('follows SCALR_CREDD_DATA_DIR and XDG_DATA_HOME for the default socket', () => {
    expect(resolveConnection({}, fakeIo({ env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_DATA_DIR: '/srv/credd' } }).io).url).toBe(
      'unix:/srv/credd/credd.sock',
    );
    expect(resolveConnection({}, fakeIo({ env: { SCALR_CREDD_TOKEN: 't', XDG_DATA_HOME: '/xdg' } }).io).url).toBe(
      'unix:/xdg/scalr-credd/credd.sock',
    );
  });

  it('prefers --url over SCALR_CREDD_URL', () => {
    const { io } = fakeIo({ env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'http://127.0.0.1:1' } });
    expect(resolveConnection({}, io).url).toBe('http://127.0.0.1:1');
    expect(resolveConnection({ url: 'unix:/run/x.sock' }, io).url).toBe('unix:/run/x.sock');
  });

  it('reads the token from --token-file, else SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE, trimming a newline; both variables are refused as the helper refuses them', () => {
    const flagFile = join(dir, 'flag-token');
    const envFile = join(dir, 'env-token');
    writeFileSync(flagFile, 'from-flag\n');
    writeFileSync(envFile, 'from-env-file\n');
    const both = fakeIo({ env: { SCALR_CREDD_TOKEN: 'from-env', SCALR_CREDD_TOKEN_FILE: envFile } }).io;
    expect(resolveConnection({ tokenFile: flagFile }, both).token).toBe('from-flag');
    expect(() => resolveConnection({}, both)).toThrow(new ConfigError('set only one of SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE, not both'));
    expect(resolveConnection({}, fakeIo({ env: { SCALR_CREDD_TOKEN: 'from-env' } }).io).token).toBe('from-env');
    expect(resolveConnection({}, fakeIo({ env: { SCALR_CREDD_TOKEN_FILE: envFile } }).io).token).toBe('from-env-file');
  });

  it('reads the TLS files for an https URL, and names a missing one', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'CA PEM');
    const env = { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'https://credd.example:8443', SCALR_CREDD_CA_FILE: ca };
    expect(resolveConnection({}, fakeIo({ env }).io)).toEqual({ url: 'https://credd.example:8443', token: 't', tls: { ca: 'CA PEM' } });
    expect(resolveConnection({}, fakeIo({ env: { ...env, SCALR_CREDD_URL: 'http://credd:1' } }).io)).toEqual({ url: 'http://credd:1', token: 't' });
    expect(() => resolveConnection({}, fakeIo({ env: { ...env, SCALR_CREDD_CA_FILE: join(dir, 'none.pem') } }).io)).toThrow(/cannot read SCALR_CREDD_CA_FILE .*no such file/);
    expect(() => resolveConnection({}, fakeIo({ env: { ...env, SCALR_CREDD_CLIENT_KEY: ca } }).io)).toThrow(/SCALR_CREDD_CLIENT_CERT/);
  });

  it('fails with what to set when there is no token', () => {
    expect(() => resolveConnection({}, fakeIo().io)).toThrow(ConfigError);
    expect(() => resolveConnection({}, fakeIo().io)).toThrow(/SCALR_CREDD_TOKEN/);
  });

  it('fails clearly on a missing or empty token file', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => resolveConnection({ tokenFile: join(dir, 'nope') }, fakeIo().io)).toThrow(/cannot read the token file .*nope.*ENOENT/);
    expect(() => resolveConnection({ tokenFile: empty }, fakeIo().io)).toThrow(/is empty/);
  });
});

describe('resolveConnection with a malformed URL', () => {
  const io = (url: string) => fakeIo({ env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: url } }).io;

  it('calls a URL without a scheme malformed, not unreachable, and says what to write', () => {
    expect(() => resolveConnection({}, io('localhost:8700'))).toThrow(
      new ConfigError('malformed URL "localhost:8700" from SCALR_CREDD_URL (no http://, https:// or unix: scheme); use http://HOST:PORT, https://HOST:PORT or unix:PATH'),
    );
    expect(() => resolveConnection({ url: '127.0.0.1:8700' }, io('http://127.0.0.1:1'))).toThrow(/^malformed URL "127\.0\.0\.1:8700" from --url \(/);
    expect(() => resolveConnection({}, io('unix:relative.sock'))).toThrow(/^malformed URL "unix:relative\.sock" from SCALR_CREDD_URL \(a unix: URL needs an absolute socket path/);
  });

  it('does not print back a URL that holds user credentials', () => {
    expect(() => resolveConnection({}, io('http://ann:hunter2@127.0.0.1:8700'))).toThrow(/^malformed URL \(not shown[^]*user credentials\)/);
    expect(() => resolveConnection({}, io('http://ann:hunter2@127.0.0.1:8700'))).not.toThrow(/hunter2/);
  });

  it('is one line on stderr and exit 1 from the CLI', async () => {
    const { io: cliIo, out } = fakeIo({ env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'localhost:8700' } });
    expect(await runCli(['token', 'list'], cliIo)).toBe(1);
    expect(out.stderr).toMatch(/^scalr-credd: malformed URL "localhost:8700" from SCALR_CREDD_URL \([^\n]*\n$/);
  });
});

describe('createAdminClient', () => {
  const recorder = (responses: JsonResponse[]) => {
    const seen: JsonRequest[] = [];
    const send = async (request: JsonRequest) => {
      seen.push(request);
      const next = responses.shift();
      if (!next) throw new Error('no more responses');
      return next;
    };
    return { seen, send };
  };

  it('sends the token, method, path and body, and returns the parsed answer', async () => {
    const { seen, send } = recorder([{ status: 200, body: SUMMARY }, { status: 204, body: undefined }]);
    const client = createAdminClient({ url: 'unix:/s.sock', token: 'scd_t' }, send, 1234);
    await expect(client.updateIntegration('int_0123456789abcdef', { description: null })).resolves.toEqual(SUMMARY);
    await client.revokeToken('tok_0123456789abcdef');
    expect(seen).toEqual([
      {
        url: 'unix:/s.sock',
        token: 'scd_t',
        method: 'PATCH',
        path: '/v1/integrations/int_0123456789abcdef',
        body: { description: null },
        timeoutMs: 1234,
      },
      { url: 'unix:/s.sock', token: 'scd_t', method: 'DELETE', path: '/v1/tokens/tok_0123456789abcdef', timeoutMs: 1234 },
    ]);
  });

  it('escapes ids in paths', async () => {
    const { seen, send } = recorder([{ status: 204, body: undefined }]);
    await createAdminClient({ url: 'unix:/s', token: 't' }, send).removeIntegration('../tokens');
    expect(seen[0]!.path).toBe('/v1/integrations/..%2Ftokens');
  });

  it('turns an API error into an http HttpClientError with the code', async () => {
    const body = { error: { code: 'not_found', message: 'integration int_0123456789abcdef not found' } };
    const { send } = recorder([{ status: 404, body }]);
    const error = await createAdminClient({ url: 'unix:/s', token: 't' }, send)
      .getIntegration('int_0123456789abcdef')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpClientError);
    expect(error).toMatchObject({ kind: 'http', status: 404, code: 'not_found' });
  });

  it('keeps fields a newer daemon adds', async () => {
    const { send } = recorder([{ status: 200, body: { ...SUMMARY, addedLater: 1 } }]);
    await expect(createAdminClient({ url: 'unix:/s', token: 't' }, send).getIntegration(SUMMARY.id)).resolves.toEqual({ ...SUMMARY, addedLater: 1 });
  });

  it('rejects an answer that does not match the API as a protocol error', async () => {
    const { send } = recorder([{ status: 200, body: { integrations: [{ id: 'nope' }] } }]);
    await expect(createAdminClient({ url: 'unix:/s', token: 't' }, send).listIntegrations()).rejects.toMatchObject({ kind: 'protocol' });
  });

  it('posts the integration test without a body and returns the report', async () => {
    const report = { id: SUMMARY.id, host: 'ghcr.io', result: 'unauthorized', detail: 'registry rejected the credential (HTTP 401)', testedAt: '2026-01-03T00:00:00.000Z' };
    const { seen, send } = recorder([{ status: 200, body: report }]);
    await expect(createAdminClient({ url: 'unix:/s', token: 't' }, send, 99).testIntegration('int_0123456789abcdef')).resolves.toEqual(report);
    expect(seen).toEqual([{ url: 'unix:/s', token: 't', method: 'POST', path: '/v1/integrations/int_0123456789abcdef/test', timeoutMs: 99 }]);
  });

  it('rejects a test report that does not match the API as a protocol error', async () => {
    const { send } = recorder([{ status: 200, body: { id: SUMMARY.id, host: 'ghcr.io', result: 'maybe', detail: '', testedAt: SUMMARY.createdAt } }]);
    await expect(createAdminClient({ url: 'unix:/s', token: 't' }, send).testIntegration(SUMMARY.id)).rejects.toMatchObject({ kind: 'protocol' });
  });

  it('treats an unexpected success status as an error', async () => {
    const { send } = recorder([{ status: 200, body: SUMMARY }]);
    await expect(
      createAdminClient({ url: 'unix:/s', token: 't' }, send).createIntegration({ host: 'ghcr.io', username: 'u', secret: 's' }),
    ).rejects.toMatchObject({ kind: 'http', status: 200 });
  });
});

describe('describeApiError and reportApiErrors', () => {
  it('prints an API error as "scalr-credd: <message> (<code>)" and exits 1', async () => {
    const { io, out } = fakeIo();
    const error = new HttpClientError('http', 'x', { target: 'unix:/s', detail: 'd', status: 409, code: 'conflict', serverMessage: 'host ghcr.io already has an integration' });
    await expect(reportApiErrors(io, async () => Promise.reject(error))).resolves.toBe(1);
    expect(out.stderr).toBe('scalr-credd: host ghcr.io already has an integration (conflict)\n');
  });

  it('says what to check when the daemon cannot be reached', () => {
    const error = new HttpClientError('unreachable', 'cannot reach unix:/s (connection refused)', { target: 'unix:/s', detail: 'connection refused' });
    expect(describeApiError(error)).toMatch(/^cannot reach unix:\/s \(connection refused\); check that 'scalr-credd serve' is running .*SCALR_CREDD_URL/);
  });

  it('reports AdminError like an API error', async () => {
    const { io, out } = fakeIo();
    await expect(reportApiErrors(io, async () => Promise.reject(new AdminError('no integration for host a.io', 'not_found')))).resolves.toBe(1);
    expect(out.stderr).toBe('scalr-credd: no integration for host a.io (not_found)\n');
  });

  it('lets other errors through', async () => {
    await expect(reportApiErrors(fakeIo().io, async () => Promise.reject(new UsageError('u')))).rejects.toBeInstanceOf(UsageError);
  });
});

describe('parseVerbArgs', () => {
  const parse = (args: string[], max = 0) =>
    parseVerbArgs(args, max, (a) => ({ positionals: a.filter((x) => !x.startsWith('-')), values: {} }));

  it.each([['--secret', 'hunter2'], ['--secret=hunter2'], ['--password=hunter2'], ['--PASSWORD', 'hunter2'], ['--pat=hunter2']])(
    'refuses a secret flag (%s) with "pipe it", never echoing the value',
    (...args) => {
      const error = (() => {
        try {
          parse(args);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UsageError);
      expect(error!.message).toMatch(/pipe it on stdin/);
      expect(error!.message).not.toContain('hunter2');
    },
  );

  it('refuses --token and points at SCALR_CREDD_TOKEN or --token-file', () => {
    expect(() => parse(['--token=scd_abc'])).toThrow(/SCALR_CREDD_TOKEN or pass --token-file/);
    expect(() => parse(['--token=scd_abc'])).not.toThrow(/scd_abc/);
  });

  it('lets --token through only with a token id, which is no credential', () => {
    const withToken = (args: string[]) => parseVerbArgs(args, 0, (a) => parseArgs({ args: a, options: { token: { type: 'string' } }, strict: true, allowPositionals: true }));
    expect(withToken(['--token', 'tok_0123456789abcdef']).values.token).toBe('tok_0123456789abcdef');
    expect(withToken(['--token=tok_0123456789abcdef']).values.token).toBe('tok_0123456789abcdef');
    expect(() => withToken(['--token', 'scd_tok_0123456789abcdef_secret'])).toThrow(/never a token/);
    expect(() => withToken(['--token'])).toThrow(/never a token/);
  });

  it('does not echo unknown options values or extra positionals', () => {
    const strict = (args: string[]) =>
      parseVerbArgs(args, 0, (a) => {
        // Behaves like node:util parseArgs in strict mode.
        if (a.some((x) => x.startsWith('--oops'))) throw Object.assign(new Error(`Unknown option '--oops'`), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
        return { positionals: a };
      });
    expect(() => strict(['--oops=hunter2'])).toThrow('unknown option --oops');
    expect(() => strict(['hunter2'])).toThrow(UsageError);
    expect(() => strict(['hunter2'])).not.toThrow(/hunter2/);
  });

  it('accepts --secret-stdin and allows up to the given number of positionals', () => {
    expect(parse(['--secret-stdin', 'ghcr.io'], 1).positionals).toEqual(['ghcr.io']);
  });
});

describe('admin verbs against the real API in-process (Unix socket)', () => {
  let dir: string;
  let socketUrl: string;
  let adminToken: string;
  let stopServe: () => Promise<number>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-cli-'));
    const socket = join(dir, 'credd.sock');
    const daemon = fakeIo();
    let resolveListening!: () => void;
    const listening = new Promise<void>((resolve) => (resolveListening = resolve));
    const io: CliIo = { ...daemon.io, stdout: (text) => (daemon.io.stdout(text), text.includes('listening on') && resolveListening()) };
    const served = runServe(['--data-dir', join(dir, 'data'), '--listen', `unix:${socket}`, '--log-level', 'error', '--print-token'], io);
    await Promise.race([listening, served.then((code) => Promise.reject(new Error(`serve exited ${code}: ${daemon.out.stderr}`)))]);
    adminToken = /scd_tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(daemon.out.stdout)![0];
    socketUrl = `unix:${socket}`;
    stopServe = () => (daemon.shutdown(), served);
  });
  afterAll(async () => {
    await stopServe?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[], options: { stdin?: string; token?: string } = {}) => {
    const { io, out } = fakeIo({
      env: { SCALR_CREDD_URL: socketUrl, SCALR_CREDD_TOKEN: options.token ?? adminToken },
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    });
    const code = await runCli(args, io);
    return { code, ...out };
  };

  it('adds, lists, shows, updates and removes an integration, and mints and revokes a token', async () => {
    const added = await cli(['integration', 'add', '--host', 'https://Registry.Example.com:443/', '--username', 'bot', '--json'], {
      stdin: 'in-process-secret\n',
    });
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const created = JSON.parse(added.stdout) as typeof SUMMARY;
    expect(created).toMatchObject({ host: 'registry.example.com', username: 'bot', export: true });
    expect(added.stdout).not.toContain('in-process-secret');

    const listed = await cli(['integration', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID +HOST +USERNAME +EXPORT +EXPIRES +UPDATED +DESCRIPTION\n/);
    expect(listed.stdout).toContain(`${created.id}  registry.example.com  bot`);

    const updated = await cli(['integration', 'update', 'registry.example.com', '--description', 'team bot', '--no-export', '--json']);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: created.id, description: 'team bot', export: false });

    const shown = await cli(['integration', 'show', created.id]);
    expect(shown.stdout).toContain('description: team bot');

    const minted = await cli(['token', 'create', '--name', 'ci', '--role', 'runner', '--ttl', '1h', '--host', 'registry.example.com']);
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(/^scd_tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const runnerToken = minted.stdout.trim();
    const runnerId = /scd_(tok_[0-9a-f]{16})_/.exec(runnerToken)![1]!;
    expect(minted.stderr).toContain(`created token ${runnerId}`);

    // A runner may not manage integrations: the API's own error, one line, exit 1.
    const denied = await cli(['integration', 'list'], { token: runnerToken });
    expect(denied).toMatchObject({ code: 1, stdout: '' });
    expect(denied.stderr).toMatch(/^scalr-credd: .+ \(forbidden\)\n$/);

    expect((await cli(['token', 'revoke', runnerId])).code).toBe(0);
    const tokens = await cli(['token', 'list', '--json']);
    expect(JSON.parse(tokens.stdout).tokens).toContainEqual(expect.objectContaining({ id: runnerId, revokedAt: expect.any(String) }));
    const revoked = await cli(['integration', 'list'], { token: runnerToken });
    expect(revoked.stderr).toMatch(/^scalr-credd: .+ \(unauthenticated\)\n$/);

    expect((await cli(['integration', 'rm', 'registry.example.com'])).stdout).toBe(`removed integration ${created.id} for registry.example.com\n`);
    const gone = await cli(['integration', 'show', created.id]);
    expect(gone).toMatchObject({ code: 1, stderr: `scalr-credd: integration ${created.id} not found (not_found)\n` });
  });

  it('sets and clears expiresAt and caCert, and tests the credential against a registry', async () => {
    // A loopback registry that asks for Basic credentials on /v2/ and accepts only bot:right-secret.
    const expected = `Basic ${Buffer.from('bot:right-secret').toString('base64')}`;
    const registry: Server = createServer((request, response) => {
      if (request.url === '/v2/' && request.headers.authorization === expected) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'application/json' }).end('{}');
      }
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, TEST_CA_PEM);

      const added = await cli(
        ['integration', 'add', '--host', host, '--username', 'bot', '--expires-at', '2099-01-01T02:00:00+02:00', '--ca-cert', caFile, '--json'],
        { stdin: 'right-secret\n' },
      );
      expect(added).toMatchObject({ code: 0, stderr: '' });
      const created = JSON.parse(added.stdout) as typeof SUMMARY;
      expect(created).toMatchObject({ host, expiresAt: '2099-01-01T00:00:00.000Z', caCert: expect.stringContaining('-----BEGIN CERTIFICATE-----') });

      expect((await cli(['integration', 'list'])).stdout).toMatch(new RegExp(`^${created.id}  ${host} +bot +yes +2099-01-01T00:00:00\\.000Z `, 'm'));
      const shown = await cli(['integration', 'show', host]);
      expect(shown.stdout).toContain('expires:     2099-01-01T00:00:00.000Z\n');
      expect(shown.stdout).toContain('ca cert:     1 certificate, trusted besides the system CAs\n');
      expect(shown.stdout).toContain('last test:   never\n');

      // A CA switches a loopback host to HTTPS, which this registry does not speak: clear it first.
      const cleared = await cli(['integration', 'update', host, '--ca-cert', 'none', '--expires-at', 'none', '--json']);
      expect(cleared.code).toBe(0);
      expect(JSON.parse(cleared.stdout)).toMatchObject({ expiresAt: null, caCert: null });

      const ok = await cli(['integration', 'test', host]);
      expect(ok).toMatchObject({ code: 0, stderr: '' });
      expect(ok.stdout).toMatch(new RegExp(`^ok: integration ${created.id} for ${host}\n`));

      expect((await cli(['integration', 'update', created.id, '--secret-stdin'], { stdin: 'wrong-secret' })).code).toBe(0);
      const refused = await cli(['integration', 'test', created.id, '--json']);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ id: created.id, host, result: 'unauthorized' });
      expect((await cli(['integration', 'show', created.id])).stdout).toMatch(/\nlast test: +unauthorized at \S+\ntest detail: +\S/);

      expect((await cli(['integration', 'rm', created.id])).code).toBe(0);
    } finally {
      await new Promise<void>((resolve) => registry.close(() => resolve()));
    }
  });

  it('refuses the last admin token with the API conflict', async () => {
    const tokens = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as { tokens: Array<{ id: string; role: string }> };
    const admin = tokens.tokens.find((t) => t.role === 'admin')!;
    const result = await cli(['token', 'revoke', admin.id]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^scalr-credd: cannot revoke the last active admin token.* \(conflict\)\n$/);
  });

  it('whoami describes the presented token for every role, and an expired one is refused', async () => {
    const admin = await cli(['whoami', '--json']);
    expect(admin).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(admin.stdout)).toMatchObject({ id: expect.stringMatching(/^tok_/), role: 'admin', hosts: null, expiresAt: null });

    for (const role of ['manager', 'auditor', 'runner']) {
      const minted = await cli(['token', 'create', '--name', `who-${role}`, '--role', role, '--ttl', '2h', '--host', 'ghcr.io']);
      const shown = await cli(['whoami'], { token: minted.stdout.trim() });
      expect(shown).toMatchObject({ code: 0, stderr: '' });
      expect(shown.stdout).toMatch(/^token: +tok_[0-9a-f]{16}\nname: +who-\w+\nrole: +\w+\nhosts: +ghcr\.io\nexpires: +\S+ \(in 1\d\d minutes\)\ndaemon: +unix:\//);
      expect(shown.stdout).toContain(`role:    ${role}\n`);
      expect(shown.stdout).not.toContain(minted.stdout.trim());
    }

    const unknown = await cli(['whoami'], { token: 'scd_tok_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^scalr-credd: .+ \(unauthenticated\)\n$/);
  });

  it('audit list prints events newest first, filters them, pages past 200, and a runner is refused', async () => {
    for (let i = 0; i < 3; i++) await cli(['integration', 'add', '--host', `audit-${i}.example`, '--username', 'u'], { stdin: 's' });

    const listed = await cli(['audit', 'list', '--action', 'integration.create', '--limit', '2']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ +AT +ACTION +OUTCOME +HOST +TOKEN +ROLE +DETAIL$/);
    expect(lines.slice(1).map((line) => line.split(/ +/)[4])).toEqual(['audit-2.example', 'audit-1.example']);

    const oldest = JSON.parse((await cli(['audit', 'list', '--action', 'integration.create', '--oldest-first', '--json', '--host', 'https://Audit-0.example/'])).stdout) as {
      events: Array<{ host: string; hash: string }>;
    };
    expect(oldest.events).toEqual([expect.objectContaining({ host: 'audit-0.example', hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);

    // Each read is audited too: enough of them to need two pages of 200.
    for (let i = 0; i < 210; i++) await cli(['audit', 'list', '--since', '1h', '--limit', '1']);
    const many = JSON.parse((await cli(['audit', 'list', '--limit', '250', '--json'])).stdout) as { events: Array<{ seq: number }> };
    expect(many.events.length).toBeGreaterThan(200);
    expect(many.events.length).toBeLessThanOrEqual(250);
    expect(many.events.map((e) => e.seq)).toEqual([...many.events.map((e) => e.seq)].sort((a, b) => b - a));
    expect(new Set(many.events.map((e) => e.seq)).size).toBe(many.events.length);

    const minted = await cli(['token', 'create', '--name', 'audit-runner', '--role', 'runner', '--ttl', '1h']);
    const denied = await cli(['audit', 'list'], { token: minted.stdout.trim() });
    expect(denied).toMatchObject({ code: 1, stdout: '', stderr: 'scalr-credd: a runner token may not read the audit log (forbidden)\n' });
  });

  it('says what to check when nothing listens on the URL', async () => {
    const { io, out } = fakeIo({ env: { SCALR_CREDD_URL: `unix:${join(dir, 'nothing.sock')}`, SCALR_CREDD_TOKEN: adminToken } });
    expect(await runCli(['integration', 'list'], io)).toBe(1);
    expect(out.stderr).toMatch(/^scalr-credd: cannot reach unix:.*nothing\.sock \(no socket file at that path\); check that 'scalr-credd serve' is running/);
  });
});
