import { readFileSync } from 'node:fs';
import { DOCKER_HUB_HOST, dockerCliKey, isSubKey, parseServerUrl } from '@dcs/shared/registry-host';
import { describe, expect, it } from 'vitest';
import type { CredentialBackend, CredentialInput, CredentialList, StoredCredential } from './credential-backend.js';
import {
  CredentialsNotFoundError,
  DaemonError,
  HelperConfigError,
  ReadOnlyTokenError,
  type DaemonErrorKind,
} from './errors.js';
import { HELP_TEXT, HUB_OAUTH_REFUSAL, runHelper } from './run-helper.js';
import { HELPER_VERSION } from './version.js';

/** A CredentialBackend over a Map keyed by canonical host, behaving like scalr-credd's credential routes. */
class MemoryBackend implements CredentialBackend {
  readonly entries = new Map<string, StoredCredential>();
  readonly calls: string[] = [];

  constructor(
    seed: Record<string, StoredCredential> = {},
    private readonly writable = true,
  ) {
    for (const [host, credential] of Object.entries(seed)) this.entries.set(host, credential);
  }

  async get(serverUrl: string): Promise<StoredCredential> {
    this.calls.push(`get ${serverUrl}`);
    const key = parseServerUrl(serverUrl);
    // The daemon's rule: /v1/… sub-keys are distinct keys (never stored); a repository path falls back to its host.
    const found = isSubKey(key) ? undefined : this.entries.get(key.host);
    if (!found) throw new CredentialsNotFoundError();
    return found;
  }

  async list(): Promise<CredentialList> {
    this.calls.push('list');
    return Object.fromEntries([...this.entries].map(([host, { username }]) => [dockerCliKey(host), username]));
  }

  async store(input: CredentialInput): Promise<void> {
    this.calls.push(`store ${input.serverUrl}`);
    if (!this.writable) throw new ReadOnlyTokenError('runner');
    const { host, path } = parseServerUrl(input.serverUrl);
    if (path !== '') throw new DaemonError('rejected', `scalr-credd refused the request: "${host}${path}" names a path`);
    this.entries.set(host, { username: input.username, secret: input.secret });
  }

  async erase(serverUrl: string): Promise<void> {
    this.calls.push(`erase ${serverUrl}`);
    if (!this.writable) throw new ReadOnlyTokenError('runner');
    const key = parseServerUrl(serverUrl);
    if (!isSubKey(key)) this.entries.delete(key.host);
  }
}

/** A backend whose every method throws the given error. */
function failingBackend(error: unknown): CredentialBackend {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return { get: fail, list: fail, store: fail, erase: fail };
}

const seed = (): Record<string, StoredCredential> => ({
  'reg.example.com:5000': { username: 'alice', secret: 's3cret' },
  [DOCKER_HUB_HOST]: { username: 'hubuser', secret: 'dckr_pat_hub' },
  'ghcr.io': { username: '<token>', secret: 'refresh-token-value' },
  'nexus.example.com': { username: 'svc', secret: 'p"a\\ss\nword</script>' },
});

const NOT_FOUND = 'credentials not found in native keychain\n';
const NO_SERVER_URL = 'no credentials server URL\n';
const NO_USERNAME = 'no credentials username\n';
const USAGE = 'Usage: docker-credential-scalr <store|get|erase|list|version>\n';

const hit = (serverUrl: string, username: string, secret: string) =>
  `{"ServerURL":${JSON.stringify(serverUrl)},"Username":${JSON.stringify(username)},"Secret":${JSON.stringify(secret)}}\n`;

