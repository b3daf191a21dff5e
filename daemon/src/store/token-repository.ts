import type { Role } from '@dcs/shared';
import type { Db } from './database.js';
import { prepareWrite, readThrough } from './read-cache.js';

/** A token as stored: only the SHA-256 of its secret part. */
export interface TokenRow {
  id: string;
  name: string;
  role: Role;
  hash: Uint8Array;
  hosts: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface SqlRow {
  id: string;
  name: string;
  role: Role;
  hash: Buffer;
  hosts: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, name, role, hash, hosts, created_at, expires_at, revoked_at';

/** SQL access to the tokens table. */
export interface TokenRepository {
  insert(row: TokenRow): void;
  /** Cached (see read-cache.ts): the row is frozen and shared. */
  findById(id: string): Readonly<TokenRow> | undefined;
  list(): TokenRow[];
  revoke(id: string, at: string): boolean;
  /** Active (not revoked, not expired at `now`) tokens of a role. */
  countActive(role: Role, now: string): number;
  count(): number;
}

/** Builds the repository with its statements compiled once. */
export function createTokenRepository(db: Db): TokenRepository {
  const insert = prepareWrite(
    db,
    `INSERT INTO tokens (${COLUMNS}) VALUES (@id, @name, @role, @hash, @hosts, @created_at, @expires_at, @revoked_at)`,
  );
  const byId = db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`);
  const revoke = prepareWrite(db, 'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const countActive = db
    .prepare('SELECT COUNT(*) FROM tokens WHERE role = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
    .pluck();
  const count = db.prepare('SELECT COUNT(*) FROM tokens').pluck();
  // Every authenticated request reads its token by id.
  const findById = readThrough(db, (id: string) => fromSql(byId.get(id) as SqlRow | undefined));

  return {
    insert: (row) =>
      void insert.run({
        id: row.id,
        name: row.name,
        role: row.role,
        hash: Buffer.from(row.hash),
        hosts: row.hosts ? JSON.stringify(row.hosts) : null,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
        revoked_at: row.revokedAt,
      }),
    findById,
    list: () => (all.all() as SqlRow[]).map((row) => fromSql(row)!),
    revoke: (id, at) => revoke.run(at, id).changes > 0,
    countActive: (role, now) => countActive.get(role, now) as number,
    count: () => count.get() as number,
  };
}

function fromSql(row: SqlRow | undefined): TokenRow | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    hash: new Uint8Array(row.hash),
    hosts: row.hosts === null ? null : (JSON.parse(row.hosts) as string[]),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
