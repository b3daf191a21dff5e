import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DOCKER_HUB_CLI_KEY,
  DOCKER_HUB_HOST,
  InvalidRegistryHostError,
  containersKey,
  dockerCliKey,
  isLoopbackHost,
  isSubKey,
  normalizeRegistryHost,
  parseServerUrl,
} from './registry-host.js';

describe('parseServerUrl: what each client sends (protocol.md §2.9, §2.10)', () => {
  const table: { client: string; input: string; host: string; path: string }[] = [
    { client: 'docker host:port', input: 'reg.example.com:5000', host: 'reg.example.com:5000', path: '' },
    { client: 'docker bare host', input: 'reg.example.com', host: 'reg.example.com', path: '' },
    { client: 'docker Hub', input: 'https://index.docker.io/v1/', host: 'docker.io', path: '' },
    { client: 'Hub without trailing slash', input: 'https://index.docker.io/v1', host: 'docker.io', path: '' },
    { client: 'docker OAuth access-token key', input: 'https://index.docker.io/v1/access-token', host: 'docker.io', path: '/v1/access-token' },
    { client: 'docker OAuth refresh-token key', input: 'https://index.docker.io/v1/refresh-token', host: 'docker.io', path: '/v1/refresh-token' },
    { client: 'oras host:port', input: 'reg.example.com:5000', host: 'reg.example.com:5000', path: '' },
    { client: 'OpenTofu https://host:port', input: 'https://reg.example.com:5000', host: 'reg.example.com:5000', path: '' },
    { client: 'OpenTofu https://host', input: 'https://ghcr.io', host: 'ghcr.io', path: '' },
    { client: 'OpenTofu Hub', input: 'https://docker.io', host: 'docker.io', path: '' },
    { client: 'podman/skopeo Hub', input: 'docker.io', host: 'docker.io', path: '' },
    { client: 'Hub alias index.docker.io', input: 'index.docker.io', host: 'docker.io', path: '' },
    { client: 'Hub alias registry-1.docker.io', input: 'registry-1.docker.io', host: 'docker.io', path: '' },
    { client: 'Hub alias registry.hub.docker.com', input: 'registry.hub.docker.com', host: 'docker.io', path: '' },
    { client: 'BuildKit Hub host with scheme', input: 'https://registry-1.docker.io/v2/', host: 'docker.io', path: '' },
    { client: 'ggcr host/org/repo', input: 'reg.example.com:5000/org/repo', host: 'reg.example.com:5000', path: '/org/repo' },
    { client: 'ggcr Hub repository', input: 'index.docker.io/library/alpine', host: 'docker.io', path: '/library/alpine' },
    { client: 'nerdctl host:443', input: 'reg.example.com:443', host: 'reg.example.com', path: '' },
    { client: 'nerdctl https://host:443', input: 'https://reg.example.com:443', host: 'reg.example.com', path: '' },
    { client: 'nerdctl http://host:443', input: 'http://reg.example.com:443', host: 'reg.example.com', path: '' },
    { client: 'nerdctl http://host', input: 'http://reg.example.com', host: 'reg.example.com', path: '' },
    { client: 'old docker-maven-plugin', input: 'https://reg.example.com:5000/', host: 'reg.example.com:5000', path: '' },
    { client: 'IPv6 with port', input: '[::1]:5000', host: '[::1]:5000', path: '' },
    { client: 'IPv6 https with 443', input: 'https://[2001:DB8::1]:443/v2/', host: '[2001:db8::1]', path: '' },
    { client: 'IPv4 with port', input: '127.0.0.1:5000', host: '127.0.0.1:5000', path: '' },
    { client: 'localhost', input: 'localhost:5000', host: 'localhost:5000', path: '' },
    { client: 'uppercase host and scheme', input: 'HTTPS://Reg.Example.COM:5000', host: 'reg.example.com:5000', path: '' },
    { client: 'oci:// module source', input: 'oci://ghcr.io/org/module', host: 'ghcr.io', path: '/org/module' },
    { client: 'query and fragment dropped', input: 'https://reg.example.com/v2/?tag=1#frag', host: 'reg.example.com', path: '' },
    { client: 'query right after the host', input: 'reg.example.com?x=1', host: 'reg.example.com', path: '' },
    { client: 'repeated slashes', input: 'https://ghcr.io//org//repo/', host: 'ghcr.io', path: '/org/repo' },
    { client: 'surrounding whitespace', input: ' \tghcr.io\r\n', host: 'ghcr.io', path: '' },
    { client: 'leading zeros in the port', input: 'reg.example.com:05000', host: 'reg.example.com:5000', path: '' },
    { client: 'fully qualified with a trailing dot', input: 'ghcr.io.', host: 'ghcr.io', path: '' },
    { client: 'Hub alias with a trailing dot', input: 'https://index.docker.io./v1/', host: 'docker.io', path: '' },
  ];

  it.each(table)('$client: $input', ({ input, host, path }) => {
    expect(parseServerUrl(input)).toEqual({ host, path });
  });

  it.each(table.filter((row) => row.path === ''))('normalizeRegistryHost($input) is $host', ({ input, host }) => {
    expect(normalizeRegistryHost(input)).toBe(host);
  });

  it.each(table.filter((row) => row.path !== ''))('normalizeRegistryHost refuses $input, which has a path', ({ input }) => {
    expect(() => normalizeRegistryHost(input)).toThrow(InvalidRegistryHostError);
  });
});

