import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfigFile, writeFileAtomic } from './config-files.js';
import {
  ConfigureUsageError,
  defaultContainersAuthPath,
  defaultDockerConfigPath,
  parseConfigureArgs,
  runConfigureCommand,
} from './configure-cli.js';
import type { CredentialBackend, CredentialList } from './credential-backend.js';
import { DaemonError } from './errors.js';

const HOME = '/home/u';
const noFiles = () => false;

describe('parseConfigureArgs', () => {
  it('defaults to the Docker config in the home directory', () => {
    expect(parseConfigureArgs(['configure'], {}, HOME, noFiles)).toEqual({
      command: 'configure',
      dockerConfigPath: '/home/u/.docker/config.json',
      containersPath: undefined,
      tofuPath: undefined,
      dryRun: false,
      json: false,
    });
  });

  it('follows DOCKER_CONFIG and XDG_CONFIG_HOME', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/docker-cfg/' }, HOME)).toBe('/etc/docker-cfg/config.json');
    expect(defaultContainersAuthPath({ XDG_CONFIG_HOME: '/xdg' }, HOME)).toBe('/xdg/containers/auth.json');
    expect(defaultContainersAuthPath({ XDG_CONFIG_HOME: 'relative' }, HOME)).toBe('/home/u/.config/containers/auth.json');
  });

  it('reads every option in both spellings', () => {
    const options = parseConfigureArgs(
      ['unconfigure', '--config=/c', '--containers', '/a.json', '--tofu', '/t.rc', '--dry-run', '--json'],
      {},
      HOME,
      noFiles,
    );

    expect(options).toEqual({
      command: 'unconfigure',
      dockerConfigPath: '/c/config.json',
      containersPath: '/a.json',
      tofuPath: '/t.rc',
      dryRun: true,
      json: true,
    });
  });

  it('uses the default containers path when --containers has no value', () => {
    expect(parseConfigureArgs(['configure', '--containers', '--dry-run'], {}, HOME, noFiles).containersPath).toBe(
      '/home/u/.config/containers/auth.json',
    );
    expect(parseConfigureArgs(['configure', '--containers'], {}, HOME, noFiles).containersPath).toBe('/home/u/.config/containers/auth.json');
  });

  it('reads --config DIR as DIR/config.json, as docker does, whether DIR exists or not', () => {
    expect(parseConfigureArgs(['configure', '--config', '/etc/docker/'], {}, HOME, noFiles).dockerConfigPath).toBe('/etc/docker/config.json');
    expect(parseConfigureArgs(['configure', '--config', '/new/dir'], {}, HOME, noFiles).dockerConfigPath).toBe('/new/dir/config.json');
  });

  it('refuses --config naming a file, pointing at its directory', () => {
    const isFile = (path: string) => path === '/home/u/.docker/config.json';

    expect(() => parseConfigureArgs(['configure', '--config', '/home/u/.docker/config.json'], {}, HOME, isFile)).toThrow(
      "--config names the directory that holds config.json, as docker's --config does, and /home/u/.docker/config.json is a file: use --config /home/u/.docker",
    );
  });

  it.each([
    [['configure', '--tofu']],
    [['configure', '--config']],
    [['configure', '--config=']],
    [['configure', '--bogus']],
    [['configure', 'stray']],
    [['configure', '--json=yes']],
  ])('rejects %j', (args) => {
    expect(() => parseConfigureArgs(args, {}, HOME, noFiles)).toThrow(ConfigureUsageError);
  });
});

