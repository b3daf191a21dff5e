/** Runs the real docker-credential-scalr as a child process: the npm entry (the bundle on Node) or the packaged binary (Bun). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HELPER_BUNDLE, HELPER_ENTRIES, NPM_ENTRY, buildHelperEntries, type HelperEntry } from '../helper-entries.js';

/** One way to run the helper. */
export type HelperExe = HelperEntry;

/** The npm entry: the bundle, run with this Node; throws when it was not built. */
export function bundledHelper(): HelperExe {
  if (!existsSync(HELPER_BUNDLE)) throw new Error(`${HELPER_BUNDLE} is missing: run npm run build`);
  return NPM_ENTRY;
}

/** Both ways the helper ships, built from the current sources. */
export function helperExes(): readonly HelperExe[] {
  buildHelperEntries();
  return HELPER_ENTRIES;
}

/** What one helper run produced. */
export interface HelperRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** The helper's environment: only what it reads, plus PATH and a private HOME. */
export function helperEnv(settings: { url: string; token?: string; timeoutMs?: number; home: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: settings.home,
    SCALR_CREDD_URL: settings.url,
    ...(settings.token === undefined ? {} : { SCALR_CREDD_TOKEN: settings.token }),
    ...(settings.timeoutMs === undefined ? {} : { SCALR_CREDD_TIMEOUT_MS: String(settings.timeoutMs) }),
  };
}

/** Runs the helper with `args`, writes `stdin` and closes it; a run longer than `killAfterMs` is killed. */
export function runHelperProcess(
  exe: HelperExe,
  args: readonly string[],
  stdin: string | Buffer,
  env: NodeJS.ProcessEnv,
  killAfterMs = 30_000,
): Promise<HelperRun> {
  const started = performance.now();
  const child = spawn(exe.command, [...exe.args, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  // The helper may exit before reading everything (EPIPE): that is its right, not a test failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(stdin);
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise<HelperRun>((resolve, reject) => {
    child.once('error', (error) => (clearTimeout(killer), reject(error)));
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), ms: performance.now() - started });
    });
  });
}
