import type { Db } from './database.js';

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
}

const COLUMNS = 'id, host, username, envelope, term, export, description, created_at, updated_at';

/** SQL access to the integrations table; knows nothing of HTTP, principals or crypto. */
export interface IntegrationRepository {
  insert(row: IntegrationRow): void;
  update(row: IntegrationRow): void;
  remove(id: string): boolean;
  findById(id: string): IntegrationRow | undefined;
  findByHost(host: string): IntegrationRow | undefined;
  list(): IntegrationRow[];
  listExported(): Array<Pick<IntegrationRow, 'host' | 'username'>>;
  count(): number;
  /** Rows whose envelope uses a term below `term`, for the re-seal job. */
  listSealedBefore(term: number): IntegrationRow[];
  replaceEnvelope(id: string, envelope: Uint8Array, term: number): void;
}

/** Builds the repository with its statements compiled once. */
export function createIntegrationRepository(db: Db): IntegrationRepository {
  const insert = db.prepare(
    `INSERT INTO integrations (${COLUMNS}) VALUES (@id, @host, @username, @envelope, @term, @export, @description, @created_at, @updated_at)`,
  );
  const update = db.prepare(
    `UPDATE integrations SET username = @username, envelope = @envelope, term = @term, export = @export,
       description = @description, updated_at = @updated_at WHERE id = @id`,
  );
  const remove = db.prepare('DELETE FROM integrations WHERE id = ?');
  const byId = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE id = ?`);
  const byHost = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE host = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM integrations ORDER BY host`);
  const exported = db.prepare('SELECT host, username FROM integrations WHERE export = 1 ORDER BY host');
  const count = db.prepare('SELECT COUNT(*) AS n FROM integrations').pluck();
  const sealedBefore = db.prepare(`SELECT ${COLUMNS} FROM integrations WHERE term < ?`);
  const replaceEnvelope = db.prepare('UPDATE integrations SET envelope = ?, term = ? WHERE id = ?');

  return {
    insert: (row) => void insert.run(toSql(row)),
    update: (row) => void update.run(toSql(row)),
    remove: (id) => remove.run(id).changes > 0,
    findById: (id) => fromSql(byId.get(id) as SqlRow | undefined),
    findByHost: (host) => fromSql(byHost.get(host) as SqlRow | undefined),
    list: () => (all.all() as SqlRow[]).map((row) => fromSql(row)!),
    listExported: () => exported.all() as Array<{ host: string; username: string }>,
    count: () => count.get() as number,
    listSealedBefore: (term) => (sealedBefore.all(term) as SqlRow[]).map((row) => fromSql(row)!),
    replaceEnvelope: (id, envelope, term) => void replaceEnvelope.run(Buffer.from(envelope), term, id),
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
  };
}
