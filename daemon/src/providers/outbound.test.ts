import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate, type Certificate } from '../../../test/support/registry.js';
import { createOutbound, findProxy, OutboundError, type OutboundOptions } from './outbound.js';

let dir: string;
let cert: Certificate;
let certKey: string;
const closers: Array<() => void> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbound-'));
  cert = makeCertificate(dir, 'localhost');
  certKey = readFileSync(cert.keyPath, 'utf8');
});
afterEach(() => {
  closers.splice(0).forEach((close) => close());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listen(server: Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTPS server for `localhost` that records the paths it is asked for. */
async function startHttps(handler: RequestListener = (_, res) => res.end('ok')): Promise<{ url: URL; paths: string[] }> {
  const paths: string[] = [];
  const server = createHttpsServer({ key: certKey, cert: cert.pem }, (req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  return { url: new URL(`https://localhost:${await listen(server)}/`), paths };
}

/** A tiny CONNECT proxy: records each tunnel and Proxy-Authorization; can refuse or never answer. */
async function startProxy(mode: 'tunnel' | 'refuse' | 'hang' = 'tunnel') {
  const tunnels: string[] = [];
  const authorizations: Array<string | undefined> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const [requestLine = '', ...lines] = head.slice(0, end).split('\r\n');
      const [, authority = ''] = requestLine.split(' ');
      tunnels.push(authority);
      authorizations.push(lines.find((line) => line.toLowerCase().startsWith('proxy-authorization:'))?.slice(21).trim());
      if (mode === 'hang') return;
      if (mode === 'refuse') return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      const [host, port] = [authority.slice(0, authority.lastIndexOf(':')), Number(authority.slice(authority.lastIndexOf(':') + 1))];
      const upstream = net.connect(port, host === 'localhost' ? '127.0.0.1' : host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    };
    client.on('data', onData);
    client.on('error', () => undefined);
  });
  const port = await listen(server);
  closers.push(() => sockets.forEach((socket) => socket.destroy()));
  return { url: `http://127.0.0.1:${port}`, tunnels, authorizations };
}

const outbound = (options: Partial<OutboundOptions> = {}) => createOutbound({ env: {}, ca: [cert.pem], timeoutMs: 2_000, connectTimeoutMs: 1_000, ...options });
const get = (url: URL) => ({ method: 'GET' as const, url, headers: {} });

describe('createOutbound through an HTTPS proxy', () => {
  it('tunnels an HTTPS request through HTTPS_PROXY with CONNECT', async () => {
    const target = await startHttps();
    const proxy = await startProxy();

    const response = await outbound({ env: { HTTPS_PROXY: proxy.url } })(get(new URL('/ok', target.url)));

    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('ok');
    expect(proxy.tunnels).toEqual([target.url.host]);
    expect(target.paths).toEqual(['/ok']);
  });

  it('goes direct for a host NO_PROXY names', async () => {
    const target = await startHttps();
    const proxy = await startProxy();

    const response = await outbound({ env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'example.com, localhost' } })(get(target.url));

    expect(response.status).toBe(200);
    expect(proxy.tunnels).toEqual([]);
  });

  it('sends the proxy credentials, and keeps them out of the error when the proxy refuses', async () => {
    const target = await startHttps();
    const proxy = await startProxy('refuse');
    const proxyUrl = proxy.url.replace('http://', 'http://puller:pr%40xy-pass@');

    const error = await outbound({ env: { https_proxy: proxyUrl } })(get(target.url)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OutboundError);
    expect(error).toMatchObject({ code: 'proxy_failed' });
    expect((error as Error).message).not.toMatch(/pr@xy|pr%40xy|puller/);
    expect(proxy.authorizations).toEqual([`Basic ${Buffer.from('puller:pr@xy-pass').toString('base64')}`]);
    expect(target.paths).toEqual([]);
  });

  it('gives up within the connect deadline when the proxy never answers CONNECT', async () => {
    const target = await startHttps();
    const proxy = await startProxy('hang');

    await expect(outbound({ env: { HTTPS_PROXY: proxy.url }, connectTimeoutMs: 200 })(get(target.url))).rejects.toMatchObject({ code: 'connect_timeout' });
  });
});

describe('createOutbound limits', () => {
  it('returns a redirect as it is and never follows it', async () => {
    const target = await startHttps((req, res) => {
      res.writeHead(302, { location: '/elsewhere' }).end();
    });

    const response = await outbound()(get(new URL('/token', target.url)));

    expect(response.status).toBe(302);
    expect(target.paths).toEqual(['/token']);
  });

  it('gives up at the total deadline when the server never answers', async () => {
    const target = await startHttps(() => undefined);

    await expect(outbound({ timeoutMs: 200 })(get(target.url))).rejects.toMatchObject({ code: 'timeout' });
  });

  it('gives up at the connect deadline when the TLS handshake never completes', async () => {
    const silent = net.createServer(() => undefined);
    const port = await listen(silent);

    await expect(outbound({ connectTimeoutMs: 200 })(get(new URL(`https://localhost:${port}/`)))).rejects.toMatchObject({ code: 'connect_timeout' });
  });

  it('stops reading an answer larger than the cap', async () => {
    const target = await startHttps((_, res) => res.end(Buffer.alloc(64 * 1024, 'x')));

    await expect(outbound({ maxResponseBytes: 1024 })(get(target.url))).rejects.toMatchObject({ code: 'response_too_large' });
  });

  it('refuses a certificate it does not trust', async () => {
    const target = await startHttps();

    await expect(createOutbound({ env: {} })(get(target.url))).rejects.toMatchObject({ code: 'tls_failed' });
  });

  it('reports a refused connection as unreachable', async () => {
    const server = createHttpServer();
    const port = await listen(server);
    closers.splice(0).forEach((close) => close());

    await expect(outbound()(get(new URL(`http://127.0.0.1:${port}/`)))).rejects.toMatchObject({ code: 'unreachable' });
  });

  it.each([
    ['http://registry.example.com/', 'insecure_endpoint'],
    ['ftp://127.0.0.1/', 'insecure_endpoint'],
    ['http://169.254.169.254/latest/meta-data/', 'forbidden_endpoint'],
    ['https://169.254.170.2/v2/credentials', 'forbidden_endpoint'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'forbidden_endpoint'],
    ['http://[fd00:ec2::254]/latest/', 'forbidden_endpoint'],
    ['http://[fe80::1]/', 'forbidden_endpoint'],
    ['http://[::ffff:169.254.169.254]/', 'forbidden_endpoint'],
    ['http://2852039166/', 'forbidden_endpoint'],
  ])('refuses %s without connecting (%s)', async (url, code) => {
    await expect(outbound()(get(new URL(url)))).rejects.toMatchObject({ code });
  });

  it('refuses an https:// proxy, which it cannot tunnel through', async () => {
    await expect(outbound({ env: { HTTPS_PROXY: 'https://proxy.example:3128' } })(get(new URL('https://api.example/')))).rejects.toMatchObject({ code: 'proxy_failed' });
  });
});

describe('findProxy', () => {
  const env = { HTTPS_PROXY: 'http://proxy.example:3128' };

  it('prefers https_proxy over HTTPS_PROXY and accepts a bare host:port', () => {
    expect(findProxy(new URL('https://a.example/'), { ...env, https_proxy: 'lower.example:8080' })?.href).toBe('http://lower.example:8080/');
  });

  it('uses no proxy when none is set', () => {
    expect(findProxy(new URL('https://a.example/'), {})).toBeUndefined();
  });

  it.each([
    ['*', 'https://api.example.com/', true],
    ['example.com', 'https://api.example.com/', true],
    ['.example.com', 'https://api.example.com/', true],
    ['*.example.com', 'https://example.com/', true],
    ['example.com', 'https://badexample.com/', false],
    ['example.com:8443', 'https://example.com:8443/', true],
    ['example.com:8443', 'https://example.com/', false],
    ['127.0.0.1', 'https://127.0.0.1:9000/', true],
    ['[::1]', 'https://[::1]:9000/', true],
    ['other.example', 'https://api.example.com/', false],
    ['', 'https://api.example.com/', false],
  ])('NO_PROXY=%s bypasses %s: %s', (noProxy, url, bypassed) => {
    expect(findProxy(new URL(url), { ...env, NO_PROXY: noProxy }) === undefined).toBe(bypassed);
  });
});