describe('runHelper get', () => {
  const cases: { client: string; stdin: string; stdout: string }[] = [
    { client: 'docker host:port', stdin: 'reg.example.com:5000', stdout: hit('reg.example.com:5000', 'alice', 's3cret') },
    { client: 'docker Hub', stdin: 'https://index.docker.io/v1/', stdout: hit('https://index.docker.io/v1/', 'hubuser', 'dckr_pat_hub') },
    { client: 'oras host:port', stdin: 'reg.example.com:5000', stdout: hit('reg.example.com:5000', 'alice', 's3cret') },
    { client: 'oras Hub', stdin: 'https://index.docker.io/v1/', stdout: hit('https://index.docker.io/v1/', 'hubuser', 'dckr_pat_hub') },
    { client: 'podman/skopeo Hub', stdin: 'docker.io', stdout: hit('docker.io', 'hubuser', 'dckr_pat_hub') },
    { client: 'Hub alias index.docker.io', stdin: 'index.docker.io', stdout: hit('index.docker.io', 'hubuser', 'dckr_pat_hub') },
    { client: 'Hub alias registry-1', stdin: 'registry-1.docker.io', stdout: hit('registry-1.docker.io', 'hubuser', 'dckr_pat_hub') },
    { client: 'OpenTofu https://host:port', stdin: 'https://reg.example.com:5000', stdout: hit('https://reg.example.com:5000', 'alice', 's3cret') },
    { client: 'OpenTofu https://host', stdin: 'https://ghcr.io', stdout: hit('https://ghcr.io', '<token>', 'refresh-token-value') },
    { client: 'nerdctl host:443', stdin: 'nexus.example.com:443', stdout: hit('nexus.example.com:443', 'svc', 'p"a\\ss\nword</script>') },
    { client: 'nerdctl https://host:443', stdin: 'https://nexus.example.com:443', stdout: hit('https://nexus.example.com:443', 'svc', 'p"a\\ss\nword</script>') },
    { client: 'nerdctl http://host:443', stdin: 'http://nexus.example.com:443', stdout: hit('http://nexus.example.com:443', 'svc', 'p"a\\ss\nword</script>') },
    { client: 'go-containerregistry host/org/repo', stdin: 'reg.example.com:5000/org/repo', stdout: hit('reg.example.com:5000/org/repo', 'alice', 's3cret') },
    { client: 'echo with \\n', stdin: 'reg.example.com:5000\n', stdout: hit('reg.example.com:5000', 'alice', 's3cret') },
    { client: 'PowerShell with \\r\\n', stdin: 'reg.example.com:5000\r\n', stdout: hit('reg.example.com:5000', 'alice', 's3cret') },
    { client: 'surrounding spaces', stdin: '  \treg.example.com:5000  \n', stdout: hit('reg.example.com:5000', 'alice', 's3cret') },
    { client: 'uppercase host', stdin: 'REG.Example.COM:5000', stdout: hit('REG.Example.COM:5000', 'alice', 's3cret') },
    { client: 'identity token username', stdin: 'ghcr.io', stdout: hit('ghcr.io', '<token>', 'refresh-token-value') },
    { client: 'unknown host', stdin: 'unknown.example.com', stdout: NOT_FOUND },
    { client: 'other port of a known host', stdin: 'reg.example.com:5001', stdout: NOT_FOUND },
    { client: 'Docker Hub OAuth sub-key', stdin: 'https://index.docker.io/v1/access-token', stdout: NOT_FOUND },
    { client: 'empty', stdin: '', stdout: NO_SERVER_URL },
    { client: 'only a newline', stdin: '\n', stdout: NO_SERVER_URL },
    { client: 'only whitespace and \\r\\n', stdin: '  \r\n', stdout: NO_SERVER_URL },
  ];

  it.each(cases)('answers $client', async ({ stdin, stdout }) => {
    const result = await runHelper({ action: 'get', stdin }, new MemoryBackend(seed()));

    expect(result.stdout).toBe(stdout);
    expect(result.exitCode).toBe(stdout.startsWith('{') ? 0 : 1);
  });

  it.each(['ftp://reg.example.com', 'user:pw@reg.example.com', 'reg.example.com:99999', 'has space.example.com', 'https://'])(
    'answers not-found for %j without asking the backend',
    async (stdin) => {
      const backend = new MemoryBackend(seed());

      const result = await runHelper({ action: 'get', stdin }, backend);

      expect(result).toEqual({ stdout: NOT_FOUND, exitCode: 1 });
      expect(backend.calls).toEqual([]);
    },
  );

  it('prints one JSON line whose values round-trip exactly', async () => {
    const result = await runHelper({ action: 'get', stdin: 'nexus.example.com' }, new MemoryBackend(seed()));

    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(result.stdout)).toEqual({ ServerURL: 'nexus.example.com', Username: 'svc', Secret: 'p"a\\ss\nword</script>' });
  });

  it('passes the trimmed input, not a normalised host, to the backend', async () => {
    const backend = new MemoryBackend(seed());

    await runHelper({ action: 'get', stdin: ' https://REG.example.com:5000/ \r\n' }, backend);

    expect(backend.calls).toEqual(['get https://REG.example.com:5000/']);
  });
});

