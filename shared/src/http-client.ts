/**
 * A tiny HTTP JSON client for scalr-credd's API, used by the helper on every credential lookup and by
 * the daemon's admin CLI. It must stay dependency-free and cheap to load (why each rule: docs/performance.md,
 * "The helper's HTTP client"):
 *
 * - one HTTP/1.1 request with `Connection: close` on a fresh byte stream, its answer read by
 *   Http1ResponseParser (./http1-response.ts); node:http and node:https are never loaded;
 * - the byte stream comes from an OpenStream: node:net or node:tls here (loaded on the first request,
 *   node:tls only for `https://`), Bun.connect in the packaged helper (helper/src/bun-platform.ts);
 * - no `fetch()`: loading undici is far too slow for a process that every `docker pull` starts;
 * - one deadline covers connect, TLS handshake, request and the whole answer; an optional shorter
 *   one covers the connect alone (failover to the next daemon, ./failover.ts);
 * - answers are capped in size and parsed defensively; every failure is an HttpClientError.
 */
import { CREDENTIAL_WARNING_HEADER } from './api-routes.js';
import { Http1ParseError, Http1ResponseParser, type Http1Response } from './http1-response.js';

const WARNING_HEADER = CREDENTIAL_WARNING_HEADER.toLowerCase();

/**
 * What went wrong: no connection, no answer in time, an HTTP error status, the connection lost before
 * the answer was complete (reset, broken pipe, closed), or an answer that makes no sense.
 */
export type HttpClientErrorKind = 'unreachable' | 'timeout' | 'http' | 'closed' | 'protocol';

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

/** PEM text for an `https://` daemon: extra trusted CA certificates, and a client certificate with its key. */
export interface TlsSettings {
  /** Trusted in addition to the default roots. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
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
  /** A shorter deadline for the connection alone (TCP or Unix socket; the TLS handshake counts in timeoutMs). */
  readonly connectTimeoutMs?: number;
  /** The largest answer body accepted; DEFAULT_MAX_RESPONSE_BYTES when absent. */
  readonly maxResponseBytes?: number;
  /** Used for `https://` URLs only. */
  readonly tls?: TlsSettings;
}

/** The status and parsed JSON body of an answer; `body` is undefined when the answer had no body (or, for an error status, no JSON). */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
  /** The daemon's X-Scalr-Credd-Warning header (a credential that expires within a week), when it sent one. */
  readonly warning?: string;
}

/** Sends one JsonRequest; resolves for every HTTP status, rejects with HttpClientError only. */
export type RequestJson = (request: JsonRequest) => Promise<JsonResponse>;

/** Where one byte stream goes: a Unix socket, or TCP with TLS (`tls` set, possibly empty) or without. */
export type StreamTarget =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | { readonly kind: 'tcp'; readonly hostname: string; readonly port: number; readonly tls: TlsSettings | undefined };

/** What a byte stream reports. `error` carries the runtime's error, whose `code` (ECONNREFUSED, CERT_HAS_EXPIRED…) is read. */
export interface StreamEvents {
  /** The connection is open (before a TLS handshake). */
  connect(): void;
  data(chunk: Uint8Array): void;
  end(): void;
  error(error: unknown): void;
  close(): void;
}

/** A byte stream to the daemon. `write` may be called before it is connected: the stream sends once it is (after the TLS handshake). */
export interface ByteStream {
  write(bytes: Uint8Array): void;
  destroy(): void;
}

/** Opens one byte stream; may throw synchronously for options the runtime refuses. */
export type OpenStream = (target: StreamTarget, events: StreamEvents) => ByteStream;

/** Builds a RequestJson over a runtime's byte streams. */
export function createRequestJson(openStream: OpenStream): RequestJson {
  return async (request) => {
    const target = request.url;
    let endpoint: Endpoint;
    try {
      endpoint = parseEndpointUrl(request.url);
    } catch (error) {
      const detail = error instanceof Error ? error.message : 'invalid URL';
      throw new HttpClientError('unreachable', `cannot reach ${target} (${detail})`, { target, detail });
    }
    return exchangeJson(openStream, {
      target,
      endpoint,
      request,
      payload: request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body), 'utf8'),
      maxBytes: request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
  };
}

/**
 * Sends one request over node:net (or node:tls for `https://`) and returns the status and parsed JSON
 * body for every HTTP status. Throws HttpClientError (`unreachable`, `timeout` or `protocol`) when no
 * usable answer arrives in time.
 */
export const requestJson: RequestJson = (request) => {
  if (typeof process.getBuiltinModule === 'function') return requestOverNode(request);
  // Node before 20.16: import() the built-ins once, then open streams synchronously.
  return Promise.all([import('node:net'), import('node:tls')]).then(([net, tls]) => {
    importedBuiltins = { 'node:net': net, 'node:tls': tls };
    return requestOverNode(request);
  });
};
const requestOverNode = createRequestJson(openNodeStream);
let importedBuiltins: Record<string, unknown> = {};

