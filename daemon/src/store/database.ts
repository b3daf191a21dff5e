import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

/** An open better-sqlite3 database. */
export type Db = Database.Database;

/** Opens (creating if needed) the SQLite database in WAL mode and brings its schema up to date. */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL: a commit survives a crash of this process (the WAL is in the OS page cache) without an
    // fsync per lookup audit row; changes to integrations, tokens and keys commit with synchronous=FULL (sqlite-store.ts).
    db.pragma('synchronous = NORMAL');
    // A checkpoint runs on the commit that crosses the limit and fsyncs twice; every lookup waiting
    // then waits for it. 250 pages instead of SQLite's 1,000: shorter, more frequent stalls (a lower
    // lookup p99 for slightly fewer lookups/s; figures in docs/performance.md, change 11), and audit
    // rows reach the disk sooner.
    db.pragma('wal_autocheckpoint = 250');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies every migration above the recorded version, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const current = row.version ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this scalr-credd knows (${latest}); upgrade scalr-credd`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    })();
  }
}
