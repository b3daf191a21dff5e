import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CreatedToken } from '@dcs/shared';
import { SOCKET_FILE_NAME } from '@dcs/shared';
import { assembleServices, type AssembleOptions, type Services } from './assemble.js';
import type { Barrier } from './barrier/barrier.js';
import { createSecretboxBarrier, generateKey } from './barrier/secretbox-barrier.js';
import { Keyring } from './barrier/keyring.js';
import { withKeyringRefresh } from './barrier/keyring-refresh.js';
import {
  assertRootKeyMatches,
  buildRootKeyCheck,
  completePendingRekey,
  loadRootKey,
  openKeyring,
  sealDataKey,
  stagedRootKeyPath,
  tryLoadRootKey,
  writeRootKey,
} from './barrier/root-key.js';
import { ConfigError, IntegrityError } from './errors.js';
import { createKeyringSync, type KeyringSync, type KeyringSyncDeps } from './keyring-sync.js';
import { openDatabase, durably, type Db } from './store/database.js';
import { createKeyringRepository } from './store/keyring-repository.js';

/** Where a store keeps its files. */
export interface StorePaths {
  dataDir: string;
  dbPath: string;
  rootKeyPath: string;
  socketPath: string;
}

/** Returns the paths of a store in `dataDir`; the root key may live elsewhere. */
export function storePaths(dataDir: string, rootKeyFile?: string): StorePaths {
  return {
    dataDir,
    dbPath: join(dataDir, 'credd.sqlite'),
    rootKeyPath: rootKeyFile ?? join(dataDir, 'root.key'),
    socketPath: join(dataDir, SOCKET_FILE_NAME),
  };
}

/** Whether the data dir holds nothing of ours yet (so a first `serve` may initialise it). */
export function isEmptyStore(paths: StorePaths): boolean {
  return !existsSync(paths.dbPath) && !existsSync(paths.rootKeyPath);
}

/** A store opened and unsealed: its services, kept in step with the offline key commands. */
export interface OpenStore extends Services {
  /** Reloads the keyring after a rotate or rekey by another process (also done before every seal and open). */
  keyringSync: KeyringSync;
  /** Whether opening finished a rekey that was interrupted after its commit (the staged key was moved into place). */
  recoveredRekey: boolean;
  close(): void;
}

/** What openStore takes besides the paths. */
export interface OpenStoreOptions extends AssembleOptions {
  onKeyringReload?: KeyringSyncDeps['onReload'];
  onKeyringFailure?: KeyringSyncDeps['onFailure'];
}

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

/** Opens and unseals a store; refuses a key file that is missing, too open, or does not match the database. */
export function openStore(paths: StorePaths, options: OpenStoreOptions = {}): OpenStore {
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) {
    loadRootKey(paths.rootKeyPath).fill(0);
    throw new ConfigError(`database ${paths.dbPath} is missing but root key ${paths.rootKeyPath} exists; restore the database or run init in a new data dir`);
  }
  const db = openDatabase(paths.dbPath);
  try {
    const keyringRepository = createKeyringRepository(db);
    const check = keyringRepository.findRootKeyCheck();
    if (!check) throw new ConfigError(`database ${paths.dbPath} has no root key check value; it is not a scalr-credd store`);
    const recoveredRekey = completePendingRekey(paths.rootKeyPath, check);
    const rootKey = loadRootKey(paths.rootKeyPath);
    try {
      assertRootKeyMatches(rootKey, check, paths.rootKeyPath);
    } catch (error) {
      rootKey.fill(0);
      throw error;
    }
    let keyring: Keyring;
    try {
      keyring = openKeyring(rootKey, keyringRepository.list());
    } catch (error) {
      rootKey.fill(0);
      if (!(error instanceof IntegrityError)) throw error;
      // The root key matched the check value, so a keyring row itself was changed, swapped or copied in.
      throw new ConfigError(
        `the keyring in ${paths.dbPath} does not open with root key file ${paths.rootKeyPath} (${error.message}); the database was modified: restore it from a backup`,
      );
    }
    const inner = createSecretboxBarrier(keyring);
    const { onKeyringReload, onKeyringFailure, ...assembleOptions } = options;
    const keyringSync = createKeyringSync({
      keyrings: keyringRepository,
      barrier: inner,
      rootKey,
      loadRootKeys: () =>
        [paths.rootKeyPath, stagedRootKeyPath(paths.rootKeyPath)]
          .map(tryLoadRootKey)
          .filter((key): key is Uint8Array => key !== undefined),
      snapshot: (fn) => db.transaction(fn)(),
      nowMs: Date.now,
      ...(onKeyringReload ? { onReload: onKeyringReload } : {}),
      ...(onKeyringFailure ? { onFailure: onKeyringFailure } : {}),
    });
    const barrier = withKeyringRefresh(inner, () => keyringSync.refresh());
    const services = assembleServices({ db, barrier, ...assembleOptions });
    return {
      ...services,
      keyringSync,
      recoveredRekey,
      close() {
        // Queued lookup audit rows are written (and their lookups answered) before the file closes.
        if (db.open) services.audit.flush();
        barrier.wipe();
        keyringSync.wipe();
        if (db.open) db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
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

function removeQuietly(...paths: string[]): void {
  for (const path of paths) {
    try {
      unlinkSync(path);
    } catch {
      // Best effort cleanup of a half-created store.
    }
  }
}