/** One request's settled inputs. */
interface Exchange {
  readonly target: string;
  readonly endpoint: Endpoint;
  readonly request: JsonRequest;
  readonly payload: Buffer | undefined;
  readonly maxBytes: number;
}

type Fail = (kind: HttpClientErrorKind, message: string, detail: string, extra?: { status?: number; cause?: unknown }) => void;

/** How `start` settles an exchange: once, by `fail` or `succeed`; `connected` stops the connect deadline. */
interface Settle {
  readonly fail: Fail;
  readonly succeed: (response: JsonResponse) => void;
  readonly connected: () => void;
}

/**
 * Runs `start` under the request's deadlines. Settling (`fail`, `succeed`) happens once and calls
 * `cleanup` (close the connection); the timers fail with kind `timeout`.
 */
function withDeadline(exchange: Exchange, start: (settle: Settle) => () => void): Promise<JsonResponse> {
  const { target, request } = exchange;
  return new Promise<JsonResponse>((resolve, reject) => {
    let settled = false;
    let cleanup: (() => void) | undefined;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      clearTimeout(connectTimer);
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
    const timeout = (detail: string) => () => fail('timeout', `${target}: ${detail}`, detail);
    const timer = setTimeout(timeout(`no answer within ${request.timeoutMs} ms`), request.timeoutMs);
    const { connectTimeoutMs } = request;
    const connectTimer =
      connectTimeoutMs === undefined ? undefined : setTimeout(timeout(`no connection within ${connectTimeoutMs} ms`), connectTimeoutMs);
    const connected = () => clearTimeout(connectTimer);
    let stop: () => void;
    try {
      stop = start({ fail, succeed, connected });
    } catch (error) {
      // The runtimes throw synchronously for options they refuse (a bad port, an unusable PEM).
      const detail = `the request could not be sent (${errorCode(error) ?? 'invalid request'})`;
      fail('protocol', `${target}: ${detail}`, detail, { cause: error });
      return;
    }
    if (settled) stop();
    else cleanup = stop;
  });
}

/** Turns an answer's status and body bytes into a JsonResponse, or fails for a 2xx answer that is not JSON. */
function settleAnswer(exchange: Exchange, { status, headers, body }: Http1Response, fail: Fail, succeed: (response: JsonResponse) => void): void {
  const parsed = parseBody(body.toString('utf8'));
  if (parsed.ok) {
    const warning = headers.get(WARNING_HEADER);
    succeed(warning === undefined ? { status, body: parsed.value } : { status, body: parsed.value, warning });
  } else if (status >= 200 && status < 300) {
    const detail = `the answer (status ${status}) is not valid JSON`;
    fail('protocol', `${exchange.target}: ${detail}`, detail, { status });
  } else {
    // An error status from something that is not the daemon (a proxy's HTML page): the status says enough.
    succeed({ status, body: undefined });
  }
}

/** Reports a connection error: unreachable for connect and TLS failures, closed for a reset or broken pipe. */
function failConnection(exchange: Exchange, fail: Fail, error: unknown, answerStarted: boolean): void {
  const { target } = exchange;
  const code = errorCode(error);
  const reason = code === undefined ? undefined : (UNREACHABLE_REASONS[code] ?? tlsReason(code));
  if (reason !== undefined) {
    fail('unreachable', `cannot reach ${target} (${reason})`, reason, { cause: error });
  } else if (code === 'ECONNRESET' || code === 'EPIPE') {
    failClosed(exchange, fail, answerStarted, error);
  } else {
    const detail = code === undefined ? 'connection failed' : `connection failed: ${code}`;
    fail('unreachable', `cannot reach ${target} (${detail})`, detail, { cause: error });
  }
}

function failClosed(exchange: Exchange, fail: Fail, answerStarted: boolean, cause?: unknown): void {
  const detail = answerStarted ? 'the connection closed before the answer was complete' : 'the connection closed before an answer arrived';
  fail('closed', `${exchange.target}: ${detail}`, detail, cause === undefined ? {} : { cause });
}

