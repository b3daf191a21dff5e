import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatListenAddress, loadDaemonConfig, parseListenAddress } from './daemon-config.js';
import { ConfigError } from './errors.js';
import { thrownBy } from '../../test/support/thrown.js';

const HOME = '/home/ci';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:8700', { kind: 'tcp', host: '127.0.0.1', port: 8700, tls: false }],
    ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0, tls: false }],
    ['[::1]:8700', { kind: 'tcp', host: '::1', port: 8700, tls: false }],
    ['unix:/run/credd.sock', { kind: 'unix', path: '/run/credd.sock' }],
    ['unix:credd.sock', { kind: 'unix', path: resolve('credd.sock') }],
    ['http://127.0.0.1:8700', { kind: 'tcp', host: '127.0.0.1', port: 8700, tls: false }],
    ['https://credd.example.com:8443', { kind: 'tcp', host: 'credd.example.com', port: 8443, tls: true }],
    ['HTTPS://[::1]:8443', { kind: 'tcp', host: '::1', port: 8443, tls: true }],
  ])('parses %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['8700', 'localhost', 'unix:', '127.0.0.1:99999', '127.0.0.1:-1', 'ftp://127.0.0.1:8700', 'https://127.0.0.1', 'https://host/path:1', '[::1]', 'host name:80'])(
    'throws for %s',
    (text) => {
      expect(() => parseListenAddress(text)).toThrow();
    },
  );
});

describe('formatListenAddress', () => {
  it('brackets IPv6 hosts and keeps unix paths', () => {
    expect(formatListenAddress({ kind: 'tcp', host: '::1', port: 80, tls: false })).toBe('http://[::1]:80');
    expect(formatListenAddress({ kind: 'tcp', host: '127.0.0.1', port: 80, tls: false })).toBe('http://127.0.0.1:80');
    expect(formatListenAddress({ kind: 'unix', path: '/run/x.sock' })).toBe('unix:/run/x.sock');
    expect(formatListenAddress({ kind: 'tcp', host: '10.0.0.5', port: 8443, tls: true })).toBe('https://10.0.0.5:8443');
  });
});

