import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * A new temp dir for each test of the file (made in beforeEach, removed in afterEach): call it at
 * the top of the file, `const temp = tempDirPerTest('credd-root-key-')`, and use `temp.path` in a test.
 */
export function tempDirPerTest(prefix: string): { readonly path: string } {
  let path: string | undefined;
  beforeEach(() => {
    path = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    if (path) rmSync(path, { recursive: true, force: true });
    path = undefined;
  });
  return {
    get path() {
      if (path === undefined) throw new Error('the temp dir exists only while a test runs');
      return path;
    },
  };
}
