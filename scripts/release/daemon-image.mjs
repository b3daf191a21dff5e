// The daemon's OCI image, built with buildah from `scratch`: no base image is pulled. Its one layer holds
// the daemon tarball unpacked at /opt/scalr-credd, the shared libraries that the Node runtime, the
// better-sqlite3 addon and /bin/sh (the launcher's interpreter, Debian's dash) load with the dynamic
// loader, copied from this machine, and /etc/passwd and /etc/group for a non-root user.
//
// buildah keeps its storage under .cache/buildah (vfs driver: no overlay mounts), so nothing global is
// touched; mounting the working container needs root.
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../lib/exec.mjs';

/** The image's user: not root, and a uid no distribution hands out. */
export const IMAGE_USER = { name: 'scalr-credd', uid: 10001 };
/** Where the daemon's data lives in the image (a VOLUME). */
export const IMAGE_DATA_DIR = '/var/lib/scalr-credd';
const PREFIX = '/opt/scalr-credd';

/** Returns the absolute paths of the shared libraries and loader that the ELF files load (from `ldd`). */
function sharedLibraries(elfFiles) {
  const found = new Set();
  for (const file of elfFiles) {
    for (const line of run('ldd', [file]).split('\n')) {
      // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"; not linux-vdso.
      const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (match) found.add(match[1]);
      else if (/not found/.test(line)) throw new Error(`${file}: ${line.trim()}`);
    }
  }
  return [...found].sort();
}

/** Writes the image's root filesystem into `rootfs`; returns the libraries it copied. */
function buildRootfs(rootfs, tarball, name) {
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(join(rootfs, 'opt'), { recursive: true });
  run('tar', ['-xzf', tarball, '-C', join(rootfs, 'opt')]);
  renameSync(join(rootfs, 'opt', name), join(rootfs, PREFIX));

  const shell = '/bin/dash';
  const elves = [join(rootfs, PREFIX, 'lib/node/bin/node'), join(rootfs, PREFIX, 'lib/scalr-credd/node_modules/better-sqlite3/build/Release/better_sqlite3.node'), shell];
  const libraries = sharedLibraries(elves);
  // Each library lands at the path ldd named (its symlinks resolved), as a plain file.
  for (const library of libraries) {
    mkdirSync(join(rootfs, dirname(library)), { recursive: true });
    copyFileSync(library, join(rootfs, library));
  }
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync(shell, join(rootfs, 'bin/sh'));
  chmodSync(join(rootfs, 'bin/sh'), 0o755);

  const { name: user, uid } = IMAGE_USER;
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\n${user}:x:${uid}:${uid}:${user}:${IMAGE_DATA_DIR}:/sbin/nologin\n`);
  writeFileSync(join(rootfs, 'etc/group'), `root:x:0:\n${user}:x:${uid}:\n`);
  writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  mkdirSync(join(rootfs, 'tmp'), { mode: 0o1777 });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  mkdirSync(join(rootfs, IMAGE_DATA_DIR), { recursive: true });
  chmodSync(join(rootfs, IMAGE_DATA_DIR), 0o700);
  chownSync(join(rootfs, IMAGE_DATA_DIR), uid, uid);
  return libraries;
}

/**
 * Builds the image from the daemon tarball and writes it as an OCI layout archive and a docker-archive
 * (tagged scalr-credd:<version>) into `outDir`; returns { ociArchive, dockerArchive, notes }.
 */
export function buildDaemonImage({ root, version, tarball, name, outDir, workDir, created }) {
  if (process.getuid?.() !== 0) throw new Error('the image build mounts a buildah container: run the release as root');
  const storage = join(root, '.cache/buildah');
  const buildah = (...args) =>
    run('buildah', ['--root', join(storage, 'root'), '--runroot', join(storage, 'runroot'), '--storage-driver', 'vfs', ...args]).trim();

  const rootfs = join(workDir, 'rootfs');
  const libraries = buildRootfs(rootfs, tarball, name);

  const image = `localhost/scalr-credd:${version}`;
  const container = buildah('from', '--quiet', 'scratch');
  try {
    const mount = buildah('mount', container);
    run('cp', ['-a', `${rootfs}/.`, mount]);
    buildah('umount', container);
    const uid = IMAGE_USER.uid;
    buildah(
      'config',
      '--os', 'linux',
      '--arch', 'amd64',
      '--user', `${uid}:${uid}`,
      '--env', `PATH=${PREFIX}/bin`,
      '--env', `SCALR_CREDD_DATA_DIR=${IMAGE_DATA_DIR}`,
      '--volume', IMAGE_DATA_DIR,
      '--workingdir', IMAGE_DATA_DIR,
      '--entrypoint', JSON.stringify([`${PREFIX}/bin/scalr-credd`]),
      // A Unix socket in the volume works with every version of `serve`; TCP is `--listen HOST:PORT` (docs/install.md).
      '--cmd', JSON.stringify(['serve', '--listen', `unix:${IMAGE_DATA_DIR}/credd.sock`]),
      '--stop-signal', 'SIGTERM',
      '--label', 'org.opencontainers.image.title=scalr-credd',
      '--label', `org.opencontainers.image.version=${version}`,
      '--label', 'org.opencontainers.image.description=scalr-credd: the encrypted registry credential daemon behind docker-credential-scalr',
      '--label', 'org.opencontainers.image.licenses=MIT',
      container,
    );
    buildah('commit', '--quiet', '--omit-history', '--timestamp', String(created), container, image);
  } finally {
    buildah('rm', container);
  }

  const ociArchive = join(outDir, `scalr-credd-${version}-linux-x64.oci.tar`);
  const dockerArchive = join(outDir, `scalr-credd-${version}-linux-x64.docker.tar`);
  for (const path of [ociArchive, dockerArchive]) if (existsSync(path)) rmSync(path);
  try {
    buildah('push', '--quiet', '--disable-compression=false', image, `oci-archive:${ociArchive}:scalr-credd:${version}`);
    buildah('push', '--quiet', image, `docker-archive:${dockerArchive}:scalr-credd:${version}`);
  } finally {
    buildah('rmi', image);
  }
  return { ociArchive, dockerArchive, notes: [`libraries from this machine: ${libraries.join(' ')}`] };
}
