import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { isLoopbackHost } from '@dcs/shared';

/**
 * The one way the providers reach a cloud: a single HTTP/1.1 request over node:net/node:tls.
 *
 * Must never happen:
 * - a request without a deadline (connect and total), or a response body read past its cap;
 * - a redirect followed (a 3xx is handed back as it is, so credentials never travel to a new place);
 * - plain HTTP to anything but a loopback address, or any request to a metadata-service address
 *   (only the endpoints derived from the configured identity are ever contacted);
 * - a proxy's credentials, a request body or a response body in an error message.
 */

/** Environment variables as the daemon's entry point passes them down (never read from process here). */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** One outbound request. The body is sent with a Content-Length; `host` is set from the URL. */
export interface OutboundRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** An extra PEM CA trusted for this request only (a registry's own CA). */
  ca?: string;
}

/** The answer, whatever its status. */
export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request; rejects only with OutboundError. */
export type SendOutbound = (request: OutboundRequest) => Promise<OutboundResponse>;

/** Why a request got no answer. */
export type OutboundErrorCode =
  | 'timeout'
  | 'connect_timeout'
  | 'unreachable'
  | 'tls_failed'
  | 'proxy_failed'
  | 'response_too_large'
  | 'insecure_endpoint'
  | 'forbidden_endpoint';

