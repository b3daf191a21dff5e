import { readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { isConfigureCommand, runConfigureCommand } from './configure-cli.js';
import { createLazyBackend } from './credential-backend.js';
import { createDaemonBackend } from './daemon-backend.js';
import { loadHelperConfig } from './helper-config.js';
import { isCharacterDevice, readInput } from './read-input.js';
import { runHelper } from './run-helper.js';

const args = process.argv.slice(2);
const backend = createLazyBackend(() => createDaemonBackend(loadHelperConfig(process.env, (path) => readFileSync(path, 'utf8'), homedir())));

async function main(): Promise<{ stdout: string; stderr?: string; exitCode: number }> {
  if (isConfigureCommand(args)) return runConfigureCommand(args, { env: process.env, homeDir: homedir(), backend });
  const action = args.length === 1 ? args[0] : undefined;
  return runHelper({ action, stdin: await readInput(args, isCharacterDevice(0), () => process.stdin, (buffer) => readSync(0, buffer)) }, backend);
}

/**
 * Resolves once `text` was handed to the OS (at once when empty). A failed write (the client closed
 * its end: EPIPE) resolves too, instead of surfacing as an uncaught stream error with a stack trace.
 */
function written(stream: NodeJS.WriteStream, text: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!text) return resolve();
    stream.on('error', () => resolve());
    stream.write(text, () => resolve());
  });
}

main()
  .catch(() => ({ stdout: 'docker-credential-scalr: internal error\n', stderr: '', exitCode: 1 }))
  .then(async ({ stdout, stderr, exitCode }) => {
    await Promise.all([written(process.stdout, stdout), written(process.stderr, stderr)]);
    // Nothing is left to do once the answer is out; waiting for the event loop to wind down (the
    // daemon connection closing) cost about half a millisecond of every run.
    process.exit(exitCode);
  });
