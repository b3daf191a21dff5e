import { chmodSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { RequestListener } from 'node:http';
import type { ListenAddress, TlsFiles } from '../daemon-config.js';
import { ConfigError } from '../errors.js';
import { errorBody } from './error-handler.js';
import { requestIdFor } from './preflight.js';

/** The servers listening for one daemon, with the addresses they actually bound. */
export interface RunningServers {
  addresses: ListenAddress[];
  /**
   * Reads the TLS files again and gives every https listener the new certificate and key: new
   * handshakes use them, open connections keep theirs. Throws ConfigError (and keeps the old
   * identity) when the files cannot be read or do not form a valid identity.
   */
  reloadTls(): void;
  close(graceMs?: number): Promise<void>;
}

/** How long a connection may take, in milliseconds. */
export interface ConnectionLimits {
  /** From the connection's start (or the previous answer) to the end of the request's headers. */
  headersMs: number;
  /** From the connection's start (or the previous answer) to the end of the request's body. */
  requestMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
  /**
   * After an answer to a request whose body has not all arrived (a refusal, which never reads it):
   * how long the rest is read and dropped before the connection is closed. Closing at once would
   * make the kernel reset the connection, and the client might lose the answer.
   */
  lingerMs: number;
}

/** The limits `serve` uses. */
export const DEFAULT_LIMITS: ConnectionLimits = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, lingerMs: 2_000 };

/** Options of listenAll. */
export interface ListenOptions {
  limits?: Partial<ConnectionLimits>;
  /** The TLS identity for `https://` addresses (required when there is one). */
  tls?: TlsFiles | undefined;
}

/** The TLS material read from TlsFiles, as node:tls takes it. */
interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads the TLS files; a file that cannot be read is a ConfigError naming it. */
function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`cannot read the TLS ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return {
    cert: read('certificate', files.certFile),
    key: read('key', files.keyFile),
    ...(files.clientCaFile ? { ca: read('client CA', files.clientCaFile) } : {}),
  };
}

/** Builds a node:https server; client certificates are asked for when a client CA is set. */
function createTlsServer(options: ServerOptions, handler: RequestListener, files: TlsFiles): HttpsServer {
  let server: HttpsServer;
  try {
    server = createHttpsServer(
      {
        ...options,
        ...readTlsMaterial(files),
        minVersion: 'TLSv1.2',
        requestCert: files.clientCaFile !== undefined,
        rejectUnauthorized: files.requireClientCert,
      },
      handler,
    );
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`the TLS certificate and key are not usable (${(error as Error).message})`);
  }
  if (files.clientCaFile !== undefined && !files.requireClientCert) {
    // An optional client certificate still has to be valid when one is presented.
    server.on('secureConnection', (socket: TLSSocket) => {
      if (!socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) socket.destroy();
    });
  }
  return server;
}

/** Listens on every address; a Unix socket is created 0600 and a stale one is replaced. */
export async function listenAll(handler: RequestListener, addresses: readonly ListenAddress[], options: ListenOptions = {}): Promise<RunningServers> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const serve = closingAfterRefusal(handler, limits.lingerMs);
  const serverOptions: ServerOptions = {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    keepAliveTimeout: limits.keepAliveMs,
    // Node checks the two request timeouts only this often (30 s by default), so without it a
    // slow client was closed up to 30 s late.
    connectionsCheckingInterval: checkingInterval(limits),
  };
  const { tls } = options;
  const servers: Array<{ server: Server; address: ListenAddress }> = [];
  try {
    for (const address of addresses) {
      const secure = address.kind === 'tcp' && address.tls;
      if (secure && !tls) throw new ConfigError(`${address.host}:${address.port} is https but no TLS certificate and key are set`);
      const server = secure ? createTlsServer(serverOptions, serve, tls!) : createServer(serverOptions, serve);
      server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, limits.lingerMs));
      servers.push({ server, address: await listenOne(server, address) });
    }
  } catch (error) {
    await Promise.all(servers.map(({ server }) => new Promise((done) => server.close(done))));
    throw error;
  }
  return {
    addresses: servers.map(({ address }) => address),
    reloadTls() {
      if (!tls) return;
      const material = readTlsMaterial(tls);
      for (const { server } of servers) {
        if (!('setSecureContext' in server)) continue;
        try {
          (server as HttpsServer).setSecureContext({ ...material, minVersion: 'TLSv1.2' });
        } catch (error) {
          throw new ConfigError(`the new TLS certificate and key are not usable (${(error as Error).message}); still serving the old ones`);
        }
      }
    },
    async close(graceMs = 5_000) {
      await Promise.all(
        servers.map(({ server, address }) => {
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          return closed.finally(() => {
            clearTimeout(timer);
            if (address.kind === 'unix') removeSocket(address.path);
          });
        }),
      );
    },
  };
}

/**
 * A whole raw answer, for a connection node's HTTP layer gave up on (no response object exists): the
 * API's error body with a request id of its own, then the connection closes.
 */
function rawErrorAnswer(statusLine: string, code: 'validation_failed' | 'request_timeout', message: string): string {
  const requestId = requestIdFor(undefined);
  const body = JSON.stringify(errorBody(code, message, requestId));
  return (
    `HTTP/1.1 ${statusLine}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n` +
    `X-Request-Id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

