import { unlinkSync } from 'node:fs';
import type { CreatedToken } from '@dcs/shared';
import type { Barrier } from '../barrier/barrier.js';
import { KeyringOwner } from '../barrier/keyring-owner.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { assembleServices } from '../services/assemble.js';
import { durably, openDatabase, type Db } from '../store/database.js';
import { createKeyringRepository } from '../store/keyring-repository.js';
import { createRowGuard, type RowGuard } from '../store/row-integrity.js';
import { ensureDataDir, isEmptyStore, type StorePaths } from './store-paths.js';

/**
 * Creates a new store: data dir (0700), root key file (0600), database with its check value,
 * keyring term 1, and the first admin token, returned once. Refuses to touch an existing store.
 */
export function initStore(paths: StorePaths, now: () => Date = () => new Date()): CreatedToken {
  ensureDataDir(paths.dataDir, true);
  if (!isEmptyStore(paths)) {
    throw new ConfigError(`a store already exists in ${paths.dataDir}; refusing to overwrite it`);
  }
  let created = false;
  try {
    const db = openDatabase(paths.dbPath);
    try {
      const keys = createKeys(db, now(), paths.rootKeyPath);
      try {
        const token = assembleServices({ db, ...keys, now }).tokens.bootstrap('initial admin', 'admin');
        created = true;
        return token;
      } finally {
        keys.barrier.wipe();
      }
    } finally {
      db.close();
    }
  } finally {
    if (!created) removeQuietly(paths.rootKeyPath, paths.dbPath, `${paths.dbPath}-wal`, `${paths.dbPath}-shm`);
  }
}

/** A new store's keys in memory, as assembleServices takes them. `barrier.wipe()` wipes them all. */
export interface StoreKeys {
  barrier: Barrier;
  rows: RowGuard;
}

/**
 * Writes a new database's root-key check value and keyring term 1, in one fsynced transaction, and
 * returns the barrier and row guard over that keyring; the root key exists only in memory. Tests that
 * build a store in memory use it.
 */
export function seedKeyring(db: Db, createdAt: Date): StoreKeys {
  return createKeys(db, createdAt);
}

function createKeys(db: Db, createdAt: Date, rootKeyPath?: string): StoreKeys {
  const owner = KeyringOwner.create(createKeyringRepository(db), createdAt, (fn) => durably(db, fn), rootKeyPath);
  return { barrier: createSecretboxBarrier(owner), rows: createRowGuard(owner.rowAuthenticator()) };
}

function removeQuietly(...paths: string[]): void {
  for (const path of paths) {
    try {
      unlinkSync(path);
    } catch {
      // Best effort cleanup of a half-created store.
    }
  }
}
