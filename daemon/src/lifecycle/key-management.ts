import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAuditLog, type AuditLog, type AuditEntry } from '../audit/audit-log.js';
import { secretContext } from '../barrier/barrier.js';
import type { InTransaction, KeyringOwner } from '../barrier/keyring-owner.js';
import { moveIntoPlace, stagedRootKeyPath } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { IntegrityError } from '../errors.js';
import { isSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { connectStore } from './store-connection.js';
import { requireExistingStore, type StorePaths } from './store-paths.js';
import { unlockStore } from './unlock-store.js';

/**
 * The key commands: rotate (a new data-key term), reseal (move rows to the active term) and rekey
 * (a new root key). Each change is one transaction that also bumps the keyring version, so every
 * daemon serving the store reloads its keyring (see barrier/keyring-sync.ts), and an interruption
 * leaves either the old or the new state, never a mix.
 */

/** A store opened for key management: the store, its audit log and the owner of its keys. */
export interface KeyStore {
  store: Store;
  audit: AuditLog;
  /** Holds the root key and the unsealed keyring until `close`. */
  owner: KeyringOwner;
  close(): Promise<void>;
}

/** Opens a store with its root key for key management; finishes an interrupted rekey first. */
export async function openKeyStore(paths: StorePaths, now: () => Date = () => new Date()): Promise<KeyStore> {
  requireExistingStore(paths);
  const store = await connectStore(paths);
  try {
    const { owner } = await unlockStore(store, { keyPath: paths.rootKeyPath, subject: store.subject });
    return {
      store,
      audit: createAuditLog(store, now),
      owner,
      async close() {
        owner.wipe();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** A durable transaction over the keyring that also appends the audit row `event(result)` describes. */
function auditedTransaction(keys: KeyStore, event: (result: number) => AuditEntry): InTransaction {
  return (fn) =>
    keys.store.write(async (tx) => {
      const result = await fn(tx.keyring);
      await keys.audit.appendIn(tx, event(result as number));
      return result;
    });
}

/** Adds data-key term N+1 (sealed under the root key), which new writes use from now on; old terms stay readable. */
export async function rotateKeyring(keys: KeyStore, now: () => Date = () => new Date()): Promise<{ term: number }> {
  const term = await keys.owner.rotate(
    now(),
    auditedTransaction(keys, (next) => ({ action: 'keyring.rotate', outcome: 'ok', detail: { term: next, via: 'cli' } })),
  );
  return { term };
}

/**
 * Re-seals every integration sealed under an older term with the active term, `batchSize` rows per
 * transaction. Safe to interrupt and to run again; rows the daemons write meanwhile use the active term.
 */
export async function resealIntegrations(
  keys: KeyStore,
  options: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<{ resealed: number; term: number }> {
  const batchSize = options.batchSize ?? 100;
  // Over the owner's keyring: the store's close wipes it, not this barrier.
  const barrier = createSecretboxBarrier(keys.owner);
  const term = barrier.activeTerm();
  const resealBatch = () =>
    keys.store.write(async (tx) => {
      const rows = await tx.integrations.listSealedBefore(term, batchSize);
      for (const row of rows) {
        let secret: string;
        try {
          secret = barrier.open(secretContext(row.host), row.envelope);
        } catch (error) {
          if (error instanceof IntegrityError) throw new IntegrityError(`integration ${row.id} (${row.host}) does not open: ${error.message}`);
          throw error;
        }
        const sealed = barrier.seal(secretContext(row.host), secret);
        await tx.integrations.replaceEnvelope(row.id, sealed.envelope, sealed.term);
      }
      return rows.length;
    });
  let resealed = 0;
  for (;;) {
    const count = await resealBatch();
    resealed += count;
    if (count > 0) options.onBatch?.(resealed);
    if (count < batchSize) break;
  }
  await keys.audit.append({ action: 'keyring.reseal', outcome: 'ok', detail: { term, count: resealed, via: 'cli' } });
  return { resealed, term };
}

/** What rekey did. */
export interface RekeyResult {
  terms: number;
  /** Whether no page sealed under the old key remains in the SQLite WAL (always true on PostgreSQL, which has its own WAL). */
  checkpointed: boolean;
}

/**
 * Replaces the root key: re-seals every keyring row and the check value under the key in `newKeyFile`
 * in one transaction, then moves that key into place (staged as `<root key>.new` first, so an
 * interruption after the commit is finished by the next open). The data keys do not change, so no
 * integration row is rewritten. The old key file is overwritten: keep a copy with any backups made
 * before the rekey, because only the old key opens those. With several daemons (PostgreSQL), put the
 * new key at `<root key>.new` on every other daemon's host first: they pick it up when the keyring moves.
 */
export async function rekeyStore(paths: StorePaths, newKeyFile: string, now: () => Date = () => new Date()): Promise<RekeyResult> {
  const keys = await openKeyStore(paths, now);
  try {
    const staged = stagedRootKeyPath(paths.rootKeyPath);
    const sqlite = isSqliteStore(keys.store) ? keys.store.db : undefined;
    // Cells freed or rewritten by this transaction are zeroed, so old sealed rows do not linger in the file.
    sqlite?.pragma('secure_delete = ON');
    const terms = await keys.owner.rekey(
      newKeyFile,
      staged,
      auditedTransaction(keys, (count) => ({ action: 'keyring.rekey', outcome: 'ok', detail: { terms: count, via: 'cli' } })),
    );
    // The old page images live on in the WAL until a checkpoint copies the new ones over them.
    const [checkpoint] = sqlite ? (sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>) : [{ busy: 0 }];
    moveIntoPlace(staged, paths.rootKeyPath);
    // The new key file is gone already when it was the staged file itself (`--new-key-file <root key>.new`).
    if (![paths.rootKeyPath, staged].some((path) => resolve(path) === resolve(newKeyFile))) unlinkSync(newKeyFile);
    return { terms, checkpointed: checkpoint?.busy === 0 };
  } finally {
    await keys.close();
  }
}
