import { existsSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { secretContext } from '../barrier/barrier.js';
import type { Keyring } from '../barrier/keyring.js';
import {
  buildRootKeyCheck,
  completePendingRekey,
  loadRootKey,
  moveIntoPlace,
  openKeyring,
  rootKeyMatches,
  sealDataKey,
  stagedRootKeyPath,
  writeKeyFileDurably,
} from '../barrier/root-key.js';
import { createSecretboxBarrier, generateKey } from '../barrier/secretbox-barrier.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { durably, openDatabase, type Db } from '../store/database.js';
import { createIntegrationRepository, type IntegrationRepository } from '../store/integration-repository.js';
import { createKeyringRepository, type KeyringRepository } from '../store/keyring-repository.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';

/**
 * The offline key commands: rotate (a new data-key term), reseal (move rows to the active term) and
 * rekey (a new root key). Each change is one transaction that also bumps the keyring version, so a
 * daemon serving the same file reloads its keyring (see barrier/keyring-sync.ts), and an interruption leaves
 * either the old or the new state, never a mix.
 */

/** A store opened for key management: the database, its repositories and the unsealed keyring. */
export interface KeyStore {
  db: Db;
  keyrings: KeyringRepository;
  integrations: IntegrationRepository;
  audit: AuditLog;
  rootKey: Uint8Array;
  keyring: Keyring;
  close(): void;
}

/** Opens a store with its root key for key management; finishes an interrupted rekey first. */
export function openKeyStore(paths: StorePaths, now: () => Date = () => new Date()): KeyStore {
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist`);
  const db = openDatabase(paths.dbPath);
  try {
    const keyrings = createKeyringRepository(db);
    const check = keyrings.findRootKeyCheck();
    if (!check) throw new ConfigError(`database ${paths.dbPath} has no root key check value; it is not a scalr-credd store`);
    completePendingRekey(paths.rootKeyPath, check);
    const rootKey = loadRootKey(paths.rootKeyPath);
    if (!rootKeyMatches(rootKey, check)) {
      rootKey.fill(0);
      throw new ConfigError(`root key file ${paths.rootKeyPath} does not match this database; use the key the store was created with`);
    }
    const keyring = openKeyring(rootKey, keyrings.list());
    return {
      db,
      keyrings,
      integrations: createIntegrationRepository(db),
      audit: createAuditLog(db, now),
      rootKey,
      keyring,
      close() {
        keyring.wipe();
        rootKey.fill(0);
        if (db.open) db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Adds data-key term N+1 (sealed under the root key), which new writes use from now on; old terms stay readable. */
export function rotateKeyring(store: KeyStore, now: () => Date = () => new Date()): { term: number } {
  const key = generateKey();
  try {
    const term = durably(store.db, () => {
      const next = Math.max(0, ...store.keyrings.list().map((row) => row.term)) + 1;
      store.keyrings.insert({ term: next, sealedKey: sealDataKey(store.rootKey, next, key), createdAt: now().toISOString() });
      store.keyrings.bumpVersion();
      store.audit.append({ action: 'keyring.rotate', outcome: 'ok', detail: { term: next, via: 'cli' } });
      return next;
    });
    const previous = store.keyring;
    store.keyring = openKeyring(store.rootKey, store.keyrings.list());
    previous.wipe();
    return { term };
  } finally {
    key.fill(0);
  }
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
  const barrier = createSecretboxBarrier(openKeyring(store.rootKey, store.keyrings.list()));
  const term = barrier.activeTerm();
  let resealed = 0;
  try {
    for (;;) {
      const count = store.db
        .transaction(() => {
          const rows = store.integrations.listSealedBefore(term, batchSize);
          for (const row of rows) {
            let secret: string;
            try {
              secret = barrier.open(secretContext(row.host), row.envelope);
            } catch (error) {
              if (error instanceof IntegrityError) throw new IntegrityError(`integration ${row.id} (${row.host}) does not open: ${error.message}`);
              throw error;
            }
            store.integrations.replaceEnvelope(row.id, barrier.seal(secretContext(row.host), secret), term);
          }
          return rows.length;
        })
        .immediate();
      resealed += count;
      if (count > 0) options.onBatch?.(resealed);
      if (count < batchSize) break;
    }
    store.audit.append({ action: 'keyring.reseal', outcome: 'ok', detail: { term, count: resealed, via: 'cli' } });
    return { resealed, term };
  } finally {
    barrier.wipe();
  }
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
  const newKey = loadRootKey(newKeyFile);
  const store = openKeyStore(paths, now);
  const staged = stagedRootKeyPath(paths.rootKeyPath);
  try {
    if (Buffer.from(newKey).equals(Buffer.from(store.rootKey))) {
      throw new ConfigError(`${newKeyFile} holds the current root key; generate a new one`);
    }
    writeKeyFileDurably(staged, newKey);
    // Cells freed or rewritten by this transaction are zeroed, so old sealed rows do not linger in the file.
    store.db.pragma('secure_delete = ON');
    const terms = durably(store.db, () => {
      const rows = store.keyrings.list();
      const keyring = openKeyring(store.rootKey, rows);
      try {
        for (const term of keyring.terms()) {
          store.keyrings.replaceSealedKey(term, sealDataKey(newKey, term, keyring.find(term)!));
        }
      } finally {
        keyring.wipe();
      }
      store.keyrings.setRootKeyCheck(buildRootKeyCheck(newKey));
      store.keyrings.bumpVersion();
      store.audit.append({ action: 'keyring.rekey', outcome: 'ok', detail: { terms: rows.length, via: 'cli' } });
      return rows.length;
    });
    // The old page images live on in the WAL until a checkpoint copies the new ones over them.
    const [checkpoint] = store.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    moveIntoPlace(staged, paths.rootKeyPath);
    if (resolve(newKeyFile) !== resolve(paths.rootKeyPath)) unlinkSync(newKeyFile);
    return { terms, checkpointed: checkpoint?.busy === 0 };
  } catch (error) {
    // Before the commit the staged key is useless; after it, it is needed, and moveIntoPlace has run.
    if (existsSync(staged) && !rootKeyMatches(newKey, store.keyrings.findRootKeyCheck() ?? new Uint8Array())) {
      unlinkSync(staged);
    }
    throw error;
  } finally {
    newKey.fill(0);
    store.close();
  }
}
