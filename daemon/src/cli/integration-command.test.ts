import type { IntegrationSummary, IntegrationTestReport } from '@dcs/shared';
import { httpErrorFromResponse } from '@dcs/shared/http-client';
import { describe, expect, it } from 'vitest';
import type { AdminClient, ConnectionFlags, IntegrationChanges, NewIntegration } from './admin-client.js';
import { UsageError, type CliIo } from './io.js';
import { runIntegrationCommand } from './integration-command.js';
import { runCli } from './run-cli.js';
import { integrationSummary } from '../../../test/support/factories.js';

const SECRET = 'pat-Zq9!/+= secret';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBmjCCAUGg\n-----END CERTIFICATE-----\n';

/** An in-memory AdminClient that records every call. */
function fakeClient(initial: IntegrationSummary[] = [], testOutcome: Pick<IntegrationTestReport, 'result' | 'detail'> = { result: 'ok', detail: 'HTTP 200 with credentials' }) {
  const integrations = [...initial];
  const calls: Array<[string, ...unknown[]]> = [];
  const notFound = (id: string) =>
    httpErrorFromResponse('unix:/fake', { status: 404, body: { error: { code: 'not_found', message: `integration ${id} not found` } } });
  const find = (id: string) => {
    const found = integrations.find((i) => i.id === id);
    if (!found) throw notFound(id);
    return found;
  };
  const client: AdminClient = {
    url: 'unix:/fake',
    async listIntegrations() {
      calls.push(['list']);
      return integrations;
    },
    async getIntegration(id) {
      calls.push(['get', id]);
      return find(id);
    },
    async createIntegration(body: NewIntegration) {
      calls.push(['create', body]);
      const { secret: _secret, ...rest } = body as NewIntegration & { secret?: string };
      const created = integrationSummary({
        ...(rest as Partial<IntegrationSummary>),
        id: `int_${String(integrations.length + 1).padStart(16, '0')}`,
        description: body.description ?? null,
        expiresAt: body.expiresAt ?? null,
        caCert: body.caCert ?? null,
      });
      integrations.push(created);
      return created;
    },
    async updateIntegration(id, changes: IntegrationChanges) {
      calls.push(['update', id, changes]);
      const current = find(id);
      const { secret: _secret, ...rest } = changes;
      Object.assign(current, rest);
      return current;
    },
    async removeIntegration(id) {
      calls.push(['remove', id]);
      find(id);
      integrations.splice(integrations.findIndex((i) => i.id === id), 1);
    },
    async testIntegration(id) {
      calls.push(['test', id]);
      const { host } = find(id);
      return { id, host, ...testOutcome, testedAt: '2026-01-03T00:00:00.000Z' };
    },
    listTokens: async () => [],
    createToken: async () => {
      throw new Error('not used');
    },
    revokeToken: async () => undefined,
    whoami: async () => {
      throw new Error('not used');
    },
    listAudit: async () => {
      throw new Error('not used');
    },
  };
  const connections: ConnectionFlags[] = [];
  return { client, calls, connections, connect: (flags: ConnectionFlags) => (connections.push(flags), client) };
}

function fakeIo(options: { stdin?: string; tty?: boolean; answer?: string } = {}) {
  const out = { stdout: '', stderr: '', stdinReads: 0, prompts: [] as string[] };
  const io: CliIo = {
    env: {},
    homeDir: '/home/someone',
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
    readStdin: async () => (out.stdinReads++, options.stdin ?? ''),
    stdinIsTty: options.tty ?? false,
    promptSecret: async (question) => (out.prompts.push(question), options.answer ?? ''),
    onShutdownSignal: () => undefined,
  };
  return { io, out };
}

/** A ReadTextFile over an in-memory map of files; records the paths read. */
function fakeFiles(files: Record<string, string> = {}) {
  const reads: string[] = [];
  const readFile = (path: string) => {
    reads.push(path);
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
    return text;
  };
  return { reads, readFile };
}

async function run(args: string[], client: ReturnType<typeof fakeClient>, io = fakeIo(), files = fakeFiles()) {
  const code = await runIntegrationCommand(args, io.io, client.connect, files.readFile);
  return { code, ...io.out };
}

