import type { CreatedToken, TokenSummary } from '@dcs/shared';
import { httpErrorFromResponse } from '@dcs/shared/http-client';
import { describe, expect, it } from 'vitest';
import type { AdminClient, NewToken } from './admin-client.js';
import { UsageError, type CliIo } from './io.js';
import { runCli } from './run-cli.js';
import { parseTtl, runTokenCommand, runWhoami } from './token-command.js';
import { tokenSummary } from '../../../test/support/factories.js';

const VALUE = 'scd_tok_00000000000000aa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function fakeClient(tokens: TokenSummary[] = []) {
  const calls: Array<[string, ...unknown[]]> = [];
  const client: AdminClient = {
    url: 'unix:/fake',
    listIntegrations: async () => [],
    getIntegration: async () => {
      throw new Error('not used');
    },
    createIntegration: async () => {
      throw new Error('not used');
    },
    updateIntegration: async () => {
      throw new Error('not used');
    },
    removeIntegration: async () => undefined,
    testIntegration: async () => {
      throw new Error('not used');
    },
    async listTokens() {
      calls.push(['list']);
      return tokens;
    },
    async createToken(body: NewToken): Promise<CreatedToken> {
      calls.push(['create', body]);
      return {
        ...tokenSummary({ id: 'tok_00000000000000aa', name: body.name, role: body.role, hosts: body.hosts ?? null }),
        expiresAt: body.ttlSeconds ? '2026-01-01T01:00:00.000Z' : null,
        token: VALUE,
      };
    },
    async revokeToken(id) {
      calls.push(['revoke', id]);
      if (!tokens.some((t) => t.id === id)) {
        throw httpErrorFromResponse('unix:/fake', { status: 404, body: { error: { code: 'not_found', message: `token ${id} not found` } } });
      }
    },
    async whoami() {
      calls.push(['whoami']);
      const { id, name, role, hosts, expiresAt } = tokens[0] ?? tokenSummary();
      return { id, name, role, hosts, expiresAt };
    },
    listAudit: async () => {
      throw new Error('not used');
    },
  };
  return { client, calls, connect: () => client };
}

function fakeIo() {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    env: {},
    homeDir: '/home/someone',
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
    readStdin: async () => {
      throw new Error('token commands never read stdin');
    },
    stdinIsTty: false,
    promptSecret: async () => {
      throw new Error('token commands never prompt');
    },
    onShutdownSignal: () => undefined,
  };
  return { io, out };
}

async function run(args: string[], fake: ReturnType<typeof fakeClient>) {
  const { io, out } = fakeIo();
  const code = await runTokenCommand(args, io, fake.connect);
  return { code, ...out };
}

