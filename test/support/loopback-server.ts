import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A test server listening on a free loopback port. */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS (the certificate must name localhost). */
  origin: string;
  /** Drops open connections (a hanging request included) and resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * The servers of one test module: each is closed by its own `close()` or, at the latest, by
 * `closeAll()`, which the module runs in its afterEach or afterAll.
 */
export function loopbackServers() {
  const open = new Set<LoopbackServer>();
  return {
    /** Starts a server (HTTPS with `tls`) on 127.0.0.1. */
    async listen(handler: RequestListener, tls?: { key: string; cert: string }): Promise<LoopbackServer> {
      const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const listening: LoopbackServer = {
        origin: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((resolve) => {
            open.delete(listening);
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
      open.add(listening);
      return listening;
    },
    async closeAll(): Promise<void> {
      await Promise.all([...open].map((listening) => listening.close()));
    },
  };
}