describe('configure on real files', () => {
  let dir: string;
  const listing: CredentialList = { 'https://index.docker.io/v1/': 'hub', 'ghcr.io': '<token>', 'reg.example.com:5000': 'alice' };
  const backend = (list: CredentialList = listing): Pick<CredentialBackend, 'list'> => ({ list: async () => list });
  const run = (args: string[], list?: CredentialList) =>
    runConfigureCommand(args, { env: {}, homeDir: join(dir, 'home'), backend: backend(list) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'configure-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the Docker config with 0700 directories and a 0600 file holding only credHelpers', async () => {
    const result = await run(['configure']);

    const path = join(dir, 'home/.docker/config.json');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      credHelpers: { 'https://index.docker.io/v1/': 'scalr', 'docker.io': 'scalr', 'ghcr.io': 'scalr', 'reg.example.com:5000': 'scalr' },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'home/.docker')).mode & 0o777).toBe(0o700);
    expect(result.stdout).toContain(path);
    expect(result.stderr).toBe('');
  });

  it('keeps every other key, warns about plaintext, and writes no secret', async () => {
    const path = join(dir, 'config.json');
    const auth = Buffer.from('bob:hunter2').toString('base64');
    const original = { auths: { 'ghcr.io': { auth }, 'https://index.docker.io/v1/': {} }, psFormat: 'table', credHelpers: { 'gcr.io': 'gcloud' } };
    writeFileSync(path, JSON.stringify(original, null, 2), { mode: 0o644 });

    const result = await run(['configure', '--config', dir]);

    const written = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(written).toEqual({
      ...original,
      credHelpers: {
        'gcr.io': 'gcloud',
        'https://index.docker.io/v1/': 'scalr',
        'docker.io': 'scalr',
        'ghcr.io': 'scalr',
        'reg.example.com:5000': 'scalr',
      },
    });
    // The existing file's mode stays: another reader of it may depend on it.
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(result.stderr).toMatch(/^warning: .*auths\["ghcr\.io"\].*OpenTofu/);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr + result.stdout).not.toContain(auth);
  });

  it('writes containers auth.json with docker.io and an OpenTofu config, then unconfigure removes only scalr entries', async () => {
    const docker = join(dir, 'config.json');
    const containers = join(dir, 'xdg/containers/auth.json');
    const tofu = join(dir, 'tofurc');
    writeFileSync(docker, '{"credHelpers":{"gcr.io":"gcloud"}}');
    writeFileSync(tofu, 'plugin_cache_dir = "/tmp/cache"\n');

    const configured = await run(['configure', '--config', dir, '--containers', containers, '--tofu', tofu]);

    expect(configured.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(containers, 'utf8'))).toEqual({
      credHelpers: { 'docker.io': 'scalr', 'ghcr.io': 'scalr', 'reg.example.com:5000': 'scalr' },
    });
    const tofuText = readFileSync(tofu, 'utf8');
    expect(tofuText.startsWith('plugin_cache_dir = "/tmp/cache"\n\n# BEGIN docker-credential-scalr')).toBe(true);
    expect([...tofuText.matchAll(/oci_credentials "([^"]+)" \{\n {2}docker_credentials_helper = "scalr"\n\}/g)].map((m) => m[1])).toEqual([
      'docker.io',
      'ghcr.io',
      'reg.example.com:5000',
    ]);

    const unconfigured = await run(['unconfigure', '--config', dir, '--containers', containers, '--tofu', tofu]);

    expect(unconfigured.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(docker, 'utf8'))).toEqual({ credHelpers: { 'gcr.io': 'gcloud' } });
    expect(JSON.parse(readFileSync(containers, 'utf8'))).toEqual({});
    expect(readFileSync(tofu, 'utf8')).toBe('plugin_cache_dir = "/tmp/cache"\n');
  });

  it('writes nothing on a dry run but reports the plan', async () => {
    const result = await run(['configure', '--containers', '--dry-run', '--json']);

    expect(result.exitCode).toBe(0);
    expect(existsSync(join(dir, 'home'))).toBe(false);
    const report = JSON.parse(result.stdout) as { dryRun: boolean; hosts: string[]; files: { kind: string; written: boolean; added: string[] }[] };
    expect(report.dryRun).toBe(true);
    expect(report.hosts).toEqual(['docker.io', 'ghcr.io', 'reg.example.com:5000']);
    expect(report.files.map((f) => [f.kind, f.written, f.added.length])).toEqual([
      ['docker', false, 4],
      ['containers', false, 3],
    ]);
  });

  it('writes nothing at all when one file is broken', async () => {
    const docker = join(dir, 'config.json');
    const containers = join(dir, 'auth.json');
    writeFileSync(docker, '{}');
    writeFileSync(containers, '{"auths": ');

    const result = await run(['configure', '--config', dir, '--containers', containers]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^docker-credential-scalr configure: containers auth file .* is not valid JSON/);
    expect(readFileSync(docker, 'utf8')).toBe('{}');
  });

  it('does not rewrite a config that already names the helper', async () => {
    const docker = join(dir, 'config.json');
    const text = '{"credHelpers":{"ghcr.io":"scalr"}}';
    writeFileSync(docker, text, { mode: 0o644 });

    const result = await run(['configure', '--config', dir], { 'ghcr.io': 'u' });

    expect(result.stdout).toContain('no change');
    expect(readFileSync(docker, 'utf8')).toBe(text);
    expect(statSync(docker).mode & 0o777).toBe(0o644);
  });

  it('reports a daemon failure and writes nothing', async () => {
    const result = await runConfigureCommand(['configure'], {
      env: {},
      homeDir: join(dir, 'home'),
      backend: { list: async () => Promise.reject(new DaemonError('unreachable', 'cannot reach scalr-credd at unix:/x (connection refused)')) },
    });

    expect(result).toEqual({
      stdout: '',
      stderr: 'docker-credential-scalr configure: cannot reach scalr-credd at unix:/x (connection refused)\n',
      exitCode: 1,
    });
    expect(existsSync(join(dir, 'home'))).toBe(false);
  });

  it('warns when the daemon lists nothing', async () => {
    const result = await run(['configure', '--config', join(dir, 'c')], {});

    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^warning: scalr-credd lists no credentials/);
  });

  it('creates DIR/config.json for --config DIR/ when DIR does not exist yet (docker\'s meaning, no ENOTDIR)', async () => {
    const result = await run(['configure', '--config', `${join(dir, 'fresh')}/`]);

    expect(result).toMatchObject({ stderr: '', exitCode: 0 });
    expect(JSON.parse(readFileSync(join(dir, 'fresh', 'config.json'), 'utf8'))).toMatchObject({ credHelpers: { 'ghcr.io': 'scalr' } });
  });

  it('refuses --config naming a file, and leaves the file alone', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, '{}');

    const result = await run(['configure', '--config', file]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^docker-credential-scalr configure: --config names the directory that holds config\.json, .* is a file: use --config /);
    expect(readFileSync(file, 'utf8')).toBe('{}');
  });

  it('prints usage for a bad command line', async () => {
    const result = await run(['configure', '--nope']);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^docker-credential-scalr configure: unknown option: --nope\nUsage: /);
  });
});

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces the file and leaves no temporary file behind', () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, 'old');

    writeFileAtomic(path, 'new');

    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['config.json']);
  });

  it('refuses to read or write through a symbolic link, leaving the link and its target alone', () => {
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere/other-file'), 'old');
    symlinkSync(join(dir, 'elsewhere/other-file'), join(dir, 'config.json'));

    expect(() => writeFileAtomic(join(dir, 'config.json'), 'new')).toThrow(/config\.json is a symbolic link; configure does not write through links/);
    expect(() => readConfigFile(join(dir, 'config.json'))).toThrow(/is a symbolic link/);
    expect(readFileSync(join(dir, 'elsewhere/other-file'), 'utf8')).toBe('old');
    expect(lstatSync(join(dir, 'config.json')).isSymbolicLink()).toBe(true);
  });

  it("keeps an existing file's mode and owner", () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, 'old');
    chmodSync(path, 0o640);
    // As root (configure run by an administrator for another user), the owner must stay the user's.
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(path, 4321, 4322);
    const before = statSync(path);

    writeFileAtomic(path, 'new');

    const after = statSync(path);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(after.mode & 0o7777).toBe(0o640);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    if (isRoot) expect([after.uid, after.gid]).toEqual([4321, 4322]);
  });

  it('cleans up its temporary file when the rename fails', () => {
    const path = join(dir, 'config.json');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'x');

    expect(() => writeFileAtomic(path, 'new')).toThrow();
    expect(readdirSync(dir)).toEqual(['config.json']);
    expect(readdirSync(path)).toEqual(['keep']);
  });
});
