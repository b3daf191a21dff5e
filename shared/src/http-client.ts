/**
 * A tiny HTTP JSON client for scalr-credd's API, used by the helper on every credential lookup and by
 * the daemon's admin CLI. It must stay dependency-free and cheap to load:
 *
 * - `http://` and `unix:` URLs take a lean path: one HTTP/1.1 request with `Connection: close` on a
 *   fresh node:net connection, its answer read by Http1ResponseParser (./http1-response.ts). node:http
 *   is never loaded; on a cold helper process, loading it and building its first request cost 4–5 ms;
 * - node:https is loaded only for `https://` URLs, on the first request;
 * - no `fetch()`: loading undici costs about 200 ms per process, which every `docker pull` would pay;
 * - one deadline covers connect, request and the whole answer;
 * - answers are capped in size and parsed defensively; every failure is an HttpClientError.
 */
import type { ClientRequest, RequestOptions } from 'node:http';
import { Http1ParseError, Http1ResponseParser } from './http1-response.js';

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
  const exchange: Exchange = {
    target,
    endpoint,
    request,
    payload: request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body), 'utf8'),
    maxBytes: request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  };
  if (endpoint.kind === 'tcp' && endpoint.protocol === 'https:') {
    return requestOverHttps(exchange, endpoint, await loadBuiltin<HttpsModule>('node:https'));
  }
  return requestOverNet(exchange, await loadBuiltin<NetModule>('node:net'));
}

/** One request's settled inputs, shared by both transports. */
interface Exchange {
  readonly target: string;
  readonly endpoint: Endpoint;
  readonly request: JsonRequest;
  readonly payload: Buffer | undefined;
  readonly maxBytes: number;
}

type Fail = (kind: HttpClientErrorKind, message: string, detail: string, extra?: { status?: number; cause?: unknown }) => void;

/**
 * Runs `start` under the request's deadline. `start` gets `fail` and `succeed`, which settle the
 * promise once and call `cleanup` (close the connection); the timer fails with kind `timeout`.
 */
function withDeadline(
  exchange: Exchange,
  start: (fail: Fail, succeed: (response: JsonResponse) => void) => () => void,
): Promise<JsonResponse> {
  const { target, request } = exchange;
  return new Promise<JsonResponse>((resolve, reject) => {
    let settled = false;
    let cleanup: (() => void) | undefined;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      cleanup?.();
    };
    const fail: Fail = (kind, message, detail, extra = {}) => {
      if (settled) return;
      finish();
      reject(new HttpClientError(kind, message, { target, detail, ...extra }));
    };
    const succeed = (response: JsonResponse) => {
      if (settled) return;
      finish();
      resolve(response);
    };
    const timer = setTimeout(() => {
      const detail = `no answer within ${request.timeoutMs} ms`;
      fail('timeout', `${target}: ${detail}`, detail);
    }, request.timeoutMs);
    let stop: () => void;
    try {
      stop = start(fail, succeed);
    } catch (error) {
      // node:net and node:https throw synchronously for options they refuse (a bad port, say).
      const detail = `the request could not be sent (${errorCode(error) ?? 'invalid request'})`;
      fail('protocol', `${target}: ${detail}`, detail, { cause: error });
      return;
    }
    if (settled) stop();
    else cleanup = stop;
  });
}

/** Turns an answer's status and body bytes into a JsonResponse, or fails for a 2xx answer that is not JSON. */
function settleAnswer(exchange: Exchange, status: number, body: Buffer, fail: Fail, succeed: (response: JsonResponse) => void): void {
  const parsed = parseBody(body.toString('utf8'));
  if (parsed.ok) {
    succeed({ status, body: parsed.value });
  } else if (status >= 200 && status < 300) {
    const detail = `the answer (status ${status}) is not valid JSON`;
    fail('protocol', `${exchange.target}: ${detail}`, detail, { status });
  } else {
    // An error status from something that is not the daemon (a proxy's HTML page): the status says enough.
    succeed({ status, body: undefined });
  }
}

/** Reports a connection error: unreachable for the known connect failures, protocol for a reset or broken pipe. */
function failConnection(exchange: Exchange, fail: Fail, error: unknown, answerStarted: boolean): void {
  const { target } = exchange;
  const code = errorCode(error);
  const reason = code === undefined ? undefined : UNREACHABLE_REASONS[code];
  if (reason !== undefined) {
    fail('unreachable', `cannot reach ${target} (${reason})`, reason, { cause: error });
  } else if (code === 'ECONNRESET' || code === 'EPIPE') {
    const detail = answerStarted ? 'the connection closed before the answer was complete' : 'the connection closed before an answer arrived';
    fail('protocol', `${target}: ${detail}`, detail, { cause: error });
  } else {
    const detail = code === undefined ? 'connection failed' : `connection failed: ${code}`;
    fail('unreachable', `cannot reach ${target} (${detail})`, detail, { cause: error });
  }
}

