/**
 * The release as a machine without this checkout gets it: release/ as `npm run release` writes it (built
 * here, or reused when built from the same sources), its sums; the daemon tarball's bin/scalr-credd run
 * with no node on PATH through the README's "Using it" steps, with the released helper binary; the
 * daemon's image inspected with skopeo and run from its unpacked root filesystem with chroot, since no
 * container engine runs here.
 *
 * Needs buildah, skopeo, tar, sha256sum, chroot, ldd and objdump, and root (the image build mounts a
 * buildah container, chroot needs it): under CI=true a missing one fails the suite, elsewhere it skips
 * saying which.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, TOKEN_PATTERN, makeTempDir, runProcess, startDaemon, type RunningDaemon } from '../support/processes.js';
import { findTool, requireTool } from '../support/tools.js';

const RELEASE = join(REPO_ROOT, 'release');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'daemon/package.json'), 'utf8')) as { version: string }).version;
const HELPER = join(RELEASE, `docker-credential-scalr-${VERSION}-linux-x64`);
const TARBALL = join(RELEASE, `scalr-credd-${VERSION}-linux-x64.tar.gz`);
const OCI_ARCHIVE = join(RELEASE, `scalr-credd-${VERSION}-linux-x64.oci.tar`);
const DOCKER_ARCHIVE = join(RELEASE, `scalr-credd-${VERSION}-linux-x64.docker.tar`);
const NOT_FOUND = 'credentials not found in native keychain';
const IMAGE_UID = 10001;
const IMAGE_DATA_DIR = '/var/lib/scalr-credd';

/** True when running as root; otherwise fails under CI=true and skips with a message elsewhere (as requireTool does). */
function requireRoot(): boolean {
  if (process.getuid?.() === 0) return true;
  const message = 'the release suite needs root (buildah mounts the image, chroot runs it)';
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI=true, so this is a failure, not a skip`);
  process.stderr.write(`SKIPPING: ${message}\n`);
  return false;
}

const ready = requireTool('buildah', 'skopeo', 'tar', 'sha256sum', 'chroot', 'ldd', 'objdump') && requireRoot();

/** This process's PATH without the directories that hold a node: how a machine without Node looks. */
function pathWithoutNode(): string {
  const hasNode = (dir: string) => {
    try {
      accessSync(join(dir, 'node'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir && !hasNode(dir))
    .join(delimiter);
}

/** A registry secret nothing else contains, with characters that JSON and shells treat specially. */
const registrySecret = (label: string) => `release-${label}-${randomBytes(8).toString('hex')}+/="'$`;

/** The image's configuration (OCI image config: architecture, os, config.User, config.Entrypoint…), as skopeo reads it. */
interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; Volumes: Record<string, object>; WorkingDir: string };
}

