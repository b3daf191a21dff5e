import { existsSync } from 'node:fs';
import { withRefresh } from '../barrier/barrier.js';
import type { KeyringOwner } from '../barrier/keyring-owner.js';
import { createKeyringSync, type KeyringSync, type KeyringSyncDeps } from '../barrier/keyring-sync.js';
import { assertRootKeyReadable, stagedRootKeyPath, tryLoadRootKey } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { assembleServices, type AssembleOptions, type Services } from '../services/assemble.js';
import type { RowFailureListener } from '../store/row-integrity.js';
import type { Store } from '../store/store.js';
import { assertOwnSchema, connectStore } from './store-connection.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';
import { unlockStore } from './unlock-store.js';

/** A store opened and unsealed: its services, kept in step with the key commands and other daemons. */
export interface OpenStore extends Services {
  /** Reloads the keyring after a rotate or rekey elsewhere (also done before every seal and open). */
  keyringSync: KeyringSync;
  /** Whether opening finished a rekey that was interrupted after its commit (the staged key was moved into place). */
  recoveredRekey: boolean;
  close(): Promise<void>;
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
 * database, and a database holding schema objects (triggers, views, tables) the migrations did not
 * create (checked again whenever the schema changes while the store is open).
 */
export async function openStore(paths: StorePaths, options: OpenStoreOptions = {}): Promise<OpenStore> {
  ensureDataDir(paths.dataDir, false);
  if (paths.storeUrl === undefined && !existsSync(paths.dbPath)) {
    assertRootKeyReadable(paths.rootKeyPath);
    throw new ConfigError(`database ${paths.dbPath} is missing but root key ${paths.rootKeyPath} exists; restore the database or run init in a new data dir`);
  }
  return openStoreOver(await connectStore(paths), paths.rootKeyPath, options);
}

/** Unseals an open store with the root key in `rootKeyPath` and wires its services; closing them closes the store. */
export async function openStoreOver(store: Store, rootKeyPath: string, options: OpenStoreOptions = {}): Promise<OpenStore> {
  let owner: KeyringOwner | undefined;
  try {
    // Before anything writes: a foreign trigger would run inside our own transactions.
    await assertOwnSchema(store);
    store.guardSchema();
    const { onKeyringReload, onKeyringFailure, onRowFailure, ...assembleOptions } = options;
    const unlocked = await unlockStore(store, { keyPath: rootKeyPath, subject: store.subject }, onRowFailure);
    owner = unlocked.owner;
    const keyringSync = createKeyringSync(
      {
        version: () => store.keyring.version(),
        readSnapshot: () => store.snapshot(async ({ keyring }) => ({ check: await keyring.findRootKeyCheck(), rows: await keyring.list() })),
        owner,
        loadRootKeys: () =>
          [rootKeyPath, stagedRootKeyPath(rootKeyPath)].map(tryLoadRootKey).filter((key): key is Uint8Array => key !== undefined),
        nowMs: Date.now,
        ...(onKeyringReload ? { onReload: onKeyringReload } : {}),
        ...(onKeyringFailure ? { onFailure: onKeyringFailure } : {}),
      },
      unlocked.keyringVersion,
    );
    const barrier = withRefresh(createSecretboxBarrier(owner), () => keyringSync.refresh());
    const services = assembleServices({ store, barrier, ...assembleOptions });
    return {
      ...services,
      keyringSync,
      recoveredRekey: unlocked.recoveredRekey,
      async close() {
        // Queued lookup audit rows are written (and their lookups answered) before the store closes.
        try {
          await services.audit.flush();
        } finally {
          barrier.wipe();
          await store.close();
        }
      },
    };
  } catch (error) {
    owner?.wipe();
    await store.close();
    throw error;
  }
}
