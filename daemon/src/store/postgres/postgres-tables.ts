/**
 * The store's tables on PostgreSQL, over one session: a pooled connection for committed reads, or
 * the one client of a transaction. Same semantics as the SQLite repositories (token-repository.ts,
 * integration-repository.ts, keyring-repository.ts, audit-table.ts): rows are authenticated with the
 * same field tables (rows.ts), so a row's MAC is the same on both engines. Caching is the store's
 * business (postgres-store.ts); these always ask the database.
 */
import { INTEGRATION_SUMMARY_FIELDS } from '@dcs/shared';
import { chainTail, type ChainFieldsAfterSeq } from '../../audit/chain.js';
import { auditRowOf, type AuditSqlRow } from '../audit-table.js';
import { ConflictError, IntegrityError, ValidationError } from '../../errors.js';
import { columnOf, type RowMapping, type SqlRecord } from '../row-mapping.js';
import { authenticateTable, sortByAuthenticity, type RowGuard, type TableAuthentication } from '../row-integrity.js';
import { INTEGRATION_AUTHENTICATED_FIELDS, INTEGRATION_ROW_MAPPING, TOKEN_AUTHENTICATED_FIELDS, TOKEN_ROW_MAPPING } from '../rows.js';
import type { IntegrationRow, TokenRow } from '../rows.js';
import type { AuditDraft, AuditTable, IntegrationTable, KeyringTable, StoreTx, TokenTable } from '../store.js';

/** Where the tables' queries run, and whom they tell that rows the caches hold have changed. */
export interface Session {
  /** Runs one statement (prepared once per connection, by its text) and returns its rows. */
  query<R>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
  /** Called by every write to tokens, integrations, the keyring or meta (not by audit appends). */
  changed(): void;
}

/** How the tables authenticate their rows: set once the keyring is unlocked. */
export interface RowAuthentication {
  tokens: TableAuthentication<SqlRecord, TokenRow>;
  integrations: TableAuthentication<SqlRecord, IntegrationRow>;
}

/** The authentication of both tables under `guard`. */
export function rowAuthentication(guard: RowGuard): RowAuthentication {
  return {
    tokens: authenticateTable(guard, 'tokens', TOKEN_ROW_MAPPING.fromSql, TOKEN_AUTHENTICATED_FIELDS),
    integrations: authenticateTable(guard, 'integrations', INTEGRATION_ROW_MAPPING.fromSql, INTEGRATION_AUTHENTICATED_FIELDS),
  };
}

const ROOT_KEY_CHECK = 'root_key_check';
const KEYRING_VERSION = 'keyring_version';

/** A lone surrogate: PostgreSQL would store it as U+FFFD, so what was hashed or MACed would not come back. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws ValidationError when a text parameter is not well-formed UTF-16 (the value itself is never shown). */
export function assertWellFormed(params: readonly unknown[]): void {
  for (const param of params) {
    const texts = typeof param === 'string' ? [param] : Array.isArray(param) ? param : [];
    for (const text of texts) {
      if (typeof text === 'string' && LONE_SURROGATE.test(text)) {
        throw new ValidationError('text must be well-formed Unicode: a lone surrogate cannot be stored');
      }
    }
  }
}

