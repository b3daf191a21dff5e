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

main()
  .catch(() => ({ stdout: 'docker-credential-scalr: internal error\n', stderr: '', exitCode: 1 }))
  .then(({ stdout, stderr, exitCode }) => {
    process.stdout.write(stdout);
    if (stderr) process.stderr.write(stderr);
    process.exitCode = exitCode;
  });
