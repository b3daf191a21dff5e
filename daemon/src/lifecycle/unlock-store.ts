import { createAuditLog } from '../audit/audit-log.js';
import { KeyringOwner, type RootKeyPlace } from '../barrier/keyring-owner.js';
import { createRowGuard, type RowFailureListener, type RowGuard } from '../store/row-integrity.js';
import type { Store } from '../store/store.js';

/** A store's keys, unlocked: the owner of the root key and keyring, and the guard that authenticates rows. */
export interface UnlockedStore {
  owner: KeyringOwner;
  rows: RowGuard;
  /** Whether a rekey interrupted after its commit was finished first. */
  recoveredRekey: boolean;
  /** The keyring version the keys were read at (keyring-sync.ts follows later changes). */
  keyringVersion: number;
}

/**
 * Unlocks the keys of an open store (KeyringOwner.unlock), builds the row guard over its row key and
 * hands it to the store. A store from before row MACs has them computed here, once, in one
 * transaction that also records the upgrade in the sealed check value and the audit log. On failure
 * no key stays in memory.
 */
export async function unlockStore(store: Store, place: RootKeyPlace, onRowFailure?: RowFailureListener): Promise<UnlockedStore> {
  const keyringVersion = await store.keyring.version();
  const { owner, recoveredRekey } = await KeyringOwner.unlock(store.keyring, place);
  try {
    const rows = createRowGuard(owner.rowAuthenticator(), onRowFailure);
    store.useRowGuard(rows);
    if (owner.needsRowUpgrade()) {
      const audit = createAuditLog(store);
      await store.write(async (tx) => {
        const tokens = await tx.tokens.authenticateAll();
        const integrations = await tx.integrations.authenticateAll();
        await owner.markRowsAuthenticated(tx.keyring);
        await audit.appendIn(tx, { action: 'store.authenticate_rows', outcome: 'ok', detail: { tokens, integrations } });
      });
    }
    return { owner, rows, recoveredRekey, keyringVersion };
  } catch (error) {
    owner.wipe();
    throw error;
  }
}

/** Unlocks, runs `fn`, and wipes every key in `finally`. */
export async function usingUnlockedStore<T>(store: Store, place: RootKeyPlace, fn: (unlocked: UnlockedStore) => Promise<T> | T): Promise<T> {
  const unlocked = await unlockStore(store, place);
  try {
    return await fn(unlocked);
  } finally {
    unlocked.owner.wipe();
  }
}

/** Every token and integration row that fails authentication, as `tokens row tok_…`. */
export async function findUnauthenticatedRows(store: Pick<Store, 'tokens' | 'integrations'>): Promise<string[]> {
  return [
    ...(await store.tokens.unauthenticated()).map((id) => `tokens row ${id}`),
    ...(await store.integrations.unauthenticated()).map((id) => `integrations row ${id}`),
  ];
}
