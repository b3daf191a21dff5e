/**
 * CredentialBackend over scalr-credd's HTTP API. Every failure becomes a DaemonError whose one-line
 * message says what to check; only the daemon's `404 not_found` on a lookup means "not found".
 */
import { API_ROUTES } from '@dcs/shared/api-routes';
import { DaemonsUnavailableError, requestWithFailover, splitDaemonUrls } from '@dcs/shared/failover';
import { HttpClientError, httpErrorFromResponse, readErrorBody, requestJson } from '@dcs/shared/http-client';
import type { RequestJson, JsonResponse, TlsSettings } from '@dcs/shared/http-client';
import type { CredentialBackend, CredentialInput, CredentialList, StoredCredential } from './credential-backend.js';
import { CredentialsNotFoundError, DaemonError, ReadOnlyTokenError } from './errors.js';

/**
 * What a DaemonBackend needs: the daemon URL (or several, comma-separated: failover), the bearer token,
 * the per-request deadline, TLS files; `request` is the runtime's client, `hostName` the runtime's host
 * name (asked only with several URLs: it sets which daemon this host asks first).
 */
export interface DaemonBackendOptions {
  readonly daemonUrl: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly tls?: TlsSettings;
  readonly request?: RequestJson;
  readonly hostName?: () => string;
}

/** The token that asks, as `GET /v1/whoami` describes it (never its value). */
export interface TokenIdentity {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  /** null: every host. */
  readonly hosts: readonly string[] | null;
  readonly expiresAt: string | null;
}

/** The daemon's answers for the four verbs, and the token's own description (for doctor). */
export interface DaemonBackend extends CredentialBackend {
  whoami(): Promise<TokenIdentity>;
}

/** Creates a CredentialBackend that asks the daemon for every verb. */
export function createDaemonBackend(options: DaemonBackendOptions): DaemonBackend {
  const send = options.request ?? requestJson;
  const urls = splitDaemonUrls(options.daemonUrl);
  const hostName = options.hostName ?? (() => '');

  /** The answer and the URL of the daemon that gave it (named in messages about the answer). */
  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ url: string; response: JsonResponse }> {
    const { token, timeoutMs, tls } = options;
    try {
      return await requestWithFailover(send, { method, path, token, timeoutMs, body, ...(tls === undefined ? {} : { tls }) }, { urls, hostName });
    } catch (error) {
      throw toDaemonError(options.daemonUrl, timeoutMs, error);
    }
  }

  return {
    async get(serverUrl: string): Promise<StoredCredential> {
      const { url: daemonUrl, response } = await call('POST', API_ROUTES.credentialsGet, { serverURL: serverUrl });
      if (response.status === 404 && errorCode(response) === 'not_found') throw new CredentialsNotFoundError();
      if (response.status !== 200) throw failedStatus(daemonUrl, response);
      const body = response.body;
      if (!isRecord(body) || typeof body['Username'] !== 'string' || typeof body['Secret'] !== 'string') {
        throw new DaemonError('protocol', `unexpected answer from scalr-credd at ${daemonUrl}: the lookup has no Username and Secret`, {
          status: response.status,
        });
      }
      const { warning } = response;
      return { username: body['Username'], secret: body['Secret'], ...(warning === undefined ? {} : { warning }) };
    },

    async whoami(): Promise<TokenIdentity> {
      const { url: daemonUrl, response } = await call('GET', API_ROUTES.whoami);
      if (response.status !== 200) throw failedStatus(daemonUrl, response);
      const body = response.body;
      if (!isRecord(body) || typeof body['id'] !== 'string' || typeof body['role'] !== 'string') {
        throw new DaemonError('protocol', `unexpected answer from scalr-credd at ${daemonUrl}: whoami names no token`, { status: response.status });
      }
      const hosts = Array.isArray(body['hosts']) ? body['hosts'].filter((host): host is string => typeof host === 'string') : null;
      const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : null);
      return { id: body['id'], name: text('name') ?? '', role: body['role'], hosts, expiresAt: text('expiresAt') };
    },

    async list(): Promise<CredentialList> {
      const { url: daemonUrl, response } = await call('GET', API_ROUTES.credentials);
      if (response.status !== 200) throw failedStatus(daemonUrl, response);
      const body = response.body;
      if (!isRecord(body) || !Object.values(body).every((value) => typeof value === 'string')) {
        throw new DaemonError('protocol', `unexpected answer from scalr-credd at ${daemonUrl}: the list is not a map of names`, {
          status: response.status,
        });
      }
      return body as CredentialList;
    },

    async store(input: CredentialInput): Promise<void> {
      const { url: daemonUrl, response } = await call('POST', API_ROUTES.credentialsStore, {
        ServerURL: input.serverUrl,
        Username: input.username,
        Secret: input.secret,
      });
      if (response.status === 403) throw refusedWrite(daemonUrl, response);
      if (response.status !== 204 && response.status !== 200) throw failedStatus(daemonUrl, response);
    },

    async erase(serverUrl: string): Promise<void> {
      const { url: daemonUrl, response } = await call('POST', API_ROUTES.credentialsErase, { serverURL: serverUrl });
      if (response.status === 403) throw refusedWrite(daemonUrl, response);
      // docker logout erases several variants of one key; an absent one is not an error.
      if (response.status === 404 && errorCode(response) === 'not_found') return;
      if (response.status !== 204 && response.status !== 200) throw failedStatus(daemonUrl, response);
    },
  };
}

