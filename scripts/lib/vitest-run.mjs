// Runs vitest with a JSON report and ends with one plain line "N passed, N failed" (", N skipped" when
// some were), so a run that executed no test is visible: it fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Runs `vitest run ARGS` in `root`, prints the summary line and resolves to the exit status to use.
 * Options: `reportName` (the JSON report's file name under .cache/), `env` (vitest's environment;
 * default this process's), `signal` (an AbortSignal: aborting it sends vitest SIGTERM).
 */
export async function runVitestWithSummary(root, args, { reportName = 'vitest-report.json', env = process.env, signal } = {}) {
  const report = join(root, '.cache', reportName);
  mkdirSync(dirname(report), { recursive: true });
  rmSync(report, { force: true });
  const child = spawn('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], { cwd: root, env, stdio: 'inherit', signal });
  const status = await new Promise((resolve) => {
    child.on('error', (error) => {
      if (error.name !== 'AbortError') console.error(`vitest could not run: ${error.message}`);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });

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
