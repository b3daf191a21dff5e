/**
 * A real Docker registry (Debian's `docker-registry`, distribution 2.8) on a free loopback port, with
 * htpasswd (bcrypt) or token auth, optionally TLS — configured as in shared/docs/real-clients.md §1.
 * Every process started here is stopped by its PID when the test file ends.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const started = new Set<ChildProcess>();
afterAll(async () => {
  await Promise.all([...started].map(stopChild));
});

/** Returns a port nothing listens on right now (the kernel's pick on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A self-signed certificate for `localhost` and 127.0.0.1 (PEM files and text). */
export interface Certificate {
  keyPath: string;
  certPath: string;
  pem: string;
}

/** Makes a self-signed certificate with openssl. */
export function makeCertificate(dir: string, name: string, subject = '/CN=localhost'): Certificate {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subject, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { keyPath, certPath, pem: readFileSync(certPath, 'utf8') };
}

/** How the registry authenticates. */
export type RegistryAuth =
  | { kind: 'htpasswd'; user: string; pass: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertPath: string };

/** A running registry. */
export interface RunningRegistry {
  port: number;
  /** `127.0.0.1:PORT`, or `localhost:PORT` with TLS (the certificate names localhost). */
  host: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry serve` in `dir` and waits until it listens. */
export async function startRegistry(dir: string, auth: RegistryAuth, tls?: Certificate): Promise<RunningRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  let authSection: string;
  if (auth.kind === 'htpasswd') {
    // bcrypt (-B) is required: distribution answers 401 to an apr1/MD5 entry.
    const line = execFileSync('htpasswd', ['-Bbn', auth.user, auth.pass], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    authSection = `  htpasswd:\n    realm: test-realm\n    path: ${join(dir, 'htpasswd')}\n`;
  } else {
    authSection = `  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.rootCertPath}\n`;
  }
  const tlsSection = tls ? `  tls:\n    certificate: ${tls.certPath}\n    key: ${tls.keyPath}\n` : '';
  const config = `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
http:
  addr: 127.0.0.1:${port}
  secret: not-a-secret-test-only
${tlsSection}auth:
${authSection}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /listening on 127\.0\.0\.1:\d+/, 'docker-registry');
  return { port, host: `${tls ? 'localhost' : '127.0.0.1'}:${port}`, stop: () => stopChild(child) };
}

/** Starts the test token server (RS256 JWTs whose x5c carries `cert`) and returns its realm URL. */
export async function startTokenServer(
  cert: Certificate,
  options: { issuer: string; service: string; user: string; pass: string },
): Promise<{ realm: string; stop(): Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./registry-token-server.cjs', import.meta.url));
  const child = spawn(
    process.execPath,
    [script, String(port), cert.keyPath, cert.certPath, options.issuer, options.service, options.user, options.pass],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForLine(child, /token server on 127\.0\.0\.1:\d+/, 'token server');
  return { realm: `http://127.0.0.1:${port}/token`, stop: () => stopChild(child) };
}

function waitForLine(child: ChildProcess, pattern: RegExp, name: string, limitMs = 20_000): Promise<void> {
  started.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child);
      reject(new Error(`${name} did not start within ${limitMs} ms:\n${output}`));
    }, limitMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