const CHECK_URL = 'is the daemon running? check SCALR_CREDD_URL';
const CHECK_TLS = "check SCALR_CREDD_URL's host name and SCALR_CREDD_CA_FILE (and the client certificate, if the daemon asks for one)";
const CHECK_TOKEN = 'check SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE';

function toDaemonError(daemonUrl: string, timeoutMs: number, error: unknown): DaemonError {
  if (error instanceof DaemonsUnavailableError) {
    const tls = error.attempts.some(({ outcome }) => 'error' in outcome && outcome.error instanceof HttpClientError && outcome.error.detail.startsWith('TLS:'));
    return new DaemonError('unreachable', `no scalr-credd answered: ${error.summary}; ${tls ? CHECK_TLS : CHECK_URL}`, {
      cause: error,
    });
  }
  if (!(error instanceof HttpClientError)) {
    return new DaemonError('protocol', `request to scalr-credd at ${daemonUrl} failed`, { cause: error });
  }
  // The daemon that failed, when there are several.
  daemonUrl = error.target;
  switch (error.kind) {
    case 'unreachable':
      return new DaemonError('unreachable', `cannot reach scalr-credd at ${daemonUrl} (${error.detail}); ${error.detail.startsWith('TLS:') ? CHECK_TLS : CHECK_URL}`, {
        cause: error,
      });
    case 'timeout':
      return new DaemonError(
        'timeout',
        `scalr-credd at ${daemonUrl} did not answer within ${timeoutMs} ms; is the daemon healthy? check SCALR_CREDD_URL or raise SCALR_CREDD_TIMEOUT_MS`,
        { cause: error },
      );
    default:
      return new DaemonError('protocol', `unexpected answer from scalr-credd at ${daemonUrl}: ${error.detail}`, {
        ...(error.status === undefined ? {} : { status: error.status }),
        cause: error,
      });
  }
}

function failedStatus(daemonUrl: string, response: JsonResponse): DaemonError {
  const http = httpErrorFromResponse(daemonUrl, response);
  const status = response.status;
  const details = { status, ...(http.code === undefined ? {} : { code: http.code }) };
  const said = http.serverMessage === undefined ? '' : `: ${http.serverMessage}`;
  const requestId = http.requestId === undefined ? '' : ` (request id ${http.requestId})`;
  if (status === 401) {
    return new DaemonError('unauthenticated', `scalr-credd at ${daemonUrl} rejected the token (401${said}); ${CHECK_TOKEN}`, details);
  }
  if (http.code === 'mint_failed' && http.serverMessage !== undefined) {
    // A cloud provider refused or failed: what the daemon says names the step and the provider's code.
    return new DaemonError('server', `scalr-credd ${http.serverMessage}${requestId}`, details);
  }
  if (status >= 500) {
    return new DaemonError(
      'server',
      `scalr-credd at ${daemonUrl} failed (${http.detail})${requestId}; check the daemon's log`,
      details,
    );
  }
  if (http.code === 'route_not_found') {
    return new DaemonError('rejected', `scalr-credd at ${daemonUrl} has no such route (404); check the path in SCALR_CREDD_URL`, details);
  }
  if (http.code === 'credential_expired' && http.serverMessage !== undefined) {
    return new DaemonError('rejected', http.serverMessage, details);
  }
  if (status === 400 && http.serverMessage !== undefined) {
    return new DaemonError('rejected', `scalr-credd refused the request: ${http.serverMessage}`, details);
  }
  if (status === 403) {
    return new DaemonError('rejected', `scalr-credd at ${daemonUrl} refused access (403${said}); ${CHECK_TOKEN}`, details);
  }
  return new DaemonError('rejected', `unexpected answer from scalr-credd at ${daemonUrl} (${http.detail})${requestId}`, details);
}

function refusedWrite(daemonUrl: string, response: JsonResponse): ReadOnlyTokenError | DaemonError {
  // The daemon's 403 names the token's role ("a runner token may not ..."). A manager or admin can be
  // refused a write only by a host limit on the token, which is not a read-only token: say what the daemon said.
  const { code, message } = readErrorBody(response.body);
  const role = message === undefined ? undefined : /\b(runner|auditor|manager|admin)\b/i.exec(message)?.[1]?.toLowerCase();
  if (role === 'manager' || role === 'admin') {
    return new DaemonError('rejected', `scalr-credd at ${daemonUrl} refused the write (403: ${message})`, {
      status: 403,
      ...(code === undefined ? {} : { code }),
    });
  }
  return new ReadOnlyTokenError(role);
}

function errorCode(response: JsonResponse): string | undefined {
  return readErrorBody(response.body).code;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
