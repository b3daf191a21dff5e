/**
 * The PostgreSQL store's schema: its version, migrations under an advisory lock, and the schema
 * objects that the migrations did not create.
 *
 * The store's schema is the connection's current schema (the first of its search_path, `public` by
 * default). Nothing here runs at open except reads: only `init` and `migrate` change the schema.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ConfigError } from '../../errors.js';
import type { Migration } from '../migrations.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';

/** A connection that runs queries. */
export type Connection = Pick<pg.ClientBase, 'query'>;

/** The session advisory lock that `init` and `migrate` hold (any constant; "credd" in ASCII). */
export const SCHEMA_LOCK = 0x6372656464;

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at text NOT NULL
)`;

/** The latest version the migrations reach. */
export function latestVersion(migrations: readonly Migration[] = POSTGRES_MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

/** The recorded schema version, or undefined when the store's schema has no migrations table. */
export async function schemaVersion(connection: Connection): Promise<number | undefined> {
  const exists = await connection.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
  if (exists.rows[0]?.found == null) return undefined;
  const result = await connection.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
  return result.rows[0]?.version ?? 0;
}

/**
 * Applies every migration above the recorded version, each in its own transaction with the row that
 * records it. The caller holds SCHEMA_LOCK. Refuses a schema newer than `migrations` know.
 */
export async function applyMigrations(
  connection: Connection,
  subject: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  await connection.query(MIGRATIONS_TABLE);
  const from = (await schemaVersion(connection)) ?? 0;
  const latest = latestVersion(migrations);
  if (from > latest) throw newerSchema(subject, from, latest);
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    await connection.query('BEGIN');
    try {
      await connection.query(migration.sql);
      await connection.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK');
      throw error;
    }
  }
  return { from, to: Math.max(from, latest) };
}

export function newerSchema(subject: string, found: number, latest: number): ConfigError {
  return new ConfigError(`${subject} has schema version ${found}, newer than this scalr-credd knows (${latest}); upgrade scalr-credd`);
}

/** One schema object: `table tokens`, and what its definition is (columns, constraints, index text). */
interface SchemaObject {
  key: string;
  definition: string | null;
}

/**
 * Every object of schema $1 that can change or hide rows, with its definition: relations (tables
 * with their columns, collations, defaults, constraints and row security; indexes by their text with
 * the schema left out), and user triggers, functions, rules and row security policies.
 */
const SCHEMA_OBJECTS = `
  WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1)
  SELECT kind || ' ' || name AS key, definition FROM (
    SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
             WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'relation' END AS kind,
           c.relname AS name,
           CASE WHEN c.relkind IN ('i', 'I') THEN regexp_replace(pg_get_indexdef(c.oid), ' ON \\S+\\.', ' ON ')
           ELSE concat_ws('; ', 'rls ' || c.relrowsecurity::text || ' ' || c.relforcerowsecurity::text,
             (SELECT string_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' END,
                                          co.collname, pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
                FROM pg_attribute a
                LEFT JOIN pg_collation co ON co.oid = a.attcollation
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
             (SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname)
                FROM pg_constraint k WHERE k.conrelid = c.oid))
           END AS definition
      FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind NOT IN ('c', 't')
    UNION ALL
    SELECT 'trigger', t.tgname, NULL FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
    UNION ALL
    SELECT 'function', p.proname, NULL FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'rule', r.rulename, NULL FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
     WHERE c.relnamespace = (SELECT oid FROM ns) AND r.rulename <> '_RETURN'
    UNION ALL
    SELECT 'policy', p.polname, NULL FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
     WHERE c.relnamespace = (SELECT oid FROM ns)
  ) objects ORDER BY kind, name`;

async function schemaObjects(connection: Connection, schema: string): Promise<SchemaObject[]> {
  return (await connection.query<SchemaObject>(SCHEMA_OBJECTS, [schema])).rows;
}

/**
 * The objects and definitions the migrations create: they are run in a schema of their own inside a
 * transaction that is rolled back, so nothing of it ever commits (it needs the CREATE privilege on
 * the database, which `init` needs anyway).
 */
export async function expectedSchemaObjects(
  connection: Connection,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<Map<string, string | null>> {
  const schema = `credd_reference_${randomBytes(8).toString('hex')}`;
  await connection.query('BEGIN');
  try {
    await connection.query(`CREATE SCHEMA ${schema}`);
    await connection.query(`SET LOCAL search_path TO ${schema}`);
    await connection.query(MIGRATIONS_TABLE);
    for (const migration of migrations) await connection.query(migration.sql);
    const objects = await schemaObjects(connection, schema);
    return new Map(objects.map(({ key, definition }) => [key, definition]));
  } finally {
    await connection.query('ROLLBACK');
  }
}

/**
 * The objects of the current schema that the migrations did not create (`trigger unrevoke`), or
 * created otherwise (`table tokens (changed)`); empty when the schema is exactly ours.
 */
export async function foreignObjectsOf(connection: Connection, expected: ReadonlyMap<string, string | null>): Promise<string[]> {
  const current = await connection.query<{ schema: string }>('SELECT current_schema() AS schema');
  const found: string[] = [];
  for (const { key, definition } of await schemaObjects(connection, current.rows[0]!.schema)) {
    if (!expected.has(key)) found.push(key);
    else if (expected.get(key) !== definition) found.push(`${key} (changed)`);
  }
  return found;
}
