/**
 * The two ways docker-credential-scalr ships, for suites that run it as a process: the npm `.bin`
 * entry (the bundle on this Node) and the packaged binary (Bun) for this machine. Suites run
 * against both; the binary is rebuilt first when it was not built from the current bundle.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One way to run the helper: `command ...args <verb>`. */
export interface HelperEntry {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
}

/** The bundle the npm `.bin` shim runs. */
export const HELPER_BUNDLE = join(ROOT, 'helper/dist/docker-credential-scalr.cjs');
/** The bundle the packaged binary is compiled from. */
const HELPER_BUN_BUNDLE = join(ROOT, 'helper/dist/docker-credential-scalr-bun.cjs');
/** The packaged binary for this machine (`npm run build:binary -- --arch <arch>`). */
export const HELPER_BINARY = join(ROOT, 'dist', `docker-credential-scalr-linux-${process.arch}`);
const STAMP = join(ROOT, '.cache/binary-stamps', `linux-${process.arch}`);

/** The npm entry: the bundle run by this Node. */
export const NPM_ENTRY: HelperEntry = { label: 'npm entry', command: process.execPath, args: [HELPER_BUNDLE] };
/** The packaged binary. */
export const PACKAGED_BINARY: HelperEntry = { label: 'packaged binary', command: HELPER_BINARY, args: [] };
/** Both, for describe.each. */
export const HELPER_ENTRIES: readonly HelperEntry[] = [NPM_ENTRY, PACKAGED_BINARY];

let checked = false;

/**
 * Bundles the current sources, and rebuilds the packaged binary for this machine unless it was built
 * from exactly these bundles (`npm test` has built it already; a direct vitest run may not have).
 * Call from beforeAll with a generous timeout: a first build fetches Bun from the npm registry.
 */
export function buildHelperEntries(): void {
  if (checked) return;
  const bundled = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle-helper.mjs')], { encoding: 'utf8' });
  if (bundled.status !== 0) throw new Error(`bundling the helper failed: ${bundled.stderr}`);
  const current = `bun ${createHash('sha256').update(readFileSync(HELPER_BUN_BUNDLE)).digest('hex')}`;
  if (!existsSync(HELPER_BINARY) || !existsSync(STAMP) || readFileSync(STAMP, 'utf8') !== current) {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-binary.mjs'), '--arch', process.arch], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the packaged helper failed:\n${built.stdout}${built.stderr}`);
  }
  checked = true;
}