describe('integration add', () => {
  it('reads the secret from piped stdin, drops one trailing newline, normalises the host', async () => {
    const fake = fakeClient();
    const io = fakeIo({ stdin: `${SECRET}\n` });
    const result = await run(['add', '--host', 'https://GHCR.io/', '--username', 'robot', '--description', 'CI pulls'], fake, io);
    expect(result.code).toBe(0);
    expect(fake.calls).toEqual([['create', { host: 'ghcr.io', username: 'robot', secret: SECRET, export: true, description: 'CI pulls' }]]);
    expect(result.stdout).toMatch(/^added integration int_0{15}1 for ghcr.io\nid: +int_0{15}1\nhost: +ghcr.io\n/);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('keeps inner and other trailing whitespace of the secret', async () => {
    const fake = fakeClient();
    await run(['add', '--host', 'ghcr.io', '--username', 'u'], fake, fakeIo({ stdin: ' a b \n\n' }));
    expect(fake.calls[0]![1]).toMatchObject({ secret: ' a b \n' });
  });

  it('prompts without echo when stdin is a terminal, and never reads stdin then', async () => {
    const fake = fakeClient();
    const io = fakeIo({ tty: true, answer: SECRET });
    const result = await run(['add', '--host', 'ghcr.io', '--username', 'u', '--no-export', '--json'], fake, io);
    expect(result.code).toBe(0);
    expect(io.out.prompts).toEqual(['Secret for ghcr.io: ']);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls[0]![1]).toMatchObject({ secret: SECRET, export: false });
    expect(JSON.parse(result.stdout)).toMatchObject({ host: 'ghcr.io', export: false });
  });

  it('refuses an empty stdin without calling the API', async () => {
    const fake = fakeClient();
    await expect(run(['add', '--host', 'ghcr.io', '--username', 'u'], fake, fakeIo({ stdin: '\n' }))).rejects.toThrow(/no secret on stdin; pipe it/);
    expect(fake.calls).toEqual([]);
  });

  it.each([
    [['--host', 'ghcr.io', '--username', 'u', '--secret', SECRET]],
    [['--host', 'ghcr.io', '--username', 'u', `--password=${SECRET}`]],
  ])('refuses a secret on the command line (%j) without reading stdin or echoing it', async (args) => {
    const fake = fakeClient();
    const io = fakeIo({ stdin: 'x' });
    const error = await run(['add', ...args], fake, io).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/pipe it on stdin/);
    expect((error as Error).message).not.toContain(SECRET);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls).toEqual([]);
  });

  it('refuses a secret given as a stray positional argument without echoing it', async () => {
    const error = await run(['add', '--host', 'ghcr.io', '--username', 'u', SECRET], fakeClient()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('requires --host and --username and a valid host', async () => {
    await expect(run(['add', '--username', 'u'], fakeClient())).rejects.toThrow('--host is required');
    await expect(run(['add', '--host', 'ghcr.io'], fakeClient())).rejects.toThrow('--username is required');
    await expect(run(['add', '--host', 'ghcr.io/org/repo', '--username', 'u'], fakeClient())).rejects.toThrow(/registry host has no path/);
  });

  it('passes --url and --token-file to the connection', async () => {
    const fake = fakeClient();
    await run(['add', '--host', 'ghcr.io', '--username', 'u', '--url', 'unix:/x.sock', '--token-file', '/t'], fake, fakeIo({ stdin: 's' }));
    expect(fake.connections).toEqual([{ url: 'unix:/x.sock', tokenFile: '/t' }]);
  });

  it('prints an API error as one line and exits 1; a duplicate host suggests update', async () => {
    const fake = fakeClient();
    fake.client.createIntegration = async () => {
      throw httpErrorFromResponse('unix:/fake', { status: 409, body: { error: { code: 'conflict', message: 'host ghcr.io already has an integration' } } });
    };
    const result = await run(['add', '--host', 'ghcr.io', '--username', 'u'], fake, fakeIo({ stdin: SECRET }));
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        "scalr-credd: host ghcr.io already has an integration; change it with 'scalr-credd integration update ghcr.io' (--secret-stdin for a new secret) (conflict)\n",
    });
  });

  it('sends --expires-at as given and the PEM text of the --ca-cert file, and shows them', async () => {
    const fake = fakeClient();
    const files = fakeFiles({ '/etc/ca.pem': PEM });
    const args = ['add', '--host', 'ghcr.io', '--username', 'u', '--expires-at', '2026-04-01T12:00:00+02:00', '--ca-cert', '/etc/ca.pem'];
    const result = await run(args, fake, fakeIo({ stdin: SECRET }), files);
    expect(result.code).toBe(0);
    expect(files.reads).toEqual(['/etc/ca.pem']);
    expect(fake.calls).toEqual([
      ['create', { host: 'ghcr.io', username: 'u', secret: SECRET, export: true, expiresAt: '2026-04-01T12:00:00+02:00', caCert: PEM }],
    ]);
    expect(result.stdout).toContain('expires:     2026-04-01T12:00:00+02:00\n');
    expect(result.stdout).toContain('ca cert:     1 certificate, trusted besides the system CAs\n');
  });

  it.each([['2026-04-01'], ['2026-04-01T12:00:00'], ['next tuesday'], ['none']])(
    'refuses --expires-at %s before reading the secret or calling the API',
    async (value) => {
      const fake = fakeClient();
      const io = fakeIo({ stdin: SECRET });
      const error = await run(['add', '--host', 'ghcr.io', '--username', 'u', '--expires-at', value], fake, io).catch((e: Error) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe('--expires-at takes an ISO-8601 date-time with Z or an offset, e.g. 2026-04-01T00:00:00Z');
      expect(io.out.stdinReads).toBe(0);
      expect(fake.calls).toEqual([]);
    },
  );

  it('refuses a missing, unreadable, non-PEM or oversized --ca-cert file before reading the secret', async () => {
    const files = fakeFiles({ '/key.pem': '-----BEGIN PRIVATE KEY-----\nx\n', '/big.pem': PEM + ' '.repeat(40_000) });
    const add = async (path: string, read = files) => {
      const fake = fakeClient();
      const io = fakeIo({ stdin: SECRET });
      const error = await run(['add', '--host', 'ghcr.io', '--username', 'u', '--ca-cert', path], fake, io, read).catch((e: Error) => e);
      expect(io.out.stdinReads).toBe(0);
      expect(fake.calls).toEqual([]);
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    };
    expect(await add('/nope.pem')).toBe('cannot read the CA certificate file /nope.pem given by --ca-cert (ENOENT)');
    const denied = {
      reads: [],
      readFile: () => {
        throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      },
    };
    expect(await add('/root/ca.pem', denied)).toBe('cannot read the CA certificate file /root/ca.pem given by --ca-cert (EACCES)');
    expect(await add('/key.pem')).toMatch(/^the file \/key\.pem given by --ca-cert holds no PEM certificate/);
    expect(await add('/big.pem')).toMatch(/is larger than 32 KiB$/);
  });
});

describe('integration list and show', () => {
  const two = () =>
    fakeClient([
      integrationSummary(),
      integrationSummary({
        id: 'int_0000000000000002',
        host: 'registry.example.com:5000',
        username: 'ci',
        export: false,
        description: 'internal',
        expiresAt: '2026-03-01T00:00:00.000Z',
      }),
    ]);

  it('prints a table', async () => {
    const result = await run(['list'], two());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ID                    HOST                       USERNAME  EXPORT  EXPIRES                   UPDATED                   DESCRIPTION',
        'int_0000000000000001  ghcr.io                    robot     yes     -                         2026-01-02T00:00:00.000Z',
        'int_0000000000000002  registry.example.com:5000  ci        no      2026-03-01T00:00:00.000Z  2026-01-02T00:00:00.000Z  internal',
        '',
      ].join('\n'),
    );
  });

  it('says so when there are none, and prints the API body with --json', async () => {
    expect((await run(['list'], fakeClient())).stdout).toBe('no integrations\n');
    const json = await run(['list', '--json'], two());
    expect(JSON.parse(json.stdout).integrations.map((i: IntegrationSummary) => i.host)).toEqual(['ghcr.io', 'registry.example.com:5000']);
  });

  it('shows one by id without listing', async () => {
    const fake = two();
    const result = await run(['show', 'int_0000000000000002'], fake);
    expect(fake.calls).toEqual([['get', 'int_0000000000000002']]);
    expect(result.stdout).toContain('host:        registry.example.com:5000\n');
    expect(result.stdout).toContain('export:      no\n');
    expect(result.stdout).toContain('expires:     2026-03-01T00:00:00.000Z\n');
    expect(result.stdout).toContain('ca cert:     none (system CAs only)\n');
    expect(result.stdout).toContain('last test:   never\n');
    expect(result.stdout).not.toContain('test detail:');
  });

  it('shows the last test, its detail, and how many CA certificates there are', async () => {
    const tested = integrationSummary({
      caCert: PEM + PEM,
      lastTestedAt: '2026-01-03T00:00:00.000Z',
      lastTestResult: 'unauthorized',
      lastTestDetail: 'registry rejected the credential (HTTP 401)',
    });
    const result = await run(['show', 'int_0000000000000001'], fakeClient([tested]));
    expect(result.stdout).toContain('expires:     never\n');
    expect(result.stdout).toContain('ca cert:     2 certificates, trusted besides the system CAs\n');
    expect(result.stdout).toContain('last test:   unauthorized at 2026-01-03T00:00:00.000Z\n');
    expect(result.stdout).toContain('test detail: registry rejected the credential (HTTP 401)\n');
  });

  it('shows one by host in any client form', async () => {
    const fake = two();
    const result = await run(['show', 'https://Registry.Example.com:5000/v2/', '--json'], fake);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'int_0000000000000002' });
    expect(fake.calls).toEqual([['list']]);
  });

  it('reports an unknown host or id as not found, exit 1', async () => {
    expect(await run(['show', 'quay.io'], two())).toMatchObject({ code: 1, stderr: 'scalr-credd: no integration for host quay.io (not_found)\n' });
    expect(await run(['rm', 'int_doesnotexist'], two())).toMatchObject({ code: 1, stderr: 'scalr-credd: no integration int_doesnotexist (not_found)\n' });
    expect(await run(['show', 'int_00000000000000ff'], two())).toMatchObject({
      code: 1,
      stderr: 'scalr-credd: integration int_00000000000000ff not found (not_found)\n',
    });
  });

  it('needs the id or host', async () => {
    await expect(run(['show'], two())).rejects.toThrow(/give the integration's id or host/);
    await expect(run(['show', 'a', 'b'], two())).rejects.toThrow(/too many arguments/);
  });
});

