import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainText, GENESIS_HASH } from '../../audit/chain.js';
import { ConfigError, IntegrityError } from '../../errors.js';
import type { Migration } from '../migrations.js';
import type { AuditDraft } from '../store.js';
import { LISTEN_APPLICATION } from './postgres-changes.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { initPostgresStore, migratePostgresSchema, openPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
import { tokenRow } from '../../../../test/support/factories.js';
import { createTestDatabase, requirePostgres, withPgClient, type TestDatabase } from '../../../../test/support/postgres.js';
import { testRowGuard } from '../../../../test/support/row-guard.js';

/** Several daemons on one database: what one of them changes, the others honour. */

const guard = testRowGuard();

/** One lookup's audit row, before the store gives it its seq and hashes. */
function draft(requestId: string): AuditDraft {
  return { at: new Date().toISOString(), requestId, tokenId: 'tok_a', tokenName: 'ci', role: 'runner', action: 'credential.get', host: 'ghcr.io', targetId: null, outcome: 'ok', detail: null };
}

/** Lets the notifications and revalidations of earlier commits arrive, so that what is read next stays cached. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** Polls `read` until it returns something `accept`s, for at most `ms`; returns how long it took. */
async function within<T>(ms: number, read: () => Promise<T>, accept: (value: T) => boolean): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (accept(await read())) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not seen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!requirePostgres())('PostgreSQL store: several daemons on one database', () => {
  let database: TestDatabase;
  const sql = (text: string, params: unknown[] = []) => withPgClient(database.url, (client) => client.query(text, params));
  const open = async (options: PostgresStoreOptions = {}) => {
    const store = await openPostgresStore(database.url, options);
    store.useRowGuard(guard);
    return store;
  };

  beforeAll(async () => {
    database = await createTestDatabase('credd_shared');
  });
  afterAll(() => database.drop());

  it('refuses to open a database without the schema, and says how to create it without showing a password', async () => {
    const withPassword = new URL(database.url);
    withPassword.password = 'hunter2';
    const refusal = await openPostgresStore(withPassword.toString()).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toMatch(/^PostgreSQL store postgres:\/\/postgres@.* has no scalr-credd schema; run scalr-credd init --store postgres:\/\//);
    expect((refusal as Error).message).not.toContain('hunter2');
    expect(await sql(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).toMatchObject({ rows: [{ n: 0 }] });
  });

  it('initialises once: of two inits at once, one creates the store and the other refuses', async () => {
    const init = (name: string) =>
      initPostgresStore(database.url, async (store) => {
        store.useRowGuard(guard);
        await store.write(async (tx) => {
          await tx.keyring.insert({ term: 1, sealedKey: new Uint8Array([1]), createdAt: '2026-03-02T09:00:00.000Z' });
          await tx.keyring.setRootKeyCheck(new Uint8Array([7]));
        });
        // Long enough for the other init to be waiting on the lock, not past it.
        await new Promise((resolve) => setTimeout(resolve, 100));
        return name;
      });
    const results = await Promise.allSettled([init('first'), init('second')]);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConfigError);
    expect((refused.reason as Error).message).toMatch(/is already initialised$/);
    expect(await sql('SELECT count(*)::int AS n FROM keyring')).toMatchObject({ rows: [{ n: 1 }] });
  });

  it('refuses a schema older or newer than it knows, and migrate brings an older one up to date', async () => {
    const later: Migration[] = [...POSTGRES_MIGRATIONS, { version: 2, name: 'a later column', sql: 'ALTER TABLE tokens ADD COLUMN note text' }];
    const older = await openPostgresStore(database.url, { migrations: later }).catch((error: unknown) => error);
    expect(older).toBeInstanceOf(ConfigError);
    expect((older as Error).message).toMatch(/has schema version 1, older than this scalr-credd \(2\); run scalr-credd migrate --store postgres:\/\//);

    expect(await migratePostgresSchema(database.url, later)).toEqual({ from: 1, to: 2 });
    expect(await migratePostgresSchema(database.url, later)).toEqual({ from: 2, to: 2 });
    const newer = await openPostgresStore(database.url).catch((error: unknown) => error);
    expect((newer as Error).message).toMatch(/has schema version 2, newer than this scalr-credd knows \(1\); upgrade scalr-credd$/);
    await expect(migratePostgresSchema(database.url)).rejects.toThrow(/newer than this scalr-credd knows/);

    const current = await open({ migrations: later });
    expect(await current.foreignSchemaObjects()).toEqual([]);
    await current.close();
    await sql(`ALTER TABLE tokens DROP COLUMN note; DELETE FROM schema_migrations WHERE version = 2`);
  });

  it('extends one gap-free chain when three stores append at once', async () => {
    const stores = await Promise.all([open(), open(), open()]);
    const appendsPerStore = 200;
    const inFlight = 4;
    try {
      await Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: inFlight }, async (_, lane) => {
            for (let i = lane; i < appendsPerStore; i += inFlight) {
              // Both ways of appending, interleaved: lookup batches and rows in write transactions.
              const row = draft(`s${s}-${i}`);
              await (i % 2 ? store.appendLookupBatch([row]) : store.write((tx) => tx.audit.append([row])));
            }
          }),
        ),
      );
      const rows = await stores[0]!.audit.scan(0, 10_000);

      expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 3 * appendsPerStore }, (_, i) => i + 1));
      let prev = GENESIS_HASH;
      for (const row of rows) {
        expect(row.prevHash).toBe(prev);
        const fields = [row.seq, row.at, row.requestId, row.tokenId, row.tokenName, row.role, row.action, row.host, row.targetId, row.outcome, row.detail] as const;
        expect(createHash('sha256').update(chainText(prev, [...fields])).digest('hex')).toBe(row.hash);
        prev = row.hash;
      }
      expect(new Set(rows.map((row) => row.requestId)).size).toBe(3 * appendsPerStore);
      expect(await stores[1]!.audit.recordedHead()).toBe(`${rows.length}:${prev}`);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('a revoke through one store is seen by another store’s cached lookup within 1 s (notification)', async () => {
    const a = await open();
    const b = await open({ revalidateMs: 60_000 });
    try {
      const [row, hidden] = [tokenRow(), tokenRow()];
      await a.tokens.insert(row);
      await a.tokens.insert(hidden);
      expect(await within(1000, () => b.tokens.findById(row.id), (found) => found !== undefined)).toBeLessThan(1000);
      await settle();
      expect(await b.tokens.findById(row.id)).toBeDefined();
      expect(await b.tokens.findById(hidden.id)).toBeDefined();
      // Cached: a change made behind the stores' backs (no notification, no counter) is not seen.
      await sql('DELETE FROM tokens WHERE id = $1', [hidden.id]);
      expect(await b.tokens.findById(hidden.id)).toBeDefined();

      await a.tokens.revoke(row.id, '2026-03-02T10:00:00.000Z');
      const took = await within(1000, () => b.tokens.findById(row.id), (found) => found?.revokedAt === '2026-03-02T10:00:00.000Z');
      expect(took).toBeLessThan(1000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('sees a change whose notification was lost when the change counter moves (revalidation)', async () => {
    const b = await open({ revalidateMs: 100 });
    try {
      const row = tokenRow();
      await b.tokens.insert(row);
      await settle();
      expect(await b.tokens.findById(row.id)).toBeDefined();
      await sql('DELETE FROM tokens WHERE id = $1', [row.id]);
      expect(await b.tokens.findById(row.id)).toBeDefined();

      await sql('UPDATE store_version SET version = version + 1');
      expect(await within(1000, () => b.tokens.findById(row.id), (found) => found === undefined)).toBeLessThan(1000);
    } finally {
      await b.close();
    }
  });

  it('bypasses its caches while its LISTEN connection is lost, and listens again', async () => {
    const a = await open();
    const b = await open({ revalidateMs: 60_000, reconnectMs: 1500 });
    try {
      const row = tokenRow();
      await a.tokens.insert(row);
      await settle();
      expect(await b.tokens.findById(row.id)).toBeDefined();
      expect(b.listening).toBe(true);

      await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [LISTEN_APPLICATION]);
      await within(1000, async () => b.listening, (listening) => !listening);
      // Behind the stores' backs: only a read that goes to the database sees it.
      await sql('DELETE FROM tokens WHERE id = $1', [row.id]);
      expect(await b.tokens.findById(row.id)).toBeUndefined();

      await within(5000, async () => b.listening, (listening) => listening);
      const next = tokenRow();
      await a.tokens.insert(next);
      expect(await b.tokens.findById(next.id)).toBeDefined();
      await a.tokens.revoke(next.id, '2026-03-02T10:00:00.000Z');
      expect(await within(1000, () => b.tokens.findById(next.id), (found) => found?.revokedAt !== null)).toBeLessThan(1000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('names a foreign trigger, and once guarded refuses to read or write until it is gone', async () => {
    const store = await open({ revalidateMs: 100 });
    try {
      store.guardSchema();
      expect(await store.foreignSchemaObjects()).toEqual([]);
      await sql(`CREATE FUNCTION unrevoke() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.revoked_at := NULL; RETURN NEW; END $$`);
      await sql('CREATE TRIGGER unrevoke BEFORE UPDATE ON tokens FOR EACH ROW EXECUTE FUNCTION unrevoke()');
      await sql('ALTER TABLE integrations ADD COLUMN extra text');

      expect(await store.foreignSchemaObjects()).toEqual(['function unrevoke', 'table integrations (changed)', 'trigger unrevoke']);
      await within(1000, () => store.tokens.count().then(() => 'served', (error: unknown) => error), (outcome) => outcome instanceof IntegrityError);
      await expect(store.tokens.findById('tok_ffffffffffffffff')).rejects.toThrow(/gained schema objects scalr-credd did not create \(function unrevoke, table integrations \(changed\), trigger unrevoke\)/);
      await expect(store.write((tx) => tx.tokens.insert(tokenRow()))).rejects.toThrow(IntegrityError);

      await sql('DROP TRIGGER unrevoke ON tokens; DROP FUNCTION unrevoke(); ALTER TABLE integrations DROP COLUMN extra');
      await within(1000, () => store.tokens.count().then(() => 'served', (error: unknown) => error), (outcome) => outcome === 'served');
      expect(await store.foreignSchemaObjects()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
