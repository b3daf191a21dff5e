/**
 * The embedded SQLite store (the default): one better-sqlite3 connection in WAL mode, behind the
 * asynchronous Store interface.
 *
 * better-sqlite3 is synchronous, and a transaction lives on the connection: while one is open, any
 * statement run on the connection joins it. So every write transaction holds `writeLock` from BEGIN
 * to COMMIT, and reads outside a transaction wait while the lock is held: nothing else ever sees
 * (or joins) a transaction that may still roll back. Transactions here only await this store's own
 * tables, which answer synchronously, so the lock is held for microseconds, not for round trips.
 */
import { IntegrityError } from '../errors.js';
import { createSqliteAuditTable } from './audit-table.js';
import { openDatabase, type Db } from './database.js';
import { createIntegrationRepository, type IntegrationRepository } from './integration-repository.js';
import { createKeyringRepository } from './keyring-repository.js';
import { storeChanges } from './read-cache.js';
import type { RowGuard } from './row-integrity.js';
import { foreignSchemaObjects } from './schema-check.js';
import type { IntegrationTable, KeyringTable, Store, StoreTx, TokenTable } from './store.js';
import { createTokenRepository, type TokenRepository } from './token-repository.js';

/** The SQLite store; `db` is for what only SQLite has (backup, pragmas, checkpoints). */
export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  readonly db: Db;
}

/** Whether `store` is the SQLite kind (for what only SQLite has: backup, pragmas, checkpoints). */
export function isSqliteStore(store: Store): store is SqliteStore {
  return store.kind === 'sqlite';
}

/** Opens (creating and migrating if needed) the database at `path` (`:memory:` in tests). */
export function openSqliteStore(path: string, subject = `database ${path}`): SqliteStore {
  return sqliteStoreOver(openDatabase(path), subject);
}

