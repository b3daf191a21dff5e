#!/usr/bin/env node
// Runs the test suites the way CI does: build (incremental), type-check the tests, lint, the helper's single-file binary for
// this machine, then vitest; ends with one plain line "N passed, N failed" taken from vitest's
// JSON report, so a run that executed no test is visible. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runVitestWithSummary } from './lib/vitest-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);
// The tests are TypeScript too: strict type errors in them fail the run like errors in the sources.
if (run('npx', ['tsc', '-p', 'tsconfig.test.json']) !== 0) process.exit(1);
// Lint keeps the layout: where the environment is read, which layer imports which, no import cycles.
if (run('npm', ['run', '--silent', 'lint']) !== 0) process.exit(1);
if (run('npm', ['run', '--silent', 'build:binary', '--', '--arch', process.arch]) !== 0) process.exit(1);

process.exit(runVitestWithSummary(root, process.argv.slice(2)));
