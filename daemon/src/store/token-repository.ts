import type { Role } from '@dcs/shared';
import type { Db } from './database.js';
import { prepareWrite, readThrough } from './read-cache.js';
import { authenticateTable, sortByAuthenticity, type RowFields, type RowGuard } from './row-integrity.js';

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
  mac: Buffer | null;
}

const COLUMNS = 'id, name, role, hash, hosts, created_at, expires_at, revoked_at, mac';

/** SQL access to the tokens table. Every row read is authenticated (row-integrity.ts). */
export interface TokenRepository {
  insert(row: TokenRow): void;
  /** Cached (see read-cache.ts): the row is frozen and shared. Throws RowAuthenticationError for an edited row. */
  findById(id: string): Readonly<TokenRow> | undefined;
  /** Every row that authenticates; edited rows are left out (and reported to the guard's listener). */
  list(): TokenRow[];
  revoke(id: string, at: string): boolean;
  /** Active (not revoked, not expired at `now`) tokens of a role. */
  countActive(role: Role, now: string): number;
  count(): number;
  /** Ids of the rows whose MAC is missing or wrong. */
  unauthenticated(): string[];
  /** Writes the MAC of every row (the one-time upgrade of a store from before row MACs). */
  authenticateAll(): number;
}

/** Builds the repository with its statements compiled once. */
export function createTokenRepository(db: Db, guard: RowGuard): TokenRepository {
  const insert = prepareWrite(
    db,
    `INSERT INTO tokens (${COLUMNS}) VALUES (@id, @name, @role, @hash, @hosts, @created_at, @expires_at, @revoked_at, @mac)`,
  );
  const byId = db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`);
  const revoke = prepareWrite(db, 'UPDATE tokens SET revoked_at = ?, mac = ? WHERE id = ? AND revoked_at IS NULL');
  const setMac = prepareWrite(db, 'UPDATE tokens SET mac = ? WHERE id = ?');
  const countActive = db
    .prepare('SELECT COUNT(*) FROM tokens WHERE role = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
    .pluck();
  const count = db.prepare('SELECT COUNT(*) FROM tokens').pluck();

  const { macOf, verified, authenticateAll } = authenticateTable(guard, 'tokens', fromSql, authenticatedFields);
  const sorted = () => sortByAuthenticity(all.all() as SqlRow[], verified);
  const findById = (id: string): TokenRow | undefined => {
    const sql = byId.get(id) as SqlRow | undefined;
    return sql && verified(sql);
  };

  return {
    insert: (row) => void insert.run({ ...toSql(row), mac: macOf(row) }),
    // Every authenticated request reads its token by id: verified once, then served from the cache.
    findById: readThrough(db, findById),
    list: () => sorted().authentic,
    revoke(id, at) {
      const row = findById(id);
      if (!row || row.revokedAt !== null) return false;
      return revoke.run(at, macOf({ ...row, revokedAt: at }), id).changes > 0;
    },
    countActive: (role, now) => countActive.get(role, now) as number,
    count: () => count.get() as number,
    unauthenticated: () => sorted().failed,
    authenticateAll: () => authenticateAll(all.all() as SqlRow[], (id, mac) => setMac.run(mac, id)),
  };
}

/** What a token row's MAC covers: everything that decides what the token may do. */
function authenticatedFields(row: TokenRow): RowFields {
  return [
    ['name', row.name],
    ['role', row.role],
    ['hash', row.hash],
    ['hosts', row.hosts],
    ['createdAt', row.createdAt],
    ['expiresAt', row.expiresAt],
    ['revokedAt', row.revokedAt],
  ];
}

function toSql(row: TokenRow): Omit<SqlRow, 'mac'> {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    hash: Buffer.from(row.hash),
    hosts: row.hosts ? JSON.stringify(row.hosts) : null,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt,
  };
}

function fromSql(row: SqlRow): TokenRow {
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
