/**
 * Registry host normalisation, shared by the helper and the daemon.
 *
 * Every client names the same registry differently (see docs: protocol.md §2): docker sends
 * `host[:port]` or `https://index.docker.io/v1/`, OpenTofu `https://host`, nerdctl `host:443`,
 * skopeo `docker.io`, go-containerregistry `host/org/repo`. This module maps them all to one
 * canonical key so that a credential stored once answers every client.
 *
 * It must stay dependency-free: the helper imports it on every start.
 */

/** The canonical key of Docker Hub. */
export const DOCKER_HUB_HOST = 'docker.io';

/** The key the Docker CLI uses for Docker Hub (in `credHelpers`, `list` and `get`). */
export const DOCKER_HUB_CLI_KEY = 'https://index.docker.io/v1/';

const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SUPPORTED_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'oci']);
const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const IPV6_BODY = /^[0-9a-f:.]+(?:%[a-z0-9._-]+)?$/;
const MAX_INPUT_LENGTH = 2048;

/** Thrown when a server URL or host cannot name a registry; `message` says why, without echoing long input. */
export class InvalidRegistryHostError extends Error {
  override readonly name = 'InvalidRegistryHostError';
}

/** A server URL split into its canonical registry host and the path that remained. */
export interface ParsedServerUrl {
  /** Canonical `host[:port]`: lowercase, no scheme, no `:443`, Docker Hub aliases folded to `docker.io`. */
  readonly host: string;
  /** What is left of the path after dropping `/`, `/v1` and `/v2`: `''` or e.g. `/org/repo`, `/v1/access-token`. */
  readonly path: string;
}

/** Parses any client's form of a registry address; throws InvalidRegistryHostError when it names no registry. */
export function parseServerUrl(input: string): ParsedServerUrl {
  let rest = input.trim();
  if (rest === '') throw new InvalidRegistryHostError('registry host is empty');
  if (rest.length > MAX_INPUT_LENGTH) {
    throw new InvalidRegistryHostError(`registry address is longer than ${MAX_INPUT_LENGTH} characters`);
  }

  const scheme = SCHEME.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (!SUPPORTED_SCHEMES.has(name)) {
      throw new InvalidRegistryHostError(`scheme "${name}" is not a registry scheme (use https://, http:// or none)`);
    }
    rest = rest.slice(scheme[0].length);
  }

  const authorityEnd = firstIndexOf(rest, '/?#');
  const authority = rest.slice(0, authorityEnd);
  const afterAuthority = rest.slice(authorityEnd);
  const pathEnd = firstIndexOf(afterAuthority, '?#');
  const host = canonicalAuthority(authority);
  const path = canonicalPath(afterAuthority.slice(0, pathEnd));
  return { host, path };
}

/**
 * Whether a parsed server URL names a sub-key: a path under /v1/ or /v2/ is a distinct key (Docker
 * Hub's OAuth access-token and refresh-token entries), which is never stored. Any other path is a
 * repository (go-containerregistry asks `host/org/repo` first) and falls back to the host's credential.
 */
export function isSubKey(key: ParsedServerUrl): boolean {
  return /^\/v[12]\//.test(key.path);
}

/** Returns the canonical `host[:port]` of a registry; throws when the input is not a bare registry host. */
export function normalizeRegistryHost(input: string): string {
  const { host, path } = parseServerUrl(input);
  if (path !== '') {
    throw new InvalidRegistryHostError(`a registry host has no path (got "${truncate(path)}"); give host[:port] only`);
  }
  return host;
}

/** Returns the key the Docker CLI uses for a canonical host: the index URL for Docker Hub, else the host. */
export function dockerCliKey(host: string): string {
  return host === DOCKER_HUB_HOST ? DOCKER_HUB_CLI_KEY : host;
}

/**
 * Whether a host is loopback: `localhost`, `::1` (bracketed as in a URL's hostname, or not as in a
 * listen address) or an address of 127.0.0.0/8. A name that only starts like one (`127.0.0.1.nip.io`)
 * is not.
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Returns the key podman, skopeo and buildah use for a canonical host (`docker.io` for Docker Hub). */
export function containersKey(host: string): string {
  return host;
}

function canonicalAuthority(authority: string): string {
  if (authority === '') throw new InvalidRegistryHostError('registry host is empty');
  if (authority.includes('@')) {
    throw new InvalidRegistryHostError('registry address must not contain user credentials');
  }

  let hostname: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new InvalidRegistryHostError('IPv6 address is missing "]"');
    hostname = authority.slice(0, close + 1).toLowerCase();
    const tail = authority.slice(close + 1);
    if (tail !== '' && !tail.startsWith(':')) throw new InvalidRegistryHostError('unexpected text after the IPv6 address');
    portText = tail === '' ? undefined : tail.slice(1);
    if (!IPV6_BODY.test(hostname.slice(1, -1)) || !hostname.includes(':')) {
      throw new InvalidRegistryHostError('invalid IPv6 address');
    }
  } else {
    const colon = authority.lastIndexOf(':');
    hostname = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    assertDnsName(hostname);
    // `ghcr.io.` (fully qualified) names the same registry as `ghcr.io`: one key for both.
    if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  }

  const port = portText === undefined ? undefined : parsePort(portText);
  if (port === undefined || port === 443) {
    return DOCKER_HUB_ALIASES.has(hostname) ? DOCKER_HUB_HOST : hostname;
  }
  return `${hostname}:${port}`;
}

function assertDnsName(hostname: string): void {
  if (hostname === '') throw new InvalidRegistryHostError('registry host is empty');
  if (hostname.length > 253) throw new InvalidRegistryHostError('registry host is longer than 253 characters');
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  for (const label of name.split('.')) {
    if (!DNS_LABEL.test(label)) {
      throw new InvalidRegistryHostError(
        `"${truncate(hostname)}" is not a valid host name (letters, digits, "-" and "." only; use punycode for IDNs)`,
      );
    }
  }
}

function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new InvalidRegistryHostError(`port "${truncate(text)}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new InvalidRegistryHostError(`port ${port} is out of range 1-65535`);
  return port;
}

function canonicalPath(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '/v1' || trimmed === '/v2') return '';
  return trimmed;
}

function firstIndexOf(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) {
    if (chars.includes(text[i]!)) return i;
  }
  return text.length;
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
