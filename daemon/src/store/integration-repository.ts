import { INTEGRATION_SUMMARY_FIELDS, type RegistryTestResult } from '@dcs/shared';
import type { Db } from './database.js';
import { columnOf, type SqlRecord } from './row-mapping.js';
import { INTEGRATION_AUTHENTICATED_FIELDS, INTEGRATION_ROW_MAPPING, type IntegrationListing, type IntegrationRow } from './rows.js';
import { prepareWrite, readThrough } from './read-cache.js';
import { authenticateTable, sortByAuthenticity, type AuthenticatedRows, type RowGuard } from './row-integrity.js';

/**
 * One listing as a JSON object, built by SQLite from the summary's field list, in its order: each
 * field from its snake_case column, `export` as a boolean. The API test and the unit test compare it
 * with JSON.stringify of the row.
 */
const LISTING_JSON = `json_object(${INTEGRATION_SUMMARY_FIELDS.map((field) => `'${field}', ${listingColumn(field)}`).join(', ')})`;

function listingColumn(field: keyof IntegrationListing): string {
  const column = columnOf(field);
  if (field === 'export') return `json(CASE ${column} WHEN 1 THEN 'true' ELSE 'false' END)`;
  if (field === 'provider') return `COALESCE(${column}, 'static')`;
  if (field === 'identity') return `json(${column})`;
  return column;
}

/**
 * SQL access to the integrations table; knows nothing of HTTP, principals or crypto. Rows are
 * authenticated (row-integrity.ts): reads of whole rows throw RowAuthenticationError for an edited
 * row, except `listExported`, which leaves such rows out. Listings (`listingsJson`) grant nothing
 * and are not checked.
 */
export interface IntegrationRepository extends AuthenticatedRows {
  insert(row: IntegrationRow): void;
  update(row: IntegrationRow): void;
  remove(id: string): boolean;
  findById(id: string): IntegrationRow | undefined;
  /** Cached (see read-cache.ts): the row is frozen and shared. */
  findByHost(host: string): Readonly<IntegrationRow> | undefined;
  list(): IntegrationRow[];
  /**
   * Every row without its envelope and term, ordered by host, as JSON text (an array of listings);
   * only `hosts` when given. SQLite writes the text: with thousands of integrations, building one
   * object per row and serializing them was most of a listing's time and garbage.
   */
  listingsJson(hosts: readonly string[] | null): string;
  listExported(): Array<Pick<IntegrationRow, 'host' | 'username'>>;
  count(): number;
  /** Rows whose envelope uses a term below `term`, for the re-seal job; at most `limit` (default all). */
  listSealedBefore(term: number, limit?: number): IntegrationRow[];
  replaceEnvelope(id: string, envelope: Uint8Array, term: number): void;
  /** Records the outcome of a credential test; false when the integration is gone. */
  recordTest(id: string, test: { at: string; result: RegistryTestResult; detail: string }): boolean;
  /** How many rows each key term seals (for rotate's report and metrics). */
  countByTerm(): Array<{ term: number; count: number }>;
}