describe('parseServerUrl rejections', () => {
  it.each([
    ['empty', ''],
    ['whitespace only', ' \r\n'],
    ['ftp scheme', 'ftp://reg.example.com'],
    ['file scheme', 'file:///etc/passwd'],
    ['user info', 'user:pw@reg.example.com'],
    ['user info after a scheme', 'https://user@reg.example.com'],
    ['port 0', 'reg.example.com:0'],
    ['port out of range', 'reg.example.com:65536'],
    ['non-numeric port', 'reg.example.com:http'],
    ['empty port', 'reg.example.com:'],
    ['a space in the host', 'reg example.com'],
    ['a space before the port', 'reg.example.com :5000'],
    ['scheme only', 'https://'],
    ['path only', '/v2/'],
    ['empty label', 'reg..example.com'],
    ['label starting with a hyphen', '-reg.example.com'],
    ['non-ASCII host', 'rég.example.com'],
    ['unclosed IPv6', '[::1'],
    ['text after IPv6', '[::1]x'],
    ['not an IPv6 address', '[zz::1]'],
    ['IPv6 without brackets', '::1'],
    ['a host name over 253 characters', `${`${'a'.repeat(50)}.`.repeat(6)}com`],
    ['an input over 2048 characters', `${'a'.repeat(60)}.`.repeat(40)],
    ['only a dot', '.'],
  ])('rejects %s', (_name, input) => {
    expect(() => parseServerUrl(input)).toThrow(InvalidRegistryHostError);
  });
});

describe('Docker Hub keys', () => {
  it('keys Hub as each client expects and leaves other hosts alone', () => {
    expect(dockerCliKey(DOCKER_HUB_HOST)).toBe(DOCKER_HUB_CLI_KEY);
    expect(containersKey(DOCKER_HUB_HOST)).toBe('docker.io');
    expect(dockerCliKey('ghcr.io')).toBe('ghcr.io');
    expect(containersKey('reg.example.com:5000')).toBe('reg.example.com:5000');
  });

  it('maps the Docker CLI key back to the canonical host', () => {
    expect(normalizeRegistryHost(dockerCliKey(DOCKER_HUB_HOST))).toBe(DOCKER_HUB_HOST);
  });
});

describe('normalizeRegistryHost properties', () => {
  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
  const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
  const hostname = fc.oneof(dnsName, fc.domain(), fc.ipV4(), fc.ipV6().map((address) => `[${address}]`));
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const registry = fc.record({ hostname, port });
  const withPort = (host: string, p: number | undefined) => (p === undefined ? host : `${host}:${p}`);

  /** Every form a client may send for one registry (protocol.md §2.9). */
  const clientForms = (hostname: string, p: number | undefined): string[] => {
    const authority = withPort(hostname, p);
    const forms = [
      authority,
      `https://${authority}`,
      `http://${authority}`,
      `https://${authority}/`,
      `https://${authority}/v2/`,
      `https://${authority}/v1`,
      `oci://${authority}`,
      `HTTPS://${authority.toUpperCase()}`,
      `${authority}?query=1#fragment`,
      `  ${authority}\r\n`,
    ];
    // nerdctl spells the default port out.
    if (p === undefined || p === 443) forms.push(`${hostname}:443`, `https://${hostname}:443`, `http://${hostname}:443`);
    return forms;
  };

  it('is idempotent on every client form', () => {
    fc.assert(
      fc.property(registry, ({ hostname, port: p }) => {
        for (const form of clientForms(hostname, p)) {
          const once = normalizeRegistryHost(form);
          expect(normalizeRegistryHost(once)).toBe(once);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('maps every client form of one registry to one key', () => {
    fc.assert(
      fc.property(registry, ({ hostname, port: p }) => {
        const keys = new Set(clientForms(hostname, p).map((form) => normalizeRegistryHost(form)));
        expect(keys.size).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('folds every Docker Hub alias, with or without scheme and port 443, into docker.io', () => {
    const alias = fc.constantFrom('docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com');
    const port443 = fc.constantFrom(undefined, 443);
    fc.assert(
      fc.property(alias, port443, (name, p) => {
        for (const form of clientForms(name, p)) expect(normalizeRegistryHost(form)).toBe(DOCKER_HUB_HOST);
      }),
    );
  });

  it('keeps a repository path as a sub-key and the host as the key of every form', () => {
    const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/).filter((s) => s !== 'v1' && s !== 'v2');
    fc.assert(
      fc.property(registry, fc.array(segment, { minLength: 1, maxLength: 3 }), ({ hostname, port: p }, segments) => {
        const host = normalizeRegistryHost(withPort(hostname, p));
        const path = `/${segments.join('/')}`;
        expect(parseServerUrl(`${withPort(hostname, p)}${path}`)).toEqual({ host, path });
        expect(parseServerUrl(`https://${withPort(hostname, p)}${path}/`)).toEqual({ host, path });
      }),
    );
  });

  it('never accepts an input holding user credentials', () => {
    fc.assert(
      fc.property(registry, fc.stringMatching(/^[a-z0-9]{1,10}$/), ({ hostname, port: p }, user) => {
        expect(() => parseServerUrl(`https://${user}@${withPort(hostname, p)}`)).toThrow(InvalidRegistryHostError);
      }),
    );
  });
});

describe('isSubKey', () => {
  it.each([
    ['https://index.docker.io/v1/access-token', true],
    ['https://index.docker.io/v1/refresh-token', true],
    ['ghcr.io/v2/org/repo', true],
    ['ghcr.io', false],
    ['https://index.docker.io/v1/', false],
    ['ghcr.io/org/repo', false],
    ['ghcr.io/v3/x', false],
  ])('says %s is a sub-key: %s', (input, expected) => {
    expect(isSubKey(parseServerUrl(input))).toBe(expected);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['127.10.20.30', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
  ])('says %s is loopback: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