describe('token create', () => {
  it('prints only the token value on stdout, the details on stderr', async () => {
    const fake = fakeClient();
    const result = await run(['create', '--name', 'ci', '--role', 'runner', '--ttl', '1h', '--host', 'https://GHCR.io', '--host', 'quay.io'], fake);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${VALUE}\n`);
    expect(result.stderr).toBe(
      'scalr-credd: created token tok_00000000000000aa "ci" (role runner, hosts ghcr.io, quay.io, expires 2026-01-01T01:00:00.000Z); the value above is shown only once\n',
    );
    expect(fake.calls).toEqual([['create', { name: 'ci', role: 'runner', ttlSeconds: 3600, hosts: ['ghcr.io', 'quay.io'] }]]);
  });

  it('prints the CreatedToken with --json, and sends no ttl or hosts when not given', async () => {
    const fake = fakeClient();
    const result = await run(['create', '--name', 'ops', '--role', 'manager', '--json'], fake);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'tok_00000000000000aa', role: 'manager', hosts: null, expiresAt: null, token: VALUE });
    expect(result.stderr).toBe('');
    expect(fake.calls).toEqual([['create', { name: 'ops', role: 'manager' }]]);
  });

  it('checks name, role, ttl and hosts before calling the API', async () => {
    const fake = fakeClient();
    await expect(run(['create', '--role', 'runner'], fake)).rejects.toThrow('--name is required');
    await expect(run(['create', '--name', 'x'], fake)).rejects.toThrow(/--role is required/);
    await expect(run(['create', '--name', 'x', '--role', 'root'], fake)).rejects.toThrow('--role must be one of admin, manager, auditor, runner');
    await expect(run(['create', '--name', 'x', '--role', 'runner', '--ttl', '10'], fake)).rejects.toThrow(/at least 60 seconds/);
    await expect(run(['create', '--name', 'x', '--role', 'runner', '--host', 'a.io/b'], fake)).rejects.toThrow(/--host: /);
    expect(fake.calls).toEqual([]);
  });

  it('refuses --token on the command line', async () => {
    await expect(run(['create', '--name', 'x', '--role', 'runner', `--token=${VALUE}`], fakeClient())).rejects.toThrow(/SCALR_CREDD_TOKEN/);
  });
});

describe('parseTtl', () => {
  it.each([
    ['60', 60],
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['7d', 604_800],
    ['365d', 31_536_000],
  ])('%s is %i seconds', (text, seconds) => expect(parseTtl(text)).toBe(seconds));

  it.each(['', '59', '1', 'h', '1w', '-5m', '1.5h', '366d', '1h30m'])('refuses %j', (text) => {
    expect(() => parseTtl(text)).toThrow(UsageError);
  });
});

describe('token list', () => {
  it('prints a table with each token status', async () => {
    const fake = fakeClient([
      tokenSummary(),
      tokenSummary({ id: 'tok_0000000000000002', name: 'ci', role: 'runner', hosts: ['ghcr.io', 'quay.io'], expiresAt: '2000-01-01T00:00:00.000Z' }),
      tokenSummary({ id: 'tok_0000000000000003', name: 'old', role: 'manager', revokedAt: '2026-01-01T00:00:00.000Z' }),
    ]);
    const result = await run(['list'], fake);
    expect(result.stdout).toBe(
      [
        'ID                    NAME           ROLE     HOSTS            EXPIRES                   STATUS',
        'tok_0000000000000001  initial admin  admin    *                never                     active',
        'tok_0000000000000002  ci             runner   ghcr.io,quay.io  2000-01-01T00:00:00.000Z  expired',
        'tok_0000000000000003  old            manager  *                never                     revoked',
        '',
      ].join('\n'),
    );
  });

  it('prints {"tokens": [...]} with --json', async () => {
    const result = await run(['list', '--json'], fakeClient([tokenSummary()]));
    expect(JSON.parse(result.stdout)).toEqual({ tokens: [tokenSummary()] });
  });
});

describe('token revoke', () => {
  it('revokes by id', async () => {
    const fake = fakeClient([tokenSummary({ id: 'tok_0000000000000002' })]);
    expect(await run(['revoke', 'tok_0000000000000002'], fake)).toMatchObject({ code: 0, stdout: 'revoked token tok_0000000000000002\n' });
    expect(fake.calls).toEqual([['revoke', 'tok_0000000000000002']]);
  });

  it('reports an unknown id as the API does, exit 1', async () => {
    expect(await run(['revoke', 'tok_00000000000000ff'], fakeClient())).toMatchObject({
      code: 1,
      stderr: 'scalr-credd: token tok_00000000000000ff not found (not_found)\n',
    });
  });

  it('refuses a token value instead of an id without echoing it', async () => {
    const error = await run(['revoke', VALUE], fakeClient()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain(VALUE);
  });
});

describe('token help', () => {
  it('prints help for the command and each verb', async () => {
    expect((await run(['--help'], fakeClient())).stdout).toContain('Usage: scalr-credd token <verb>');
    for (const verb of ['create', 'list', 'revoke']) {
      expect((await run([verb, '-h'], fakeClient())).stdout).toContain(`Usage: scalr-credd token ${verb}`);
    }
  });

  it('an unknown verb is a usage error through runCli', async () => {
    const { io, out } = fakeIo();
    expect(await runCli(['token', 'mint'], io)).toBe(2);
    expect(out.stderr).toBe("scalr-credd token: unknown verb; use create, list or revoke; run 'scalr-credd token --help'\n");
  });
});

describe('whoami', () => {
  const NOW = new Date('2026-01-01T00:00:00.000Z');
  const whoami = async (args: string[], fake: ReturnType<typeof fakeClient>) => {
    const { io, out } = fakeIo();
    const code = await runWhoami(args, io, fake.connect, () => NOW);
    return { code, ...out };
  };

  it('prints the id, name, role, hosts, expiry with the time left, and the daemon', async () => {
    const fake = fakeClient([tokenSummary({ id: 'tok_00000000000000bb', name: 'ci', role: 'runner', hosts: ['ghcr.io', 'quay.io'], expiresAt: '2026-01-01T05:30:00.000Z' })]);

    const result = await whoami([], fake);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'token:   tok_00000000000000bb\nname:    ci\nrole:    runner\nhosts:   ghcr.io, quay.io\n' +
        'expires: 2026-01-01T05:30:00.000Z (in 5 hours)\ndaemon:  unix:/fake\n',
    });
    expect(fake.calls).toEqual([['whoami']]);
  });

  it('says all hosts, never expiring, and prints the API answer with --json', async () => {
    expect((await whoami([], fakeClient())).stdout).toMatch(/\nhosts: +all\nexpires: +never\n/);
    expect(JSON.parse((await whoami(['--json'], fakeClient())).stdout)).toEqual({ id: 'tok_0000000000000001', name: 'initial admin', role: 'admin', hosts: null, expiresAt: null });
  });

  it('prints help, and takes no positional argument', async () => {
    expect((await whoami(['--help'], fakeClient())).stdout).toContain('Usage: scalr-credd whoami');
    await expect(whoami(['tok_0000000000000001'], fakeClient())).rejects.toThrow(UsageError);
  });
});
