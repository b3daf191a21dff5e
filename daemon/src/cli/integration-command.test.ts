import type { IntegrationSummary } from '@dcs/shared';
import { httpErrorFromResponse } from '@dcs/shared/http-client';
import { describe, expect, it } from 'vitest';
import type { AdminClient, ConnectionFlags, IntegrationChanges, NewIntegration } from './admin-client.js';
import { UsageError, type CliIo } from './io.js';
import { runIntegrationCommand } from './integration-command.js';
import { runCli } from './run-cli.js';

const SECRET = 'pat-Zq9!/+= secret';

function summary(overrides: Partial<IntegrationSummary>): IntegrationSummary {
  return {
    id: 'int_0000000000000001',
    host: 'ghcr.io',
    username: 'robot',
    export: true,
    description: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
    ...overrides,
  } as IntegrationSummary;
}

/** An in-memory AdminClient that records every call. */
function fakeClient(initial: IntegrationSummary[] = []) {
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
      const { secret: _secret, ...rest } = body;
      const created = summary({ ...rest, id: `int_${String(integrations.length + 1).padStart(16, '0')}`, description: body.description ?? null });
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
    listTokens: async () => [],
    createToken: async () => {
      throw new Error('not used');
    },
    revokeToken: async () => undefined,
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

async function run(args: string[], client: ReturnType<typeof fakeClient>, io = fakeIo()) {
  const code = await runIntegrationCommand(args, io.io, client.connect);
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

  it('prints an API error as one line and exits 1', async () => {
    const fake = fakeClient();
    fake.client.createIntegration = async () => {
      throw httpErrorFromResponse('unix:/fake', { status: 409, body: { error: { code: 'conflict', message: 'host ghcr.io already has an integration' } } });
    };
    const result = await run(['add', '--host', 'ghcr.io', '--username', 'u'], fake, fakeIo({ stdin: SECRET }));
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'scalr-credd: host ghcr.io already has an integration (conflict)\n' });
  });
});

describe('integration list and show', () => {
  const two = () =>
    fakeClient([
      summary({}),
      summary({ id: 'int_0000000000000002', host: 'registry.example.com:5000', username: 'ci', export: false, description: 'internal' }),
    ]);

  it('prints a table', async () => {
    const result = await run(['list'], two());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ID                    HOST                       USERNAME  EXPORT  UPDATED                   DESCRIPTION',
        'int_0000000000000001  ghcr.io                    robot     yes     2026-01-02T00:00:00.000Z',
        'int_0000000000000002  registry.example.com:5000  ci        no      2026-01-02T00:00:00.000Z  internal',
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
  });

  it('shows one by host in any client form', async () => {
    const fake = two();
    const result = await run(['show', 'https://Registry.Example.com:5000/v2/', '--json'], fake);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'int_0000000000000002' });
    expect(fake.calls).toEqual([['list']]);
  });

  it('reports an unknown host or id as not found, exit 1', async () => {
    expect(await run(['show', 'quay.io'], two())).toMatchObject({ code: 1, stderr: 'scalr-credd: no integration for host quay.io (not_found)\n' });
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
    const fake = fakeClient([summary({ description: 'old' })]);
    const io = fakeIo({ stdin: `${SECRET}\r\n` });
    const result = await run(['update', 'GHCR.IO', '--secret-stdin', '--no-export', '--description', ''], fake, io);
    expect(result.code).toBe(0);
    expect(fake.calls).toEqual([['list'], ['update', 'int_0000000000000001', { export: false, description: null, secret: SECRET }]]);
    expect(result.stdout).toMatch(/^updated integration int_0000000000000001 for ghcr.io\n/);
    expect(result.stdout).not.toContain(SECRET);
  });

  it('updates by id without reading stdin when no new secret is asked for', async () => {
    const fake = fakeClient([summary({ export: false })]);
    const io = fakeIo({ stdin: 'should not be read' });
    const result = await run(['update', 'int_0000000000000001', '--username', 'new-user', '--export', '--json'], fake, io);
    expect(result.code).toBe(0);
    expect(io.out.stdinReads).toBe(0);
    expect(fake.calls).toEqual([['update', 'int_0000000000000001', { username: 'new-user', export: true }]]);
    expect(JSON.parse(result.stdout)).toMatchObject({ username: 'new-user', export: true });
  });

  it('refuses nothing to change, and --export with --no-export', async () => {
    await expect(run(['update', 'ghcr.io'], fakeClient())).rejects.toThrow(/nothing to change/);
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

describe('integration rm', () => {
  it('removes by host, naming the host', async () => {
    const fake = fakeClient([summary({})]);
    const result = await run(['rm', 'ghcr.io'], fake);
    expect(result).toMatchObject({ code: 0, stdout: 'removed integration int_0000000000000001 for ghcr.io\n' });
    expect(fake.calls).toEqual([['list'], ['remove', 'int_0000000000000001']]);
  });

  it('removes by id directly, with --json', async () => {
    const fake = fakeClient([summary({})]);
    const result = await run(['rm', 'int_0000000000000001', '--json'], fake);
    expect(JSON.parse(result.stdout)).toEqual({ id: 'int_0000000000000001', removed: true });
    expect(fake.calls).toEqual([['remove', 'int_0000000000000001']]);
  });
});

describe('integration help and dispatch', () => {
  it('prints help for the command and for each verb', async () => {
    expect(await run(['--help'], fakeClient())).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: scalr-credd integration <verb>') });
    for (const verb of ['add', 'list', 'show', 'update', 'rm']) {
      const result = await run([verb, '--help'], fakeClient());
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: scalr-credd integration ${verb}`);
    }
    expect((await run([], fakeClient())).code).toBe(2);
  });

  it('goes through runCli: a usage error exits 2 with the help hint, an unknown verb too', async () => {
    const io = fakeIo();
    expect(await runCli(['integration', 'frobnicate'], io.io)).toBe(2);
    expect(io.out.stderr).toBe("scalr-credd integration: unknown verb; use add, list, show, update or rm; run 'scalr-credd integration --help'\n");
    const secretFlag = fakeIo();
    expect(await runCli(['integration', 'add', '--host', 'h.io', '--username', 'u', '--secret', SECRET], secretFlag.io)).toBe(2);
    expect(secretFlag.out.stderr).toMatch(/^scalr-credd integration: --secret is not accepted: .*pipe it on stdin/);
    expect(secretFlag.out.stderr).not.toContain(SECRET);
  });

  it('is listed in the main help', async () => {
    const io = fakeIo();
    expect(await runCli(['--help'], io.io)).toBe(0);
    expect(io.out.stdout).toContain('integration add|list|show|update|rm');
  });
});
