/**
 * A byte-level proxy between a client (the helper process) and the daemon's Unix socket that keeps
 * every byte each way, so the leak scan sees the answers the helper got, headers included.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One client connection: what it sent and what came back. */
export interface ProxiedExchange {
  request: Buffer;
  response: Buffer;
  /** Set by the test to say which needles this exchange may carry. */
  allow?: ReadonlySet<string>;
  label?: string;
}

/** A running proxy. */
export interface RecordingProxy {
  socketPath: string;
  exchanges: ProxiedExchange[];
  /** Exchanges recorded since the last call (to annotate one helper run's traffic). */
  takeNew(): ProxiedExchange[];
  close(): Promise<void>;
}

/** Listens on `socketPath` and forwards each connection to `upstreamPath`. */
export function startRecordingProxy(socketPath: string, upstreamPath: string): Promise<RecordingProxy> {
  const exchanges: ProxiedExchange[] = [];
  const open = new Set<Socket>();
  let taken = 0;
  const server: Server = createServer((client) => {
    const exchange: ProxiedExchange = { request: Buffer.alloc(0), response: Buffer.alloc(0) };
    exchanges.push(exchange);
    const upstream = createConnection({ path: upstreamPath });
    open.add(client);
    open.add(upstream);
    client.on('data', (chunk: Buffer) => {
      exchange.request = Buffer.concat([exchange.request, chunk]);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      exchange.response = Buffer.concat([exchange.response, chunk]);
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      resolve({
        socketPath,
        exchanges,
        takeNew() {
          const fresh = exchanges.slice(taken);
          taken = exchanges.length;
          return fresh;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