describe.skipIf(!ready)('the release', () => {
  beforeAll(() => {
    const built = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/release/release.mjs'), '--reuse-fresh'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`npm run release exited with ${built.status} (its output is above)`);
  });

  describe('release/', () => {
    it('holds the helper for x64 and arm64, the daemon tarball and the image archives, each listed in SHA256SUMS', () => {
      const listed = readFileSync(join(RELEASE, 'SHA256SUMS'), 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => line.split('  ')[1]);

      expect(listed.sort()).toEqual(readdirSync(RELEASE).filter((file) => file !== 'SHA256SUMS').sort());
      expect(listed).toEqual(
        expect.arrayContaining([
          `docker-credential-scalr-${VERSION}-linux-x64`,
          `docker-credential-scalr-${VERSION}-linux-arm64`,
          `scalr-credd-${VERSION}-linux-x64.tar.gz`,
          `scalr-credd-${VERSION}-linux-x64.oci.tar`,
          `scalr-credd-${VERSION}-linux-x64.docker.tar`,
        ]),
      );
    });

    it('passes `sha256sum --check --strict SHA256SUMS` for every artefact', async () => {
      const check = await runProcess('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: RELEASE });

      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout.trimEnd().split('\n')).toEqual(readdirSync(RELEASE).filter((file) => file !== 'SHA256SUMS').sort().map((file) => `${file}: OK`));
    });
  });

  describe('the daemon tarball with no node on PATH, and the released helper on PATH (the README steps)', () => {
    const secret = registrySecret('ghcr');
    let path: string;
    let daemon: RunningDaemon;
    let socketUrl: string;
    let runnerToken: string;
    let dockerConfig: string;
    let dir: string;

    beforeAll(async () => {
      dir = makeTempDir('scalr-release-');
      const unpacked = await runProcess('tar', ['-xzf', TARBALL, '-C', dir]);
      expect(unpacked.code, unpacked.stderr).toBe(0);
      // docs/install.md: the helper goes on PATH under the name clients exec.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      copyFileSync(HELPER, join(bin, 'docker-credential-scalr'));
      chmodSync(join(bin, 'docker-credential-scalr'), 0o755);
      path = [join(dir, `scalr-credd-${VERSION}-linux-x64`, 'bin'), bin, pathWithoutNode()].join(delimiter);
      dockerConfig = join(dir, 'docker');
    });

    /** Runs `scalr-credd ARGS` (the tarball's) as an admin would, with the PATH above. */
    const scalrCredd = (args: string[], stdin?: string) =>
      runProcess('scalr-credd', args, {
        env: { PATH: path, SCALR_CREDD_URL: socketUrl, SCALR_CREDD_TOKEN: daemon.adminToken },
        ...(stdin === undefined ? {} : { stdin }),
      });
    /** Runs `docker-credential-scalr ARGS` as a client on the runner would. */
    const helper = (args: string[], stdin: string) =>
      runProcess('docker-credential-scalr', args, { stdin, env: { PATH: path, SCALR_CREDD_URL: socketUrl, SCALR_CREDD_TOKEN: runnerToken, DOCKER_CONFIG: dockerConfig } });

    it('has no node on that PATH', async () => {
      const lookup = await runProcess('/bin/sh', ['-c', 'command -v node'], { env: { PATH: path } });

      expect(lookup.code).not.toBe(0);
      expect(lookup.stdout).toBe('');
    });

    it('runs through symlinks as docs/install.md lays it out (a link to the versioned directory, a relative link on PATH)', async () => {
      symlinkSync(`scalr-credd-${VERSION}-linux-x64`, join(dir, 'current'));
      mkdirSync(join(dir, 'links'));
      symlinkSync('../current/bin/scalr-credd', join(dir, 'links', 'scalr-credd'));

      const said = await runProcess('scalr-credd', ['--version'], { env: { PATH: [join(dir, 'links'), pathWithoutNode()].join(delimiter) } });

      expect(said.stderr).toBe('');
      expect(said.stdout.trim()).toBe(`scalr-credd ${VERSION}`);
    });

    it('1. serve creates the store on first start and prints the admin token once', async () => {
      daemon = await startDaemon({ command: ['scalr-credd'], listen: [], env: { PATH: path } });
      socketUrl = daemon.socketUrl!;

      expect(daemon.urls).toEqual([`unix:${join(daemon.dataDir, 'credd.sock')}`]);
      expect(daemon.adminToken).toMatch(TOKEN_PATTERN);
    });

    it('2. integration add stores a credential whose secret comes from stdin', async () => {
      const added = await scalrCredd(['integration', 'add', '--host', 'ghcr.io', '--username', 'my-bot'], secret);

      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(added.output.includes(secret)).toBe(false);
    });

    it('3. token create mints a runner token for that host, valid for an hour', async () => {
      const created = await scalrCredd(['token', 'create', '--name', 'ci-run-42', '--role', 'runner', '--ttl', '1h', '--host', 'ghcr.io']);

      expect(created.code, created.stderr).toBe(0);
      runnerToken = TOKEN_PATTERN.exec(created.stdout)![0];
    });

    it('4. docker-credential-scalr configure names the helper for ghcr.io, and get prints the credential', async () => {
      const configured = await helper(['configure'], '');
      const got = await helper(['get'], 'ghcr.io\n');

      expect(configured.code, configured.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8'))).toMatchObject({ credHelpers: { 'ghcr.io': 'scalr' } });
      expect(got.code, got.stderr).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual({ ServerURL: 'ghcr.io', Username: 'my-bot', Secret: secret });
    });

    it('answers the docker not-found line for a host it holds no credential for', async () => {
      const got = await helper(['get'], 'registry.example.com\n');

      expect(got.code).toBe(1);
      expect(got.stdout.trim()).toBe(NOT_FOUND);
    });

    it('stops on SIGTERM: the launcher execs the runtime, so the signal reaches the daemon', async () => {
      const code = await daemon.stop();

      expect(code).toBe(0);
      expect(daemon.output().includes(secret)).toBe(false);
    });
  });

  describe('the daemon image', () => {
    it.each([
      ['oci-archive', OCI_ARCHIVE],
      ['docker-archive', DOCKER_ARCHIVE],
    ])('%s: skopeo inspect shows linux/amd64, the launcher as entrypoint, uid 10001, the data dir as a volume', async (transport, archive) => {
      const inspected = await runProcess('skopeo', ['inspect', '--config', `${transport}:${archive}`]);
      const image = JSON.parse(inspected.stdout) as ImageConfig;

      expect(inspected.code, inspected.stderr).toBe(0);
      expect([image.os, image.architecture]).toEqual(['linux', 'amd64']);
      expect(image.config.Entrypoint).toEqual(['/opt/scalr-credd/bin/scalr-credd']);
      expect(image.config.Cmd).toEqual(['serve', '--listen', `unix:${IMAGE_DATA_DIR}/credd.sock`]);
      expect(image.config.User).toBe(`${IMAGE_UID}:${IMAGE_UID}`);
      expect(Object.keys(image.config.Volumes)).toEqual([IMAGE_DATA_DIR]);
      expect(image.config.Env).toContain(`SCALR_CREDD_DATA_DIR=${IMAGE_DATA_DIR}`);
    });

    it('runs from its unpacked root filesystem as uid 10001: version, init, serve on a socket in the volume, an admin call, a helper lookup', async () => {
      const dir = makeTempDir('scalr-release-image-');
      const rootfs = join(dir, 'rootfs');
      const image = await unpackOciArchive(OCI_ARCHIVE, join(dir, 'oci'), rootfs);
      const { User, Entrypoint, Cmd } = image.config;
      const imageEnv = Object.fromEntries(image.config.Env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
      // Only the image's environment: no HOME or TMPDIR of this machine.
      const env = { ...imageEnv, HOME: undefined, TMPDIR: undefined };
      const chroot = [findTool('chroot')!, `--userspec=${User}`, rootfs, ...Entrypoint];
      const inImage = (args: string[], extra: Record<string, string> = {}, stdin?: string) =>
        runProcess(chroot[0]!, [...chroot.slice(1), ...args], { env: { ...env, ...extra }, ...(stdin === undefined ? {} : { stdin }) });
      const secret = registrySecret('image');

      const version = await inImage(['--version']);
      const init = await inImage(['init', '--json']);
      // The first admin token is written to a 0600 file in the data dir (inside the image's root); init names it.
      const { adminTokenFile } = JSON.parse(init.stdout) as { adminTokenFile: string };
      const adminToken = readFileSync(join(rootfs, adminTokenFile), 'utf8').trim();
      const listen = Cmd.slice(1).filter((_, index) => index % 2 === 1);
      const daemon = await startDaemon({ command: chroot, dataDir: imageEnv['SCALR_CREDD_DATA_DIR']!, listen, env });
      const admin = { SCALR_CREDD_URL: daemon.socketUrl!, SCALR_CREDD_TOKEN: adminToken };
      const added = await inImage(['integration', 'add', '--host', 'registry.example.com:5000', '--username', 'image-bot'], admin, secret);
      const listed = await inImage(['integration', 'list'], admin);
      const got = await runProcess(HELPER, ['get'], {
        stdin: 'https://registry.example.com:5000',
        env: { SCALR_CREDD_URL: `unix:${rootfs}${daemon.socketUrl!.slice('unix:'.length)}`, SCALR_CREDD_TOKEN: adminToken },
      });
      const stopped = await daemon.stop();

      expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain(`scalr-credd:x:${IMAGE_UID}:${IMAGE_UID}:`);
      expect(version.stdout.trim(), version.stderr).toBe(`scalr-credd ${VERSION}`);
      expect(init.code, init.stderr).toBe(0);
      expect(adminToken).toMatch(TOKEN_PATTERN);
      expect(Cmd[0]).toBe('serve');
      expect(daemon.socketUrl).toBe(`unix:${IMAGE_DATA_DIR}/credd.sock`);
      expect(added.code, added.stderr).toBe(0);
      expect(listed.stdout).toContain('registry.example.com:5000');
      expect(got.code, got.stderr).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual({ ServerURL: 'https://registry.example.com:5000', Username: 'image-bot', Secret: secret });
      expect(statSync(join(rootfs, IMAGE_DATA_DIR, 'credd.sqlite')).uid).toBe(IMAGE_UID);
      expect(stopped).toBe(0);
    });
  });
});

/** Unpacks an OCI layout archive's layers, in order, into `rootfs`; returns the image config. */
async function unpackOciArchive(archive: string, layoutDir: string, rootfs: string): Promise<ImageConfig> {
  mkdirSync(layoutDir, { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  const untar = await runProcess('tar', ['-xf', archive, '-C', layoutDir]);
  expect(untar.code, untar.stderr).toBe(0);
  const blob = (digest: string) => join(layoutDir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  for (const layer of manifest.layers) {
    // GNU tar recognises a gzip layer by its bytes.
    const unpacked = await runProcess('tar', ['-xf', blob(layer.digest), '-C', rootfs]);
    expect(unpacked.code, unpacked.stderr).toBe(0);
  }
  return JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as ImageConfig;
}
