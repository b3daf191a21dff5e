import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createAuditLog } from '../audit/audit-log.js';
import { secretContext } from '../barrier/barrier.js';
import type { RootKeyPlace } from '../barrier/keyring-owner.js';
import { assertRootKeyReadable } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { SERVE_LOCK_FILE, isServing } from './serve-lock.js';
import { assertOwnSchema, requireSqlite } from './store-connection.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';
import { findUnauthenticatedRows, usingUnlockedStore } from './unlock-store.js';

/**
 * Backup and restore of the store's database. A backup is a consistent SQLite copy taken online with
 * the backup API while the daemon serves. It holds only ciphertext: the keyring inside it is sealed
 * under the root key, which is not in the backup, so a backup is useless without that key (and a
 * backup made before a rekey needs the old root key).
 */

/** What a backup wrote. */
export interface BackupResult {
  file: string;
  bytes: number;
}

/** Copies the store's database to `outFile` (mode 0600, refuses to overwrite), as one self-contained file. */
export async function backupStore(paths: StorePaths, outFile: string, now: () => Date = () => new Date()): Promise<BackupResult> {
  requireSqlite(paths, 'backup');
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist; nothing to back up`);
  if (existsSync(outFile)) throw new ConfigError(`${outFile} already exists; choose a new file name`);
  const partial = `${outFile}.partial-${randomBytes(4).toString('hex')}`;
  const store = openSqliteStore(paths.dbPath);
  try {
    // Recorded before the copy, so the backup carries the row that says it was taken.
    await createAuditLog(store, now).append({ action: 'store.backup', outcome: 'ok', detail: { file: basename(outFile), via: 'cli' } });
    // Created 0600 before SQLite writes a byte, whatever the umask.
    closeSync(openSync(partial, 'wx', 0o600));
    await store.db.backup(partial);
  } catch (error) {
    removeQuietly(partial);
    throw error;
  } finally {
    await store.close();
  }
  try {
    const copy = new Database(partial);
    try {
      // A rollback journal instead of WAL: the backup is one file, with no -wal or -shm beside it.
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new ConfigError(`the backup copy failed SQLite's quick_check (${String(check)})`);
    } finally {
      copy.close();
    }
    chmodSync(partial, 0o600);
    syncFile(partial);
    renameSync(partial, outFile);
    syncFile(dirname(outFile));
  } catch (error) {
    removeQuietly(partial);
    throw error;
  }
  return { file: outFile, bytes: statSync(outFile).size };
}

/** What a restore found in the backup and did. */
export interface RestoreResult {
  integrations: number;
  tokens: number;
  auditRows: number;
  /** Problem found by the audit chain check, if any (the restore goes on; the chain tells the tale). */
  auditProblem: string | undefined;
  /** Where the replaced database was kept, if there was one. */
  previous: string | undefined;
}

/**
 * Replaces the store's database with a backup, after proving the backup opens with the root key:
 * its check value, every keyring term and every integration's secret must open. Refuses while a
 * daemon serves the data dir (its serve lock is held), and over an existing database unless `force`.
 */
export async function restoreStore(
  paths: StorePaths,
  fromFile: string,
  options: { force?: boolean; now?: () => Date } = {},
): Promise<RestoreResult> {
  requireSqlite(paths, 'restore');
  if (!existsSync(fromFile)) throw new ConfigError(`backup file ${fromFile} does not exist`);
  ensureDataDir(paths.dataDir, true);
  if (isServing(paths)) {
    throw new ConfigError(`a daemon is serving ${paths.dataDir} (it holds its ${SERVE_LOCK_FILE}); stop it before restoring`);
  }
  if (existsSync(paths.dbPath) && !options.force) {
    throw new ConfigError(`a store already exists in ${paths.dataDir}; pass --force to replace it (it is kept as ${basename(paths.dbPath)}.pre-restore)`);
  }
  // A missing or too open key file is reported before anything is copied.
  assertRootKeyReadable(paths.rootKeyPath);
  const staged = `${paths.dbPath}.restore-${randomBytes(4).toString('hex')}`;
  let result: Omit<RestoreResult, 'previous'>;
  try {
    copyFileSync(fromFile, staged);
    chmodSync(staged, 0o600);
    result = await verifyBackup(staged, { keyPath: paths.rootKeyPath, subject: `the backup ${fromFile}`, finishPendingRekey: false });
  } catch (error) {
    removeQuietly(staged, `${staged}-wal`, `${staged}-shm`);
    throw error;
  }

  let previous: string | undefined;
  if (existsSync(paths.dbPath)) {
    previous = `${paths.dbPath}.pre-restore`;
    checkpointQuietly(paths.dbPath);
    renameSync(paths.dbPath, previous);
    // A WAL left by a crashed daemon belongs to the old database and must never be applied to the new one.
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(`${paths.dbPath}${suffix}`)) renameSync(`${paths.dbPath}${suffix}`, `${previous}${suffix}`);
    }
  }
  renameSync(staged, paths.dbPath);
  syncFile(paths.dataDir);

  const store = openSqliteStore(paths.dbPath);
  try {
    await createAuditLog(store, options.now).append({ action: 'store.restore', outcome: 'ok', detail: { file: basename(fromFile), via: 'cli' } });
  } finally {
    await store.close();
  }
  return { ...result, previous };
}

async function verifyBackup(file: string, place: RootKeyPlace): Promise<Omit<RestoreResult, 'previous'>> {
  let store;
  try {
    // Migrations run here: a backup from an older version is brought up to date before it goes live.
    store = openSqliteStore(file, place.subject);
  } catch (error) {
    throw new ConfigError(`the backup is not a readable SQLite database (${(error as Error).message})`);
  }
  try {
    await assertOwnSchema(store);
    // Unlocking also computes the row MACs of a backup from before them (with the root key).
    const counts = await usingUnlockedStore(store, place, async ({ owner }) => {
      const problems = await findUnauthenticatedRows(store);
      if (problems.length > 0) {
        throw new ConfigError(`${place.subject} holds rows that fail authentication (${problems.join(', ')}); they were edited without the root key: refusing to restore it`);
      }
      // Over the owner's keyring, which usingUnlockedStore wipes.
      const barrier = createSecretboxBarrier(owner);
      const integrations = await store.integrations.list();
      for (const row of integrations) {
        try {
          barrier.open(secretContext(row.host), row.envelope);
        } catch {
          throw new ConfigError(`the backup's integration ${row.id} (${row.host}) does not open; refusing to restore it`);
        }
      }
      return { integrations: integrations.length, tokens: await store.tokens.count() };
    });
    const audit = await createAuditLog(store).verify();
    return { ...counts, auditRows: audit.rows, auditProblem: audit.ok ? undefined : audit.problem };
  } finally {
    await store.close();
  }
}

function checkpointQuietly(dbPath: string): void {
  try {
    // Closing the last connection checkpoints the WAL into the file and removes it.
    new Database(dbPath).close();
  } catch {
    // A damaged database is moved aside as it is.
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(...paths: string[]): void {
  for (const path of paths) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}
