// A throwaway PostgreSQL cluster for the test suites and the bench: initdb into a fresh temp dir, started
// with a Unix socket only (no TCP), trust auth for the `postgres` user, and durability off (fsync,
// synchronous_commit, full_page_writes) unless `durable: true` asks for the server's defaults, as a
// production cluster runs (the bench). Used by scripts/test.mjs, which passes its URL to vitest as
// SCALR_CREDD_TEST_PG, and by scripts/bench/run.mjs.
//
//   const cluster = await startPgCluster();
//   cluster.url   // postgres://postgres@localhost/postgres?host=/tmp/scalr-credd-pg-XXXXXX
//   cluster.stop();
//
// initdb and pg_ctl refuse to run as root: as root the temp dir is handed to the `postgres` user and both
// run through `runuser -u postgres --`. The temp dir (data dir, socket, server log) stays mode 0700, so only
// its owner and root reach the socket.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Where Debian installs each PostgreSQL major's programs (initdb and pg_ctl are not on PATH there). */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** A Unix socket's path is at most 107 bytes on Linux; the server's socket is `<dir>/.s.PGSQL.5432`. */
const MAX_SOCKET_PATH = 107;
const SOCKET_NAME = '.s.PGSQL.5432';

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Returns the path of a PostgreSQL program (`initdb`, `pg_ctl`, `psql`…): on PATH, else in the newest
 * /usr/lib/postgresql/<major>/bin; undefined when there is none.
 */
export function findPgBin(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  if (!existsSync(DEBIAN_PG_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_PG_ROOT).filter((entry) => /^\d+(\.\d+)?$/.test(entry));
  majors.sort((a, b) => Number(b) - Number(a));
  return majors.map((major) => join(DEBIAN_PG_ROOT, major, 'bin', name)).find(isExecutable);
}

/** The programs of one installation: pg_ctl beside initdb (following a PATH symlink), so the versions match. */
function findInstallation() {
  const initdb = findPgBin('initdb');
  if (!initdb) throw new Error(`initdb not found on PATH or under ${DEBIAN_PG_ROOT}/*/bin (Debian package: postgresql)`);
  const beside = join(dirname(realpathSync(initdb)), 'pg_ctl');
  const pgCtl = isExecutable(beside) ? beside : findPgBin('pg_ctl');
  if (!pgCtl) throw new Error(`pg_ctl not found beside ${initdb}`);
  return { initdb, pgCtl };
}

/** The uid and gid of the `postgres` user, who runs the server when we are root. */
async function postgresUser() {
  try {
    const [uid, gid] = await Promise.all(['-u', '-g'].map(async (flag) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim())));
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no `postgres` user to run the PostgreSQL server as (Debian package: postgresql)');
  }
}

/** A single-quoted word for the shell that pg_ctl starts the server with. */
const shellWord = (text) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * Starts a fresh cluster and resolves once it accepts connections. `options.maxConnections` (default 300)
 * sets max_connections; `options.durable` (default false) turns fsync, synchronous_commit and
 * full_page_writes on, so that every commit reaches the disk before it is acknowledged.
 * Returns { url, socketDir, dataDir, logFile, stop, postmasterPid }: `url` is a node-postgres
 * connection string for user postgres, database postgres, over the socket; `stop()` is synchronous and
 * idempotent: it stops the server (immediate mode) and removes the temp dir. The cluster is also stopped
 * when the process exits normally; on a signal, the caller stops it. `postmasterPid()` reads the PID
 * file (undefined once stopped).
 */
export async function startPgCluster(options = {}) {
  const { maxConnections = 300, durable = false } = options;
  const { initdb, pgCtl } = findInstallation();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;

  // /tmp when TMPDIR is so long that the socket's path would not fit.
  const base = join(tmpdir(), 'scalr-credd-pg-XXXXXX', SOCKET_NAME).length <= MAX_SOCKET_PATH ? tmpdir() : '/tmp';
  const dir = mkdtempSync(join(base, 'scalr-credd-pg-'));
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'log');
  const socketDir = dir;

  // As root, PostgreSQL's programs run as `postgres`; the cwd is the temp dir, which that user can enter.
  const pgCommand = (program, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args]);
  const childOptions = { cwd: dir, env: { ...process.env, LC_MESSAGES: 'C' } };

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      const [command, args] = pgCommand(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      const result = spawnSync(command, args, { ...childOptions, encoding: 'utf8' });
      if (result.status !== 0) killPostmaster(dataDir);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);

  const runPg = async (program, args) => {
    const [command, commandArgs] = pgCommand(program, args);
    try {
      await execFileAsync(command, commandArgs, childOptions);
    } catch (error) {
      const output = `${error.stderr ?? ''}${error.stdout ?? ''}`.trim();
      throw new Error(`${basename(program)} failed: ${output || error.message}`, { cause: error });
    }
  };

  try {
    const initArgs = (locale) => ['--no-sync', '--auth=trust', '-U', 'postgres', '-E', 'UTF8', `--locale=${locale}`, '-D', dataDir];
    try {
      await runPg(initdb, initArgs('C.UTF-8'));
    } catch {
      // A libc without the C.UTF-8 locale: plain C (the encoding stays UTF8).
      rmSync(dataDir, { recursive: true, force: true });
      await runPg(initdb, initArgs('C'));
    }
    const settings = [
      `-k ${shellWord(socketDir)}`,
      "-c listen_addresses=''",
      ...(durable ? ['-c fsync=on', '-c synchronous_commit=on', '-c full_page_writes=on'] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      `-c max_connections=${Number(maxConnections)}`,
    ].join(' ');
    try {
      await runPg(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-o', settings, 'start']);
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
      throw new Error(`${error.message}${log ? `\nserver log:\n${log}` : ''}`, { cause: error });
    }
  } catch (error) {
    stop();
    throw error;
  }

  const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(socketDir).replaceAll('%2F', '/')}`;
  return { url, socketDir, dataDir, logFile, stop, postmasterPid: () => postmasterPid(dataDir) };
}

/** The PID of the cluster's postmaster (its PID file's first line), or undefined when it is not running. */
function postmasterPid(dataDir) {
  let pid;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Last resort when `pg_ctl stop` failed: SIGKILL the postmaster this cluster started. */
function killPostmaster(dataDir) {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
