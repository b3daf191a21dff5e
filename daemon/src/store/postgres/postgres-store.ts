/**
 * The PostgreSQL store: the Store interface on a database that several daemons share, all active.
 *
 * Loaded only for `--store postgres://…` (the lifecycle imports this module dynamically): nothing
 * else in the daemon imports it, so `pg` costs nothing to a daemon on the embedded SQLite store.
 *
 * - Reads outside a transaction go to the pool, except the rows every lookup reads (its token, its
 *   integration, the exported listing, the keyring version), which are cached per change epoch
 *   (postgres-changes.ts).
 * - `write` runs one transaction on one pooled connection. One that changed tokens, integrations,
 *   the keyring or meta also bumps the change counter and notifies `credd_changed` as it commits;
 *   audit appends alone do neither (a notifying commit takes a global lock, and every lookup appends).
 * - Every daemon appends to one audit chain: the head row is locked for the length of a transaction.
 * - The schema is created and migrated only by `initPostgresStore` and `migratePostgresSchema`,
 *   under an advisory lock; opening a store never creates anything.
 */
import pg from 'pg';
import { ConfigError, IntegrityError, StoreUnavailableError, ValidationError } from '../../errors.js';
import type { Migration } from '../migrations.js';
import type { RowGuard } from '../row-integrity.js';
import type { AuditDraft, IntegrationTable, KeyringTable, Store, StoreTx, TokenTable } from '../store.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { readThroughAsync, startChangeFeed, CHANGE_CHANNEL, type ChangeFeed } from './postgres-changes.js';
import {
  applyMigrations,
  expectedSchemaObjects,
  foreignObjectsOf,
  latestVersion,
  newerSchema,
  schemaVersion,
  SCHEMA_LOCK,
} from './postgres-schema.js';
import { appendStatement, assertWellFormed, draftColumns, DRAFT_COLUMN_COUNT, postgresTables, rowAuthentication, type RowAuthentication, type Session } from './postgres-tables.js';

/** The PostgreSQL store. */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  /** Whether change notifications reach this store now (its caches are bypassed while they do not). */
  readonly listening: boolean;
}

export interface PostgresStoreOptions {
  /** Connections in the pool (default 8). */
  poolSize?: number;
  /** How often the change counter (and, once guarded, the schema) is checked, in ms (default 1000). */
  revalidateMs?: number;
  /** The first wait before listening again after the LISTEN connection was lost, in ms (default 100; doubling up to 5 s). */
  reconnectMs?: number;
  /** The migrations the schema must match (tests give a longer list). */
  migrations?: readonly Migration[];
  /** How long a pooled session may sit idle inside a transaction before the server ends it, in ms (default IDLE_IN_TRANSACTION_MS). */
  idleInTransactionMs?: number;
}

/**
 * The server ends a pooled session left idle inside a transaction this long. Every transaction of the
 * daemon runs its statements back to back (no network call, no wait in between), so only a stalled
 * process gets there: one frozen (SIGSTOP, a paused VM) while it holds the audit head's row lock would
 * otherwise stop every daemon's lookups until it runs again. Its transaction rolls back, so none of its
 * unanswered lookups is recorded as served.
 */
export const IDLE_IN_TRANSACTION_MS = 1_000;

/** What a store URL is called in messages: the URL without its password or any parameter but `host`. */
export function postgresSubject(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('the store URL is not a valid postgres:// URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new ConfigError('the store URL must start with postgres://');
  const host = parsed.searchParams.get('host');
  parsed.password = '';
  parsed.search = host === null ? '' : `?host=${host}`;
  parsed.hash = '';
  return `PostgreSQL store ${parsed.toString()}`;
}

/** How long a daemon waits for a pooled connection, and for one statement, before it answers 503. */
const CONNECT_TIMEOUT_MS = 2_000;
const QUERY_TIMEOUT_MS = 10_000;

/**
 * SQLSTATE classes and codes that say the database is not there (rather than that a statement is
 * wrong): connection exceptions, shutdown or start-up in progress, too many connections.
 */
const UNAVAILABLE_SQLSTATES = /^(08|57P0[1-3]|53300$)/;

/** Whether `error` says the database does not answer (as opposed to refusing a statement). */
export function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || /^E(CONNREFUSED|CONNRESET|NOENT|PIPE|TIMEDOUT|HOSTUNREACH|AI_AGAIN)$/.test(code))) return true;
  return typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)/.test(message);
}

/** Runs a database call; an answer that never comes or a lost connection becomes StoreUnavailableError (503). */
async function answered<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError() : error;
  }
}

