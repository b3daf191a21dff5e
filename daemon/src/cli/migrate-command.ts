import { parseArgs } from 'node:util';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { CliIo } from './io.js';
import { pathsFromOptions } from './store-options.js';

/** Help text of `scalr-credd migrate`. */
export const MIGRATE_HELP = `Usage: scalr-credd migrate [--store URL | --data-dir DIR]

Brings a store's schema up to date with this scalr-credd. A PostgreSQL store (--store or
SCALR_CREDD_STORE) is migrated under an advisory lock, each step in its own transaction; daemons
serving it refuse a schema newer than they know, so upgrade the daemons' package first, then
migrate, then restart them. An SQLite store is migrated whenever it is opened; this only does it now.
`;

/** Runs `scalr-credd migrate`. */
export async function runMigrate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { store: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(MIGRATE_HELP), 0);
  const paths = pathsFromOptions(values, io);
  if (paths.storeUrl === undefined) {
    await openSqliteStore(paths.dbPath).close();
    io.stdout(`database ${paths.dbPath}: schema up to date\n`);
    return 0;
  }
  const { migratePostgresSchema } = await import('../store/postgres/postgres-store.js');
  const { from, to } = await migratePostgresSchema(paths.storeUrl);
  io.stdout(from === to ? `schema up to date (version ${to})\n` : `migrated the schema from version ${from} to ${to}\n`);
  return 0;
}
