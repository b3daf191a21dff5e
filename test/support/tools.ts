/**
 * External tools some suites need (docker-registry, htpasswd, openssl, skopeo…). A missing tool fails
 * the suite under CI=true, so CI can never go green by skipping; on a workstation the suite is
 * skipped with a message that says what to install.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Returns the tool's path on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * Returns true when every named tool is on PATH. When one is missing: throws under CI=true (the test
 * file fails), otherwise prints which tool is missing and returns false (use with `describe.skipIf`).
 */
export function requireTool(...names: string[]): boolean {
  const missing = names.filter((name) => findTool(name) === undefined);
  if (missing.length === 0) return true;
  return missingRequirement(`required tool(s) not on PATH: ${missing.join(', ')} (.ci/run installs the Debian packages that provide them)`);
}

/**
 * What a suite does when something it needs is missing: throws under CI=true (the test file fails, so CI
 * can never go green by skipping), otherwise prints a SKIPPING line and returns false.
 */
export function missingRequirement(message: string): false {
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI=true, so this is a failure, not a skip`);
  process.stderr.write(`SKIPPING: ${message}\n`);
  return false;
}