/**
 * A value as an SQL literal, for the one query text that carries a lookup batch (postgres-store.ts's
 * appendLookupBatch): node-postgres's escapeLiteral (standard quoting; backslashes as E'' escapes).
 * Text that could not be stored anyway is refused first: a lone surrogate (assertWellFormed) or a NUL,
 * which the protocol would take for the end of the query text.
 */
function quoteLiteral(client: pg.PoolClient, value: string | null): string {
  if (value === null) return 'NULL';
  assertWellFormed([value]);
  if (value.includes('\0')) throw new ValidationError('text must not contain NUL characters');
  return client.escapeLiteral(value);
}

/** The name of the lookup batch's append, prepared per connection (PREPARE): no node-postgres statement name (`credd_N`) takes it. */
const LOOKUP_BATCH = 'credd_lookup_batch';
const PREPARE_LOOKUP_BATCH = `PREPARE ${LOOKUP_BATCH} (${Array.from({ length: DRAFT_COLUMN_COUNT }, () => 'text[]').join(', ')}) AS ${appendStatement(
  Array.from({ length: DRAFT_COLUMN_COUNT }, (_, i) => `$${i + 1}`),
)}`;

/** `--store URL` as the operator may be told to type it (without the password). */
const storeUrlOf = (subject: string) => subject.replace(/^PostgreSQL store /, '');

/** Connects one client (not pooled) for schema work; a connection failure is a ConfigError naming the store. */
async function connect(url: string, subject: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw unreachable(subject, error);
  }
}

function unreachable(subject: string, error: unknown): ConfigError {
  return new ConfigError(`cannot reach ${subject}: ${(error as Error).message}`);
}

