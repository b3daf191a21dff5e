import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { DOCKER_HUB_HOST, isLoopbackHost, type RegistryTestResult } from '@dcs/shared';
import { RealmRefusedError, checkRealm, pinnedLookup, resolveHost, type ResolveHost } from './realm-policy.js';

/**
 * Checks a registry credential against the registry's `/v2/` endpoint, the way docker login does:
 * an anonymous GET, then the challenge it answers with — Basic (send the credential to /v2/) or Bearer
 * (fetch a token from the realm with the credential, then send the token to /v2/).
 *
 * Must never happen:
 * - the secret, a token, or a registry's answer body appears in the outcome's detail;
 * - the credential goes to a token realm the realm policy refuses (plain HTTP off the registry's
 *   loopback host, HTTP under an HTTPS registry, an internal address that is not the registry's);
 * - a redirect is followed (none is: node:http does not follow them, and a 3xx is an outcome);
 * - a probe runs longer than its deadline (one deadline covers every request of the flow).
 */

/** The stored credential to check, and how to reach its registry. */
export interface ProbeTarget {
  host: string;
  username: string;
  secret: string;
  /** Extra PEM CAs trusted for this registry (and its token realm), besides the system CAs. */
  caCert: string | null;
}

/** How the check ended, with a short reason that never holds a secret. */
export interface ProbeOutcome {
  result: RegistryTestResult;
  detail: string;
}

/** Checks one credential; never throws (every failure is an outcome). */
export type RegistryProbe = (target: ProbeTarget) => Promise<ProbeOutcome>;

/** Options of the node:http(s) probe. */
export interface RegistryProbeOptions {
  /** One deadline for the whole flow (default 5 s). */
  timeoutMs?: number;
  userAgent?: string;
  nowMs?: () => number;
  /** Resolves a token realm's host before the realm policy decides (default: the system resolver). */
  resolve?: ResolveHost;
}

