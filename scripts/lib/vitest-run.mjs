// Runs vitest with a JSON report and ends with one plain line "N passed, N failed" (", N skipped" when
// some were), so a run that executed no test is visible: it fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Runs `vitest run ARGS` in `root`, prints the summary line and resolves to the exit status to use.
 * Options: `reportName` (the JSON report's file name under .cache/), `env` (vitest's environment;
 * default this process's), `signal` (an AbortSignal: aborting it sends SIGTERM to vitest and its workers).
 */
export async function runVitestWithSummary(root, args, { reportName = 'vitest-report.json', env = process.env, signal } = {}) {
  const report = join(root, '.cache', reportName);
  mkdirSync(dirname(report), { recursive: true });
  rmSync(report, { force: true });
  // A process group of its own, so that a stop reaches vitest itself: npx does not pass SIGTERM on.
  const child = spawn('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
    cwd: root,
    env,
    stdio: 'inherit',
    detached: signal !== undefined,
  });
  const signalGroup = (name) => {
    try {
      process.kill(-child.pid, name);
      return true;
    } catch {
      return false; // The group is gone.
    }
  };
  const stop = () => signalGroup('SIGTERM');
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const status = await new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`vitest could not run: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
  signal?.removeEventListener('abort', stop);
  if (signal?.aborted) {
    // npx ends at once; vitest and its workers take a moment: wait for them (10 s at most, then SIGKILL).
    for (let waited = 0; signalGroup(0) && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    signalGroup('SIGKILL');
  }

  if (!existsSync(report)) {
    console.log('0 passed, 0 failed');
    console.error('vitest wrote no report: no test ran');
    return status === 0 ? 1 : status;
  }
  const { numPassedTests = 0, numFailedTests = 0, numPendingTests = 0, numTodoTests = 0, numTotalTests = 0 } = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = numPendingTests + numTodoTests;
  console.log(`${numPassedTests} passed, ${numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return status !== 0 ? status : numTotalTests === 0 ? 1 : 0;
}
