/**
 * SQL run behind the daemon's back, on the store a test opened (test-store.ts), whatever its kind:
 * on SQLite through the store's own connection, on PostgreSQL through a connection of its own.
 * Neither tells the store's read caches, as an edit by someone without the daemon would not.
 */
import { isSqliteStore } from '../../daemon/src/store/sqlite-store.js';
import type { Store } from '../../daemon/src/store/store.js';
import { withPgClient } from './postgres.js';
import { testStoreUrl } from './test-store.js';

/** A row as the engine returns it (blobs are Buffers on both kinds). */
export type SqlRow = Record<string, unknown>;

/**
 * Runs one statement with `?` placeholders (translated to `$1`, `$2`, … on PostgreSQL) and returns the
 * rows it answers (none for a statement that answers none). A `?` inside a string literal is not
 * told apart from a placeholder: pass such text as a parameter.
 */
export async function runSql(store: Store, sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
  if (isSqliteStore(store)) {
    const statement = store.db.prepare(sql);
    if (statement.reader) return statement.all(...params) as SqlRow[];
    statement.run(...params);
    return [];
  }
  let n = 0;
  const numbered = sql.replace(/\?/g, () => `$${++n}`);
  return withPgClient(testStoreUrl(store), async (client) => (await client.query(numbered, [...params])).rows as SqlRow[]);
}

/** The names of the store's tables (without the engine's own), in name order. */
export async function tableNames(store: Store): Promise<string[]> {
  const rows = isSqliteStore(store)
    ? await runSql(store, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    : await runSql(
        store,
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name COLLATE \"C\"",
      );
  return rows.map((row) => String(row['name']));
}

/**
 * Makes every insert into audit_events fail (as a full disk would), or only those of rows naming
 * `host`: a trigger named `name` that raises `audit disk full`.
 */
export async function refuseAuditInserts(store: Store, { name = 'refuse_audit', host }: { name?: string; host?: string } = {}): Promise<void> {
  if (host !== undefined && !/^[a-z0-9.-]+$/.test(host)) throw new Error(`refuseAuditInserts: ${JSON.stringify(host)} is not a plain host`);
  if (isSqliteStore(store)) {
    const when = host === undefined ? '' : `WHEN NEW.host = '${host}' `;
    await runSql(store, `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events FOR EACH ROW ${when}BEGIN SELECT RAISE(ABORT, 'audit disk full'); END`);
    return;
  }
  const when = host === undefined ? '' : `WHEN (NEW.host = '${host}') `;
  await runSql(store, `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$`);
  await runSql(store, `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events FOR EACH ROW ${when}EXECUTE FUNCTION ${name}()`);
}
