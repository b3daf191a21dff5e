/**
 * Real processes for end-to-end suites: the `scalr-credd` daemon on a temp data dir, the admin CLI,
 * and any other command. Output is captured byte for byte (for leak scans); every child and temp
 * dir is tracked and removed when the test file ends, even when a test fails half-way.
 *
 * Needs the build (`npx tsc -b` or `npm run build`): it runs daemon/bin/scalr-credd.js → dist/main.js.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The daemon's bin script, as `npm install` links it to node_modules/.bin/scalr-credd. */
export const DAEMON_BIN = join(REPO_ROOT, 'daemon', 'bin', 'scalr-credd.js');

/** A token value as the daemon mints it. */
export const TOKEN_PATTERN = /scd_tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;

// One registry per process, whichever copy of this module (one per test file) made the entry.
interface Registry {
  children: Set<ChildProcess>;
  tempDirs: Set<string>;
}
const REGISTRY_KEY = Symbol.for('scalr-credd.e2e.processes');
const globals = globalThis as { [REGISTRY_KEY]?: Registry };
const registry: Registry = globals[REGISTRY_KEY] ?? (globals[REGISTRY_KEY] = { children: new Set(), tempDirs: new Set() });
const { children, tempDirs } = registry;
if (process.listeners('exit').every((listener) => listener.name !== 'cleanupProcesses')) process.once('exit', cleanupProcesses);

/** Kills every child still running (SIGKILL) and removes every temp dir made here. */
export function cleanupProcesses(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// The safety net: after each test file (whatever happened in it), and when the worker exits.
try {
  afterAll(cleanupProcesses);
} catch {
  // Imported outside a test file's collection (e.g. from a global setup): the exit hook still applies.
}

/** Makes a private (0700) temp dir, removed when the test file ends. */
export function makeTempDir(prefix = 'scalr-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o700);
  tempDirs.add(dir);
  return dir;
}

/**
 * The environment children get: PATH and locale only, HOME in a temp dir (so nothing reads or
 * writes the real ~/.docker or ~/.local/share), no SCALR_CREDD_* from the outer shell; then `extra`
 * (a value of undefined removes a variable).
 */
export function childEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOME: homeDir(), TMPDIR: tmpdir() };
  for (const name of ['PATH', 'LANG', 'LC_ALL', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

let home: string | undefined;

/** The HOME children get: one temp dir per test file. */
export function homeDir(): string {
  if (home === undefined || !existsSync(home)) home = makeTempDir('scalr-e2e-home-');
  return home;
}

/** What a finished process left. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, as bytes. */
  output: Buffer;
}

/** Options of runProcess and runCli. */
export interface RunOptions {
  /** Written to stdin, which is then closed; stdin is empty when absent. */
  stdin?: string | Buffer;
  /** Added to childEnv(); undefined removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Safety limit: the process is killed and the promise rejects after this long (default 60 s). */
  timeoutMs?: number;
}

/** Runs a command to its end and returns its exit code and output. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: childEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin!.on('error', () => undefined); // the child may exit before reading its stdin
  child.stdin!.end(options.stdin ?? '');
  const limit = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${command} ${args.join(' ')} did not finish within ${limit} ms; killed.\nstdout: ${Buffer.concat(stdout).toString()}\nstderr: ${Buffer.concat(stderr).toString()}`,
        ),
      );
    }, limit);
    child.once('error', (error) => (clearTimeout(timer), children.delete(child), reject(error)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const out = Buffer.concat(stdout);
      const err = Buffer.concat(stderr);
      resolve({ code, signal, stdout: out.toString('utf8'), stderr: err.toString('utf8'), output: Buffer.concat([out, err]) });
    });
  });
}

/** A long-running process started by startProcess. */
export interface BackgroundProcess {
  pid: number;
  /** Output so far, stdout then stderr, as text. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends SIGKILL (when still running) and waits for the exit. */
  kill(): Promise<number | null>;
}

/** Starts a long-running command (a proxy, a server) in the background; it is killed when the test file ends at the latest. */
export function startProcess(command: string, args: readonly string[], options: Pick<RunOptions, 'env' | 'cwd'> = {}): BackgroundProcess {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    pid: child.pid!,
    output: () => Buffer.concat(chunks).toString('utf8'),
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Runs `scalr-credd ARGS` (the built bin script, with this Node) to its end. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  assertBuilt();
  return runProcess(process.execPath, [DAEMON_BIN, ...args], options);
}

/** Options of startDaemon. */
export interface StartDaemonOptions {
  /** The program and leading arguments that run scalr-credd (e.g. a release's bin/scalr-credd); default: this Node with the bin script. */
  command?: readonly string[];
  /** The data dir; default: `data` in a new temp dir (created by the daemon, 0700). */
  dataDir?: string;
  /** `--listen` values; default: TCP on 127.0.0.1 with a free port and `unix:DATA_DIR/credd.sock`. */
  listen?: string[];
  /** Further `serve` arguments (e.g. `--root-key-file`, `--log-level debug`). */
  args?: string[];
  /** Added to childEnv(); undefined removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Safety limit for the `listening on` line (default 30 s). */
  startTimeoutMs?: number;
}

/** A running `scalr-credd serve`. */
export interface RunningDaemon {
  pid: number;
  dataDir: string;
  /** Every address it listens on, as it printed them (`http://127.0.0.1:PORT`, `unix:PATH`). */
  urls: string[];
  /** The TCP URL when it listens on TCP, else the socket URL. */
  url: string;
  /** The socket URL when it listens on a Unix socket. */
  socketUrl: string | undefined;
  /** The admin token a first serve prints once; undefined on a later start. */
  adminToken: string | undefined;
  /** Output so far, as text. */
  logs(): { stdout: string; stderr: string };
  /** Output so far, stdout then stderr, as bytes (for leak scans). */
  output(): Buffer;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends SIGTERM and waits for the exit; rejects (after a SIGKILL) if it does not stop within 20 s. */
  stop(): Promise<number | null>;
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<number | null>;
}

/** Starts `scalr-credd serve`, waits for its `listening on` line and parses what it printed. */
export async function startDaemon(options: StartDaemonOptions = {}): Promise<RunningDaemon> {
  if (options.command === undefined) assertBuilt();
  const [program, ...lead] = options.command ?? [process.execPath, DAEMON_BIN];
  const dataDir = options.dataDir ?? join(makeTempDir('scalr-e2e-'), 'data');
  const listen = options.listen ?? ['127.0.0.1:0', `unix:${join(dataDir, 'credd.sock')}`];
  const args = [...lead, 'serve', '--data-dir', dataDir, ...listen.flatMap((address) => ['--listen', address]), ...(options.args ?? [])];
  const child = spawn(program!, args, { cwd: REPO_ROOT, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const logs = () => ({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );

  const listeningLine = await new Promise<string>((resolve, reject) => {
    const limit = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`scalr-credd serve printed no "listening on" line within ${limit} ms; killed.\n${describeLogs(logs())}`));
    }, limit);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      const match = /^.* listening on (.+)$/m.exec(Buffer.concat(stdout).toString('utf8'));
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`scalr-credd serve exited with code ${code} before listening.\n${describeLogs(logs())}`));
    });
  });

  const urls = listeningLine.split(', ').map((url) => url.trim());
  const socketUrl = urls.find((url) => url.startsWith('unix:'));
  const tcpUrl = urls.find((url) => url.startsWith('http://') || url.startsWith('https://'));
  const banner = logs().stdout;
  const stopWith = async (signal: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`scalr-credd did not exit within 20 s of ${signal}; killed.\n${describeLogs(logs())}`));
      }, 20_000);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    pid: child.pid!,
    dataDir,
    urls,
    url: tcpUrl ?? socketUrl!,
    socketUrl,
    adminToken: firstAdminToken(banner),
    logs,
    output: () => Buffer.concat([...stdout, ...stderr]),
    exited,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

