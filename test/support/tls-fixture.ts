/** Certificates made by the real openssl for TLS tests: a CA, server identities, client identities. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One certificate and its key, as files and as PEM text. */
export interface Identity {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Everything a TLS test needs, in one temp dir. */
export interface TlsFixture {
  ca: Identity;
  /** A second, unrelated CA (a client or server the first CA does not vouch for). */
  otherCa: Identity;
  /** For 127.0.0.1 and localhost, signed by `ca`. */
  server: Identity;
  /** Another server identity for the same names, signed by `ca` (a renewal). */
  renewedServer: Identity;
  /** A client certificate signed by `ca`. */
  client: Identity;
  /** A client certificate signed by `otherCa`. */
  strangerClient: Identity;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function identity(dir: string, name: string): Identity {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): Identity {
  openssl(
    ['req', '-x509', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return identity(dir, name);
}

function makeLeaf(dir: string, name: string, ca: string, extensions: string): Identity {
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`],
    dir,
  );
  return identity(dir, name);
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE';

/** Makes a fresh set of certificates in `dir` (about 0.2 s). */
export function makeTlsFixture(dir: string): TlsFixture {
  return {
    ca: makeCa(dir, 'ca'),
    otherCa: makeCa(dir, 'other-ca'),
    server: makeLeaf(dir, 'server', 'ca', SERVER_EXT),
    renewedServer: makeLeaf(dir, 'renewed-server', 'ca', SERVER_EXT),
    client: makeLeaf(dir, 'client', 'ca', CLIENT_EXT),
    strangerClient: makeLeaf(dir, 'stranger-client', 'other-ca', CLIENT_EXT),
  };
}
