/**
 * A tiny HTTP JSON client for scalr-credd's API, used by the helper on every credential lookup and by
 * the daemon's admin CLI. It must stay dependency-free and cheap to load:
 *
 * - node:http (and node:https for https URLs) is loaded on the first request, so a process that never
 *   sends one (the helper's `version`, or a `get` it can answer alone) does not pay for it;
 * - no `fetch()`: loading undici costs about 200 ms per process, which every `docker pull` would pay;
 * - Unix sockets get an explicit `host: 'localhost'`, which avoids a slow default path in node:http, and
 *   plain-HTTP requests an empty TLS server name, which spares the agent's IP-address test of the Host;
 * - one deadline covers connect, request and the whole answer;
 * - answers are capped in size and parsed defensively; every failure is an HttpClientError.
 */
import type { ClientRequest, RequestOptions } from 'node:http';

/** What went wrong: no connection, no answer in time, an HTTP error status, or an answer that makes no sense. */
export type HttpClientErrorKind = 'unreachable' | 'timeout' | 'http' | 'protocol';

/** The largest answer body requestJson accepts unless told otherwise (1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Thrown by this module; `message` is one line and never contains the token or a request body. */
export class HttpClientError extends Error {
  override readonly name = 'HttpClientError';
  /** The class of failure. */
  readonly kind: HttpClientErrorKind;
  /** The URL the request went to, as given (never contains credentials: such URLs are rejected). */
  readonly target: string;
  /** The short reason without the target, e.g. `connection refused`. */
  readonly detail: string;
  /** The HTTP status, for kind `http` (and for `protocol` errors about an answer). */
  readonly status: number | undefined;
  /** The API error code from an `{"error":{"code"}}` body, for kind `http`. */
  readonly code: string | undefined;
  /** The API error message from an `{"error":{"message"}}` body, for kind `http`. */
  readonly serverMessage: string | undefined;
  /** The request id from an `{"error":{"requestId"}}` body, for kind `http`. */
  readonly requestId: string | undefined;