const MAX_BODY_BYTES = 64 * 1024;
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class ProbeFailure extends Error {
  constructor(
    readonly result: RegistryTestResult,
    readonly detail: string,
  ) {
    super(detail);
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Builds the probe over node:http and node:https (no fetch: one deadline, no undici start-up cost). */
export function createRegistryProbe(options: RegistryProbeOptions = {}): RegistryProbe {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const nowMs = options.nowMs ?? Date.now;
  const userAgent = options.userAgent ?? 'scalr-credd';
  const resolve = options.resolve ?? resolveHost;

  return async (target) => {
    const deadline = nowMs() + timeoutMs;
    const ca = target.caCert ? [...rootCertificates, target.caCert] : undefined;
    const send: Send = (url, init = {}) => request(url, { ...init, ca, userAgent, remainingMs: () => deadline - nowMs(), timeoutMs });
    try {
      const base = registryBaseUrl(target.host, target.caCert !== null);
      const anonymous = await send(base);
      if (anonymous.status === 200) {
        return { result: 'ok', detail: 'registry does not ask for credentials at /v2/; the credential was not checked' };
      }
      if (anonymous.status !== 401) throw new ProbeFailure('error', `unexpected HTTP ${anonymous.status} from /v2/`);
      const challenge = parseChallenge(headerText(anonymous.headers['www-authenticate']));
      if (!challenge) throw new ProbeFailure('error', 'registry answered 401 without a Basic or Bearer challenge');

      if (challenge.scheme === 'basic') {
        const answer = await send(base, { headers: { authorization: basicAuth(target.username, target.secret) } });
        return judge(answer.status, 'registry accepted the credential (basic auth)', 'registry rejected the credential (basic auth)');
      }

      const token = await fetchBearerToken(send, { registry: base, params: challenge.params, resolve }, target);
      const answer = await send(base, { headers: { authorization: `Bearer ${token}` } });
      return judge(answer.status, 'registry accepted the token issued for the credential', 'registry rejected the token issued for the credential');
    } catch (error) {
      if (error instanceof ProbeFailure) return { result: error.result, detail: error.detail };
      return { result: 'error', detail: 'unexpected failure while checking the registry' };
    }
  };
}

/** The registry's `/v2/` URL: plain HTTP only for a loopback host without a CA (local test registries). */
export function registryBaseUrl(host: string, hasCaCert: boolean): URL {
  const endpoint = host === DOCKER_HUB_HOST ? 'registry-1.docker.io' : host;
  const probe = new URL(`https://${endpoint}/`);
  const scheme = isLoopbackHost(probe.hostname) && !hasCaCert ? 'http' : 'https';
  return new URL(`${scheme}://${endpoint}/v2/`);
}

/** Parses the first Basic or Bearer challenge of a WWW-Authenticate header. */
export function parseChallenge(header: string): { scheme: 'basic' | 'bearer'; params: Record<string, string> } | undefined {
  const match = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of match[2]!.matchAll(/([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[param[1]!.toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : (param[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase() as 'basic' | 'bearer', params };
}

type Lookup = ReturnType<typeof pinnedLookup>;
type Send = (url: URL, init?: { method?: string; headers?: Record<string, string>; body?: string; lookup?: Lookup }) => Promise<Answer>;

async function fetchBearerToken(
  sendAnywhere: Send,
  challenge: { registry: URL; params: Record<string, string>; resolve: ResolveHost },
  target: ProbeTarget,
): Promise<string> {
  let realm: URL;
  try {
    realm = new URL(challenge.params['realm'] ?? '');
  } catch {
    throw new ProbeFailure('error', 'registry sent a Bearer challenge without a usable realm');
  }
  let addresses: string[];
  try {
    addresses = await checkRealm(challenge.registry, realm, challenge.resolve);
  } catch (error) {
    if (error instanceof RealmRefusedError) throw new ProbeFailure('error', error.message);
    throw error;
  }
  // Connect to exactly the addresses the policy checked.
  const lookup = pinnedLookup(addresses);
  const send: Send = (url, init = {}) => sendAnywhere(url, { ...init, lookup });
  const params = challenge.params;
  const service = params['service'];
  let answer: Answer;
  if (target.username === '<token>') {
    // An identity token is a refresh token: the OAuth2 form post docker and containers/image use.
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: target.secret, client_id: 'scalr-credd' });
    if (service) form.set('service', service);
    answer = await send(realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  } else {
    if (service) realm.searchParams.set('service', service);
    realm.searchParams.set('account', target.username);
    answer = await send(realm, { headers: { authorization: basicAuth(target.username, target.secret) } });
  }
  if (answer.status === 401 || answer.status === 403) {
    throw new ProbeFailure('unauthorized', `token endpoint rejected the credential (HTTP ${answer.status})`);
  }
  if (answer.status !== 200) throw new ProbeFailure('error', `token endpoint answered HTTP ${answer.status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw new ProbeFailure('error', 'token endpoint answered something that is not JSON');
  }
  const { token, access_token: accessToken } = (parsed ?? {}) as { token?: unknown; access_token?: unknown };
  const value = typeof token === 'string' && token ? token : accessToken;
  if (typeof value !== 'string' || !value || /[\s]/.test(value)) throw new ProbeFailure('error', 'token endpoint answered without a token');
  return value;
}

function judge(status: number, okDetail: string, rejectedDetail: string): ProbeOutcome {
  if (status === 200) return { result: 'ok', detail: okDetail };
  if (status === 401 || status === 403) return { result: 'unauthorized', detail: `${rejectedDetail} (HTTP ${status})` };
  return { result: 'error', detail: `unexpected HTTP ${status} from /v2/ with credentials` };
}

function basicAuth(username: string, secret: string): string {
  return `Basic ${Buffer.from(`${username}:${secret}`, 'utf8').toString('base64')}`;
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function request(
  url: URL,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    lookup?: Lookup;
    ca: string[] | undefined;
    userAgent: string;
    remainingMs: () => number;
    timeoutMs: number;
  },
): Promise<Answer> {
  const remaining = init.remainingMs();
  const seconds = `${Math.round(init.timeoutMs / 100) / 10} s`;
  if (remaining <= 0) return Promise.reject(new ProbeFailure('unreachable', `no answer within ${seconds}`));
  return new Promise<Answer>((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': init.userAgent, accept: 'application/json', ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const options: https.RequestOptions = { method: init.method ?? 'GET', headers, agent: false };
    if (init.lookup) options.lookup = init.lookup as unknown as https.RequestOptions['lookup'];
    if (url.protocol === 'https:' && init.ca) options.ca = init.ca;
    const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // Only a token answer is read; anything larger than a token answer is cut off, not buffered.
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (error) => fail(error));
    });
    const timer = setTimeout(() => {
      req.destroy(new ProbeFailure('unreachable', `no answer within ${seconds}`));
    }, remaining);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof ProbeFailure ? error : classify(error as NodeJS.ErrnoException, url));
    };
    req.on('error', fail);
    req.end(init.body);
  });
}

function classify(error: NodeJS.ErrnoException, url: URL): ProbeFailure {
  const code = error.code ?? '';
  const where = `${url.protocol}//${url.host}`;
  if (code === 'ECONNREFUSED') return new ProbeFailure('unreachable', `connection refused by ${where}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ProbeFailure('unreachable', `cannot resolve ${url.hostname}`);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new ProbeFailure('unreachable', `cannot reach ${where} (${code})`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return new ProbeFailure('unreachable', `connection to ${where} was reset`);
  if (TLS_TRUST_CODES.has(code)) {
    return new ProbeFailure('error', `TLS certificate of ${where} is not trusted (${code}); set the integration's caCert for a private CA`);
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new ProbeFailure('error', `TLS handshake with ${where} failed (${code})`);
  }
  if (code === 'HPE_INVALID_CONSTANT' || code.startsWith('HPE_')) {
    return new ProbeFailure('error', `${where} did not answer HTTP (${code})`);
  }
  return new ProbeFailure('error', `request to ${where} failed${code ? ` (${code})` : ''}`);
}
