import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where a registry's Bearer realm may be sent the stored credential. The realm comes from the
 * registry's answer, so a hostile or compromised registry could point it at the daemon's own
 * loopback ports or a cloud metadata address; the rules below keep the secret on the network the
 * operator pointed the integration at.
 *
 * - A realm of an https registry must be https; plain http is only for a loopback registry's realm on
 *   that same loopback host (local test registries).
 * - A realm whose name resolves to a loopback, link-local, private or otherwise internal address is
 *   refused unless each such address is also an address of the registry itself (the registry serves
 *   its own realm, as a local registry with its token server on another port does).
 * - Names are resolved before deciding (a name that resolves to 127.0.0.1 is loopback), and the
 *   request then connects to exactly the addresses that were checked, so a second, different DNS
 *   answer cannot move it (see `pinnedLookup`).
 * - Redirects are never followed: the probe's requests do not follow them at all.
 */

/** Resolves a host name to its IP addresses (all families). */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as connections use). */
export const resolveHost: ResolveHost = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** Why a realm was refused, in words that name the realm's host but no secret. */
export class RealmRefusedError extends Error {
  override readonly name = 'RealmRefusedError';
}

// Two lists: one BlockList would match IPv4 addresses against the IPv4-mapped IPv6 rule.
const INTERNAL_V4 = new BlockList();
const INTERNAL_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT, also used for cloud metadata services
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3], // multicast, reserved and broadcast
] as const) {
  INTERNAL_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127], // unspecified and loopback
  ['::ffff:0:0', 96], // IPv4-mapped: a name should never resolve to one
  ['64:ff9b::', 96], // NAT64 reaches IPv4 addresses, internal ones included
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  INTERNAL_V6.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is loopback, link-local, private or otherwise not a public unicast address. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return family === 4 ? INTERNAL_V4.check(address, 'ipv4') : INTERNAL_V6.check(address, 'ipv6');
}

/** A URL's hostname as the resolver takes it (IPv6 literals without brackets). */
function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

async function addressesOf(url: URL, resolve: ResolveHost): Promise<string[]> {
  const hostname = bareHostname(url);
  if (isIP(hostname)) return [hostname];
  let addresses: string[];
  try {
    addresses = await resolve(hostname);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) throw new RealmRefusedError(`cannot resolve token realm host ${url.hostname}; the credential was not sent`);
  return addresses;
}

/**
 * Checks a realm against the registry it came from; returns the realm's addresses, to connect to
 * only those. Throws RealmRefusedError when the credential must not be sent there.
 */
export async function checkRealm(registry: URL, realm: URL, resolve: ResolveHost = resolveHost): Promise<string[]> {
  const where = `${realm.protocol}//${realm.host}`;
  if (realm.username !== '' || realm.password !== '') {
    throw new RealmRefusedError(`token realm ${realm.protocol}//${realm.hostname} carries user information; the credential was not sent`);
  }
  // Plain HTTP carries the credential in clear: only under a plain-HTTP (loopback) registry, to a loopback realm.
  const plain = realm.protocol === 'http:';
  if (!plain && realm.protocol !== 'https:') throw new RealmRefusedError(`token realm ${where} is not HTTPS; the credential was not sent`);
  if (plain && registry.protocol === 'https:') {
    throw new RealmRefusedError(`token realm ${where} is not HTTPS though the registry is; the credential was not sent`);
  }
  if (plain && !LOOPBACK_NAME.test(realm.hostname)) throw new RealmRefusedError(`token realm ${where} is not HTTPS; the credential was not sent`);

  const realmAddresses = await addressesOf(realm, resolve);
  const internal = realmAddresses.filter(isInternalAddress);
  if (internal.length > 0) {
    const registryAddresses = new Set(await addressesOf(registry, resolve).catch(() => []));
    const foreign = internal.find((address) => !registryAddresses.has(address));
    if (foreign !== undefined) {
      throw new RealmRefusedError(`token realm ${where} resolves to an internal address (${foreign}) that is not the registry's; the credential was not sent`);
    }
  }
  if (plain && internal.length < realmAddresses.length) throw new RealmRefusedError(`token realm ${where} is not HTTPS; the credential was not sent`);
  return realmAddresses;
}

/** `localhost`, 127.0.0.0/8 or `[::1]`: the names a plain-HTTP realm may have. */
const LOOPBACK_NAME = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** A `lookup` for http.request that answers only the given, already checked addresses. */
export function pinnedLookup(addresses: readonly string[]) {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (
    _hostname: string,
    options: { all?: boolean },
    callback: (error: NodeJS.ErrnoException | null, address: string | Array<{ address: string; family: number }>, family?: number) => void,
  ): void => {
    if (options.all) return void callback(null, entries);
    callback(null, entries[0]!.address, entries[0]!.family);
  };
}
