/**
 * A private CA with a server certificate (localhost, 127.0.0.1), one for another name, and a client certificate, made with
 * the openssl CLI, for tests against real TLS servers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files and their contents. */
export interface TlsFixture {
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  /** A CA that signed nothing here: trusting it alone must not be enough. */
  otherCaPath: string;
  pem: { ca: string; serverCert: string; serverKey: string; elsewhereCert: string; elsewhereKey: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`], dir);
}

function issue(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** Writes the fixture into `dir`. */
export function makeTlsFixture(dir: string): TlsFixture {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  issue(dir, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  issue(dir, 'client', '/CN=helper', 'extendedKeyUsage=clientAuth');
  issue(dir, 'elsewhere', '/CN=elsewhere.example', 'subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth');
  const path = (file: string) => join(dir, file);
  return {
    caPath: path('ca.pem'),
    serverCertPath: path('server.pem'),
    serverKeyPath: path('server.key'),
    clientCertPath: path('client.pem'),
    clientKeyPath: path('client.key'),
    otherCaPath: path('other-ca.pem'),
    pem: {
      ca: readFileSync(path('ca.pem'), 'utf8'),
      serverCert: readFileSync(path('server.pem'), 'utf8'),
      serverKey: readFileSync(path('server.key'), 'utf8'),
      elsewhereCert: readFileSync(path('elsewhere.pem'), 'utf8'),
      elsewhereKey: readFileSync(path('elsewhere.key'), 'utf8'),
    },
  };
}
