// The PostgreSQL suites' server and their databases: the throwaway cluster that `npm test` starts is
// PostgreSQL 15 reached over a Unix socket only, and createTestDatabase() gives each suite an empty
// database of its own that drop() removes.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUrl, requirePostgres, withPgClient, type TestDatabase } from '../support/postgres.js';

/** The names of the tables in the database's public schema. */
async function publicTables(url: string): Promise<string[]> {
  const result = await withPgClient(url, (client) =>
    client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"),
  );
  return result.rows.map((row) => row.table_name);
}

async function databaseExists(name: string): Promise<boolean> {
  const result = await withPgClient(postgresUrl()!, (client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
  return result.rowCount === 1;
}

describe.skipIf(!requirePostgres())('the PostgreSQL test server', () => {
  const made: TestDatabase[] = [];
  const createDatabase = async (prefix?: string) => {
    const db = await createTestDatabase(prefix);
    made.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((db) => db.drop()));
  });

  it('is PostgreSQL 15, reached over a Unix socket with no TCP listener', async () => {
    const url = new URL(postgresUrl()!);
    expect(url.port).toBe('');
    expect(url.searchParams.get('host')).toMatch(/^\//);

    const { rows } = await withPgClient(postgresUrl()!, (client) =>
      client.query<{ version: string; address: string | null; listen: string }>(
        "SELECT current_setting('server_version_num') AS version, inet_server_addr() AS address, current_setting('listen_addresses') AS listen",
      ),
    );
    expect(Math.floor(Number(rows[0]?.version) / 10_000)).toBe(15);
    // inet_server_addr() is NULL on a Unix-socket connection; no listen address means no TCP at all.
    expect(rows[0]?.address).toBeNull();
    expect(rows[0]?.listen).toBe('');
  });

  it('gives each caller its own empty database: a table made in one is absent from another', async () => {
    const first = await createDatabase();
    const second = await createDatabase();
    expect(first.name).not.toBe(second.name);
    expect(first.name).toMatch(/^credd_[0-9a-f]{12}$/);
    expect(await publicTables(first.url)).toEqual([]);
    expect(await publicTables(second.url)).toEqual([]);

    await withPgClient(first.url, async (client) => {
      expect((await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]?.name).toBe(first.name);
      await client.query('CREATE TABLE marker (id integer PRIMARY KEY)');
    });

    expect(await publicTables(first.url)).toEqual(['marker']);
    expect(await publicTables(second.url)).toEqual([]);
    // The URL keeps the server's socket directory and user; only the database differs.
    const server = new URL(postgresUrl()!);
    const db = new URL(first.url);
    expect(db.searchParams.get('host')).toBe(server.searchParams.get('host'));
    expect(db.username).toBe(server.username);
    expect(db.pathname).toBe(`/${first.name}`);
  });

  it('drop() removes the database even while a client is connected, and a second drop() is harmless', async () => {
    const db = await createDatabase('drop_check');
    expect(db.name).toMatch(/^drop_check_/);
    expect(await databaseExists(db.name)).toBe(true);
    // A connection still open on it: DROP … WITH (FORCE) ends it instead of waiting or failing.
    const held = new pg.Client({ connectionString: db.url });
    held.on('error', () => {
      // The forced drop terminates this connection.
    });
    await held.connect();
    await held.query('SELECT 1');

    await db.drop();
    await db.drop();

    expect(await databaseExists(db.name)).toBe(false);
    await expect(withPgClient(db.url, (client) => client.query('SELECT 1'))).rejects.toMatchObject({ code: '3D000' });
    await expect(held.query('SELECT 1')).rejects.toThrow();
    await held.end().catch(() => undefined);
  });

  it('refuses a prefix that is not a plain lower-case name', async () => {
    await expect(createTestDatabase('Bad"name')).rejects.toThrow(/not a plain lower-case database name/);
  });
});
