// Runs vitest with a JSON report and ends with one plain line "N passed, N failed" (", N skipped" when
// some were), so a run that executed no test is visible: it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Runs `vitest run ARGS` in `root`, prints the summary line and returns the exit status to use. */
export function runVitestWithSummary(root, args, reportName = 'vitest-report.json') {
  const report = join(root, '.cache', reportName);
  mkdirSync(dirname(report), { recursive: true });
  rmSync(report, { force: true });
  const status =
    spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], { cwd: root, stdio: 'inherit' }).status ?? 1;

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
