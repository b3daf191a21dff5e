import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SOCKET_FILE_NAME } from '@dcs/shared';
import { ConfigError } from '../errors.js';

/** Where a store keeps its files, and where its database is. */
export interface StorePaths {
  dataDir: string;
  /** The SQLite database (unused when `storeUrl` is set). */
  dbPath: string;
  rootKeyPath: string;
  socketPath: string;
  /** A PostgreSQL connection string (`postgres://user@host/db`): the database lives there, not in the data dir. */
  storeUrl?: string | undefined;
}

/** Returns the paths of a store in `dataDir`; the root key may live elsewhere, the database in PostgreSQL. */
export function storePaths(dataDir: string, rootKeyFile?: string, storeUrl?: string): StorePaths {
  return {
    dataDir,
    dbPath: join(dataDir, 'credd.sqlite'),
    rootKeyPath: rootKeyFile ?? join(dataDir, 'root.key'),
    socketPath: join(dataDir, SOCKET_FILE_NAME),
    ...(storeUrl === undefined ? {} : { storeUrl }),
  };
}

/** Whether the data dir holds nothing of ours yet (so a first `serve` may initialise an SQLite store). */
export function isEmptyStore(paths: StorePaths): boolean {
  return paths.storeUrl === undefined && !existsSync(paths.dbPath) && !existsSync(paths.rootKeyPath);
}

/** Creates the data dir 0700 when asked, and refuses one that group or others can enter. */
export function ensureDataDir(dataDir: string, create: boolean): void {
  if (!existsSync(dataDir)) {
    if (!create) throw new ConfigError(`data dir ${dataDir} does not exist; run: scalr-credd init --data-dir ${dataDir}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const stat = statSync(dataDir);
  if (!stat.isDirectory()) throw new ConfigError(`data dir ${dataDir} is not a directory`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `data dir ${dataDir} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 700 ${dataDir}`,
    );
  }
}

/**
 * Refuses to open a store that is not there, for the offline commands: an SQLite store needs its data
 * dir (private) and database file. A PostgreSQL store lives at its URL, so they need no data dir on its
 * hosts, only the root key file.
 */
export function requireExistingStore(paths: StorePaths): void {
  if (paths.storeUrl !== undefined) return;
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist`);
}