/** Builds the repository with its statements compiled once. */
export function createIntegrationRepository(db: Db, guard: RowGuard): IntegrationRepository {
  const insert = prepareWrite(db, `INSERT INTO integrations (${INTEGRATION_ROW_MAPPING.columns}) VALUES (${INTEGRATION_ROW_MAPPING.params})`);
  const update = prepareWrite(
    db,
    `UPDATE integrations SET username = @username, envelope = @envelope, term = @term, export = @export,
       description = @description, updated_at = @updated_at, expires_at = @expires_at, ca_cert = @ca_cert,
       last_tested_at = @last_tested_at, last_test_result = @last_test_result, last_test_detail = @last_test_detail,
       identity = @identity, mac = @mac
     WHERE id = @id`,
  );
  const remove = prepareWrite(db, 'DELETE FROM integrations WHERE id = ?');
  const byId = db.prepare(`SELECT ${INTEGRATION_ROW_MAPPING.columns} FROM integrations WHERE id = ?`);
  const byHost = db.prepare(`SELECT ${INTEGRATION_ROW_MAPPING.columns} FROM integrations WHERE host = ?`);
  const all = db.prepare(`SELECT ${INTEGRATION_ROW_MAPPING.columns} FROM integrations ORDER BY host`);
  const listingsJson = db
    .prepare(`SELECT json_group_array(${LISTING_JSON} ORDER BY host) FROM integrations
              WHERE @hosts IS NULL OR host IN (SELECT value FROM json_each(@hosts))`)
    .pluck();
  const exported = db.prepare(`SELECT ${INTEGRATION_ROW_MAPPING.columns} FROM integrations WHERE export = 1 ORDER BY host`);
  const count = db.prepare('SELECT COUNT(*) AS n FROM integrations').pluck();
  const sealedBefore = db.prepare(`SELECT ${INTEGRATION_ROW_MAPPING.columns} FROM integrations WHERE term < ? ORDER BY id LIMIT ?`);
  const replaceEnvelope = prepareWrite(db, 'UPDATE integrations SET envelope = ?, term = ?, mac = ? WHERE id = ?');
  const setMac = prepareWrite(db, 'UPDATE integrations SET mac = ? WHERE id = ?');
  const recordTest = prepareWrite(
    db,
    'UPDATE integrations SET last_tested_at = ?, last_test_result = ?, last_test_detail = ? WHERE id = ?',
  );
  const countByTerm = db.prepare('SELECT term, COUNT(*) AS count FROM integrations GROUP BY term ORDER BY term');
  const { macOf, verified, authenticateAll } = authenticateTable(guard, 'integrations', INTEGRATION_ROW_MAPPING.fromSql, INTEGRATION_AUTHENTICATED_FIELDS);
  const read = (sql: unknown): IntegrationRow | undefined => (sql ? verified(sql as SqlRecord) : undefined);
  // Checking every row's MAC costs about 10 µs a row (0.1 s for 10,000): the listing is kept until the
  // store may have changed, as the rows every lookup reads are (read-cache.ts).
  const exportedListing = readThrough(
    db,
    (_all: null) => sortByAuthenticity(exported.all() as SqlRecord[], verified).authentic.map(({ host, username }) => ({ host, username })),
    1,
  );
  const findById = (id: string) => read(byId.get(id));

  return {
    insert: (row) => void insert.run(INTEGRATION_ROW_MAPPING.toSql(row, macOf(row))),
    update: (row) => void update.run(INTEGRATION_ROW_MAPPING.toSql(row, macOf(row))),
    remove: (id) => remove.run(id).changes > 0,
    findById,
    // Every lookup reads its integration by host: verified once, then served from the cache.
    findByHost: readThrough(db, (host: string) => read(byHost.get(host))),
    list: () => (all.all() as SqlRecord[]).map(verified),
    listingsJson: (hosts) => listingsJson.get({ hosts: hosts === null ? null : JSON.stringify(hosts) }) as string,
    listExported: () => exportedListing(null) ?? [],
    count: () => count.get() as number,
    // LIMIT -1 is SQLite for "no limit".
    listSealedBefore: (term, limit = -1) => (sealedBefore.all(term, limit) as SqlRecord[]).map(verified),
    replaceEnvelope(id, envelope, term) {
      const row = findById(id);
      if (row) replaceEnvelope.run(Buffer.from(envelope), term, macOf({ ...row, envelope, term }), id);
    },
    recordTest: (id, test) => recordTest.run(test.at, test.result, test.detail, id).changes > 0,
    countByTerm: () => countByTerm.all() as Array<{ term: number; count: number }>,
    unauthenticated: () => sortByAuthenticity(all.all() as SqlRecord[], verified).failed,
    authenticateAll: () => authenticateAll(all.all() as SqlRecord[], (id, mac) => setMac.run(mac, id)),
  };
}

export type { IntegrationListing, IntegrationRow } from './rows.js';