/** The characters node:http refuses in a request path and in a header value; they are refused here too. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Builds the request bytes, or returns the reason it cannot be sent (as node:http's error code). */
function buildRequest(exchange: Exchange): Buffer | string {
  const { endpoint, request, payload } = exchange;
  const path = endpoint.kind === 'unix' ? request.path : endpoint.basePath + request.path;
  if (INVALID_PATH.test(path)) return 'ERR_UNESCAPED_CHARACTERS';
  let host = 'localhost';
  if (endpoint.kind === 'tcp') {
    host = endpoint.hostname.includes(':') ? `[${endpoint.hostname}]` : endpoint.hostname;
    if (endpoint.port !== (endpoint.protocol === 'https:' ? 443 : 80)) host += `:${endpoint.port}`;
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

function streamTarget(exchange: Exchange): StreamTarget {
  const { endpoint, request } = exchange;
  if (endpoint.kind === 'unix') return endpoint;
  return { kind: 'tcp', hostname: endpoint.hostname, port: endpoint.port, tls: endpoint.protocol === 'https:' ? (request.tls ?? {}) : undefined };
}

/** One request on a fresh byte stream, its answer read through Http1ResponseParser. */
function exchangeJson(openStream: OpenStream, exchange: Exchange): Promise<JsonResponse> {
  const { target } = exchange;
  return withDeadline(exchange, ({ fail, succeed, connected }) => {
    const bytes = buildRequest(exchange);
    if (typeof bytes === 'string') {
      const detail = `the request could not be sent (${bytes})`;
      fail('protocol', `${target}: ${detail}`, detail);
      return () => undefined;
    }
    const parser = new Http1ResponseParser({ maxBodyBytes: exchange.maxBytes });
    const settle = (read: () => Http1Response | undefined) => {
      let response;
      try {
        response = read();
      } catch (error) {
        const detail = error instanceof Http1ParseError ? error.message : 'the answer could not be read';
        const status = error instanceof Http1ParseError ? error.status : undefined;
        fail('protocol', `${target}: ${detail}`, detail, status === undefined ? { cause: error } : { status, cause: error });
        return;
      }
      if (response !== undefined) settleAnswer(exchange, response, fail, succeed);
    };
    const stream = openStream(streamTarget(exchange), {
      connect: connected,
      data: (chunk) => settle(() => parser.push(chunk)),
      // The daemon hung up before its answer was complete (it was stopped, or it crashed): no answer.
      end: () => (parser.completeAtEnd ? settle(() => parser.finish()) : failClosed(exchange, fail, parser.started)),
      error: (error) => failConnection(exchange, fail, error, parser.started),
      // Only reached unsettled if the stream closed without 'end' or 'error'.
      close: () => failClosed(exchange, fail, parser.started),
    });
    stream.write(bytes);
    return () => stream.destroy();
  });
}

/** The Node OpenStream: node:net, or node:tls for TLS, each loaded on first use. */
function openNodeStream(target: StreamTarget, events: StreamEvents): ByteStream {
  let socket: import('node:net').Socket;
  if (target.kind === 'unix') {
    socket = loadBuiltin<NetModule>('node:net').connect({ path: target.socketPath });
  } else if (target.tls === undefined) {
    socket = loadBuiltin<NetModule>('node:net').connect({ host: target.hostname, port: target.port });
  } else {
    const tls = loadBuiltin<TlsModule>('node:tls');
    const { ca, cert, key } = target.tls;
    socket = tls.connect({
      host: target.hostname,
      port: target.port,
      // SNI takes a DNS name only; the certificate is checked against `host` either way.
      ...(isIpAddress(target.hostname) ? {} : { servername: target.hostname }),
      ...(ca === undefined ? {} : { ca: [...tls.rootCertificates, ca] }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    });
  }
  // A TLSSocket emits 'connect' too, when the TCP connection is open (before 'secureConnect').
  socket.once('connect', () => events.connect());
  socket.on('data', (chunk: Buffer) => events.data(chunk));
  socket.on('end', () => events.end());
  socket.on('error', (error) => events.error(error));
  socket.on('close', () => events.close());
  return { write: (bytes) => void socket.write(bytes), destroy: () => void socket.destroy() };
}

/** True for an IPv4 or IPv6 literal (as parseEndpointUrl leaves it, without brackets). */
export function isIpAddress(hostname: string): boolean {
  return hostname.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname);
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
  EPROTO: 'TLS: the handshake failed (is it a TLS server?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate cannot be verified',
  CERT_HAS_EXPIRED: 'TLS: certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not match the host name',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: certificate issuer unknown (set SCALR_CREDD_CA_FILE)',
  UNABLE_TO_GET_ISSUER_CERT: 'TLS: certificate issuer unknown (set SCALR_CREDD_CA_FILE)',
  CERT_NOT_YET_VALID: 'TLS: certificate is not yet valid',
  CERT_REVOKED: 'TLS: certificate revoked',
};

type NetModule = Pick<typeof import('node:net'), 'connect'>;
type TlsModule = Pick<typeof import('node:tls'), 'connect' | 'rootCertificates'>;

/** The TLS failures, by the code node:tls and Bun give them, as the one-line reason an operator reads. */
function tlsReason(code: string): string | undefined {
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT')) return `TLS: the handshake failed (${code})`;
  return undefined;
}

function loadBuiltin<T>(id: 'node:net' | 'node:tls'): T {
  // process.getBuiltinModule (Node >= 20.16) loads lazily in ESM, in a CommonJS bundle and in a
  // single executable alike; requestJson imported them beforehand on older Node versions.
  return (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : importedBuiltins[id]) as T;
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
