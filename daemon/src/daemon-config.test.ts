import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatListenAddress, isLoopback, loadDaemonConfig, parseListenAddress } from './daemon-config.js';
import { ConfigError } from './errors.js';

const HOME = '/home/ci';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:8700', { kind: 'tcp', host: '127.0.0.1', port: 8700 }],
    ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['[::1]:8700', { kind: 'tcp', host: '::1', port: 8700 }],
    ['unix:/run/credd.sock', { kind: 'unix', path: '/run/credd.sock' }],
    ['unix:credd.sock', { kind: 'unix', path: resolve('credd.sock') }],
  ])('parses %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['8700', 'localhost', 'unix:', '127.0.0.1:99999', '127.0.0.1:-1', 'http://127.0.0.1:8700', '[::1]', 'host name:80'])(
    'throws for %s',
    (text) => {
      expect(() => parseListenAddress(text)).toThrow();
    },
  );
});

describe('formatListenAddress', () => {
  it('brackets IPv6 hosts and keeps unix paths', () => {
    expect(formatListenAddress({ kind: 'tcp', host: '::1', port: 80 })).toBe('http://[::1]:80');
    expect(formatListenAddress({ kind: 'tcp', host: '127.0.0.1', port: 80 })).toBe('http://127.0.0.1:80');
    expect(formatListenAddress({ kind: 'unix', path: '/run/x.sock' })).toBe('unix:/run/x.sock');
  });
});

describe('isLoopback', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
  ])('says %s is loopback: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
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
      { kind: 'tcp', host: '127.0.0.1', port: 8700 },
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
    expect(config.listen).toEqual([{ kind: 'tcp', host: '::1', port: 9000 }]);
    expect(config.logLevel).toBe('warn');
  });

  it('returns a frozen config', () => {
    const config = loadDaemonConfig({}, {}, HOME);

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
  });

  it('reports every bad flag at once without echoing the values', () => {
    const error = configError(() =>
      loadDaemonConfig({ listen: ['nonsense-listen-value', '127.0.0.1:8700', 'unix:'], logLevel: 'chatty-level-value' }, {}, HOME),
    );

    expect(error.message).toMatch(/--listen[\s\S]*--listen/);
    expect(error.message).toContain('--log-level');
    expect(error.message).not.toContain('nonsense-listen-value');
    expect(error.message).not.toContain('chatty-level-value');
  });

  it('reports every bad environment variable at once without echoing the values', () => {
    const error = configError(() =>
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
});
