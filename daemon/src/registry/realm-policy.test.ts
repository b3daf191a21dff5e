import { describe, expect, it } from 'vitest';
import { RealmRefusedError, checkRealm, isInternalAddress, pinnedLookup, resolveHost, type ResolveHost } from './realm-policy.js';

/** A resolver over a fixed table; a name it does not know fails as getaddrinfo would. */
function resolverOf(table: Record<string, string[]>): ResolveHost {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses;
  };
}

const DNS = resolverOf({
  'ghcr.io': ['140.82.112.33'],
  'auth.ghcr.io': ['140.82.112.34', '2606:50c0:8000::154'],
  'rebind.example': ['127.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'mixed.example': ['140.82.112.35', '10.0.0.9'],
  'registry.corp': ['10.0.0.5'],
  'auth.corp': ['10.0.0.6'],
  localhost: ['127.0.0.1', '::1'],
});

describe('checkRealm', () => {
  it.each([
    ['a public realm of a public registry', 'https://ghcr.io/v2/', 'https://auth.ghcr.io/token', ['140.82.112.34', '2606:50c0:8000::154']],
    ['the registry serving its own realm on an internal address', 'https://registry.corp/v2/', 'https://registry.corp:8443/token', ['10.0.0.5']],
    ['a loopback registry with its token server on another port', 'http://127.0.0.1:5000/v2/', 'http://127.0.0.1:5001/token', ['127.0.0.1']],
    ['a localhost registry and realm', 'http://localhost:5000/v2/', 'http://localhost:5001/token', ['127.0.0.1', '::1']],
  ])('allows %s and returns the addresses to connect to', async (_label, registry, realm, addresses) => {
    await expect(checkRealm(new URL(registry), new URL(realm), DNS)).resolves.toEqual(addresses);
  });

  it.each([
    ['a plain-HTTP realm under an HTTPS registry', 'https://ghcr.io/v2/', 'http://auth.ghcr.io/token', /not HTTPS though the registry is/],
    ['a plain-HTTP realm off loopback', 'http://127.0.0.1:5000/v2/', 'http://auth.ghcr.io/token', /not HTTPS/],
    ['another port on the daemon host', 'https://ghcr.io/v2/', 'https://127.0.0.1:8700/token', /internal address \(127\.0\.0\.1\)/],
    ['a loopback name', 'https://ghcr.io/v2/', 'https://localhost:8700/token', /internal address/],
    ['IPv6 loopback', 'https://ghcr.io/v2/', 'https://[::1]:8700/token', /internal address/],
    ['the metadata address', 'https://ghcr.io/v2/', 'https://169.254.169.254/latest/meta-data', /internal address \(169\.254\.169\.254\)/],
    ['IPv6 link-local', 'https://ghcr.io/v2/', 'https://[fe80::1]/token', /internal address/],
    ['an IPv4-mapped loopback address', 'https://ghcr.io/v2/', 'https://[::ffff:127.0.0.1]/token', /internal address/],
    ['a private address', 'https://ghcr.io/v2/', 'https://192.168.1.10/token', /internal address/],
    ['a carrier-grade NAT metadata address', 'https://ghcr.io/v2/', 'https://100.100.100.200/token', /internal address/],
    ['a name that resolves to loopback', 'https://ghcr.io/v2/', 'https://rebind.example/token', /internal address \(127\.0\.0\.1\)/],
    ['a name that resolves to the metadata address', 'https://ghcr.io/v2/', 'https://metadata.example/token', /internal address/],
    ['a name with one internal address among public ones', 'https://ghcr.io/v2/', 'https://mixed.example/token', /internal address \(10\.0\.0\.9\)/],
    ['another internal host than the registry', 'https://registry.corp/v2/', 'https://auth.corp/token', /internal address \(10\.0\.0\.6\)/],
    ['another loopback address than the registry', 'http://127.0.0.1:5000/v2/', 'http://127.0.0.2:5001/token', /internal address \(127\.0\.0\.2\)/],
    ['a name that does not resolve', 'https://ghcr.io/v2/', 'https://nowhere.example/token', /cannot resolve/],
    ['a realm with user information', 'https://ghcr.io/v2/', 'https://u:p@auth.ghcr.io/token', /user information/],
    ['a realm that is not HTTP', 'https://ghcr.io/v2/', 'ftp://auth.ghcr.io/token', /not HTTPS/],
  ])('refuses %s', async (_label, registry, realm, message) => {
    const checked = checkRealm(new URL(registry), new URL(realm), DNS);

    await expect(checked).rejects.toThrow(RealmRefusedError);
    await expect(checked).rejects.toThrow(message);
  });

  it('never puts the realm URL path, query or user information in its message', async () => {
    const error = await checkRealm(new URL('https://ghcr.io/v2/'), new URL('https://user:pw@127.0.0.1/t?secret=x'), DNS).catch((e: unknown) => e);

    expect(String(error)).not.toMatch(/pw|secret=x|\/t\?/);
  });

  it('resolves names with the system resolver by default (localhost is loopback)', async () => {
    await expect(checkRealm(new URL('https://ghcr.io/v2/'), new URL('https://localhost/token'))).rejects.toThrow(/internal address/);
    expect((await resolveHost('localhost')).every(isInternalAddress)).toBe(true);
  });
});

describe('isInternalAddress', () => {
  it.each([
    ['127.0.0.1', true], ['127.255.0.9', true], ['0.0.0.0', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true],
    ['192.168.0.1', true], ['169.254.169.254', true], ['100.64.0.1', true], ['224.0.0.1', true], ['255.255.255.255', true],
    ['::1', true], ['::', true], ['fe80::1', true], ['fd00::1', true], ['::ffff:10.0.0.1', true], ['64:ff9b::a00:1', true], ['not-an-ip', true],
    ['8.8.8.8', false], ['172.32.0.1', false], ['140.82.112.33', false], ['2606:50c0:8000::154', false], ['100.128.0.1', false],
  ])('says %s is internal: %s', (address, expected) => {
    expect(isInternalAddress(address)).toBe(expected);
  });
});

describe('pinnedLookup', () => {
  it('answers only the checked addresses, whatever name is asked', () => {
    const lookup = pinnedLookup(['140.82.112.34', '2606:50c0:8000::154']);
    const answers: unknown[] = [];

    lookup('other.example', { all: true }, (_error, address) => void answers.push(address));
    lookup('other.example', {}, (_error, address, family) => void answers.push([address, family]));

    expect(answers).toEqual([
      [{ address: '140.82.112.34', family: 4 }, { address: '2606:50c0:8000::154', family: 6 }],
      ['140.82.112.34', 4],
    ]);
  });
});