describe('runHelper store', () => {
  const stored = async (stdin: string) => {
    const backend = new MemoryBackend(seed());
    const result = await runHelper({ action: 'store', stdin }, backend);
    return { result, backend };
  };

  it('stores compact JSON as the Go client sends it', async () => {
    const { result, backend } = await stored('{"ServerURL":"new.example.com","Username":"bob","Secret":"pw"}\n');

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.get('new.example.com')).toEqual({ username: 'bob', secret: 'pw' });
  });

  it('stores pretty-printed JSON with \\r\\n line ends', async () => {
    const stdin = '{\r\n  "ServerURL": "new.example.com:8443",\r\n  "Username": "bob",\r\n  "Secret": "pw"\r\n}\r\n';

    const { result, backend } = await stored(stdin);

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.get('new.example.com:8443')).toEqual({ username: 'bob', secret: 'pw' });
  });

  it('decodes Go\'s \\u003ctoken\\u003e escape and stores <token> verbatim', async () => {
    const { result, backend } = await stored(
      '{"ServerURL":"https://index.docker.io/v1/","Username":"\\u003ctoken\\u003e","Secret":"idtoken"}\n',
    );

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.get('docker.io')).toEqual({ username: '<token>', secret: 'idtoken' });
  });

  it('matches field names case-insensitively, as Go does', async () => {
    const { result, backend } = await stored('{"serverurl":"new.example.com","USERNAME":"bob","secret":"pw"}');

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.get('new.example.com')).toEqual({ username: 'bob', secret: 'pw' });
  });

  it('accepts an empty Secret', async () => {
    const { result, backend } = await stored('{"ServerURL":"new.example.com","Username":"bob","Secret":""}');

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.get('new.example.com')).toEqual({ username: 'bob', secret: '' });
  });

  it('overwrites an existing credential', async () => {
    const { result, backend } = await stored('{"ServerURL":"https://reg.example.com:5000","Username":"carol","Secret":"x"}');

    expect(result.exitCode).toBe(0);
    expect(backend.entries.get('reg.example.com:5000')).toEqual({ username: 'carol', secret: 'x' });
  });

  const rejected: { name: string; stdin: string; stdout: string | RegExp }[] = [
    { name: 'empty input', stdin: '', stdout: NO_SERVER_URL },
    { name: 'only a newline', stdin: '\r\n', stdout: NO_SERVER_URL },
    { name: 'missing ServerURL', stdin: '{"Username":"bob","Secret":"pw"}', stdout: NO_SERVER_URL },
    { name: 'empty ServerURL', stdin: '{"ServerURL":"","Username":"bob","Secret":"pw"}', stdout: NO_SERVER_URL },
    { name: 'null ServerURL', stdin: '{"ServerURL":null,"Username":"bob","Secret":"pw"}', stdout: NO_SERVER_URL },
    { name: 'missing Username', stdin: '{"ServerURL":"new.example.com","Secret":"pw"}', stdout: NO_USERNAME },
    { name: 'empty Username', stdin: '{"ServerURL":"new.example.com","Username":"","Secret":"pw"}', stdout: NO_USERNAME },
    { name: 'truncated JSON', stdin: '{"ServerURL":"new.example.com","Username":"bob","Secret":"hunter2"', stdout: /^docker-credential-scalr: store expects .*not valid JSON\n$/ },
    { name: 'not JSON at all', stdin: 'new.example.com', stdout: /^docker-credential-scalr: store expects .*not valid JSON\n$/ },
    { name: 'an array', stdin: '[]', stdout: /^docker-credential-scalr: store expects .*an array\n$/ },
    { name: 'a string', stdin: '"new.example.com"', stdout: /^docker-credential-scalr: store expects .*a string\n$/ },
    { name: 'a number', stdin: '42', stdout: /^docker-credential-scalr: store expects .*a number\n$/ },
    { name: 'null', stdin: 'null', stdout: /^docker-credential-scalr: store expects .*null\n$/ },
    { name: 'a number for Username', stdin: '{"ServerURL":"new.example.com","Username":5,"Secret":"pw"}', stdout: /^docker-credential-scalr: .*Username must be a string\n$/ },
    { name: 'an object for Secret', stdin: '{"ServerURL":"new.example.com","Username":"bob","Secret":{"v":"hunter2"}}', stdout: /^docker-credential-scalr: .*Secret must be a string\n$/ },
    { name: 'a path as ServerURL', stdin: '{"ServerURL":"new.example.com/org","Username":"bob","Secret":"hunter2"}', stdout: /^docker-credential-scalr: scalr-credd refused the request: .*names a path\n$/ },
  ];

  it.each(rejected)('rejects $name with one line and exit 1, storing nothing', async ({ stdin, stdout }) => {
    const { result, backend } = await stored(stdin);

    if (typeof stdout === 'string') expect(result.stdout).toBe(stdout);
    else expect(result.stdout).toMatch(stdout);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).not.toContain('hunter2');
    expect(backend.entries.has('new.example.com')).toBe(false);
  });

  // Byte for byte what the docker CLI's web (device-code) login sends through the Go client: json.Encoder
  // output with Go's \u003c/\u003e escapes and a trailing newline (protocol.md §2.1).
  it.each([
    ['access-token', 'eyJhbGciOiJSUzI1NiJ9.hunter2'],
    ['refresh-token', '\\u003crefresh-hunter2\\u003e..\\u003cclient-id\\u003e'],
  ])('refuses Docker Hub\'s OAuth %s in one line that says to use --password-stdin, without asking the daemon', async (subKey, secret) => {
    const backend = new MemoryBackend(seed());
    const stdin = `{"ServerURL":"https://index.docker.io/v1/${subKey}","Username":"hubuser","Secret":"${secret}"}\n`;

    const result = await runHelper({ action: 'store', stdin }, backend);

    expect(result).toEqual({ stdout: `docker-credential-scalr: ${HUB_OAUTH_REFUSAL}\n`, exitCode: 1 });
    expect(result.stdout).toContain('docker login -u USER --password-stdin');
    expect(backend.calls).toEqual([]);
  });

  it('explains a read-only token', async () => {
    const backend = new MemoryBackend(seed(), false);

    const result = await runHelper({ action: 'store', stdin: '{"ServerURL":"new.example.com","Username":"bob","Secret":"pw"}' }, backend);

    expect(result).toEqual({
      stdout: 'docker-credential-scalr: the token is read-only (role runner); store and erase need a manager or admin token\n',
      exitCode: 1,
    });
  });
});

