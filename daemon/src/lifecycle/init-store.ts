import { unlinkSync } from 'node:fs';
import type { CreatedToken } from '@dcs/shared';
import { liveBarrier, type LiveBarrier } from '../barrier/barrier.js';
import { KeyringOwner, type InTransaction } from '../barrier/keyring-owner.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { assembleServices } from '../services/assemble.js';
import { createRowGuard } from '../store/row-integrity.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ensureDataDir, isEmptyStore, type StorePaths } from './store-paths.js';

/**
 * Creates a new store: data dir (0700), root key file (0600), database with its check value,
 * keyring term 1, and the first admin token, returned once. Refuses to touch an existing store.
 * On PostgreSQL the schema is created (under an advisory lock, so concurrent inits cannot both
 * succeed) and the root key file is written where `paths.rootKeyPath` says.
 */
export async function initStore(paths: StorePaths, now: () => Date = () => new Date()): Promise<CreatedToken> {
  if (paths.storeUrl !== undefined) return initPostgres(paths.storeUrl, paths, now);
  ensureDataDir(paths.dataDir, true);
  if (!isEmptyStore(paths)) {
    throw new ConfigError(`a store already exists in ${paths.dataDir}; refusing to overwrite it`);
  }
  let created = false;
  try {
    const store = openSqliteStore(paths.dbPath);
    try {
      const token = await bootstrapStore(store, now, paths.rootKeyPath);
      created = true;
      return token;
    } finally {
      await store.close();
    }
  } finally {
    if (!created) removeQuietly(paths.rootKeyPath, paths.dbPath, `${paths.dbPath}-wal`, `${paths.dbPath}-shm`);
  }
}

async function initPostgres(url: string, paths: StorePaths, now: () => Date): Promise<CreatedToken> {
  const { initPostgresStore } = await import('../store/postgres/postgres-store.js');
  let keyWritten = false;
  try {
    return await initPostgresStore(url, async (store: Store) => {
      keyWritten = true;
      return bootstrapStore(store, now, paths.rootKeyPath);
    });
  } catch (error) {
    // A key file written for a store whose transaction rolled back opens nothing: it goes too.
    if (keyWritten) removeQuietly(paths.rootKeyPath);
    throw error;
  }
}

/** Writes the keys and the first admin token into an empty store, in one transaction. */
async function bootstrapStore(store: Store, now: () => Date, rootKeyPath: string): Promise<CreatedToken> {
  const createdAt = now();
  return store.write(async (tx) => {
    const keys = await createKeys(store, createdAt, (fn) => fn(tx.keyring), rootKeyPath);
    try {
      return await assembleServices({ store, ...keys, now }).tokens.bootstrap('initial admin', 'admin', tx);
    } finally {
      keys.barrier.wipe();
    }
  });
}

/** A new store's keys in memory: the barrier over its keyring (`barrier.wipe()` wipes them all). */
export interface StoreKeys {
  barrier: LiveBarrier;
}

/**
 * Writes a new store's root-key check value and keyring term 1, in one transaction, hands the row
 * guard to the store and returns the barrier over that keyring; the root key exists only in memory.
 * Tests that build a store in memory use it.
 */
export async function seedKeyring(store: Store, createdAt: Date): Promise<StoreKeys> {
  return createKeys(store, createdAt, (fn) => store.write((tx) => fn(tx.keyring)));
}

async function createKeys(store: Store, createdAt: Date, inTransaction: InTransaction, rootKeyPath?: string): Promise<StoreKeys> {
  const owner = await KeyringOwner.create(createdAt, inTransaction, rootKeyPath);
  store.useRowGuard(createRowGuard(owner.rowAuthenticator()));
  return { barrier: liveBarrier(createSecretboxBarrier(owner)) };
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
