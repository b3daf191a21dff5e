import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The release suite (`npm run test:release`): kept out of `npm test` because it builds release/ first
// (helper binaries for two architectures, the daemon tarball, the image), which CI runs once on its own.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'release',
    include: ['test/release/**/*.release.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    // beforeAll builds release/ when it is missing or stale.
    hookTimeout: 1_200_000,
  },
});
