/** A small HTTP client for the hardening suite: Unix socket or TCP, raw bytes kept, every answer recordable. */
import http from 'node:http';

/** Where a request goes. */
export interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  /** Source address for TCP (127.0.0.x), so rate limiting per source can be exercised. */
  localAddress?: string;
  /** A keep-alive agent; the default is a fresh connection per request. */
  agent?: http.Agent;
}

/** One request. */
export interface CallOptions {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer is sent as is. */
  body?: unknown;
  timeoutMs?: number;
}

/** One answer, with its raw header lines and body bytes. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
}

/** Everything the suite received, for the leak scanner. */
export interface RecordedReply {
  label: string;
  method: string;
  path: string;
  reply: Reply;
}

/** Sends one request; rejects on a connection error or after `timeoutMs` (default 10 s). */
export function call(target: Target, options: CallOptions): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    if (Buffer.isBuffer(options.body)) payload = options.body;
    else if (typeof options.body === 'string') payload = Buffer.from(options.body, 'utf8');
    else {
      payload = Buffer.from(JSON.stringify(options.body), 'utf8');
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] ??= String(payload.length);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<Reply>((resolve, reject) => {
    const request = http.request(
      {
        method: options.method,
        path: options.path,
        headers,
        agent: target.agent ?? false,
        ...(target.socketPath
          ? { socketPath: target.socketPath, host: 'localhost' }
          : { host: target.host ?? '127.0.0.1', port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => (clearTimeout(timer), reject(error)));
        response.on('end', () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            rawHeaders: response.rawHeaders,
            body,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer to ${options.method} ${options.path.slice(0, 80)} within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => (clearTimeout(timer), reject(error)));
    request.end(payload);
  });
}

/** Serialises an answer's status line, headers and body into the bytes the scanner searches. */
export function replyBytes(reply: Reply): Buffer {
  const lines = [`HTTP ${reply.status}`];
  for (let i = 0; i < reply.rawHeaders.length; i += 2) lines.push(`${reply.rawHeaders[i]}: ${reply.rawHeaders[i + 1]}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), reply.body]);
}
