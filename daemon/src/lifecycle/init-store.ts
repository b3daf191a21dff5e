import { unlinkSync } from 'node:fs';
import type { CreatedToken } from '@dcs/shared';
import type { Barrier } from '../barrier/barrier.js';
import { Keyring } from '../barrier/keyring.js';
import { buildRootKeyCheck, sealDataKey, writeRootKey } from '../barrier/root-key.js';
import { createSecretboxBarrier, generateKey } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { assembleServices } from '../services/assemble.js';
import { durably, openDatabase, type Db } from '../store/database.js';
import { createKeyringRepository } from '../store/keyring-repository.js';
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
  const rootKey = generateKey();
  writeRootKey(paths.rootKeyPath, rootKey);
  let created = false;
  try {
    const db = openDatabase(paths.dbPath);
    try {
      const barrier = seedKeyring(db, rootKey, now());
      const token = assembleServices({ db, barrier, now }).tokens.bootstrap('initial admin', 'admin');
      barrier.wipe();
      created = true;
      return token;
    } finally {
      db.close();
      rootKey.fill(0);
    }
  } finally {
    if (!created) removeQuietly(paths.rootKeyPath, paths.dbPath, `${paths.dbPath}-wal`, `${paths.dbPath}-shm`);
  }
}

/**
 * Writes a new database's root-key check value and keyring term 1, in one fsynced transaction, and
 * returns the barrier over that keyring. `initStore` uses it; so do tests that build a store in memory.
 */
export function seedKeyring(db: Db, rootKey: Uint8Array, createdAt: Date): Barrier {
  const dataKey = generateKey();
  durably(db, () => {
    const keyring = createKeyringRepository(db);
    keyring.setRootKeyCheck(buildRootKeyCheck(rootKey));
    keyring.insert({ term: 1, sealedKey: sealDataKey(rootKey, 1, dataKey), createdAt: createdAt.toISOString() });
  });
  return createSecretboxBarrier(Keyring.fromEntries([[1, dataKey]]));
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