/** Runs `fn` holding the schema lock on a client of its own; ending the session releases the lock. */
async function underSchemaLock<T>(url: string, subject: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(url, subject);
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [SCHEMA_LOCK]);
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Applies pending migrations under the schema lock, each in its own transaction. */
export async function migratePostgresSchema(url: string, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<{ from: number; to: number }> {
  const subject = postgresSubject(url);
  return underSchemaLock(url, subject, (client) => applyMigrations(client, subject, migrations));
}

/**
 * Creates (or completes) the schema and runs `create` on the open store, all under the schema lock:
 * of two inits at once, the second waits and then refuses. Refuses a store that already has a root
 * key. The store is closed when `create` settles.
 */
export async function initPostgresStore<T>(
  url: string,
  create: (store: PostgresStore) => Promise<T>,
  options: PostgresStoreOptions = {},
): Promise<T> {
  const subject = postgresSubject(url);
  return underSchemaLock(url, subject, async (client) => {
    await applyMigrations(client, subject, options.migrations);
    const store = await openPostgresStore(url, options);
    try {
      if (await store.keyring.findRootKeyCheck()) throw new ConfigError(`${subject} is already initialised`);
      return await create(store);
    } finally {
      await store.close();
    }
  });
}

/** Opens the store at `url`; refuses a database without the schema, or with an older or newer one. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const subject = postgresSubject(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 8,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idle_in_transaction_session_timeout: options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
  });
  // An idle connection that fails (a restarted server) is dropped by the pool; the next query reconnects.
  pool.on('error', () => undefined);
  let expected: Map<string, string | null>;
  try {
    const client = await pool.connect().catch((error: unknown) => {
      throw unreachable(subject, error);
    });
    try {
      const version = await schemaVersion(client);
      const latest = latestVersion(options.migrations);
      if (version === undefined || version === 0) {
        throw new ConfigError(`${subject} has no scalr-credd schema; run scalr-credd init --store ${storeUrlOf(subject)}`);
      }
      if (version < latest) {
        throw new ConfigError(`${subject} has schema version ${version}, older than this scalr-credd (${latest}); run scalr-credd migrate --store ${storeUrlOf(subject)}`);
      }
      if (version > latest) throw newerSchema(subject, version, latest);
      expected = await expectedSchemaObjects(client, options.migrations).catch((error: unknown) => {
        // 42501 insufficient_privilege: the reference schema (built, then rolled back) needs CREATE.
        if ((error as { code?: unknown }).code !== '42501') throw error;
        throw new ConfigError(
          `${subject}: the daemon's role needs the CREATE privilege on the database, to build the reference schema its own is checked against (in a transaction that is rolled back)`,
        );
      });
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const feed = await startChangeFeed({ connectionString: url }, options.reconnectMs);
  try {
    return await postgresStoreOver(pool, feed, subject, expected, options.revalidateMs ?? 1000);
  } catch (error) {
    await feed.close();
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** Names for prepared statements, by their text: each is parsed once per connection. */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `credd_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/** A session on a pool or one client: statements with parameters are prepared; text must be well-formed. */
function sessionOn(queryable: pg.Pool | pg.PoolClient, changed: () => void, before: () => void = () => undefined): Session {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      before();
      if (!params) return (await answered(() => queryable.query(text))) as unknown as { rows: R[]; rowCount: number | null };
      assertWellFormed(params);
      return (await answered(() => queryable.query({ name: statementName(text), text, values: params as unknown[] }))) as unknown as {
        rows: R[];
        rowCount: number | null;
      };
    },
    changed,
  };
}

async function postgresStoreOver(
  pool: pg.Pool,
  feed: ChangeFeed,
  subject: string,
  expected: ReadonlyMap<string, string | null>,
  revalidateMs: number,
): Promise<PostgresStore> {
  let auth: RowAuthentication | undefined;
  const rowsAuth = () => {
    if (!auth) throw new IntegrityError(`${subject} is not unlocked: its rows cannot be authenticated yet`);
    return auth;
  };

  // The schema is checked at open and on every revalidation; once guarded, a failed check refuses
  // every read and write until the schema is ours again.
  let guarded = false;
  let schemaFault: string | undefined;
  const checkGuard = () => {
    if (guarded && schemaFault) throw new IntegrityError(schemaFault);
  };
  const checkSchema = async () => {
    const foreign = await foreignObjectsOf(pool, expected);
    schemaFault =
      foreign.length === 0 ? undefined : `${subject} gained schema objects scalr-credd did not create (${foreign.join(', ')}); refusing to read or write it`;
  };

  /**
   * Runs `use` on one pooled connection. The pool listens for errors on idle clients only: a
   * connection the server ends between two of our statements (its idle-in-transaction timeout, a
   * restart) would be an uncaught error that stops the daemon. Recorded instead: the next statement
   * fails, and the client is closed, not reused. `use` sets `broken` when the connection is unusable.
   */
  const withClient = async <T>(use: (client: pg.PoolClient, fail: (error: Error) => void) => Promise<T>): Promise<T> => {
    checkGuard();
    const client = await answered(() => pool.connect());
    let broken: Error | undefined;
    const fail = (error: Error) => void (broken = error);
    client.on('error', fail);
    try {
      return await use(client, fail);
    } finally {
      client.off('error', fail);
      client.release(broken);
    }
  };

  /** Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  const transaction = <T>(begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    withClient(async (client, fail) => {
      await answered(() => client.query(begin));
      try {
        const result = await fn(client);
        await answered(() => client.query('COMMIT'));
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(fail);
        throw error;
      }
    });

  const write = async <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    let changed = false;
    try {
      return await transaction('BEGIN', async (client) => {
        const result = await fn(postgresTables(sessionOn(client, () => void (changed = true)), rowsAuth));
        if (changed) await client.query(`UPDATE store_version SET version = version + 1; NOTIFY ${CHANGE_CHANNEL}`);
        return result;
      });
    } finally {
      // After the commit (or a failed or uncertain one): drop what this daemon cached before it.
      if (changed) feed.bump();
    }
  };

  /**
   * The lookups' audit batch in one round trip: one query text (so several statements may share it;
   * the drafts are quoted literals) that appends the drafts committed without waiting for the WAL
   * flush, so the head row is free for the next batch (another daemon's) as soon as the statement
   * ends rather than after an fsync, and then runs txid_current() on its own: it gets a transaction
   * id, so its commit writes a record and waits for the flush with the session's setting, and that
   * flush covers the batch written before it. When the query returns, the batch is on disk (and on
   * synchronous standbys). The append is a statement each connection prepares once (PREPARE):
   * planning the chain's CTE for every batch cost the server more than running it.
   */
  const appendLookupBatch = (drafts: readonly AuditDraft[]): Promise<void> =>
    withClient(async (client, fail) => {
      if (drafts.length === 0) return;
      if (!preparedAppend.has(client)) {
        await answered(() => client.query(PREPARE_LOOKUP_BATCH));
        preparedAppend.add(client);
      }
      const columns = draftColumns(drafts).map((column) => `ARRAY[${column.map((value) => quoteLiteral(client, value)).join(', ')}]::text[]`);
      try {
        await answered(() => client.query(`BEGIN; SET LOCAL synchronous_commit = off; EXECUTE ${LOOKUP_BATCH}(${columns.join(', ')}); COMMIT; SELECT txid_current()`));
      } catch (error) {
        // A statement that failed leaves the transaction open on this connection: roll it back (or drop the connection).
        await client.query('ROLLBACK').catch(fail);
        throw error;
      }
    });
  /** The pooled connections that prepared the lookup batch's append. */
  const preparedAppend = new WeakSet<pg.PoolClient>();

  /** A write outside a transaction: a transaction of its own. */
  const written =
    <A extends unknown[], R>(run: (tx: StoreTx, ...args: A) => Promise<R>) =>
    (...args: A) =>
      write((tx) => run(tx, ...args));

  // Committed reads go to the pool; the rows every lookup reads are cached per change epoch.
  const committed = postgresTables(
    sessionOn(
      pool,
      () => {
        throw new Error('a write outside a transaction');
      },
      checkGuard,
    ),
    rowsAuth,
  );
  const cached = <K, V extends object | number>(load: (key: K) => Promise<V | undefined>, maxEntries?: number) => {
    const read = readThroughAsync(feed, load, maxEntries);
    return async (key: K) => {
      checkGuard();
      return read(key);
    };
  };
  const exported = cached((_all: null) => committed.integrations.listExported(), 1);
  const keyringVersion = cached((_key: 'version') => committed.keyring.version());

  const tokens: TokenTable = {
    ...committed.tokens,
    insert: written((tx, row) => tx.tokens.insert(row)),
    findById: cached(committed.tokens.findById),
    revoke: written((tx, id, at) => tx.tokens.revoke(id, at)),
    authenticateAll: written((tx) => tx.tokens.authenticateAll()),
  };
  const integrations: IntegrationTable = {
    ...committed.integrations,
    insert: written((tx, row) => tx.integrations.insert(row)),
    update: written((tx, row) => tx.integrations.update(row)),
    remove: written((tx, id) => tx.integrations.remove(id)),
    findByHost: cached(committed.integrations.findByHost),
    listExported: async () => (await exported(null)) ?? [],
    replaceEnvelope: written((tx, id, envelope, term) => tx.integrations.replaceEnvelope(id, envelope, term)),
    recordTest: written((tx, id, test) => tx.integrations.recordTest(id, test)),
    authenticateAll: written((tx) => tx.integrations.authenticateAll()),
  };
  const keyring: KeyringTable = {
    ...committed.keyring,
    insert: written((tx, row) => tx.keyring.insert(row)),
    replaceSealedKey: written((tx, term, sealedKey) => tx.keyring.replaceSealedKey(term, sealedKey)),
    setRootKeyCheck: written((tx, check) => tx.keyring.setRootKeyCheck(check)),
    version: async () => (await keyringVersion('version'))!,
    bumpVersion: written((tx) => tx.keyring.bumpVersion()),
  };

  let closed = false;
  // Revalidation: a notification may be lost, and a trigger may be added while the daemon serves.
  let seenVersion: string | undefined;
  let revalidating = false;
  const revalidate = async () => {
    const version = (await pool.query<{ version: string }>('SELECT version FROM store_version')).rows[0]?.version;
    if (seenVersion !== undefined && version !== seenVersion) feed.bump();
    seenVersion = version;
    await checkSchema();
  };
  await revalidate();
  const revalidation = setInterval(() => {
    if (revalidating) return;
    revalidating = true;
    revalidate()
      .catch(() => undefined)
      .finally(() => (revalidating = false));
  }, revalidateMs);
  revalidation.unref();

  return {
    kind: 'postgres',
    subject,
    get listening() {
      return feed.listening();
    },
    tokens,
    integrations,
    keyring,
    audit: {
      list: (filter) => committed.audit.list(filter),
      scan: (after, limit) => committed.audit.scan(after, limit),
      recordedHead: () => committed.audit.recordedHead(),
    },
    write,
    appendLookupBatch,
    lookupBatchLingerMs: 1,
    snapshot: (fn) =>
      transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (client) =>
        fn({ keyring: postgresTables(sessionOn(client, () => undefined), rowsAuth).keyring }),
      ),
    useRowGuard(guard: RowGuard) {
      auth = rowAuthentication(guard);
      feed.bump();
    },
    async ping() {
      await answered(() => pool.query('SELECT 1'));
    },
    guardSchema() {
      guarded = true;
    },
    foreignSchemaObjects: () => foreignObjectsOf(pool, expected),
    async close() {
      // Once: a second close (shutdown racing a failed start, a test's cleanup) has nothing left to end.
      if (closed) return;
      closed = true;
      clearInterval(revalidation);
      await feed.close();
      await pool.end();
    },
  };
}