describe('loadDaemonConfig', () => {
  it('uses the XDG data dir, its socket and level info when nothing is set', () => {
    const config = loadDaemonConfig({}, { XDG_DATA_HOME: '/xdg' }, HOME);

    expect(config.paths.dataDir).toBe('/xdg/scalr-credd');
    expect(config.paths.rootKeyPath).toBe('/xdg/scalr-credd/root.key');
    expect(config.listen).toEqual([{ kind: 'unix', path: '/xdg/scalr-credd/credd.sock' }]);
    expect(config.logLevel).toBe('info');
  });

  it('reads every setting from the environment when no flag is given', () => {
    const config = loadDaemonConfig(
      {},
      {
        SCALR_CREDD_DATA_DIR: '/srv/credd',
        SCALR_CREDD_ROOT_KEY_FILE: '/keys/root.key',
        SCALR_CREDD_LISTEN: '127.0.0.1:8700, unix:/run/credd.sock',
        SCALR_CREDD_LOG_LEVEL: 'debug',
      },
      HOME,
    );

    expect(config.paths.dataDir).toBe('/srv/credd');
    expect(config.paths.rootKeyPath).toBe('/keys/root.key');
    expect(config.listen).toEqual([
      { kind: 'tcp', host: '127.0.0.1', port: 8700, tls: false },
      { kind: 'unix', path: '/run/credd.sock' },
    ]);
    expect(config.logLevel).toBe('debug');
  });

  it('prefers flags over the environment', () => {
    const config = loadDaemonConfig(
      { dataDir: '/flag/dir', listen: ['[::1]:9000'], logLevel: 'warn' },
      { SCALR_CREDD_DATA_DIR: '/env/dir', SCALR_CREDD_LISTEN: '127.0.0.1:8700', SCALR_CREDD_LOG_LEVEL: 'debug' },
      HOME,
    );

    expect(config.paths.dataDir).toBe('/flag/dir');
    expect(config.listen).toEqual([{ kind: 'tcp', host: '::1', port: 9000, tls: false }]);
    expect(config.logLevel).toBe('warn');
  });

  it('serves the console unless --no-ui or SCALR_CREDD_NO_UI says otherwise', () => {
    expect(loadDaemonConfig({}, {}, HOME).ui).toBe(true);
    expect(loadDaemonConfig({ noUi: true }, {}, HOME).ui).toBe(false);
    expect(loadDaemonConfig({}, { SCALR_CREDD_NO_UI: '1' }, HOME).ui).toBe(false);
    expect(loadDaemonConfig({}, { SCALR_CREDD_NO_UI: 'no' }, HOME).ui).toBe(true);
    expect(() => loadDaemonConfig({}, { SCALR_CREDD_NO_UI: 'maybe' }, HOME)).toThrow(/SCALR_CREDD_NO_UI/);
  });

  it('returns a frozen config', () => {
    const config = loadDaemonConfig({}, {}, HOME);

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
  });

  it('reports every bad flag at once without echoing the values', () => {
    const error = thrownBy(ConfigError, () =>
      loadDaemonConfig({ listen: ['nonsense-listen-value', '127.0.0.1:8700', 'unix:'], logLevel: 'chatty-level-value' }, {}, HOME),
    );

    expect(error.message).toMatch(/--listen[\s\S]*--listen/);
    expect(error.message).toContain('--log-level');
    expect(error.message).not.toContain('nonsense-listen-value');
    expect(error.message).not.toContain('chatty-level-value');
  });

  it('reports every bad environment variable at once without echoing the values', () => {
    const error = thrownBy(ConfigError, () =>
      loadDaemonConfig({}, { SCALR_CREDD_LOG_LEVEL: 'chatty-level-value', SCALR_CREDD_LISTEN: 'nonsense-listen-value', SCALR_CREDD_DATA_DIR: '' }, HOME),
    );

    expect(error.message).toContain('SCALR_CREDD_LOG_LEVEL');
    expect(error.message).toContain('SCALR_CREDD_DATA_DIR');
    expect(error.message).toContain('SCALR_CREDD_LISTEN');
    expect(error.message).not.toContain('chatty-level-value');
    expect(error.message).not.toContain('nonsense-listen-value');
  });

  it('ignores environment variables it does not own', () => {
    const config = loadDaemonConfig({}, { PATH: '/bin', SCALR_CREDD_UNKNOWN: 'x' }, HOME);

    expect(config.logLevel).toBe('info');
  });

  it('takes https listeners with a certificate and key, from flags or the environment, mixed with http and unix', () => {
    const fromFlags = loadDaemonConfig(
      { listen: ['https://0.0.0.0:8443', 'http://127.0.0.1:8700', 'unix:/run/c.sock'], tlsCert: '/tls/cert.pem', tlsKey: '/tls/key.pem' },
      {},
      HOME,
    );
    const fromEnv = loadDaemonConfig(
      {},
      {
        SCALR_CREDD_LISTEN: 'https://[::]:8443',
        SCALR_CREDD_TLS_CERT_FILE: '/tls/cert.pem',
        SCALR_CREDD_TLS_KEY_FILE: '/tls/key.pem',
        SCALR_CREDD_TLS_CLIENT_CA_FILE: '/tls/ca.pem',
        SCALR_CREDD_TLS_REQUIRE_CLIENT_CERT: '1',
      },
      HOME,
    );

    expect(fromFlags.listen.map(formatListenAddress)).toEqual(['https://0.0.0.0:8443', 'http://127.0.0.1:8700', 'unix:/run/c.sock']);
    expect(fromFlags.tls).toEqual({ certFile: '/tls/cert.pem', keyFile: '/tls/key.pem', clientCaFile: undefined, requireClientCert: false });
    expect(fromEnv.tls).toEqual({ certFile: '/tls/cert.pem', keyFile: '/tls/key.pem', clientCaFile: '/tls/ca.pem', requireClientCert: true });
  });

  it.each([
    ['plain http on a non-loopback address', { listen: ['http://0.0.0.0:8700'] }, /entry 1: plain http on a non-loopback address/],
    ['the old HOST:PORT form on a non-loopback address', { listen: ['10.1.2.3:8700'] }, /entry 1: plain http/],
    ['https without a certificate', { listen: ['https://127.0.0.1:8443'], tlsKey: '/k.pem' }, /--tls-cert and --tls-key/],
    ['TLS files without an https listener', { listen: ['127.0.0.1:8700'], tlsCert: '/c.pem', tlsKey: '/k.pem' }, /need an https:\/\/ listen address/],
    ['a required client certificate without a CA', { listen: ['https://127.0.0.1:8443'], tlsCert: '/c.pem', tlsKey: '/k.pem', tlsRequireClientCert: true }, /needs --tls-client-ca/],
    ['a trusted proxy that is no address', { trustProxy: ['10.0.0.0/8', 'proxy.example'] }, /--trust-proxy entry 2/],
    ['a prefix out of range', { trustProxy: ['10.0.0.0/33'] }, /--trust-proxy entry 1/],
  ])('refuses %s', (_label, flags, message) => {
    expect(thrownBy(ConfigError, () => loadDaemonConfig(flags, {}, HOME)).message).toMatch(message);
  });

  it('allows plain http on a non-loopback address with --insecure-listen or SCALR_CREDD_INSECURE_LISTEN', () => {
    const flag = loadDaemonConfig({ listen: ['http://0.0.0.0:8700'], insecureListen: true }, {}, HOME);
    const env = loadDaemonConfig({}, { SCALR_CREDD_LISTEN: '0.0.0.0:8700', SCALR_CREDD_INSECURE_LISTEN: 'true' }, HOME);

    expect(flag.listen).toEqual([{ kind: 'tcp', host: '0.0.0.0', port: 8700, tls: false }]);
    expect(env.listen).toEqual([{ kind: 'tcp', host: '0.0.0.0', port: 8700, tls: false }]);
  });

  it('reads trusted proxies from flags or the comma-separated environment variable', () => {
    expect(loadDaemonConfig({ trustProxy: ['10.0.0.0/8', '::1'] }, {}, HOME).trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(loadDaemonConfig({}, { SCALR_CREDD_TRUST_PROXY: '192.168.0.0/16, fd00::/8' }, HOME).trustProxy).toEqual(['192.168.0.0/16', 'fd00::/8']);
  });
});
