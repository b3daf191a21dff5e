import { existsSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAuditLog, type AuditLog, type AuditEntry } from '../audit/audit-log.js';
import { secretContext } from '../barrier/barrier.js';
import type { InTransaction, KeyringOwner } from '../barrier/keyring-owner.js';
import { moveIntoPlace, stagedRootKeyPath } from '../barrier/root-key.js';
import { createSecretboxBarrier } from '../barrier/secretbox-barrier.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { durably, openDatabase, type Db } from '../store/database.js';
import { createIntegrationRepository, type IntegrationRepository } from '../store/integration-repository.js';
import { createKeyringRepository, type KeyringRepository } from '../store/keyring-repository.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';
import { unlockStore } from './unlock-store.js';

/**
 * The offline key commands: rotate (a new data-key term), reseal (move rows to the active term) and
 * rekey (a new root key). Each change is one transaction that also bumps the keyring version, so a
 * daemon serving the same file reloads its keyring (see barrier/keyring-sync.ts), and an interruption leaves
 * either the old or the new state, never a mix.
 */

/** A store opened for key management: the database, its repositories and the owner of its keys. */
export interface KeyStore {
  db: Db;
  keyrings: KeyringRepository;
  integrations: IntegrationRepository;
  audit: AuditLog;
  /** Holds the root key and the unsealed keyring until `close`. */
  owner: KeyringOwner;
  close(): void;
}

/** Opens a store with its root key for key management; finishes an interrupted rekey first. */
export function openKeyStore(paths: StorePaths, now: () => Date = () => new Date()): KeyStore {
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist`);
  const db = openDatabase(paths.dbPath);
  try {
    const { owner, rows } = unlockStore(db, { keyPath: paths.rootKeyPath, subject: `database ${paths.dbPath}` });
    return {
      db,
      keyrings: createKeyringRepository(db),
      integrations: createIntegrationRepository(db, rows),
      audit: createAuditLog(db, now),
      owner,
      close() {
        owner.wipe();
        if (db.open) db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A durable transaction that also appends the audit row `event(result)` describes. */
function auditedTransaction(store: KeyStore, event: (result: number) => AuditEntry): InTransaction {
  return (fn) =>
    durably(store.db, () => {
      const result = fn();
      store.audit.append(event(result as number));
      return result;
    });
}

/** Adds data-key term N+1 (sealed under the root key), which new writes use from now on; old terms stay readable. */
export function rotateKeyring(store: KeyStore, now: () => Date = () => new Date()): { term: number } {
  const term = store.owner.rotate(
    store.keyrings,
    now(),
    auditedTransaction(store, (next) => ({ action: 'keyring.rotate', outcome: 'ok', detail: { term: next, via: 'cli' } })),
  );
  return { term };
}

/**
 * Re-seals every integration sealed under an older term with the active term, `batchSize` rows per
 * transaction. Safe to interrupt and to run again; rows the daemon writes meanwhile use the active term.
 */
export function resealIntegrations(
  store: KeyStore,
  options: { batchSize?: number; onBatch?: (done: number) => void } = {},
): { resealed: number; term: number } {
  const batchSize = options.batchSize ?? 100;
  // Over the owner's keyring: the store's close wipes it, not this barrier.
  const barrier = createSecretboxBarrier(store.owner);
  const term = barrier.activeTerm();
  const resealBatch = store.db.transaction(() => {
    const rows = store.integrations.listSealedBefore(term, batchSize);
    for (const row of rows) {
      let secret: string;
      try {
        secret = barrier.open(secretContext(row.host), row.envelope);
      } catch (error) {
        if (error instanceof IntegrityError) throw new IntegrityError(`integration ${row.id} (${row.host}) does not open: ${error.message}`);
        throw error;
      }
      const sealed = barrier.seal(secretContext(row.host), secret);
      store.integrations.replaceEnvelope(row.id, sealed.envelope, sealed.term);
    }
    return rows.length;
  });
  let resealed = 0;
  for (;;) {
    const count = resealBatch.immediate();
    resealed += count;
    if (count > 0) options.onBatch?.(resealed);
    if (count < batchSize) break;
  }
  store.audit.append({ action: 'keyring.reseal', outcome: 'ok', detail: { term, count: resealed, via: 'cli' } });
  return { resealed, term };
}

/** What rekey did. */
export interface RekeyResult {
  terms: number;
  /** Whether the WAL was checkpointed, so no page sealed under the old key remains in it. */
  checkpointed: boolean;
}

/**
 * Replaces the root key: re-seals every keyring row and the check value under the key in `newKeyFile`
 * in one transaction, then moves that key into place (staged as `<root key>.new` first, so an
 * interruption after the commit is finished by the next open). The data keys do not change, so no
 * integration row is rewritten. The old key file is overwritten: keep a copy with any backups made
 * before the rekey, because only the old key opens those.
 */
export function rekeyStore(paths: StorePaths, newKeyFile: string, now: () => Date = () => new Date()): RekeyResult {
  const store = openKeyStore(paths, now);
  try {
    const staged = stagedRootKeyPath(paths.rootKeyPath);
    // Cells freed or rewritten by this transaction are zeroed, so old sealed rows do not linger in the file.
    store.db.pragma('secure_delete = ON');
    const terms = store.owner.rekey(
      store.keyrings,
      newKeyFile,
      staged,
      auditedTransaction(store, (count) => ({ action: 'keyring.rekey', outcome: 'ok', detail: { terms: count, via: 'cli' } })),
    );
    // The old page images live on in the WAL until a checkpoint copies the new ones over them.
    const [checkpoint] = store.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    moveIntoPlace(staged, paths.rootKeyPath);
    if (resolve(newKeyFile) !== resolve(paths.rootKeyPath)) unlinkSync(newKeyFile);
    return { terms, checkpointed: checkpoint?.busy === 0 };
  } finally {
    store.close();
  }
}
