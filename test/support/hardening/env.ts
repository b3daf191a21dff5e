/** Paths and switches shared by the hardening suite. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The built daemon entry point (`npm run build` makes it). */
export const DAEMON_MAIN = join(ROOT, 'daemon/dist/main.js');

/** True under CI: a missing tool or build artefact fails instead of narrowing a test. */
export const IS_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** HARDENING_LONG=1 runs the long variants (more kills, longer load). */
export const LONG = process.env['HARDENING_LONG'] === '1';

/** Creates a private (0700) temporary directory with a short path, so socket paths stay under 108 bytes. */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `hd-${label}-`));
}

/** Removes a temporary directory made by makeTempDir. */
export function removeTempDir(dir: string | undefined): void {
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

/** Throws when the daemon has not been built (the suite runs it as a real process). */
export function assertDaemonBuilt(): void {
  if (!existsSync(DAEMON_MAIN)) throw new Error(`${DAEMON_MAIN} is missing: run npm run build (npm run test:hardening does)`);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Runs `tasks` with at most `limit` in flight; resolves with every result in order. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
