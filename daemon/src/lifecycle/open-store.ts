import { existsSync } from 'node:fs';
import { createKeyringSync, withKeyringRefresh, type KeyringSync, type KeyringSyncDeps } from '../barrier/keyring-sync.js';
import type { Keyring } from '../barrier/keyring.js';
import { assertRootKeyMatches, completePendingRekey, loadRootKey, openKeyring, stagedRootKeyPath, tryLoadRootKey } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { assembleServices, type AssembleOptions, type Services } from '../services/assemble.js';
import { openDatabase } from '../store/database.js';
import { createKeyringRepository } from '../store/keyring-repository.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';

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
