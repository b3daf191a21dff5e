import { existsSync } from 'node:fs';
import type { KeyringOwner } from '../barrier/keyring-owner.js';
import { createKeyringSync, withKeyringRefresh, type KeyringSync, type KeyringSyncDeps } from '../barrier/keyring-sync.js';
import { assertRootKeyReadable, stagedRootKeyPath, tryLoadRootKey } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { assembleServices, type AssembleOptions, type Services } from '../services/assemble.js';
import { openDatabase } from '../store/database.js';
import { createKeyringRepository } from '../store/keyring-repository.js';
import type { RowFailureListener } from '../store/row-integrity.js';
import { storeChanges } from '../store/read-cache.js';
import { assertOwnSchema, foreignSchemaObjects } from '../store/schema-check.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';
import { unlockStore } from './unlock-store.js';

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
  /** Told when a token or integration row fails authentication (edited without the root key). */
  onRowFailure?: RowFailureListener;
}

/**
 * Opens and unseals a store; refuses a key file that is missing, too open, or does not match the
 * database, and a database holding schema objects (triggers, views, tables) the migrations did not create.
 */
export function openStore(paths: StorePaths, options: OpenStoreOptions = {}): OpenStore {
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) {
    assertRootKeyReadable(paths.rootKeyPath);
    throw new ConfigError(`database ${paths.dbPath} is missing but root key ${paths.rootKeyPath} exists; restore the database or run init in a new data dir`);
  }
  const db = openDatabase(paths.dbPath);
  let owner: KeyringOwner | undefined;
  try {
    const subject = `database ${paths.dbPath}`;
    // Before anything writes: a foreign trigger would run inside our own transactions. Checked again
    // whenever another process changes the schema while this store is open.
    assertOwnSchema(db, subject);
    storeChanges(db).watchSchema(() => {
      const foreign = foreignSchemaObjects(db);
      if (foreign.length > 0) throw new IntegrityError(`${subject} gained schema objects scalr-credd did not create (${foreign.join(', ')}); refusing to read or write it`);
    });
    const { onKeyringReload, onKeyringFailure, onRowFailure, ...assembleOptions } = options;
    const unlocked = unlockStore(db, { keyPath: paths.rootKeyPath, subject }, onRowFailure);
    owner = unlocked.owner;
    const keyringRepository = createKeyringRepository(db);
    const keyringSync = createKeyringSync({
      keyrings: keyringRepository,
      owner,
      loadRootKeys: () =>
        [paths.rootKeyPath, stagedRootKeyPath(paths.rootKeyPath)]
          .map(tryLoadRootKey)
          .filter((key): key is Uint8Array => key !== undefined),
      snapshot: (fn) => db.transaction(fn)(),
      nowMs: Date.now,
      ...(onKeyringReload ? { onReload: onKeyringReload } : {}),
      ...(onKeyringFailure ? { onFailure: onKeyringFailure } : {}),
    });
    const barrier = withKeyringRefresh(createSecretboxBarrier(owner), () => keyringSync.refresh());
    const services = assembleServices({ db, barrier, rows: unlocked.rows, ...assembleOptions });
    return {
      ...services,
      keyringSync,
      recoveredRekey: unlocked.recoveredRekey,
      close() {
        // Queued lookup audit rows are written (and their lookups answered) before the file closes.
        if (db.open) services.audit.flush();
        barrier.wipe();
        if (db.open) db.close();
      },
    };
  } catch (error) {
    owner?.wipe();
    db.close();
    throw error;
  }
}