describe('integration update', () => {
  it('resolves a host, reads a new secret only with --secret-stdin, and sends only what changes', async () => {
    const fake = fakeClient([integrationSummary({ description: 'old' })]);
    const io = fakeIo({ stdin: `${SECRET}\r\n` });
    const result = await run(['update', 'GHCR.IO', '--secret-stdin', '--no-export', '--description', ''], fake, io);
    expect(result.code).toBe(0);
    expect(fake.calls).toEqual([['list'], ['update', 'int_0000000000000001', { export: false, description: null, secret: SECRET }]]);
    expect(result.stdout).toMatch(/^updated integration int_0000000000000001 for ghcr.io\n/);
    expect(result.stdout).not.toContain(SECRET);
  });

  it('updates by id without reading stdin when no new secret is asked for', async () => {
    const fake = fakeClient([integrationSummary({ export: false })]);
    const io = fakeIo({ stdin: 'should not be read' });
    const result = await run(['update', 'int_0000000000000001', '--username', 'new-user', '--export', '--json'], fake, io);
    expect(result.code).toBe(0);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls).toEqual([['update', 'int_0000000000000001', { username: 'new-user', export: true }]]);
    expect(JSON.parse(result.stdout)).toMatchObject({ username: 'new-user', export: true });
  });

  it('sets --expires-at and the --ca-cert file text, and clears both with none', async () => {
    const fake = fakeClient([integrationSummary()]);
    const files = fakeFiles({ './none': PEM });
    const io = fakeIo({ stdin: 'should not be read' });
    expect((await run(['update', 'ghcr.io', '--expires-at', '2026-05-01T00:00:00Z', '--ca-cert', './none'], fake, io, files)).code).toBe(0);
    expect(files.reads).toEqual(['./none']);
    const clearIo = fakeIo({ stdin: 'should not be read' });
    const cleared = await run(['update', 'int_0000000000000001', '--expires-at', 'none', '--ca-cert', 'none', '--json'], fake, clearIo, files);
    expect(cleared.code).toBe(0);
    expect(files.reads).toEqual(['./none']);
    expect(io.out.stdinReads + clearIo.out.stdinReads).toBe(0);
    expect(fake.calls).toEqual([
      ['list'],
      ['update', 'int_0000000000000001', { expiresAt: '2026-05-01T00:00:00Z', caCert: PEM }],
      ['update', 'int_0000000000000001', { expiresAt: null, caCert: null }],
    ]);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ expiresAt: null, caCert: null });
  });

  it('refuses a bad --expires-at or an unreadable --ca-cert without calling the API', async () => {
    const fake = fakeClient([integrationSummary()]);
    await expect(run(['update', 'ghcr.io', '--expires-at', 'never'], fake)).rejects.toThrow(
      '--expires-at takes an ISO-8601 date-time with Z or an offset or none, e.g. 2026-04-01T00:00:00Z',
    );
    await expect(run(['update', 'ghcr.io', '--ca-cert', '/missing.pem'], fake)).rejects.toThrow(
      'cannot read the CA certificate file /missing.pem given by --ca-cert (ENOENT)',
    );
    expect(fake.calls).toEqual([]);
  });

  it('refuses nothing to change, and --export with --no-export', async () => {
    await expect(run(['update', 'ghcr.io'], fakeClient())).rejects.toThrow(/nothing to change.*--expires-at or --ca-cert/);
    await expect(run(['update', 'ghcr.io', '--export', '--no-export'], fakeClient())).rejects.toThrow(/not both/);
  });

  it('refuses --secret with the pipe hint', async () => {
    await expect(run(['update', 'ghcr.io', `--secret=${SECRET}`], fakeClient())).rejects.toThrow(/pipe it on stdin/);
  });

  it('does not ask for the secret of a host that has no integration', async () => {
    const io = fakeIo({ tty: true, answer: SECRET });
    const result = await run(['update', 'quay.io', '--secret-stdin'], fakeClient(), io);
    expect(result).toMatchObject({ code: 1, stderr: 'scalr-credd: no integration for host quay.io (not_found)\n' });
    expect(io.out.prompts).toEqual([]);
  });
});