describe('runHelper erase', () => {
  it('removes a stored credential', async () => {
    const backend = new MemoryBackend(seed());

    const result = await runHelper({ action: 'erase', stdin: 'reg.example.com:5000' }, backend);

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.entries.has('reg.example.com:5000')).toBe(false);
  });

  it.each(['absent.example.com', 'http://absent.example.com', 'https://absent.example.com', 'https://index.docker.io/v1/refresh-token'])(
    'succeeds for %j, which is not stored (docker logout erases several variants)',
    async (stdin) => {
      const backend = new MemoryBackend(seed());

      const result = await runHelper({ action: 'erase', stdin }, backend);

      expect(result).toEqual({ stdout: '', exitCode: 0 });
      expect(backend.entries.size).toBe(4);
    },
  );

  it('succeeds for an invalid address without asking the backend', async () => {
    const backend = new MemoryBackend(seed());

    const result = await runHelper({ action: 'erase', stdin: 'ftp://reg.example.com' }, backend);

    expect(result).toEqual({ stdout: '', exitCode: 0 });
    expect(backend.calls).toEqual([]);
  });

  it.each(['', '\n', ' \r\n'])('answers no server URL for %j', async (stdin) => {
    expect(await runHelper({ action: 'erase', stdin }, new MemoryBackend(seed()))).toEqual({ stdout: NO_SERVER_URL, exitCode: 1 });
  });

  it('explains a read-only token', async () => {
    const result = await runHelper({ action: 'erase', stdin: 'reg.example.com:5000' }, new MemoryBackend(seed(), false));

    expect(result.stdout).toBe(
      'docker-credential-scalr: the token is read-only (role runner); store and erase need a manager or admin token\n',
    );
    expect(result.exitCode).toBe(1);
  });
});

describe('runHelper list', () => {
  it('prints Docker-CLI keys and usernames, never a secret', async () => {
    const result = await runHelper({ action: 'list', stdin: 'unused' }, new MemoryBackend(seed()));

    expect(result).toEqual({
      stdout:
        '{"reg.example.com:5000":"alice","https://index.docker.io/v1/":"hubuser","ghcr.io":"<token>","nexus.example.com":"svc"}\n',
      exitCode: 0,
    });
    for (const { secret } of Object.values(seed())) expect(result.stdout).not.toContain(secret);
  });

  it('prints {} when nothing is stored', async () => {
    expect(await runHelper({ action: 'list', stdin: '' }, new MemoryBackend())).toEqual({ stdout: '{}\n', exitCode: 0 });
  });
});

