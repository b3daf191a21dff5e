/**
 * The seam between the helper and its runtime. Everything above it (runHelper, configure, the config
 * and the daemon backend) is shared and pure; below it, one small HelperPlatform per runtime:
 * node-platform.ts (the npm `.bin` entry, the tests) and bun-platform.ts (the packaged binary).
 *
 * Each platform must keep:
 * - stdin: get, store and erase read to EOF; any other invocation drains a pipe or file for at most
 *   NON_INPUT_STDIN_WAIT_MS and never waits on a terminal or /dev/null;
 * - stdout and stderr written completely before the exit, also to a pipe (no truncation at 64 KiB),
 *   and a closed reader (EPIPE) ending the run quietly with the exit code, not with a stack trace;
 * - one deadline per daemon request (the config's timeoutMs, 2 s by default);
 * - byte-exact output: what runHelper returns is what the client reads.
 */
import type { RequestJson } from '@dcs/shared/http-client';
import { createLazyBackend, type CredentialBackend } from './credential-backend.js';
import { createDaemonBackend, type DaemonBackend } from './daemon-backend.js';
import { loadHelperConfig, type HelperConfig } from './helper-config.js';
import { runHelper } from './run-helper.js';

export { takesInput } from './input-verbs.js';

/**
 * How long other invocations (list, version, usage) wait for the end of stdin. The Go client writes
 * "unused" to `list` and closes stdin at once, so the end is normally there before the helper has
 * started; a client that never closes stdin (a Node `execFile` without `stdin.end()`) must not hang it.
 */
export const NON_INPUT_STDIN_WAIT_MS = 100;

/** Says whether the command line is configure or unconfigure rather than a protocol verb. */
export function isConfigureCommand(args: readonly string[]): boolean {
  return args[0] === 'configure' || args[0] === 'unconfigure';
}

/** The commands for people that are no protocol verb: each is loaded on demand, never by a lookup. */
function isToolCommand(args: readonly string[]): boolean {
  return isConfigureCommand(args) || args[0] === 'doctor' || args[0] === 'install';
}

/** What one run prints and its exit code. */
export interface MainResult {
  readonly stdout: string;
  readonly stderr?: string;
  readonly exitCode: number;
}

/** What the helper needs from its runtime. */
export interface HelperPlatform {
  /** The arguments after the program name. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdin as UTF-8, read as `takesInput(args)` says; never rejects. */
  readInput(args: readonly string[]): Promise<string>;
  /** Reads a whole text file; rejects with an error whose `code` says why (ENOENT, EACCES…). */
  readTextFile(path: string): Promise<string>;
  /** The user's home directory (loaded only when asked). */
  homeDir(): string;
  /** The host name (asked only when SCALR_CREDD_URL lists several daemons: it picks the first one). */
  hostName(): string;
  /** One HTTP request to the daemon over TCP, a Unix socket or TLS. */
  readonly requestJson: RequestJson;
  /** Writes stdout and stderr completely (a closed reader is ignored), then exits with the code. */
  finish(result: MainResult): Promise<never>;
}

const INTERNAL_ERROR: MainResult = { stdout: 'docker-credential-scalr: internal error\n', stderr: '', exitCode: 1 };

/** Runs one invocation of docker-credential-scalr on a platform: a protocol verb, or configure/unconfigure. */
export async function runMain(platform: HelperPlatform): Promise<never> {
  const { args, env } = platform;
  const loadConfig = () => loadHelperConfig(env, (path) => platform.readTextFile(path), () => platform.homeDir());
  const connect = (config: HelperConfig) => createDaemonBackend({ ...config, request: platform.requestJson, hostName: () => platform.hostName() });
  const backend = createLazyBackend(async () => connect(await loadConfig()));
  let result: MainResult;
  try {
    if (isToolCommand(args)) {
      result = await runToolCommand(args, { env, homeDir: platform.homeDir(), backend, loadConfig, connect });
    } else {
      const action = args.length === 1 ? args[0] : undefined;
      result = await runHelper({ action, stdin: await platform.readInput(args) }, backend);
    }
  } catch {
    result = INTERNAL_ERROR;
  }
  return platform.finish(result);
}

/** configure, unconfigure, doctor and install, each loaded on demand: their file handling is no part of a lookup's start-up. */
async function runToolCommand(
  args: readonly string[],
  deps: {
    env: HelperPlatform['env'];
    homeDir: string;
    backend: CredentialBackend;
    loadConfig: () => Promise<HelperConfig>;
    connect: (config: HelperConfig) => DaemonBackend;
  },
): Promise<MainResult> {
  if (args[0] === 'doctor') {
    const { runDoctorCommand } = await import('./doctor.js');
    return runDoctorCommand(args.slice(1), deps);
  }
  if (args[0] === 'install') {
    const { runInstallCommand } = await import('./install-cli.js');
    return runInstallCommand(args.slice(1), deps);
  }
  const { runConfigureCommand } = await import('./configure-cli.js');
  return runConfigureCommand(args, deps);
}
