/** What an attacker with write access to a database file (or a backup) and no root key does. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mintToken } from '../../daemon/src/auth/token-hash.js';
import { usingUnlockedStore } from '../../daemon/src/lifecycle/unlock-store.js';
import type { Db } from '../../daemon/src/store/database.js';
import { isSqliteStore, openSqliteStore } from '../../daemon/src/store/sqlite-store.js';
import type { Store } from '../../daemon/src/store/store.js';

/** A trigger that un-revokes every token right after it is revoked. */
export const UNREVOKE_TRIGGER =
  'CREATE TRIGGER unrevoke AFTER UPDATE OF revoked_at ON tokens BEGIN UPDATE tokens SET revoked_at = NULL WHERE id = NEW.id; END';

/** Opens `file` with plain SQLite, runs `fn`, closes it. */
export function editDatabase(file: string, fn: (db: Database.Database) => void): void {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    fn(db);
  } finally {
    db.close();
  }
}

/** Inserts an admin token row whose value the attacker knows (a hash of their choosing); returns the value. */
export function plantAdminToken(db: Database.Database): string {
  const minted = mintToken();
  db.prepare("INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, 'planted', 'admin', ?, '2026-01-01T00:00:00.000Z')").run(
    minted.id,
    Buffer.from(minted.hash),
  );
  return minted.value;
}

/**
 * What the root key's holder can do and an attacker cannot: write the MAC of every token row again,
 * after editing rows by hand (a test moves a token's expiry into the past this way; the API mints none).
 */
async function reauthenticateTokenRows(dbFile: string, rootKeyPath: string): Promise<void> {
  const store = openSqliteStore(dbFile);
  try {
    await usingUnlockedStore(store, { keyPath: rootKeyPath, subject: store.subject }, () => store.write((tx) => tx.tokens.authenticateAll()));
  } finally {
    await store.close();
  }
}

/**
 * Expires token `id` of the store in `dataDir` now, as the root key's holder can: its expiry moves
 * into the past and the rows are signed again (the API mints no token that is already expired).
 */
export async function expireToken(dataDir: string, id: string): Promise<void> {
  const dbFile = join(dataDir, 'credd.sqlite');
  editDatabase(dbFile, (db) => db.prepare("UPDATE tokens SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(id));
  await reauthenticateTokenRows(dbFile, join(dataDir, 'root.key'));
}

/** The connection of a SQLite store, for raw SQL in a test; throws for another kind. */
export function sqliteDbOf(store: Store): Db {
  if (!isSqliteStore(store)) throw new Error(`${store.subject} is not a SQLite store`);
  return store.db;
}

