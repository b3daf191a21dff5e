// The daemon serving https itself: certificates made by openssl, clients on node:https.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupProcesses, makeTempDir, startDaemon, type RunningDaemon } from '../support/processes.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';

let dir: string;
let tls: TlsFixture;
const daemons: RunningDaemon[] = [];

beforeAll(() => {
  dir = makeTempDir('scalr-tls-');
  tls = makeTlsFixture(dir);
});

afterAll(async () => {
  for (const daemon of daemons) await daemon.stop();
  cleanupProcesses();
});

interface Answer {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
  reusedSocket: boolean;
}

/** One https request to the daemon; rejects with the TLS or socket error. */
function get(daemon: RunningDaemon, path: string, options: RequestOptions = {}): Promise<Answer> {
  const { hostname, port } = new URL(daemon.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', ...options }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

async function httpsDaemon(label: string, args: string[], cert = tls.server): Promise<RunningDaemon> {
  const dataDir = join(makeTempDir(`scalr-tls-${label}-`), 'data');
  const daemon = await startDaemon({
    dataDir,
    listen: ['https://127.0.0.1:0', `unix:${join(dataDir, 'credd.sock')}`],
    args: ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, ...args],
  });
  daemons.push(daemon);
  return daemon;
}

/** Waits until the daemon's stderr has a line matching `pattern` (at most 10 s). */
async function logLine(daemon: RunningDaemon, pattern: RegExp): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (pattern.test(daemon.logs().stderr)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no log line ${pattern} in:\n${daemon.logs().stderr}`);
}

describe('serve --listen https://', () => {
  it('lets a client that trusts the CA through and fails a client that does not', async () => {
    const daemon = await httpsDaemon('plain', []);

    const trusted = await get(daemon, '/readyz', { ca: tls.ca.cert });
    const untrusted = get(daemon, '/readyz');
    const otherCa = get(daemon, '/readyz', { ca: tls.otherCa.cert });
    const lookup = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(daemon.url);
      const req = request(
        { host: hostname, port, path: '/v1/credentials/get', method: 'POST', ca: tls.ca.cert, headers: { authorization: `Bearer ${daemon.adminToken}`, 'content-type': 'application/json' } },
        (res) => (res.resume(), resolve(res.statusCode!)),
      );
      req.on('error', reject);
      req.end('{"serverURL":"nowhere.example"}');
    });

    expect(daemon.urls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(trusted).toMatchObject({ status: 200, fingerprint: fingerprintOf(tls.server.cert) });
    expect(JSON.parse(trusted.body)).toMatchObject({ status: 'ok' });
    expect(lookup).toBe(404);
    await expect(untrusted).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await expect(otherCa).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('refuses a client without a certificate, or with one from another CA, when client certificates are required', async () => {
    const daemon = await httpsDaemon('mtls', ['--tls-client-ca', tls.ca.certFile, '--tls-require-client-cert']);

    const withCert = await get(daemon, '/readyz', { ca: tls.ca.cert, cert: tls.client.cert, key: tls.client.key });
    const withoutCert = get(daemon, '/readyz', { ca: tls.ca.cert });
    const stranger = get(daemon, '/readyz', { ca: tls.ca.cert, cert: tls.strangerClient.cert, key: tls.strangerClient.key });

    expect(withCert.status).toBe(200);
    await expect(withoutCert).rejects.toThrow();
    await expect(stranger).rejects.toThrow();
  });

  it('accepts a client without a certificate but refuses an invalid one when client certificates are optional', async () => {
    const daemon = await httpsDaemon('optional-mtls', ['--tls-client-ca', tls.ca.certFile]);

    const withCert = await get(daemon, '/readyz', { ca: tls.ca.cert, cert: tls.client.cert, key: tls.client.key });
    const withoutCert = await get(daemon, '/readyz', { ca: tls.ca.cert });
    const stranger = get(daemon, '/readyz', { ca: tls.ca.cert, cert: tls.strangerClient.cert, key: tls.strangerClient.key });

    expect(withCert.status).toBe(200);
    expect(withoutCert.status).toBe(200);
    await expect(stranger).rejects.toThrow();
  });

  it('serves a renewed certificate after SIGHUP while an open keep-alive connection keeps working, and keeps it when the new files are broken', async () => {
    const certDir = makeTempDir('scalr-tls-reload-');
    const live = { ...tls.server, certFile: join(certDir, 'cert.pem'), keyFile: join(certDir, 'key.pem') };
    copyFileSync(tls.server.certFile, live.certFile);
    copyFileSync(tls.server.keyFile, live.keyFile);
    const daemon = await httpsDaemon('reload', [], live);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(daemon, '/healthz', { ca: tls.ca.cert, agent });

    copyFileSync(tls.renewedServer.certFile, live.certFile);
    copyFileSync(tls.renewedServer.keyFile, live.keyFile);
    process.kill(daemon.pid, 'SIGHUP');
    await logLine(daemon, /reloaded the TLS certificate and key/);
    const sameConnection = await get(daemon, '/healthz', { ca: tls.ca.cert, agent });
    const newConnection = await get(daemon, '/healthz', { ca: tls.ca.cert, agent: false });
    writeFileSync(live.keyFile, 'not a key\n');
    process.kill(daemon.pid, 'SIGHUP');
    await logLine(daemon, /TLS reload failed/);
    const afterBrokenReload = await get(daemon, '/healthz', { ca: tls.ca.cert, agent: false });
    agent.destroy();

    expect(before.fingerprint).toBe(fingerprintOf(tls.server.cert));
    expect(sameConnection).toMatchObject({ status: 200, reusedSocket: true, fingerprint: fingerprintOf(tls.server.cert) });
    expect(newConnection).toMatchObject({ status: 200, fingerprint: fingerprintOf(tls.renewedServer.cert) });
    expect(afterBrokenReload).toMatchObject({ status: 200, fingerprint: fingerprintOf(tls.renewedServer.cert) });
  });

  it('refuses to start with plain http on a non-loopback address, or https without a certificate', async () => {
    const dataDir = join(makeTempDir('scalr-tls-refused-'), 'data');

    await expect(startDaemon({ dataDir, listen: ['http://0.0.0.0:0'] })).rejects.toThrow(/plain http on a non-loopback address/);
    await expect(startDaemon({ dataDir, listen: ['https://127.0.0.1:0'] })).rejects.toThrow(/--tls-cert and --tls-key/);
  });
});