  constructor(
    kind: HttpClientErrorKind,
    message: string,
    details: {
      target: string;
      detail: string;
      status?: number;
      code?: string;
      serverMessage?: string;
      requestId?: string;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.target = details.target;
    this.detail = details.detail;
    this.status = details.status;
    this.code = details.code;
    this.serverMessage = details.serverMessage;
    this.requestId = details.requestId;
  }
}

/** Thrown by parseEndpointUrl when a daemon URL is not `http://`, `https://` or `unix:/absolute/path`. */
export class InvalidEndpointUrlError extends Error {
  override readonly name = 'InvalidEndpointUrlError';
}

/** Where a daemon listens: a Unix socket, or a TCP host and port with an optional base path. */
export type Endpoint =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | {
      readonly kind: 'tcp';
      readonly protocol: 'http:' | 'https:';
      readonly hostname: string;
      readonly port: number;
      readonly basePath: string;
    };

/** Parses `http://host:port[/base]`, `https://…` or `unix:/path/to.sock` (also `unix:///path`); throws InvalidEndpointUrlError. */
export function parseEndpointUrl(url: string): Endpoint {
  if (/^unix:/i.test(url)) {
    let socketPath = url.slice('unix:'.length);
    if (socketPath.startsWith('//')) socketPath = socketPath.slice(2);
    if (!socketPath.startsWith('/')) {
      throw new InvalidEndpointUrlError('a unix: URL needs an absolute socket path, e.g. unix:/run/scalr-credd/credd.sock');
    }
    return { kind: 'unix', socketPath };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidEndpointUrlError('not a URL; use http://host:port, https://host:port or unix:/path/to.sock');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidEndpointUrlError(`scheme "${parsed.protocol}" is not supported; use http://, https:// or unix:`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidEndpointUrlError('the URL must not contain user credentials; pass the token separately');
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new InvalidEndpointUrlError('the URL must not have a query or fragment');
  }
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { kind: 'tcp', protocol: parsed.protocol, hostname, port, basePath: parsed.pathname.replace(/\/+$/, '') };
}

/** One JSON request to a daemon. */
export interface JsonRequest {
  /** The daemon's base URL: `http://host:port`, `https://host:port` or `unix:/path/to.sock`. */
  readonly url: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The route, starting with `/`, e.g. `/v1/credentials/get`. */
  readonly path: string;
  /** Sent as `Authorization: Bearer <token>` when present. */
  readonly token?: string;
  /** Serialised as JSON when present. */
  readonly body?: unknown;
  /** The deadline for the whole exchange (connect, send, answer), in milliseconds. */
  readonly timeoutMs: number;
  /** The largest answer body accepted; DEFAULT_MAX_RESPONSE_BYTES when absent. */
  readonly maxResponseBytes?: number;
}

/** The status and parsed JSON body of an answer; `body` is undefined when the answer had no body (or, for an error status, no JSON). */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Sends one request and returns the status and parsed JSON body for every HTTP status.
 * Throws HttpClientError (`unreachable`, `timeout` or `protocol`) when no usable answer arrives in time.
 */
export async function requestJson(request: JsonRequest): Promise<JsonResponse> {
  const target = request.url;
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpointUrl(request.url);
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'invalid URL';
    throw new HttpClientError('unreachable', `cannot reach ${target} (${detail})`, { target, detail });
  }
  const transport = await loadTransport(endpoint.kind === 'tcp' && endpoint.protocol === 'https:' ? 'node:https' : 'node:http');
  const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body), 'utf8');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.token !== undefined) headers['authorization'] = `Bearer ${request.token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const options: RequestOptions = {
    method: request.method,
    headers,
    // A one-shot agent: no keep-alive socket outlives the request, so a CLI exits as soon as it is done.
    agent: false,
    ...(endpoint.kind === 'unix'
      ? { socketPath: endpoint.socketPath, host: 'localhost', path: request.path }
      : { hostname: endpoint.hostname, port: endpoint.port, path: endpoint.basePath + request.path }),
    // No TLS, so no server name: without one the agent tests whether the Host is an IP address, and for
    // "localhost" that compiles node:net's IPv6 pattern, about 3 ms of every helper run on a Unix socket.
    ...(endpoint.kind === 'tcp' && endpoint.protocol === 'https:' ? {} : { servername: '' }),
  };
  const maxBytes = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  return new Promise<JsonResponse>((resolve, reject) => {
    let settled = false;
    let outgoing: ClientRequest | undefined;
    const fail = (kind: HttpClientErrorKind, message: string, detail: string, extra: { status?: number; cause?: unknown } = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outgoing?.destroy();
      reject(new HttpClientError(kind, message, { target, detail, ...extra }));
    };
    const timer = setTimeout(() => {
      const detail = `no answer within ${request.timeoutMs} ms`;
      fail('timeout', `${target}: ${detail}`, detail);
    }, request.timeoutMs);

    try {
      outgoing = transport.request(options, (response) => {
        const status = response.statusCode ?? 0;
        const protocolError = (detail: string, cause?: unknown) =>
          fail('protocol', `${target}: ${detail}`, detail, { status, cause });
        if (Number(response.headers['content-length']) > maxBytes) {
          protocolError(`the answer is larger than ${maxBytes} bytes`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let ended = false;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) protocolError(`the answer is larger than ${maxBytes} bytes`);
          else chunks.push(chunk);
        });
        response.on('error', (error) => protocolError('the connection broke while reading the answer', error));
        response.on('close', () => {
          if (!ended) protocolError('the connection closed before the answer was complete');
        });
        response.on('end', () => {
          ended = true;
          if (settled) return;
          const parsed = parseBody(Buffer.concat(chunks).toString('utf8'));
          if (parsed.ok) {
            settled = true;
            clearTimeout(timer);
            resolve({ status, body: parsed.value });
          } else if (status >= 200 && status < 300) {
            protocolError(`the answer (status ${status}) is not valid JSON`);
          } else {
            // An error status from something that is not the daemon (a proxy's HTML page): the status says enough.
            settled = true;
            clearTimeout(timer);
            resolve({ status, body: undefined });
          }
        });
      });
    } catch (error) {
      const detail = `the request could not be sent (${errorCode(error) ?? 'invalid request'})`;
      fail('protocol', `${target}: ${detail}`, detail, { cause: error });
      return;
    }
    outgoing.on('error', (error) => {
      const code = errorCode(error);
      const reason = code === undefined ? undefined : UNREACHABLE_REASONS[code];
      if (reason !== undefined) {
        fail('unreachable', `cannot reach ${target} (${reason})`, reason, { cause: error });
      } else if (code === 'ECONNRESET' || code === 'EPIPE') {
        const detail = 'the connection closed before an answer arrived';
        fail('protocol', `${target}: ${detail}`, detail, { cause: error });
      } else {
        const detail = code === undefined ? 'connection failed' : `connection failed: ${code}`;
        fail('unreachable', `cannot reach ${target} (${detail})`, detail, { cause: error });
      }
    });
    outgoing.end(payload);
  });
}

/** Returns the `{"error":{code,message,requestId}}` fields of an API error body, or empty fields for any other body. */
export function readErrorBody(body: unknown): { code?: string; message?: string; requestId?: string } {
  if (!isRecord(body) || !isRecord(body['error'])) return {};
  const error = body['error'];
  const pick = (key: string) => (typeof error[key] === 'string' ? (error[key] as string) : undefined);
  const out: { code?: string; message?: string; requestId?: string } = {};
  const code = pick('code');
  const message = pick('message');
  const requestId = pick('requestId');
  if (code !== undefined) out.code = code;
  if (message !== undefined) out.message = message;
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/** Builds the `http`-kind HttpClientError for a response with an unexpected status, carrying the API error code. */
export function httpErrorFromResponse(target: string, response: JsonResponse): HttpClientError {
  const { code, message, requestId } = readErrorBody(response.body);
  const detail = `status ${response.status}${code === undefined ? '' : ` ${code}`}${message === undefined ? '' : `: ${message}`}`;
  return new HttpClientError('http', `${target}: ${detail}`, {
    target,
    detail,
    status: response.status,
    ...(code === undefined ? {} : { code }),
    ...(message === undefined ? {} : { serverMessage: message }),
    ...(requestId === undefined ? {} : { requestId }),
  });
}

const UNREACHABLE_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOENT: 'no socket file at that path',
  ENOTDIR: 'no socket file at that path',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTSOCK: 'the path is not a socket',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate cannot be verified',
  CERT_HAS_EXPIRED: 'TLS: certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not match the host name',
};

type Transport = Pick<typeof import('node:http'), 'request'>;

async function loadTransport(id: 'node:http' | 'node:https'): Promise<Transport> {
  // process.getBuiltinModule (Node >= 20.16) loads lazily in ESM, in a CommonJS bundle and in a single
  // executable alike; import() is the fallback for older Node versions.
  const loaded = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : undefined;
  return (loaded ?? (await import(id))) as Transport;
}

function parseBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
