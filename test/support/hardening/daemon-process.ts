/**
 * Runs scalr-credd as a real process (`node daemon/dist/main.js`): init, serve until ready, kill.
 * Kept minimal on purpose: the crash test starts it hundreds of times.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_MAIN, ROOT, assertDaemonBuilt, makeTempDir } from './env.js';
import type { Target } from './http.js';

/** The environment a daemon gets: nothing from the developer's shell that could change its behaviour. */
function daemonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...extra };
}

/** Creates a store with `scalr-credd init --json` and returns the first admin token (read from the file init wrote). */
export function initStore(dataDir: string): string {
  assertDaemonBuilt();
  const result = spawnSync(process.execPath, [DAEMON_MAIN, 'init', '--data-dir', dataDir, '--json'], {
    cwd: ROOT,
    env: daemonEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`scalr-credd init failed (${result.status}): ${result.stderr}`);
  // The token is not printed: it is written to a 0600 file in the data dir, whose path is printed.
  const parsed = JSON.parse(result.stdout) as { adminTokenFile?: unknown };
  if (typeof parsed.adminTokenFile !== 'string') throw new Error('scalr-credd init --json printed no adminTokenFile');
  // Read once and deleted, as init tells the operator: the data dir then holds no token value.
  const token = readFileSync(parsed.adminTokenFile, 'utf8').trim();
  unlinkSync(parsed.adminTokenFile);
  return token;
}

/** A new store in a temp dir of its own: `dir/data`, an empty `dir/home` for helper runs, and the first admin token. */
export interface FreshStore {
  dir: string;
  dataDir: string;
  home: string;
  adminToken: string;
}

/** Makes a temp dir (see makeTempDir; remove it with removeTempDir) and a new store in it. */
export function freshStore(label: string): FreshStore {
  const dir = makeTempDir(label);
  const home = join(dir, 'home');
  mkdirSync(home);
  const dataDir = join(dir, 'data');
  return { dir, dataDir, home, adminToken: initStore(dataDir) };
}

/** Runs another `scalr-credd` command to completion (admin CLI verbs, rotate, backup). */
export function runDaemonCli(args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  assertDaemonBuilt();
  const result = spawnSync(process.execPath, [DAEMON_MAIN, ...args], {
    cwd: ROOT,
    env: daemonEnv(options.env),
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** A running daemon. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dataDir: string;
  readonly socketPath: string;
  /** The TCP address when started with `tcp: true`. */
  readonly tcp: { host: string; port: number } | undefined;
  /** Milliseconds from spawn to the "listening" line. */
  readonly startMs: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Target for the Unix socket. */
  unix(): Target;
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** Sends SIGTERM and waits for a graceful exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Options of startDaemon. */
export interface StartOptions {
  dataDir: string;
  /** Also listen on 127.0.0.1 on a free port. */
  tcp?: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Copies of stdout and stderr are appended here (the "log files" the leak scan reads). */
  logFile?: string;
  readyTimeoutMs?: number;
  /** Called with the child right after spawn (to kill a daemon that is still starting). */
  onSpawn?: (child: ChildProcess) => void;
  /** Added to the daemon's environment (the cloud providers' endpoint overrides). */
  env?: Record<string, string>;
}

/** Starts `scalr-credd serve` on `dataDir/credd.sock` and resolves once it prints its listening line. */
export function startDaemon(options: StartOptions): Promise<DaemonProcess> {
  assertDaemonBuilt();
  const socketPath = join(options.dataDir, 'credd.sock');
  const args = [DAEMON_MAIN, 'serve', '--data-dir', options.dataDir, '--listen', `unix:${socketPath}`];
  if (options.tcp) args.push('--listen', '127.0.0.1:0');
  if (options.logLevel) args.push('--log-level', options.logLevel);
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: daemonEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  options.onSpawn?.(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  const stdoutText = () => Buffer.concat(out).toString('utf8');
  const stderrText = () => Buffer.concat(err).toString('utf8');

  return new Promise<DaemonProcess>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daemon not ready within ${options.readyTimeoutMs ?? 15_000} ms; stderr: ${stderrText().slice(-2000)}`));
    }, options.readyTimeoutMs ?? 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out.push(chunk);
      if (options.logFile) appendFileSync(options.logFile, chunk);
      if (ready) return;
      const match = /listening on (.*)\n/.exec(stdoutText());
      if (!match) return;
      ready = true;
      clearTimeout(timer);
      const tcpMatch = /http:\/\/127\.0\.0\.1:(\d+)/.exec(match[1]!);
      const daemon: DaemonProcess = {
        child,
        pid: child.pid!,
        dataDir: options.dataDir,
        socketPath,
        tcp: tcpMatch ? { host: '127.0.0.1', port: Number(tcpMatch[1]) } : undefined,
        startMs: performance.now() - started,
        exited,
        stdout: stdoutText,
        stderr: stderrText,
        unix: () => ({ socketPath }),
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        async stop(graceMs = 10_000) {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(timer);
          return result;
        },
      };
      resolve(daemon);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err.push(chunk);
      if (options.logFile) appendFileSync(options.logFile, chunk);
    });
    void exited.then(({ code, signal }) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new DaemonStartError(code, signal, stdoutText(), stderrText()));
    });
  });
}

/** The daemon exited before it was ready. */
export class DaemonStartError extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`daemon exited before it was ready (code ${code}, signal ${signal}): ${stderr.trim().slice(0, 2000)}`);
  }
}

/** Starts a daemon that is expected to refuse to start; resolves with its exit and output. */
export async function startDaemonExpectingRefusal(options: StartOptions): Promise<DaemonStartError> {
  try {
    const daemon = await startDaemon(options);
    await daemon.kill();
  } catch (error) {
    if (error instanceof DaemonStartError) return error;
    throw error;
  }
  throw new Error('the daemon started although it should have refused');
}