/** The characters node:http refuses in a request path and in a header value; the lean path refuses them too. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Builds the request bytes for the lean path, or returns the reason it cannot be sent (as node:http's error code). */
function buildRequest(exchange: Exchange): Buffer | string {
  const { endpoint, request, payload } = exchange;
  const path = endpoint.kind === 'unix' ? request.path : endpoint.basePath + request.path;
  if (INVALID_PATH.test(path)) return 'ERR_UNESCAPED_CHARACTERS';
  let host = 'localhost';
  if (endpoint.kind === 'tcp') {
    host = endpoint.hostname.includes(':') ? `[${endpoint.hostname}]` : endpoint.hostname;
    if (endpoint.port !== 80) host += `:${endpoint.port}`;
  }
  let head = `${request.method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (request.token !== undefined) {
    if (INVALID_HEADER_VALUE.test(request.token)) return 'ERR_INVALID_CHAR';
    head += `Authorization: Bearer ${request.token}\r\n`;
  }
  if (payload !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n`;
  head += 'Accept: application/json\r\nConnection: close\r\n\r\n';
  const headBytes = Buffer.from(head, 'latin1');
  return payload === undefined ? headBytes : Buffer.concat([headBytes, payload]);
}

/**
 * The lean path for `http://` and `unix:` URLs: one request on a fresh node:net connection, answered
 * through Http1ResponseParser. node:http is never loaded, which saves a cold helper about 4–5 ms.
 */
function requestOverNet(exchange: Exchange, net: NetModule): Promise<JsonResponse> {
  const { target, endpoint } = exchange;
  return withDeadline(exchange, (fail, succeed) => {
    const bytes = buildRequest(exchange);
    if (typeof bytes === 'string') {
      const detail = `the request could not be sent (${bytes})`;
      fail('protocol', `${target}: ${detail}`, detail);
      return () => undefined;
    }
    const parser = new Http1ResponseParser({ maxBodyBytes: exchange.maxBytes });
    const protocolError = (error: unknown) => {
      const detail = error instanceof Http1ParseError ? error.message : 'the answer could not be read';
      const status = error instanceof Http1ParseError ? error.status : undefined;
      fail('protocol', `${target}: ${detail}`, detail, status === undefined ? { cause: error } : { status, cause: error });
    };
    const socket =
      endpoint.kind === 'unix' ? net.connect({ path: endpoint.socketPath }) : net.connect({ host: endpoint.hostname, port: endpoint.port });
    socket.on('data', (chunk: Buffer) => {
      let response;
      try {
        response = parser.push(chunk);
      } catch (error) {
        protocolError(error);
        return;
      }
      if (response !== undefined) settleAnswer(exchange, response.status, response.body, fail, succeed);
    });
    socket.on('end', () => {
      let response;
      try {
        response = parser.finish();
      } catch (error) {
        protocolError(error);
        return;
      }
      settleAnswer(exchange, response.status, response.body, fail, succeed);
    });
    socket.on('error', (error) => failConnection(exchange, fail, error, parser.started));
    socket.on('close', () => {
      // Only reached unsettled if the socket closed without 'end' or 'error'.
      const detail = parser.started ? 'the connection closed before the answer was complete' : 'the connection closed before an answer arrived';
      fail('protocol', `${target}: ${detail}`, detail);
    });
    socket.write(bytes);
    return () => socket.destroy();
  });
}

/** The https path: node:https with its TLS checks, loaded only for https URLs. */
function requestOverHttps(exchange: Exchange, endpoint: Endpoint & { kind: 'tcp' }, https: HttpsModule): Promise<JsonResponse> {
  const { target, request, payload, maxBytes } = exchange;
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
    hostname: endpoint.hostname,
    port: endpoint.port,
    path: endpoint.basePath + request.path,
  };

  return withDeadline(exchange, (fail, succeed) => {
    const outgoing: ClientRequest = https.request(options, (response) => {
      const status = response.statusCode ?? 0;
      const protocolError = (detail: string, cause?: unknown) => fail('protocol', `${target}: ${detail}`, detail, { status, cause });
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
        settleAnswer(exchange, status, Buffer.concat(chunks), fail, succeed);
      });
    });
    outgoing.on('error', (error) => failConnection(exchange, fail, error, false));
    outgoing.end(payload);
    return () => outgoing.destroy();
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

type NetModule = Pick<typeof import('node:net'), 'connect'>;
type HttpsModule = Pick<typeof import('node:https'), 'request'>;

async function loadBuiltin<T>(id: 'node:net' | 'node:https'): Promise<T> {
  // process.getBuiltinModule (Node >= 20.16) loads lazily in ESM, in a CommonJS bundle and in a single
  // executable alike; import() is the fallback for older Node versions.
  const loaded = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : undefined;
  return (loaded ?? (await import(id))) as T;
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
