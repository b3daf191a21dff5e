// Running build tools from the scripts: each call either returns stdout or throws one clear error.
import { spawnSync } from 'node:child_process';

/** Runs a command and returns its stdout; throws with its stderr when it cannot run or exits non-zero. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stderr || result.stdout}`);
  return result.stdout;
}
