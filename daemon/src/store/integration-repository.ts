import { INTEGRATION_SUMMARY_FIELDS, type RegistryTestResult } from '@dcs/shared';
import type { Db } from './database.js';
import { prepareWrite, readThrough } from './read-cache.js';

/** An integration as stored: the secret only as an opaque envelope. */
export interface IntegrationRow {
  id: string;
  host: string;
  username: string;
  envelope: Uint8Array;
  term: number;
  export: boolean;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  /** When the registry credential itself expires, if the operator said so. */
  expiresAt: string | null;
  /** PEM CA certificates trusted when testing the registry over TLS (not secret). */
  caCert: string | null;
  lastTestedAt: string | null;
  lastTestResult: RegistryTestResult | null;
  lastTestDetail: string | null;
}

interface SqlRow {
  id: string;
  host: string;
  username: string;
  envelope: Buffer;
  term: number;
  export: number;
  description: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  ca_cert: string | null;
  last_tested_at: string | null;
  last_test_result: RegistryTestResult | null;
  last_test_detail: string | null;
}

const COLUMNS =
  'id, host, username, envelope, term, export, description, created_at, updated_at, expires_at, ca_cert, last_tested_at, last_test_result, last_test_detail';

/** An integration without its envelope and key term. */
export type IntegrationListing = Omit<IntegrationRow, 'envelope' | 'term'>;

/**
 * One listing as a JSON object, built by SQLite from the summary's field list, in its order: each
 * field from its snake_case column, `export` as a boolean. The API test and the unit test compare it
 * with JSON.stringify of the row.
 */
const LISTING_JSON = `json_object(${INTEGRATION_SUMMARY_FIELDS.map((field) => `'${field}', ${listingColumn(field)}`).join(', ')})`;

function listingColumn(field: keyof IntegrationListing): string {
  const column = field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  return field === 'export' ? `json(CASE ${column} WHEN 1 THEN 'true' ELSE 'false' END)` : column;
}

/** SQL access to the integrations table; knows nothing of HTTP, principals or crypto. */
export interface IntegrationRepository {
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
export function createIntegrationRepository(db: Db): IntegrationRepository {
  const insert = prepareWrite(
    db,
    `INSERT INTO integrations (${COLUMNS}) VALUES (@id, @host, @username, @envelope, @term, @export, @description, @created_at, @updated_at,
       @expires_at, @ca_cert, @last_tested_at, @last_test_result, @last_test_detail)`,
  );
  const update = prepareWrite(
    db,
    `UPDATE integrations SET username = @username, envelope = @envelope, term = @term, export = @export,
       description = @description, updated_at = @updated_at, expires_at = @expires_at, ca_cert = @ca_cert,
       last_tested_at = @last_tested_at, last_test_result = @last_test_result, last_test_detail = @last_test_detail
     WHERE id = @id`,
  );
  const remove = prepareWrite(db, 'DELETE FROM integrations WHERE id = ?');
  const byId = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE id = ?`);
  const byHost = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE host = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM integrations ORDER BY host`);
  const listingsJson = db
    .prepare(`SELECT json_group_array(${LISTING_JSON} ORDER BY host) FROM integrations
              WHERE @hosts IS NULL OR host IN (SELECT value FROM json_each(@hosts))`)
    .pluck();
  const exported = db.prepare('SELECT host, username FROM integrations WHERE export = 1 ORDER BY host');
  const count = db.prepare('SELECT COUNT(*) AS n FROM integrations').pluck();
  const sealedBefore = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE term < ? ORDER BY id LIMIT ?`);
  const replaceEnvelope = prepareWrite(db, 'UPDATE integrations SET envelope = ?, term = ? WHERE id = ?');
  const recordTest = prepareWrite(
    db,
    'UPDATE integrations SET last_tested_at = ?, last_test_result = ?, last_test_detail = ? WHERE id = ?',
  );
  const countByTerm = db.prepare('SELECT term, COUNT(*) AS count FROM integrations GROUP BY term ORDER BY term');
  // Every lookup reads its integration by host.
  const findByHost = readThrough(db, (host: string) => fromSql(byHost.get(host) as SqlRow | undefined));

  return {
    insert: (row) => void insert.run(toSql(row)),
    update: (row) => void update.run(toSql(row)),
    remove: (id) => remove.run(id).changes > 0,
    findById: (id) => fromSql(byId.get(id) as SqlRow | undefined),
    findByHost,
    list: () => (all.all() as SqlRow[]).map((row) => fromSql(row)!),
    listingsJson: (hosts) => listingsJson.get({ hosts: hosts === null ? null : JSON.stringify(hosts) }) as string,
    listExported: () => exported.all() as Array<{ host: string; username: string }>,
    count: () => count.get() as number,
    // LIMIT -1 is SQLite for "no limit".
    listSealedBefore: (term, limit = -1) => (sealedBefore.all(term, limit) as SqlRow[]).map((row) => fromSql(row)!),
    replaceEnvelope: (id, envelope, term) => void replaceEnvelope.run(Buffer.from(envelope), term, id),
    recordTest: (id, test) => recordTest.run(test.at, test.result, test.detail, id).changes > 0,
    countByTerm: () => countByTerm.all() as Array<{ term: number; count: number }>,
  };
}

function toSql(row: IntegrationRow): SqlRow {
  return {
    id: row.id,
    host: row.host,
    username: row.username,
    envelope: Buffer.from(row.envelope),
    term: row.term,
    export: row.export ? 1 : 0,
    description: row.description,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    // `?? null`: rows built before these columns existed may lack the fields.
    expires_at: row.expiresAt ?? null,
    ca_cert: row.caCert ?? null,
    last_tested_at: row.lastTestedAt ?? null,
    last_test_result: row.lastTestResult ?? null,
    last_test_detail: row.lastTestDetail ?? null,
  };
}

function fromSql(row: SqlRow | undefined): IntegrationRow | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    host: row.host,
    username: row.username,
    envelope: new Uint8Array(row.envelope),
    term: row.term,
    export: row.export === 1,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    caCert: row.ca_cert,
    lastTestedAt: row.last_tested_at,
    lastTestResult: row.last_test_result,
    lastTestDetail: row.last_test_detail,
  };
}
