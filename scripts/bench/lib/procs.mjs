// Child processes for the bench: long-running servers (the daemon, the baseline server) and timed
// short-lived processes (helper invocations). Every child is tracked and killed by its PID when the
// bench ends, however it ends; every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set();

/** Kills every child still running (by PID, SIGKILL). Safe to call more than once. */
export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  children.clear();
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Starts a server process and waits (at most `timeoutMs`) until its stdout matches `ready`.
 * Returns the child, the match, its output so far and a stop() that sends SIGTERM to its PID and
 * waits for the exit (SIGKILL after 10 s).
 */
export async function startServer(command, args, { env, cwd, ready, timeoutMs = 30_000 }) {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => (children.delete(child), resolve({ code, signal }))));

  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} was not ready within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    const check = () => {
      const found = ready.exec(stdout);
      if (found) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(found);
      }
    };
    child.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });

  return {
    pid: child.pid,
    match,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Runs one process to its end with `stdin` and returns the wall time from spawn() to the closing of
 * its stdio (the way a credential-helper client waits for it), its exit code and output.
 * The process is killed after `timeoutMs`.
 */
export function timeProcess(command, args, { env, stdin = '', timeoutMs = 30_000 }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), timeoutMs);
    child.once('error', (error) => (clearTimeout(timer), children.delete(child), reject(error)));
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      children.delete(child);
      resolve({ ms, code, signal, stdout, stderr });
    });
  });
}

/** Runs a command synchronously (builds); returns its status and output. */
export function runSync(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

let clockTicks;

/**
 * User + system CPU time of a process so far, in milliseconds (from /proc/PID/stat); with
 * `reapedChildren`, plus that of its children that have ended and been waited for.
 */
export function cpuTimeMs(pid, { reapedChildren = false } = {}) {
  clockTicks ??= Number(runSync('getconf', ['CLK_TCK']).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reapedChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / clockTicks;
}

/**
 * CPU time of a server made of a parent and its child processes (PostgreSQL's postmaster and its
 * backends), in milliseconds: the parent's own time, the time of its children that have exited and been
 * reaped (cutime, cstime), and the time of the children running now (`pgrep -P`).
 */
export function processTreeCpuTimeMs(pid) {
  const children = runSync('pgrep', ['-P', String(pid)]).stdout.split('\n').filter(Boolean).map(Number);
  let total = cpuTimeMs(pid, { reapedChildren: true });
  for (const child of children) {
    try {
      total += cpuTimeMs(child);
    } catch {
      // Ended since pgrep listed it: its time is in the parent's cutime now (or will be).
    }
  }
  return total;
}

/** VmRSS and VmHWM of a process, in MiB (from /proc/PID/status). */
export function memoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  };
  return { rss: read('VmRSS'), hwm: read('VmHWM') };
}
