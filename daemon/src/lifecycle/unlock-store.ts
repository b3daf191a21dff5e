import { createAuditLog } from '../audit/audit-log.js';
import { KeyringOwner, type RootKeyPlace } from '../barrier/keyring-owner.js';
import { durably, type Db } from '../store/database.js';
import { createIntegrationRepository } from '../store/integration-repository.js';
import { createKeyringRepository } from '../store/keyring-repository.js';
import { createRowGuard, type RowFailureListener, type RowGuard } from '../store/row-integrity.js';
import { createTokenRepository } from '../store/token-repository.js';

/** A store's keys, unlocked: the owner of the root key and keyring, and the guard that authenticates rows. */
export interface UnlockedStore {
  owner: KeyringOwner;
  rows: RowGuard;
  /** Whether a rekey interrupted after its commit was finished first. */
  recoveredRekey: boolean;
}

/**
 * Unlocks the keys of an open database (KeyringOwner.unlock) and builds the row guard over its row
 * key. A store from before row MACs has them computed here, once, in one transaction that also
 * records the upgrade in the sealed check value and the audit log. On failure no key stays in memory.
 */
export function unlockStore(db: Db, place: RootKeyPlace, onRowFailure?: RowFailureListener): UnlockedStore {
  const keyrings = createKeyringRepository(db);
  const { owner, recoveredRekey } = KeyringOwner.unlock(keyrings, place);
  try {
    const rows = createRowGuard(owner.rowAuthenticator(), onRowFailure);
    if (owner.needsRowUpgrade()) {
      durably(db, () => {
        const tokens = createTokenRepository(db, rows).authenticateAll();
        const integrations = createIntegrationRepository(db, rows).authenticateAll();
        owner.markRowsAuthenticated(keyrings);
        createAuditLog(db).append({ action: 'store.authenticate_rows', outcome: 'ok', detail: { tokens, integrations } });
      });
    }
    return { owner, rows, recoveredRekey };
  } catch (error) {
    owner.wipe();
    throw error;
  }
}

/** Unlocks, runs `fn`, and wipes every key in `finally`. */
export function usingUnlockedStore<T>(db: Db, place: RootKeyPlace, fn: (unlocked: UnlockedStore) => T): T {
  const unlocked = unlockStore(db, place);
  try {
    return fn(unlocked);
  } finally {
    unlocked.owner.wipe();
  }
}

/** Every token and integration row that fails authentication, as `tokens row tok_…`. */
export function findUnauthenticatedRows(db: Db, rows: RowGuard): string[] {
  return [
    ...createTokenRepository(db, rows).unauthenticated().map((id) => `tokens row ${id}`),
    ...createIntegrationRepository(db, rows).unauthenticated().map((id) => `integrations row ${id}`),
  ];
}