const MALFORMED_HEAD_RESPONSE = 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/** A tenth of the shortest request limit, between 50 ms and 1 s: the limits hold to within 10%. */
function checkingInterval(limits: ConnectionLimits): number {
  return Math.min(1_000, Math.max(50, Math.floor(Math.min(limits.headersMs, limits.requestMs) / 10)));
}

/**
 * Wraps the app so that an answer sent before the request's body has all arrived (a refusal: the
 * body is never read) does not keep the connection open for the rest of a slow body: what arrives
 * within `lingerMs` is dropped, then the connection is closed.
 */
function closingAfterRefusal(handler: RequestListener, lingerMs: number): RequestListener {
  return (req, res) => {
    res.once('finish', () => {
      if (req.complete) return;
      const socket = req.socket;
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    handler(req, res);
  };
}

function isHead(rawPacket: unknown): boolean {
  return !Buffer.isBuffer(rawPacket) || rawPacket.subarray(0, 5).toString('latin1').toUpperCase() === 'HEAD ';
}

/**
 * A request node's HTTP parser refuses (a raw non-ASCII path, a bad header) on a connection that has
 * not answered anything yet gets the API's JSON error shape. After an answer nothing more is written
 * (the client may have been told `Connection: close`, or be reading a pipelined answer); the
 * connection is only closed. Either way the rest of what the client sent is read and dropped until
 * it closes (at most `lingerMs`): closing a socket with unread input makes the kernel send a reset,
 * and the client would see ECONNRESET instead of the 400. A request that broke the time limits gets
 * a 408 and is closed at once.
 */
function answerClientError(error: NodeJS.ErrnoException, stream: Duplex, lingerMs: number): void {
  const socket = stream as Socket;
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // Too slow: answered 408 if nothing was answered yet, and closed without reading any more.
    if (socket.bytesWritten === 0) socket.end(rawErrorAnswer('408 Request Timeout', 'request_timeout', 'the request took too long to arrive'));
    socket.destroySoon();
    return;
  }
  if (socket.bytesWritten > 0) socket.end();
  // The refused bytes tell the method when there is one: a HEAD answer carries no body.
  else if (isHead((error as { rawPacket?: unknown }).rawPacket)) socket.end(MALFORMED_HEAD_RESPONSE);
  else socket.end(rawErrorAnswer('400 Bad Request', 'validation_failed', 'malformed HTTP request (request line or headers)'));
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
  setTimeout(() => socket.destroy(), lingerMs).unref();
}

async function listenOne(server: Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === 'unix') {
    await removeStaleSocket(address.path);
    // The umask makes the socket 0600 from its first moment; chmod confirms it.
    const previous = process.umask(0o177);
    try {
      await listenOn(server, { path: address.path });
    } finally {
      process.umask(previous);
    }
    chmodSync(address.path, 0o600);
    return address;
  }
  await listenOn(server, { host: address.host, port: address.port });
  const bound = server.address();
  return { ...address, port: typeof bound === 'object' && bound ? bound.port : address.port };
}

function listenOn(server: Server, options: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = 'path' in options ? `unix:${options.path}` : `${options.host}:${options.port}`;
      reject(new ConfigError(`cannot listen on ${where} (${error.code ?? error.message})`));
    };
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Removes a socket file left by a daemon that died; refuses when another daemon still answers on it. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (alive) throw new ConfigError(`another daemon is already listening on unix:${path}`);
  unlinkSync(path);
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