/** The store over an open database; closing the store closes it. */
export function sqliteStoreOver(db: Db, subject: string): SqliteStore {
  const writeLock = createLock();
  // Prepared once: every lookup batch begins and commits a transaction.
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const keyring = createKeyringRepository(db);
  const audit = createSqliteAuditTable(db);
  let repositories: { tokens: TokenRepository; integrations: IntegrationRepository } | undefined;
  const rowsOf = () => {
    if (!repositories) throw new IntegrityError(`${subject} is not unlocked: its rows cannot be authenticated yet`);
    return repositories;
  };

  /** Reads outside a transaction: wait until no transaction is open, then answer from the connection. */
  const committed = <T>(read: () => T): Promise<T> => (writeLock.held() ? writeLock.idle().then(read) : settled(read));
  /** Reads and writes inside the transaction that holds the lock. */
  const inside = settled;

  const tokenTable = (call: <T>(run: () => T) => Promise<T>): TokenTable => ({
    insert: (row) => call(() => rowsOf().tokens.insert(row)),
    findById: (id) => call(() => rowsOf().tokens.findById(id)),
    list: () => call(() => rowsOf().tokens.list()),
    revoke: (id, at) => call(() => rowsOf().tokens.revoke(id, at)),
    countActive: (role, now) => call(() => rowsOf().tokens.countActive(role, now)),
    count: () => call(() => rowsOf().tokens.count()),
    unauthenticated: () => call(() => rowsOf().tokens.unauthenticated()),
    authenticateAll: () => call(() => rowsOf().tokens.authenticateAll()),
  });
  const integrationTable = (call: <T>(run: () => T) => Promise<T>): IntegrationTable => ({
    insert: (row) => call(() => rowsOf().integrations.insert(row)),
    update: (row) => call(() => rowsOf().integrations.update(row)),
    remove: (id) => call(() => rowsOf().integrations.remove(id)),
    findById: (id) => call(() => rowsOf().integrations.findById(id)),
    findByHost: (host) => call(() => rowsOf().integrations.findByHost(host)),
    list: () => call(() => rowsOf().integrations.list()),
    listingsJson: (hosts) => call(() => rowsOf().integrations.listingsJson(hosts)),
    listExported: () => call(() => rowsOf().integrations.listExported()),
    count: () => call(() => rowsOf().integrations.count()),
    listSealedBefore: (term, limit) => call(() => rowsOf().integrations.listSealedBefore(term, limit)),
    replaceEnvelope: (id, envelope, term) => call(() => rowsOf().integrations.replaceEnvelope(id, envelope, term)),
    recordTest: (id, test) => call(() => rowsOf().integrations.recordTest(id, test)),
    countByTerm: () => call(() => rowsOf().integrations.countByTerm()),
    unauthenticated: () => call(() => rowsOf().integrations.unauthenticated()),
    authenticateAll: () => call(() => rowsOf().integrations.authenticateAll()),
  });
  const keyringTable = (call: <T>(run: () => T) => Promise<T>): KeyringTable => ({
    list: () => call(() => keyring.list()),
    insert: (row) => call(() => keyring.insert(row)),
    replaceSealedKey: (term, sealedKey) => call(() => keyring.replaceSealedKey(term, sealedKey)),
    findRootKeyCheck: () => call(() => keyring.findRootKeyCheck()),
    setRootKeyCheck: (check) => call(() => keyring.setRootKeyCheck(check)),
    version: () => call(() => keyring.version()),
    bumpVersion: () => call(() => keyring.bumpVersion()),
  });

  const tx: StoreTx = {
    tokens: tokenTable(inside),
    integrations: integrationTable(inside),
    keyring: keyringTable(inside),
    audit: {
      append: (drafts) => inside(() => audit.append(drafts)),
      list: (filter) => inside(() => audit.list(filter)),
      scan: (after, limit) => inside(() => audit.scan(after, limit)),
      recordedHead: () => inside(() => audit.recordedHead()),
    },
  };

  /**
   * One transaction holding `writeLock` from BEGIN to COMMIT. `durable`: fsynced at commit
   * (synchronous FULL), so an acknowledged change survives power loss too; else it survives a crash of
   * the process. IMMEDIATE takes SQLite's write lock up front: the offline CLI writes the same file,
   * and a deferred transaction that reads and then writes would fail with SQLITE_BUSY_SNAPSHOT
   * instead of waiting.
   */
  const transaction = async <T>(fn: (inTx: StoreTx) => Promise<T>, durable: boolean): Promise<T> => {
    const release = await writeLock.acquire();
    try {
      if (durable) db.pragma('synchronous = FULL');
      begin.run();
      let result;
      try {
        result = await fn(tx);
      } catch (error) {
        if (db.inTransaction) rollback.run();
        throw error;
      }
      commit.run();
      return result;
    } finally {
      // The lock is released even when the pragma throws (a closed connection), or every later call would wait forever.
      try {
        if (durable) db.pragma('synchronous = NORMAL');
      } finally {
        release();
      }
    }
  };

  return {
    kind: 'sqlite',
    subject,
    db,
    tokens: tokenTable(committed),
    integrations: integrationTable(committed),
    keyring: keyringTable(committed),
    audit: {
      list: (filter) => committed(() => audit.list(filter)),
      scan: (after, limit) => committed(() => audit.scan(after, limit)),
      recordedHead: () => committed(() => audit.recordedHead()),
    },

    write: (fn) => transaction(fn, true),

    appendLookupBatch: (drafts) => transaction(async (inTx) => inTx.audit.append(drafts), false),
    lookupBatchLingerMs: 0,

    async snapshot(fn) {
      // A write transaction is the snapshot: nothing commits in between (and the lock keeps others out).
      return transaction((inTx) => fn({ keyring: inTx.keyring }), false);
    },

    useRowGuard(guard: RowGuard) {
      repositories = { tokens: createTokenRepository(db, guard), integrations: createIntegrationRepository(db, guard) };
    },

    ping: () => committed(() => void db.prepare('SELECT 1 FROM meta LIMIT 1').get()),

    guardSchema() {
      // Only another connection's commit can add a trigger: checked when SQLite's schema_version moves.
      storeChanges(db).watchSchema(() => {
        const foreign = foreignSchemaObjects(db);
        if (foreign.length > 0) throw new IntegrityError(`${subject} gained schema objects scalr-credd did not create (${foreign.join(', ')}); refusing to read or write it`);
      });
    },

    foreignSchemaObjects: () => committed(() => foreignSchemaObjects(db)),

    async close() {
      if (writeLock.held()) await writeLock.idle();
      if (db.open) db.close();
    },
  };
}

/** `run`'s result, or what it threw, as a promise (without an async function per lookup read). */
function settled<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** A FIFO lock for async callers. */
interface Lock {
  acquire(): Promise<() => void>;
  held(): boolean;
  /** Resolves once nobody holds or waits for the lock. */
  idle(): Promise<void>;
}

function createLock(): Lock {
  let tail: Promise<void> = Promise.resolve();
  let holders = 0;
  return {
    acquire() {
      holders++;
      let release!: () => void;
      const next = new Promise<void>((resolve) => (release = resolve));
      const ready = tail.then(() => () => {
        holders--;
        release();
      });
      tail = tail.then(() => next);
      return ready;
    },
    held: () => holders > 0,
    async idle() {
      while (holders > 0) await tail;
    },
  };
}