/** The first serve writes the admin token to a 0600 file and prints its path (or, with --print-token, the token). */
function firstAdminToken(banner: string): string | undefined {
  const file = /^Admin token written to (\S+) \(mode 0600/m.exec(banner)?.[1];
  return file ? readFileSync(file, 'utf8').trim() : TOKEN_PATTERN.exec(banner)?.[0];
}

function describeLogs({ stdout, stderr }: { stdout: string; stderr: string }): string {
  return `stdout:\n${stdout}\nstderr:\n${stderr}`;
}

let buildChecked = false;

/** Fails clearly when the daemon is not built, and warns when its sources are newer than the build. */
function assertBuilt(): void {
  if (buildChecked) return;
  const buildInfo = join(REPO_ROOT, 'daemon', 'dist', '.tsbuildinfo');
  if (!existsSync(join(REPO_ROOT, 'daemon', 'dist', 'main.js')) || !existsSync(buildInfo)) {
    throw new Error('daemon/dist is missing: run `npx tsc -b` (or `npm run build`) before the e2e tests');
  }
  const builtAt = statSync(buildInfo).mtimeMs;
  const newer = [join(REPO_ROOT, 'daemon', 'src'), join(REPO_ROOT, 'shared', 'src')].flatMap((dir) => sourcesNewerThan(dir, builtAt));
  if (newer.length) {
    process.stderr.write(`warning: ${newer.length} source file(s) changed since the last build (e.g. ${newer[0]}); run \`npx tsc -b\`\n`);
  }
  buildChecked = true;
}

function sourcesNewerThan(dir: string, time: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourcesNewerThan(path, time));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && statSync(path).mtimeMs > time) found.push(path);
  }
  return found;
}

/** Creates a dir (and parents) with mode 0700. */
export function makePrivateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}
