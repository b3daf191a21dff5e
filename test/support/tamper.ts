/** What an attacker with write access to a database file (or a backup) and no root key does. */
import Database from 'better-sqlite3';
import { mintToken } from '../../daemon/src/auth/token-hash.js';

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