/** A request that got no usable answer; the message names the host, never a body or a credential. */
export class OutboundError extends Error {
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** Options of the outbound request function. */
export interface OutboundOptions {
  /** Where HTTPS_PROXY / NO_PROXY (either case) are read from. */
  env: EnvironmentVariables;
  /** Deadline to have a connected (and, for HTTPS, handshaken) socket, through the proxy if any. Default 5 s. */
  connectTimeoutMs?: number;
  /** Deadline for the whole exchange, connect included. Default 15 s. */
  timeoutMs?: number;
  /** Largest response body accepted. Default 256 KiB. */
  maxResponseBytes?: number;
  /** Extra PEM CAs trusted besides the system ones (private endpoints, tests). */
  ca?: readonly string[];
  userAgent?: string;
}

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', '[fd00:ec2::254]', '100.100.100.200']);
const MAX_PROXY_ANSWER_BYTES = 8 * 1024;

/** Builds the request function; every call gets its own connection (no pooling, no keep-alive). */
export function createOutbound(options: OutboundOptions): SendOutbound {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxResponseBytes = options.maxResponseBytes ?? 256 * 1024;
  const extraCas = options.ca ?? [];
  const userAgent = options.userAgent ?? 'scalr-credd';

  return async (request) => {
    const { url } = request;
    assertAllowedEndpoint(url);
    const proxy = url.protocol === 'https:' ? findProxy(url, options.env) : undefined;
    const cas = request.ca ? [...extraCas, request.ca] : extraCas;
    const ca = cas.length > 0 ? [...tls.rootCertificates, ...cas] : undefined;

    return new Promise<OutboundResponse>((resolve, reject) => {
      let socket: net.Socket | undefined;
      let settled = false;
      const finish = (error: OutboundError | undefined, response?: OutboundResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connectTimer);
        socket?.destroy();
        if (error) reject(error);
        else resolve(response!);
      };
      const total = setTimeout(() => finish(new OutboundError('timeout', `no answer from ${url.host} within ${timeoutMs} ms`)), timeoutMs);
      const connectTimer = setTimeout(
        () => finish(new OutboundError('connect_timeout', `could not connect to ${url.host}${proxy ? ' through the proxy' : ''} within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );

      const onSocket = (connected: net.Socket) => {
        socket = connected;
        if (settled) return connected.destroy();
        clearTimeout(connectTimer);
        const body = request.body ?? '';
        const headers: Record<string, string> = {
          'user-agent': userAgent,
          ...request.headers,
          host: url.host,
          'content-length': String(Buffer.byteLength(body)),
          connection: 'close',
        };
        const outgoing = http.request({ method: request.method, path: `${url.pathname}${url.search}`, headers, createConnection: () => connected });
        outgoing.on('error', () => finish(new OutboundError('unreachable', `the connection to ${url.host} failed`)));
        outgoing.on('response', (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          incoming.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              finish(new OutboundError('response_too_large', `the answer from ${url.host} is larger than ${maxResponseBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          incoming.on('error', () => finish(new OutboundError('unreachable', `the answer from ${url.host} was cut off`)));
          incoming.on('end', () => finish(undefined, { status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }));
        });
        outgoing.end(body);
      };

      const target = { host: bareHostname(url), port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
      const startTls = (over?: net.Socket) => {
        const secure = tls.connect({
          ...(over ? { socket: over } : target),
          servername: net.isIP(target.host) ? undefined : target.host,
          ca,
          minVersion: 'TLSv1.2',
          ALPNProtocols: ['http/1.1'],
        });
        socket = secure;
        secure.once('secureConnect', () => onSocket(secure));
        secure.once('error', (error: NodeJS.ErrnoException) =>
          finish(new OutboundError(over || !isConnectError(error) ? 'tls_failed' : 'unreachable', `the TLS connection to ${url.host} failed (${error.code ?? 'error'})`)),
        );
      };

      if (url.protocol === 'http:') {
        const plain = net.connect(target);
        socket = plain;
        plain.once('connect', () => onSocket(plain));
        plain.once('error', (error: NodeJS.ErrnoException) => finish(new OutboundError('unreachable', `could not connect to ${url.host} (${error.code ?? 'error'})`)));
      } else if (proxy) {
        openTunnel(proxy, target, (error, tunnel) => {
          if (error) return finish(error);
          socket = tunnel;
          startTls(tunnel);
        }, (opened) => (socket = opened));
      } else {
        startTls();
      }
    });
  };
}

/** Refuses plain HTTP except to loopback, and every well-known metadata-service address. */
export function assertAllowedEndpoint(url: URL): void {
  const host = url.hostname.toLowerCase();
  if (METADATA_HOSTS.has(host) || /^169\.254\./.test(host) || /^\[fe[89ab][0-9a-f]:/.test(host) || host.startsWith('[::ffff:a9fe:')) {
    throw new OutboundError('forbidden_endpoint', `${url.host} is a metadata-service address; only configured endpoints are contacted`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(host)) return;
  throw new OutboundError('insecure_endpoint', `${url.protocol}//${url.host} is not HTTPS; credentials are only sent over HTTPS (plain HTTP only to loopback)`);
}

/**
 * The proxy for an HTTPS URL: `https_proxy`/`HTTPS_PROXY` (lower case wins, as in curl), unless
 * `no_proxy`/`NO_PROXY` names the host. A NO_PROXY entry is `*`, a host name (matching itself and its
 * subdomains, a leading dot allowed), or an IP literal, each optionally with `:port`.
 */
export function findProxy(url: URL, env: EnvironmentVariables): URL | undefined {
  const setting = env['https_proxy'] || env['HTTPS_PROXY'];
  if (!setting) return undefined;
  if (bypassesProxy(url, env['no_proxy'] ?? env['NO_PROXY'] ?? '')) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(setting.includes('://') ? setting : `http://${setting}`);
  } catch {
    throw new OutboundError('proxy_failed', 'HTTPS_PROXY is not a valid URL');
  }
  if (proxy.protocol !== 'http:') throw new OutboundError('proxy_failed', `HTTPS_PROXY uses ${proxy.protocol}; only http:// proxies (CONNECT) are supported`);
  return proxy;
}

function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = bareHostname(url).toLowerCase();
  const port = url.port || '443';
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(entry.replace(/^\*?\./, ''));
    if (!match) continue;
    const name = match[1]!;
    if (match[2] && match[2] !== port) continue;
    if (host === name || (!net.isIP(name) && host.endsWith(`.${name}`))) return true;
  }
  return false;
}

/** Opens a CONNECT tunnel through an HTTP proxy; the callback gets the raw socket to run TLS over. */
function openTunnel(
  proxy: URL,
  target: { host: string; port: number },
  done: (error: OutboundError | undefined, socket?: net.Socket) => void,
  opened: (socket: net.Socket) => void,
): void {
  const authority = `${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
  const socket = net.connect({ host: bareHostname(proxy), port: Number(proxy.port) || 80 });
  opened(socket);
  let answer = Buffer.alloc(0);
  const fail = (message: string) => done(new OutboundError('proxy_failed', message));
  socket.once('error', (error: NodeJS.ErrnoException) => fail(`could not reach the proxy ${proxy.host} (${error.code ?? 'error'})`));
  socket.once('connect', () => {
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (proxy.username) {
      const user = decodeURIComponent(proxy.username);
      const pass = decodeURIComponent(proxy.password);
      lines.push(`Proxy-Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`);
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
  const onData = (chunk: Buffer) => {
    answer = Buffer.concat([answer, chunk]);
    const end = answer.indexOf('\r\n\r\n');
    if (end === -1) {
      if (answer.length > MAX_PROXY_ANSWER_BYTES) fail(`the proxy ${proxy.host} sent an oversized answer to CONNECT`);
      return;
    }
    socket.off('data', onData);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, Math.min(end, 64)).toString('latin1'));
    if (!status || status[1] !== '200') {
      fail(`the proxy ${proxy.host} refused the tunnel to ${authority} (${status ? `HTTP ${status[1]}` : 'not HTTP'})`);
      return;
    }
    const rest = answer.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    // From here TLS runs over the tunnel and reports its failures; a raw socket error must not go unhandled.
    socket.removeAllListeners('error');
    socket.on('error', () => undefined);
    done(undefined, socket);
  };
  socket.on('data', onData);
}

function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function isConnectError(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH' || error.code === 'ECONNRESET' || error.code === 'EAI_AGAIN';
}
