import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const sharedSrc = fileURLToPath(new URL('./shared/src', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources of @dcs/shared; the built packages use its dist/.
    alias: [
      { find: /^@dcs\/shared$/, replacement: `${sharedSrc}/index.ts` },
      { find: /^@dcs\/shared\/(.*)$/, replacement: `${sharedSrc}/$1.ts` },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['shared/src/**/*.test.ts', 'helper/src/**/*.test.ts', 'daemon/src/**/*.test.ts', 'daemon/ui/src/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'api', include: ['test/api/**/*.api.test.ts'] },
      },
      // The same API suite on the PostgreSQL store: each test app on a new database of the test
      // cluster (SCALR_CREDD_TEST_PG, started by npm test). Under CI a missing cluster fails it.
      ...(process.env['SCALR_CREDD_TEST_PG'] || process.env['CI'] === 'true'
        ? [
            {
              extends: true as const,
              test: {
                name: 'api-postgres',
                include: ['test/api/**/*.api.test.ts'],
                exclude: ['test/api/postgres-cluster.api.test.ts'],
                env: { SCALR_CREDD_TEST_STORE: 'postgres' },
              },
            },
          ]
        : []),
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The admin console in a real chromium against a real daemon and registry.
          name: 'browser',
          include: ['test/browser/**/*.browser.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'hardening',
          include: ['test/hardening/**/*.hardening.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
