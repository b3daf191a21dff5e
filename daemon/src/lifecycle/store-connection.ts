import { ConfigError } from '../errors.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import type { StorePaths } from './store-paths.js';

/**
 * Opens the store `paths` name: PostgreSQL when it has a store URL (the client library is loaded only
 * then), else the SQLite file in the data dir. Opening never creates a PostgreSQL schema: init and
 * migrate do that.
 */
export async function connectStore(paths: StorePaths): Promise<Store> {
  if (paths.storeUrl === undefined) return openSqliteStore(paths.dbPath);
  const { openPostgresStore } = await import('../store/postgres/postgres-store.js');
  return openPostgresStore(paths.storeUrl);
}

/** Refuses what only the SQLite store can do (backup, restore): PostgreSQL has its own tools. */
export function requireSqlite(paths: StorePaths, what: string): void {
  if (paths.storeUrl !== undefined) {
    throw new ConfigError(`${what} works on the embedded SQLite store; back up a PostgreSQL store with pg_dump or continuous archiving (docs/fleet.md)`);
  }
}

/** Throws ConfigError when the store holds schema objects the migrations did not create (a trigger can change rows behind our back). */
export async function assertOwnSchema(store: Pick<Store, 'foreignSchemaObjects' | 'subject'>, subject = store.subject): Promise<void> {
  const foreign = await store.foreignSchemaObjects();
  if (foreign.length === 0) return;
  throw new ConfigError(
    `${subject} holds schema objects scalr-credd did not create (${foreign.join(', ')}); they can change rows behind its back: ` +
      'restore an intact backup, or drop them and run scalr-credd verify',
  );
}