describe('integration test', () => {
  it('tests by host and exits 0 when the registry accepts the credential', async () => {
    const fake = fakeClient([integrationSummary()]);
    const result = await run(['test', 'https://GHCR.io/'], fake);
    expect(fake.calls).toEqual([['list'], ['test', 'int_0000000000000001']]);
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: 'ok: integration int_0000000000000001 for ghcr.io\ndetail: HTTP 200 with credentials\ntested: 2026-01-03T00:00:00.000Z\n',
    });
  });

  it.each([
    ['unauthorized', 'registry rejected the credential (HTTP 401)'],
    ['unreachable', 'connection refused'],
    ['error', 'unexpected HTTP 500 from /v2/ with credentials'],
  ] as const)('exits 1 when the result is %s, printing the detail', async (outcome, detail) => {
    const fake = fakeClient([integrationSummary()], { result: outcome, detail });
    const result = await run(['test', 'int_0000000000000001'], fake);
    expect(fake.calls).toEqual([['test', 'int_0000000000000001']]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`${outcome}: integration int_0000000000000001 for ghcr.io\ndetail: ${detail}\ntested: 2026-01-03T00:00:00.000Z\n`);
  });

  it('prints the report as JSON with --json, keeping the exit code', async () => {
    const ok = await run(['test', 'ghcr.io', '--json'], fakeClient([integrationSummary()]));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({
      id: 'int_0000000000000001',
      host: 'ghcr.io',
      result: 'ok',
      detail: 'HTTP 200 with credentials',
      testedAt: '2026-01-03T00:00:00.000Z',
    });
    const failed = await run(['test', 'ghcr.io', '--json'], fakeClient([integrationSummary()], { result: 'unreachable', detail: 'timed out' }));
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ result: 'unreachable', detail: 'timed out' });
  });

  it('reports an unknown host and an API error as one line, exit 1', async () => {
    expect(await run(['test', 'quay.io'], fakeClient([integrationSummary()]))).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'scalr-credd: no integration for host quay.io (not_found)\n',
    });
    const fake = fakeClient([integrationSummary()]);
    fake.client.testIntegration = async () => {
      throw httpErrorFromResponse('unix:/fake', { status: 403, body: { error: { code: 'forbidden', message: 'role runner may not integration.test' } } });
    };
    expect(await run(['test', 'int_0000000000000001'], fake)).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'scalr-credd: role runner may not integration.test (forbidden)\n',
    });
  });

  it('needs exactly one id or host', async () => {
    await expect(run(['test'], fakeClient())).rejects.toThrow(/give the integration's id or host: scalr-credd integration test ID\|HOST/);
    await expect(run(['test', 'a.io', 'b.io'], fakeClient())).rejects.toThrow(/too many arguments/);
  });
});

