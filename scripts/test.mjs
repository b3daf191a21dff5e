#!/usr/bin/env node
// Runs the test suites the way CI does: build (incremental), type-check the tests, lint, the helper's single-file binary for
// this machine, then vitest; ends with one plain line "N passed, N failed" taken from vitest's
// JSON report, so a run that executed no test is visible. Extra arguments go to vitest.
//
// The PostgreSQL suites read SCALR_CREDD_TEST_PG. When it is not set and initdb is installed, a throwaway
// cluster (scripts/lib/pg-cluster.mjs) serves this run and is stopped when vitest ends or on SIGINT/SIGTERM.
// Set it to a URL to use that server instead, or to the empty string to run without PostgreSQL.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPgBin, startPgCluster } from './lib/pg-cluster.mjs';
import { runVitestWithSummary } from './lib/vitest-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);
// The tests are TypeScript too: strict type errors in them fail the run like errors in the sources.
if (run('npx', ['tsc', '-p', 'tsconfig.test.json']) !== 0) process.exit(1);
// Lint keeps the layout: where the environment is read, which layer imports which, no import cycles.
if (run('npm', ['run', '--silent', 'lint']) !== 0) process.exit(1);
if (run('npm', ['run', '--silent', 'build:binary', '--', '--arch', process.arch]) !== 0) process.exit(1);

// A first SIGINT/SIGTERM stops vitest, then the cluster; a second one stops the cluster at once.
let cluster;
let signalled;
const abort = new AbortController();
const onSignal = (signal) => {
  if (signalled) {
    cluster?.stop();
    process.exit(1);
  }
  signalled = signal;
  abort.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const exitCode = (status) => (signalled ? 128 + (signalled === 'SIGINT' ? 2 : 15) : status);

cluster = await startTestCluster();
if (signalled) {
  cluster?.stop();
  process.exit(exitCode(1));
}
const env = cluster ? { ...process.env, SCALR_CREDD_TEST_PG: cluster.url } : process.env;
const status = await runVitestWithSummary(root, process.argv.slice(2), { env, signal: abort.signal });
cluster?.stop();
process.exit(exitCode(status));

/** The cluster for the PostgreSQL suites, or undefined when SCALR_CREDD_TEST_PG is set or initdb is missing. */
async function startTestCluster() {
  if (process.env.SCALR_CREDD_TEST_PG !== undefined) return undefined;
  if (!findPgBin('initdb')) {
    const outcome = process.env.CI === 'true' ? 'fail (CI=true)' : 'skip';
    console.log(`initdb not found (Debian package: postgresql): the PostgreSQL suites will ${outcome}`);
    return undefined;
  }
  const started = Date.now();
  try {
    const pgCluster = await startPgCluster();
    console.log(`PostgreSQL test cluster on ${pgCluster.socketDir} (started in ${Date.now() - started} ms)`);
    return pgCluster;
  } catch (error) {
    console.error(`the PostgreSQL test cluster did not start: ${error.message}`);
    console.error('(SCALR_CREDD_TEST_PG= runs without PostgreSQL; SCALR_CREDD_TEST_PG=URL uses that server)');
    process.exit(1);
  }
}