/** INSERT of every mapped column and the MAC, with positional parameters. */
function insertOf<R>(table: string, mapping: RowMapping<R>): { sql: string; values: (sql: SqlRecord) => unknown[] } {
  const columns = mapping.columns.split(', ');
  return {
    sql: `INSERT INTO ${table} (${mapping.columns}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    values: (sql) => columns.map((column) => sql[column]),
  };
}

const TOKEN_INSERT = insertOf('tokens', TOKEN_ROW_MAPPING);
const INTEGRATION_INSERT = insertOf('integrations', INTEGRATION_ROW_MAPPING);
/** What `update` writes: every mutable column (not id, host, created_at or provider) and the MAC. */
const INTEGRATION_UPDATED = ['username', 'envelope', 'term', 'export', 'description', 'updated_at', 'expires_at', 'ca_cert', 'last_tested_at', 'last_test_result', 'last_test_detail', 'identity', 'mac'];
const INTEGRATION_UPDATE = `UPDATE integrations SET ${INTEGRATION_UPDATED.map((column, i) => `${column} = $${i + 2}`).join(', ')} WHERE id = $1`;
const INTEGRATION_LISTING_COLUMNS = INTEGRATION_SUMMARY_FIELDS.map(columnOf);

/** The tables over `session`; `auth` throws until the keyring is unlocked. */
export function postgresTables(session: Session, auth: () => RowAuthentication): StoreTx {
  const rows = async (sql: string, params?: readonly unknown[]) => (await session.query<SqlRecord>(sql, params)).rows;
  const count = async (sql: string, params?: readonly unknown[]) => Number((await session.query<{ n: string }>(sql, params)).rows[0]!.n);
  const write = async (sql: string, params: readonly unknown[]) => {
    session.changed();
    return (await session.query(sql, params)).rowCount ?? 0;
  };
  const getMeta = async (key: string) => (await session.query<{ value: Buffer }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  const setMeta = (key: string, value: Buffer) =>
    write('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);

  /** Writes the MAC of every row of `table` (the one-time upgrade of a store from before row MACs). */
  const authenticateEvery = async (table: 'tokens' | 'integrations', authentication: Pick<TableAuthentication<SqlRecord, { id: string }>, 'authenticateAll'>, all: SqlRecord[]) => {
    const macs: Array<[string, Buffer]> = [];
    const n = authentication.authenticateAll(all, (id, mac) => macs.push([id, mac]));
    for (const [id, mac] of macs) await write(`UPDATE ${table} SET mac = $1 WHERE id = $2`, [mac, id]);
    return n;
  };

  const findToken = async (id: string) => {
    const [sql] = await rows(`SELECT ${TOKEN_ROW_MAPPING.columns} FROM tokens WHERE id = $1`, [id]);
    return sql && auth().tokens.verified(sql);
  };
  const allTokens = () => rows(`SELECT ${TOKEN_ROW_MAPPING.columns} FROM tokens ORDER BY created_at, id`);
  const tokens: TokenTable = {
    async insert(row) {
      await write(TOKEN_INSERT.sql, TOKEN_INSERT.values(TOKEN_ROW_MAPPING.toSql(row, auth().tokens.macOf(row))));
    },
    findById: findToken,
    list: async () => sortByAuthenticity(await allTokens(), auth().tokens.verified).authentic,
    async revoke(id, at) {
      const row = await findToken(id);
      if (!row || row.revokedAt !== null) return false;
      await write('UPDATE tokens SET revoked_at = $1, mac = $2 WHERE id = $3 AND revoked_at IS NULL', [at, auth().tokens.macOf({ ...row, revokedAt: at }), id]);
      // Read back: a trigger or another writer that swallowed or undid the change must not pass for a revocation.
      if ((await findToken(id))?.revokedAt !== at) throw new IntegrityError(`the revocation of token ${id} did not hold; run scalr-credd verify`);
      return true;
    },
    countActive: (role, now) =>
      count('SELECT COUNT(*) AS n FROM tokens WHERE role = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)', [role, now]),
    count: () => count('SELECT COUNT(*) AS n FROM tokens'),
    unauthenticated: async () => sortByAuthenticity(await allTokens(), auth().tokens.verified).failed,
    authenticateAll: async () => authenticateEvery('tokens', auth().tokens, await allTokens()),
  };

  const integrationColumns = INTEGRATION_ROW_MAPPING.columns;
  const verifiedIntegrations = async (sql: string, params?: readonly unknown[]) => (await rows(sql, params)).map(auth().integrations.verified);
  const findIntegration = async (column: 'id' | 'host', value: string) => {
    const [sql] = await rows(`SELECT ${integrationColumns} FROM integrations WHERE ${column} = $1`, [value]);
    return sql && auth().integrations.verified(sql);
  };
  const allIntegrations = () => rows(`SELECT ${integrationColumns} FROM integrations ORDER BY host`);
  const integrations: IntegrationTable = {
    async insert(row) {
      try {
        await write(INTEGRATION_INSERT.sql, INTEGRATION_INSERT.values(INTEGRATION_ROW_MAPPING.toSql(row, auth().integrations.macOf(row))));
      } catch (error) {
        // Another daemon created the host between this one's check and its insert.
        if ((error as { constraint?: string }).constraint === 'integrations_host_key') {
          throw new ConflictError(`host ${row.host} already has an integration`);
        }
        throw error;
      }
    },
    async update(row) {
      const sql = INTEGRATION_ROW_MAPPING.toSql(row, auth().integrations.macOf(row));
      await write(INTEGRATION_UPDATE, [row.id, ...INTEGRATION_UPDATED.map((column) => sql[column])]);
    },
    remove: async (id) => (await write('DELETE FROM integrations WHERE id = $1', [id])) > 0,
    findById: (id) => findIntegration('id', id),
    findByHost: (host) => findIntegration('host', host),
    list: async () => (await allIntegrations()).map(auth().integrations.verified),
    async listingsJson(hosts) {
      const listed = await rows(
        `SELECT ${INTEGRATION_LISTING_COLUMNS.join(', ')} FROM integrations WHERE $1::text[] IS NULL OR host = ANY($1) ORDER BY host`,
        [hosts],
      );
      return JSON.stringify(listed.map(listingOf));
    },
    async listExported() {
      const exported = await rows(`SELECT ${integrationColumns} FROM integrations WHERE export = 1 ORDER BY host`);
      return sortByAuthenticity(exported, auth().integrations.verified).authentic.map(({ host, username }) => ({ host, username }));
    },
    count: () => count('SELECT COUNT(*) AS n FROM integrations'),
    // LIMIT NULL is no limit.
    listSealedBefore: (term, limit) =>
      verifiedIntegrations(`SELECT ${integrationColumns} FROM integrations WHERE term < $1 ORDER BY id LIMIT $2`, [term, limit ?? null]),
    async replaceEnvelope(id, envelope, term) {
      const row = await findIntegration('id', id);
      if (!row) return;
      await write('UPDATE integrations SET envelope = $1, term = $2, mac = $3 WHERE id = $4', [
        Buffer.from(envelope),
        term,
        auth().integrations.macOf({ ...row, envelope, term }),
        id,
      ]);
    },
    recordTest: async (id, test) =>
      (await write('UPDATE integrations SET last_tested_at = $1, last_test_result = $2, last_test_detail = $3 WHERE id = $4', [
        test.at,
        test.result,
        test.detail,
        id,
      ])) > 0,
    countByTerm: async () =>
      (await session.query<{ term: number; count: number }>('SELECT term, COUNT(*)::integer AS count FROM integrations GROUP BY term ORDER BY term')).rows,
    unauthenticated: async () => sortByAuthenticity(await allIntegrations(), auth().integrations.verified).failed,
    authenticateAll: async () => authenticateEvery('integrations', auth().integrations, await allIntegrations()),
  };

  const keyring: KeyringTable = {
    list: async () =>
      (await session.query<{ term: number; sealed_key: Buffer; created_at: string }>('SELECT term, sealed_key, created_at FROM keyring ORDER BY term')).rows.map(
        (row) => ({ term: row.term, sealedKey: new Uint8Array(row.sealed_key), createdAt: row.created_at }),
      ),
    async insert(row) {
      await write('INSERT INTO keyring (term, sealed_key, created_at) VALUES ($1, $2, $3)', [row.term, Buffer.from(row.sealedKey), row.createdAt]);
    },
    async replaceSealedKey(term, sealedKey) {
      await write('UPDATE keyring SET sealed_key = $1 WHERE term = $2', [Buffer.from(sealedKey), term]);
    },
    async findRootKeyCheck() {
      const value = await getMeta(ROOT_KEY_CHECK);
      return value && new Uint8Array(value);
    },
    async setRootKeyCheck(check) {
      await setMeta(ROOT_KEY_CHECK, Buffer.from(check));
    },
    // A store created before the counter existed has none: version 0.
    version: async () => Number((await getMeta(KEYRING_VERSION))?.toString() ?? 0),
    async bumpVersion() {
      // One statement, so two daemons rotating at once cannot both write the same next version.
      session.changed();
      const result = await session.query<{ value: Buffer }>(
        `INSERT INTO meta (key, value) VALUES ($1, convert_to('1', 'UTF8'))
         ON CONFLICT (key) DO UPDATE SET value = convert_to((convert_from(meta.value, 'UTF8')::bigint + 1)::text, 'UTF8')
         RETURNING value`,
        [KEYRING_VERSION],
      );
      return Number(result.rows[0]!.value.toString());
    },
  };

  return { tokens, integrations, keyring, audit: auditTable(session) };
}

/** One listing as JSON.stringify writes a summary: the summary's fields in order, `export` a boolean. */
function listingOf(sql: SqlRecord): Record<string, unknown> {
  const listing: Record<string, unknown> = {};
  INTEGRATION_SUMMARY_FIELDS.forEach((field, i) => {
    const value = sql[INTEGRATION_LISTING_COLUMNS[i]!];
    if (field === 'export') listing[field] = value === 1;
    else if (field === 'provider') listing[field] = value ?? 'static';
    else if (field === 'identity') listing[field] = value === null ? null : JSON.parse(value as string);
    else listing[field] = value;
  });
  return listing;
}

const AUDIT_COLUMNS = 'seq, at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail, prev_hash, hash';

/** The draft columns in the order the chain statement takes them, then each row's chainTail. */
const DRAFT_FIELDS = ['at', 'requestId', 'tokenId', 'tokenName', 'role', 'action', 'host', 'targetId', 'outcome', 'detail'] as const;

/** How many text[] columns draftColumns gives (and appendStatement takes). */
export const DRAFT_COLUMN_COUNT = DRAFT_FIELDS.length + 1;

/** The draft columns, as arrays: DRAFT_FIELDS' values per row, then each row's chainTail (audit/chain.ts). */
export function draftColumns(drafts: readonly AuditDraft[]): Array<Array<string | null>> {
  const columns: Array<Array<string | null>> = Array.from({ length: DRAFT_COLUMN_COUNT }, () => []);
  for (const draft of drafts) {
    const values = DRAFT_FIELDS.map((field) => draft[field]);
    values.forEach((value, i) => columns[i]!.push(value));
    columns[DRAFT_FIELDS.length]!.push(chainTail(values as ChainFieldsAfterSeq));
  }
  return columns;
}

/**
 * Appends drafts to the chain in one statement, whatever the batch size: it locks the head row, gives
 * each draft the next seq, chains the hashes in a recursive CTE (each row's hash is the SHA-256 of
 * chainText(previous hash, fields), built as `previous\n[seq,` + the row's chainTail: audit/chain.ts),
 * inserts the rows and moves the head. `columns` are the eleven text[] expressions of draftColumns:
 * parameters in a transaction, literals in a lookup batch's single round trip (postgres-store.ts).
 * The hashes are checked in JavaScript by verify, as SQLite's are.
 */
export function appendStatement(columns: readonly string[]): string {
  return `WITH RECURSIVE
  head AS (SELECT seq, hash FROM audit_head FOR UPDATE),
  draft AS (
    SELECT * FROM unnest(${columns.map((column) => `${column}::text[]`).join(', ')})
      WITH ORDINALITY AS d (at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail, tail, i)
  ),
  chain AS (
    SELECT 0::bigint AS i, seq, hash, NULL::text AS prev FROM head
    UNION ALL
    SELECT d.i, chain.seq + 1, encode(sha256(convert_to(chain.hash || E'\\n[' || (chain.seq + 1) || ',' || d.tail, 'UTF8')), 'hex'), chain.hash
      FROM chain JOIN draft d ON d.i = chain.i + 1
  ),
  appended AS (
    INSERT INTO audit_events (${AUDIT_COLUMNS})
    SELECT c.seq, d.at, d.request_id, d.token_id, d.token_name, d.role, d.action, d.host, d.target_id, d.outcome, d.detail, c.prev, c.hash
      FROM chain c JOIN draft d ON d.i = c.i
  )
UPDATE audit_head SET seq = last.seq, hash = last.hash FROM (SELECT seq, hash FROM chain ORDER BY i DESC LIMIT 1) last`;
}

const APPEND = appendStatement(Array.from({ length: DRAFT_COLUMN_COUNT }, (_, i) => `$${i + 1}`));

function auditTable(session: Session): AuditTable {
  const auditRows = async (sql: string, params: readonly unknown[]) => (await session.query<AuditSqlRow>(sql, params)).rows.map(auditRowOf);
  return {
    async append(drafts) {
      // The head row is the chain's lock: every daemon's appends queue on it, in commit order.
      if (drafts.length > 0) await session.query(APPEND, draftColumns(drafts));
    },

    list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      const filterBy = (condition: (param: string) => string, value: unknown): void => {
        if (value === undefined) return;
        params.push(value);
        where.push(condition(`$${params.length}`));
      };
      filterBy((p) => `seq > ${p}`, filter.after);
      filterBy((p) => `seq < ${p}`, filter.before);
      filterBy((p) => `at >= ${p}`, filter.since);
      filterBy((p) => `host = ${p}`, filter.host);
      filterBy((p) => `action = ${p}`, filter.action);
      filterBy((p) => `token_id = ${p}`, filter.tokenId);
      if (filter.within !== undefined) {
        params.push(filter.within.hosts, filter.within.tokenIds);
        where.push(`(host = ANY($${params.length - 1}::text[]) OR (host IS NULL AND token_id = ANY($${params.length}::text[])))`);
      }
      params.push(filter.limit);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq ${filter.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${params.length}`;
      return auditRows(sql, params);
    },

    scan: (afterSeq, limit) => auditRows(`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]),

    async recordedHead() {
      const head = (await session.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head')).rows[0];
      return head && head.seq !== '0' ? `${head.seq}:${head.hash}` : undefined;
    },
  };
}
