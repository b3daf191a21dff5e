import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.js';
import type { StorePaths } from './store-paths.js';

/**
 * The data dir's serve lock: `serve` holds it for as long as it runs, `restore` refuses while anyone
 * holds it, and a second `serve` of the same data dir refuses to start. It works whatever the daemon
 * listens on (a socket elsewhere, TCP only), which probing the data dir's socket did not.
 *
 * The lock is an fcntl lock, taken through SQLite (Node has no fcntl): a small database `serve.lock`
 * opened with `locking_mode = EXCLUSIVE` keeps the exclusive lock of its first write until the
 * connection closes. The kernel drops it when the process dies, however it dies, so there is no stale
 * pid file to clean up and no pid to be reused; a checker that cannot get even a shared lock without
 * waiting knows that a live process holds it. It needs a local file system, like the database itself.
 */

/** The lock file's name in the data dir. */
export const SERVE_LOCK_FILE = 'serve.lock';

/** A held serve lock. */
export interface ServeLock {
  release(): void;
}

/** Takes the serve lock of the data dir; throws ConfigError when another process serves it. */
export function acquireServeLock(paths: Pick<StorePaths, 'dataDir'>): ServeLock {
  const path = lockPath(paths);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new ConfigError(`another scalr-credd serves ${paths.dataDir} (it holds ${path}); stop it first`);
    throw error;
  }
  return {
    release() {
      if (db.open) db.close();
    },
  };
}

/** Whether a live process holds the serve lock of the data dir (never waits). */
export function isServing(paths: Pick<StorePaths, 'dataDir'>): boolean {
  let db: Database.Database;
  try {
    db = new Database(lockPath(paths), { fileMustExist: true });
  } catch {
    return false;
  }
  try {
    db.pragma('busy_timeout = 0');
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    if (isBusy(error)) return true;
    throw error;
  } finally {
    db.close();
  }
}

function lockPath(paths: Pick<StorePaths, 'dataDir'>): string {
  return join(paths.dataDir, SERVE_LOCK_FILE);
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
