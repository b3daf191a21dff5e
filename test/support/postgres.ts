/**
 * The PostgreSQL server of the PostgreSQL suites: SCALR_CREDD_TEST_PG, a node-postgres connection string
 * (`npm test` starts a throwaway cluster and sets it, see scripts/lib/pg-cluster.mjs). Each suite works in
 * databases of its own, made with createTestDatabase():
 *
 *   describe.skipIf(!requirePostgres())('…', () => {
 *     let db: TestDatabase;
 *     beforeEach(async () => { db = await createTestDatabase(); });
 *     afterEach(() => db.drop());
 *     it('…', async () => { … db.url … });
 *   });
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { missingRequirement } from './tools.js';

/** A database made for one suite or test: its connection string and name, and drop() to remove it. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, closing its remaining connections (idempotent). */
  drop(): Promise<void>;
}

/** The server's connection string, or undefined when SCALR_CREDD_TEST_PG is unset or empty. */
export function postgresUrl(): string | undefined {
  return process.env['SCALR_CREDD_TEST_PG'] || undefined;
}

/**
 * True when a server is configured. Otherwise throws under CI=true, else prints a SKIPPING line and returns
 * false: use it as `describe.skipIf(!requirePostgres())`.
 */
export function requirePostgres(): boolean {
  if (postgresUrl() !== undefined) return true;
  return missingRequirement(
    'SCALR_CREDD_TEST_PG is not set, so there is no PostgreSQL server (npm test starts one when initdb is installed; .ci/run installs the Debian package postgresql)',
  );
}

/** Runs `use` with a client connected to `url`, and ends the client whatever happens. */
export async function withPgClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** A database name: lower-case letters, digits and underscores, starting with a letter, at most 63 bytes. */
const SAFE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Creates an empty database named `<prefix>_<random>` on the server (copied from `template`, by default
 * template0, which nobody connects to, so concurrent creates never wait) and returns a connection string
 * to it: the server's URL with the database name replaced, the same socket directory and user.
 */
export async function createTestDatabase(prefix = 'credd', { template = 'template0' }: { template?: string } = {}): Promise<TestDatabase> {
  const serverUrl = postgresUrl();
  if (serverUrl === undefined) throw new Error('createTestDatabase: SCALR_CREDD_TEST_PG is not set (guard the suite with requirePostgres())');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  for (const identifier of [name, template]) {
    if (!SAFE_NAME.test(identifier)) throw new Error(`createTestDatabase: ${JSON.stringify(identifier)} is not a plain lower-case database name`);
  }
  await withPgClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withPgClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
