import { describe, expect, it } from 'vitest';
import { HelperConfigError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, loadHelperConfig, type LoadTextFile } from './helper-config.js';

const HOME = '/home/ci';
const noFiles: LoadTextFile = (path) => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const files =
  (contents: Record<string, string>): LoadTextFile =>
  (path) => {
    if (path in contents) return contents[path]!;
    return noFiles(path);
  };

async function configError(run: () => Promise<unknown>): Promise<HelperConfigError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof HelperConfigError) return error;
    throw error;
  }
  throw new Error('expected HelperConfigError');
}

describe('loadHelperConfig', async () => {
  it('uses the default socket, the default timeout and a literal token', async () => {
    const config = await loadHelperConfig({ SCALR_CREDD_TOKEN: ' tok_abc \n' }, noFiles, () => HOME);

    expect(config).toEqual({ daemonUrl: `unix:${HOME}/.local/share/scalr-credd/credd.sock`, token: 'tok_abc', timeoutMs: DEFAULT_TIMEOUT_MS });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('follows XDG_DATA_HOME and SCALR_CREDD_DATA_DIR for the default socket, as the daemon does', async () => {
    expect((await loadHelperConfig({ SCALR_CREDD_TOKEN: 't', XDG_DATA_HOME: '/xdg' }, noFiles, () => HOME)).daemonUrl).toBe('unix:/xdg/scalr-credd/credd.sock');
    expect((await loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_DATA_DIR: '/srv/credd' }, noFiles, () => HOME)).daemonUrl).toBe('unix:/srv/credd/credd.sock');
  });

  it('reads and trims the token file', async () => {
    const config = await loadHelperConfig({ SCALR_CREDD_TOKEN_FILE: '/run/secrets/credd' }, files({ '/run/secrets/credd': 'tok_file\r\n' }), () => HOME);

    expect(config.token).toBe('tok_file');
  });

  it.each([
    ['http://127.0.0.1:8420', 'http://127.0.0.1:8420'],
    ['https://credd.example.com', 'https://credd.example.com'],
    [' unix:/run/credd.sock ', 'unix:/run/credd.sock'],
  ])('accepts SCALR_CREDD_URL %j', async (url, daemonUrl) => {
    expect((await loadHelperConfig({ SCALR_CREDD_URL: url, SCALR_CREDD_TOKEN: 't' }, noFiles, () => HOME)).daemonUrl).toBe(daemonUrl);
  });

  it('accepts SCALR_CREDD_TIMEOUT_MS', async () => {
    expect((await loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_TIMEOUT_MS: '250' }, noFiles, () => HOME)).timeoutMs).toBe(250);
  });

  it('names both token variables when no token is configured', async () => {
    const error = await configError(() => loadHelperConfig({}, noFiles, () => HOME));

    expect(error.message).toMatch(/SCALR_CREDD_TOKEN_FILE/);
    expect(error.message).toMatch(/SCALR_CREDD_TOKEN\b/);
  });

  it.each([
    { name: 'both token variables', env: { SCALR_CREDD_TOKEN: 'a', SCALR_CREDD_TOKEN_FILE: '/t' }, mentions: 'set only one of SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE, not both' },
    { name: 'a missing token file', env: { SCALR_CREDD_TOKEN_FILE: '/nope' }, mentions: '/nope' },
    { name: 'an empty token file', env: { SCALR_CREDD_TOKEN_FILE: '/empty' }, mentions: 'empty' },
    { name: 'a token with spaces', env: { SCALR_CREDD_TOKEN: 'two words' }, mentions: 'SCALR_CREDD_TOKEN' },
    { name: 'a non-ASCII token', env: { SCALR_CREDD_TOKEN: 'tök' }, mentions: 'SCALR_CREDD_TOKEN' },
    { name: 'a relative unix path', env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'unix:credd.sock' }, mentions: 'SCALR_CREDD_URL' },
    { name: 'an unsupported scheme', env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'tcp://h:1' }, mentions: 'SCALR_CREDD_URL' },
    { name: 'a timeout of zero', env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_TIMEOUT_MS: '0' }, mentions: 'SCALR_CREDD_TIMEOUT_MS' },
    { name: 'a fractional timeout', env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_TIMEOUT_MS: '1.5' }, mentions: 'SCALR_CREDD_TIMEOUT_MS' },
    { name: 'a huge timeout', env: { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_TIMEOUT_MS: '9999999' }, mentions: 'SCALR_CREDD_TIMEOUT_MS' },
  ])('rejects $name', async ({ env, mentions }) => {
    const error = await configError(() => loadHelperConfig(env, files({ '/empty': ' \n' }), () => HOME));

    expect(error.message).toContain(mentions);
  });

  it('reports every problem at once and never echoes a token', async () => {
    const error = await configError(() =>
      loadHelperConfig({ SCALR_CREDD_TOKEN: 'secret token', SCALR_CREDD_URL: 'ftp://x', SCALR_CREDD_TIMEOUT_MS: 'soon' }, noFiles, () => HOME),
    );

    for (const name of ['SCALR_CREDD_TOKEN', 'SCALR_CREDD_URL', 'SCALR_CREDD_TIMEOUT_MS']) expect(error.message).toContain(name);
    expect(error.message).not.toContain('secret token');
  });

  it('does not read the token file content into the message', async () => {
    const error = await configError(() => loadHelperConfig({ SCALR_CREDD_TOKEN_FILE: '/t' }, files({ '/t': 'bad token value' }), () => HOME));

    expect(error.message).not.toContain('bad token value');
  });

  it('reads the CA and client certificate files for an https URL only', async () => {
    const env = {
      SCALR_CREDD_TOKEN: 't',
      SCALR_CREDD_CA_FILE: '/etc/credd/ca.pem',
      SCALR_CREDD_CLIENT_CERT: '/etc/credd/client.pem',
      SCALR_CREDD_CLIENT_KEY: '/etc/credd/client.key',
    };
    const pem = files({ '/etc/credd/ca.pem': 'CA', '/etc/credd/client.pem': 'CERT', '/etc/credd/client.key': 'KEY' });
    expect((await loadHelperConfig({ ...env, SCALR_CREDD_URL: 'https://credd:8443' }, pem, () => HOME)).tls).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY' });
    expect((await loadHelperConfig({ ...env, SCALR_CREDD_URL: 'http://credd:8420' }, noFiles, () => HOME)).tls).toBeUndefined();
  });

  it('takes a comma-separated list of daemons, reading the TLS files when any of them is https', async () => {
    const env = { SCALR_CREDD_TOKEN: 't', SCALR_CREDD_CA_FILE: '/etc/credd/ca.pem' };
    const config = await loadHelperConfig({ ...env, SCALR_CREDD_URL: 'unix:/run/x.sock, https://credd-2:8443' }, files({ '/etc/credd/ca.pem': 'CA' }), () => HOME);

    expect(config).toMatchObject({ daemonUrl: 'unix:/run/x.sock, https://credd-2:8443', tls: { ca: 'CA' } });
  });

  it('never repeats the user information of an unusable URL (a password) in its message', async () => {
    const bad = await configError(() =>
      loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'https://u:tok_SEKRET@h.example,unix:/x' }, noFiles, () => HOME),
    );

    expect(bad.message).toMatch(/^SCALR_CREDD_URL's https:\/\/…@h\.example is not usable: /);
    expect(bad.message).not.toContain('SEKRET');
  });

  it('names the unusable URL of a list, and a list without any', async () => {
    const bad = await configError(() => loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'http://credd-1:8420,credd-2:8420' }, noFiles, () => HOME));
    const empty = await configError(() => loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: ' , ' }, noFiles, () => HOME));

    expect(bad.message).toMatch(/^SCALR_CREDD_URL's credd-2:8420 is not usable: /);
    expect(empty.message).toBe('SCALR_CREDD_URL names no URL');
  });

  it('names an unreadable CA file and a client certificate without its key', async () => {
    const error = await configError(() =>
      loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'https://credd', SCALR_CREDD_CA_FILE: '/nope.pem', SCALR_CREDD_CLIENT_CERT: '/c.pem' }, files({ '/c.pem': 'C' }), () => HOME),
    );

    expect(error.message).toContain('cannot read SCALR_CREDD_CA_FILE (/nope.pem): no such file');
    expect(error.message).toContain('SCALR_CREDD_CLIENT_KEY');
  });

  it('asks for the home directory only when it needs the default URL', async () => {
    const home = () => {
      throw new Error('home asked');
    };
    expect((await loadHelperConfig({ SCALR_CREDD_TOKEN: 't', SCALR_CREDD_URL: 'unix:/run/x.sock' }, noFiles, home)).daemonUrl).toBe('unix:/run/x.sock');
  });
});
