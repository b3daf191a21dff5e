#!/usr/bin/env node
// `npm run test:release`: the release suite (test/release), which builds release/ with `npm run release`
// or reuses it when it was built from the same sources. Ends with one plain line "N passed, N failed".
// Extra arguments go to vitest.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runVitestWithSummary } from '../lib/vitest-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.exit(await runVitestWithSummary(root, ['--config', 'test/release/vitest.config.ts', ...process.argv.slice(2)], { reportName: 'vitest-release-report.json' }));