describe('runHelper arguments', () => {
  const cases: { action: string | undefined; stdout: string; exitCode: 0 | 1 }[] = [
    { action: undefined, stdout: USAGE, exitCode: 1 },
    { action: '--help', stdout: HELP_TEXT, exitCode: 0 },
    { action: '-h', stdout: HELP_TEXT, exitCode: 0 },
    { action: 'help', stdout: HELP_TEXT, exitCode: 0 },
    { action: 'version', stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, exitCode: 0 },
    { action: '--version', stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, exitCode: 0 },
    { action: '-v', stdout: `docker-credential-scalr (scalr-credd) ${HELPER_VERSION}\n`, exitCode: 0 },
    { action: 'foo', stdout: 'docker-credential-scalr: unknown action: foo\n', exitCode: 1 },
    { action: 'GET', stdout: 'docker-credential-scalr: unknown action: GET\n', exitCode: 1 },
    { action: '', stdout: 'docker-credential-scalr: unknown action: \n', exitCode: 1 },
    { action: 'a\nb', stdout: 'docker-credential-scalr: unknown action: a b\n', exitCode: 1 },
  ];

  it.each(cases)('answers $action with exit $exitCode', async ({ action, stdout, exitCode }) => {
    const backend = new MemoryBackend(seed());

    expect(await runHelper({ action, stdin: 'reg.example.com:5000' }, backend)).toEqual({ stdout, exitCode });
    expect(backend.calls).toEqual([]);
  });

  it('names every command in the help text, starting with the protocol\'s usage line', () => {
    expect(HELP_TEXT.startsWith(USAGE)).toBe(true);
    for (const command of ['configure|unconfigure', 'doctor', 'install']) expect(HELP_TEXT).toContain(`docker-credential-scalr ${command} `);
  });

  it('reports the version that helper/package.json declares', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

    expect(HELPER_VERSION).toBe(manifest.version);
  });
});

describe('runHelper failures', () => {
  const kinds: DaemonErrorKind[] = ['unreachable', 'timeout', 'unauthenticated', 'rejected', 'server', 'protocol'];
  const verbs = [
    { action: 'get', stdin: 'reg.example.com:5000' },
    { action: 'list', stdin: '' },
    { action: 'store', stdin: '{"ServerURL":"reg.example.com","Username":"u","Secret":"hunter2"}' },
    { action: 'erase', stdin: 'reg.example.com' },
  ];
  const matrix = kinds.flatMap((kind) => verbs.map((verb) => ({ kind, ...verb })));

  it.each(matrix)('turns a $kind daemon error on $action into one error line, never not-found', async ({ kind, action, stdin }) => {
    const error = new DaemonError(kind, `daemon failed (${kind})`);

    const result = await runHelper({ action, stdin }, failingBackend(error));

    expect(result).toEqual({ stdout: `docker-credential-scalr: daemon failed (${kind})\n`, exitCode: 1 });
  });

  it.each([
    {
      name: 'a configuration error',
      error: new HelperConfigError('no daemon token configured: set SCALR_CREDD_TOKEN_FILE or SCALR_CREDD_TOKEN'),
      stdout: 'docker-credential-scalr: no daemon token configured: set SCALR_CREDD_TOKEN_FILE or SCALR_CREDD_TOKEN\n',
    },
    {
      name: 'a bug with a multi-line message, without a stack trace',
      error: new TypeError('line one\n    at secretFunction (file.ts:1:1)'),
      stdout: 'docker-credential-scalr: internal error: TypeError: line one at secretFunction (file.ts:1:1)\n',
    },
    { name: 'a thrown non-Error value', error: 'weird', stdout: 'docker-credential-scalr: internal error: weird\n' },
  ])('reports $name on one line', async ({ error, stdout }) => {
    expect(await runHelper({ action: 'list', stdin: '' }, failingBackend(error))).toEqual({ stdout, exitCode: 1 });
  });

  it('answers not-found only for CredentialsNotFoundError', async () => {
    const result = await runHelper({ action: 'get', stdin: 'reg.example.com' }, failingBackend(new CredentialsNotFoundError()));

    expect(result).toEqual({ stdout: NOT_FOUND, exitCode: 1 });
  });
});