describe('integration rm', () => {
  it('removes by host, naming the host', async () => {
    const fake = fakeClient([integrationSummary()]);
    const result = await run(['rm', 'ghcr.io'], fake);
    expect(result).toMatchObject({ code: 0, stdout: 'removed integration int_0000000000000001 for ghcr.io\n' });
    expect(fake.calls).toEqual([['list'], ['remove', 'int_0000000000000001']]);
  });

  it('removes by id directly, with --json', async () => {
    const fake = fakeClient([integrationSummary()]);
    const result = await run(['rm', 'int_0000000000000001', '--json'], fake);
    expect(JSON.parse(result.stdout)).toEqual({ id: 'int_0000000000000001', removed: true });
    expect(fake.calls).toEqual([['remove', 'int_0000000000000001']]);
  });
});

describe('integration help and dispatch', () => {
  it('prints help for the command and for each verb', async () => {
    expect(await run(['--help'], fakeClient())).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: scalr-credd integration <verb>') });
    for (const verb of ['add', 'list', 'show', 'update', 'test', 'rm']) {
      const result = await run([verb, '--help'], fakeClient());
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: scalr-credd integration ${verb}`);
    }
    expect((await run([], fakeClient())).code).toBe(2);
  });

  it('documents the new flags and the test verb', async () => {
    const help = (await run(['--help'], fakeClient())).stdout;
    expect(help).toContain('[--expires-at ISO] [--ca-cert FILE]');
    expect(help).toContain('[--expires-at ISO|none] [--ca-cert FILE|none]');
    expect(help).toMatch(/\n {2}test ID\|HOST +check the stored credential/);
    expect((await run(['add', '--help'], fakeClient())).stdout).toMatch(/--expires-at ISO .*\n.*\n {2}--ca-cert FILE/);
    expect((await run(['update', '--help'], fakeClient())).stdout).toContain('--ca-cert none removes it');
    expect((await run(['test', '--help'], fakeClient())).stdout).toMatch(/Exits 0 when the result is ok,\n1 otherwise/);
  });

  it('goes through runCli: a usage error exits 2 with the help hint, an unknown verb too', async () => {
    const io = fakeIo();
    expect(await runCli(['integration', 'frobnicate'], io.io)).toBe(2);
    expect(io.out.stderr).toBe("scalr-credd integration: unknown verb; use add, list, show, update, test or rm; run 'scalr-credd integration --help'\n");
    const secretFlag = fakeIo();
    expect(await runCli(['integration', 'add', '--host', 'h.io', '--username', 'u', '--secret', SECRET], secretFlag.io)).toBe(2);
    expect(secretFlag.out.stderr).toMatch(/^scalr-credd integration: --secret is not accepted: .*pipe it on stdin/);
    expect(secretFlag.out.stderr).not.toContain(SECRET);
  });

  it('is listed in the main help', async () => {
    const io = fakeIo();
    expect(await runCli(['--help'], io.io)).toBe(0);
    expect(io.out.stdout).toContain('integration add|list|show|update|test|rm');
  });
});

describe('integration add --provider and update --identity-*', () => {
  const AWS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'aws-secret/Zq9+key', region: 'eu-west-1' };
  const GOOGLE_KEY = JSON.stringify({ type: 'service_account', client_email: 'p@x.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' });

  it('sends the identity piped on stdin as the provider object, and no username or secret', async () => {
    const fake = fakeClient();
    const result = await run(['add', '--host', 'registry.example.com', '--provider', 'aws-ecr'], fake, fakeIo({ stdin: JSON.stringify(AWS) }));
    expect(result.code).toBe(0);
    expect(fake.calls).toEqual([['create', { host: 'registry.example.com', provider: 'aws-ecr', aws: AWS, export: true }]]);
    expect(result.stdout + result.stderr).not.toContain(AWS.secretAccessKey);
  });

  it('takes a Google key file as it is, from --identity-file', async () => {
    const fake = fakeClient();
    const files = fakeFiles({ 'key.json': `${GOOGLE_KEY}\n` });
    const io = fakeIo();
    const result = await run(['add', '--host', 'gcr.io', '--provider', 'google', '--identity-file', 'key.json'], fake, io, files);
    expect(result.code).toBe(0);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls[0]![1]).toEqual({ host: 'gcr.io', provider: 'google', google: { serviceAccountKey: GOOGLE_KEY }, export: true });
    expect(result.stdout).not.toContain('PRIVATE KEY');
  });

  it.each([
    [['--provider', 'aws', '--host', 'x.io'], /--provider takes static, aws-ecr, azure-acr, google/],
    [['--provider', 'aws-ecr', '--host', 'x.io', '--username', 'u'], /--username does not go with --provider aws-ecr/],
    [['--host', 'x.io', '--username', 'u', '--identity-file', 'f'], /--identity-file goes with --provider/],
  ])('refuses %j before anything is read or sent', async (args, message) => {
    const fake = fakeClient();
    const io = fakeIo({ stdin: JSON.stringify(AWS) });
    await expect(run(['add', ...args], fake, io)).rejects.toThrow(message);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls).toEqual([]);
  });

  it('refuses an identity that is not a JSON object without quoting it, and a terminal on stdin', async () => {
    const fake = fakeClient();
    const error = await run(['add', '--host', 'x.io', '--provider', 'azure-acr'], fake, fakeIo({ stdin: 'clientSecret=hunter2' })).catch((e: Error) => e);
    expect((error as Error).message).toBe('the identity in stdin is not a JSON object; see scalr-credd integration add --help');
    await expect(run(['add', '--host', 'x.io', '--provider', 'azure-acr'], fake, fakeIo({ tty: true }))).rejects.toThrow(/pipe the azure-acr identity/);
    expect(fake.calls).toEqual([]);
  });

  it('replaces the identity of a provider integration, looked up by host, and refuses it on a static one', async () => {
    const fake = fakeClient([
      integrationSummary({ id: 'int_000000000000000a', host: 'ecr.example.com', username: 'AWS', provider: 'aws-ecr', identity: { region: 'eu-west-1' } }),
      integrationSummary({ id: 'int_000000000000000b', host: 'ghcr.io' }),
    ]);
    const result = await run(['update', 'ecr.example.com', '--identity-stdin'], fake, fakeIo({ stdin: JSON.stringify(AWS) }));
    expect(result.code).toBe(0);
    expect(fake.calls.at(-1)).toEqual(['update', 'int_000000000000000a', { aws: AWS }]);
    expect(result.stdout).toMatch(/provider: +aws-ecr\nregion: +eu-west-1\n/);
    await expect(run(['update', 'int_000000000000000b', '--identity-stdin'], fake, fakeIo({ stdin: '{}' }))).rejects.toThrow(/stores a static credential/);
    await expect(run(['update', 'ghcr.io', '--identity-stdin', '--secret-stdin'], fake)).rejects.toThrow(/give one of --secret-stdin/);
  });
});
