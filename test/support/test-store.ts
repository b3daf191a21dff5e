/**
 * The store a test runs on: `:memory:` SQLite by default, or a new PostgreSQL database of the test
 * cluster when SCALR_CREDD_TEST_STORE=postgres (the api-postgres project runs the API suite so).
 * A PostgreSQL store is closed and its database dropped when the test that opened it ends (or, when
 * opened outside a test, when the file ends).
 */
import { afterAll, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../daemon/src/store/sqlite-store.js';
import type { Store, StoreKind } from '../../daemon/src/store/store.js';
import { createTestDatabase } from './postgres.js';

/** The store kind this run's tests use. */
export const TEST_STORE_KIND: StoreKind = process.env['SCALR_CREDD_TEST_STORE'] === 'postgres' ? 'postgres' : 'sqlite';

/** The connection string of each PostgreSQL store openTestStore opened (for raw-sql.ts). */
const postgresUrls = new WeakMap<Store, string>();

/** The connection string of a PostgreSQL store that openTestStore opened. */
export function testStoreUrl(store: Store): string {
  const url = postgresUrls.get(store);
  if (url === undefined) throw new Error(`testStoreUrl: ${store.subject} was not opened by openTestStore`);
  return url;
}

const atFileEnd: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of atFileEnd.splice(0)) await cleanup();
});

/** Runs `cleanup` when the current test ends, or when the file ends outside a test. */
export function whenDone(cleanup: () => Promise<void>): void {
  try {
    onTestFinished(cleanup);
  } catch {
    atFileEnd.push(cleanup);
  }
}

/** A fresh, empty, migrated store of `kind` (default: this run's kind). */
export async function openTestStore(kind: StoreKind = TEST_STORE_KIND): Promise<Store> {
  if (kind === 'sqlite') return openSqliteStore(':memory:');
  const database = await createTestDatabase('api');
  const { migratePostgresSchema, openPostgresStore } = await import('../../daemon/src/store/postgres/postgres-store.js');
  await migratePostgresSchema(database.url);
  const store = await openPostgresStore(database.url);
  postgresUrls.set(store, database.url);
  whenDone(async () => {
    await store.close();
    await database.drop();
  });
  return store;
}
