import type { Role } from '@dcs/shared';
import { IntegrityError } from '../errors.js';
import type { Db } from './database.js';
import { prepareWrite, readThrough } from './read-cache.js';
import { bytes, json, plain, rowMapping, type SqlRecord } from './row-mapping.js';
import { authenticateTable, sortByAuthenticity, type AuthenticatedFields, type AuthenticatedRows, type RowGuard } from './row-integrity.js';

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

const ROW_MAPPING = rowMapping<TokenRow>({
  id: plain,
  name: plain,
  role: plain,
  hash: bytes,
  hosts: json<string[]>(),
  createdAt: plain,
  expiresAt: plain,
  revokedAt: plain,
});
const COLUMNS = ROW_MAPPING.columns;

/** What a token row's MAC covers: everything that decides what the token may do. */
const AUTHENTICATED_FIELDS: AuthenticatedFields<TokenRow> = ['name', 'role', 'hash', 'hosts', 'createdAt', 'expiresAt', 'revokedAt'];

/** SQL access to the tokens table. Every row read is authenticated (row-integrity.ts). */
export interface TokenRepository extends AuthenticatedRows {
  insert(row: TokenRow): void;
  /** Cached (see read-cache.ts): the row is frozen and shared. Throws RowAuthenticationError for an edited row. */
  findById(id: string): Readonly<TokenRow> | undefined;
  /** Every row that authenticates; edited rows are left out (and reported to the guard's listener). */
  list(): TokenRow[];
  revoke(id: string, at: string): boolean;
  /** Active (not revoked, not expired at `now`) tokens of a role. */
  countActive(role: Role, now: string): number;
  count(): number;
}

/** Builds the repository with its statements compiled once. */
export function createTokenRepository(db: Db, guard: RowGuard): TokenRepository {
  const insert = prepareWrite(db, `INSERT INTO tokens (${COLUMNS}) VALUES (${ROW_MAPPING.params})`);
  const byId = db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`);
  const revoke = prepareWrite(db, 'UPDATE tokens SET revoked_at = ?, mac = ? WHERE id = ? AND revoked_at IS NULL');
  const setMac = prepareWrite(db, 'UPDATE tokens SET mac = ? WHERE id = ?');
  const countActive = db
    .prepare('SELECT COUNT(*) FROM tokens WHERE role = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
    .pluck();
  const count = db.prepare('SELECT COUNT(*) FROM tokens').pluck();

  const { macOf, verified, authenticateAll } = authenticateTable(guard, 'tokens', ROW_MAPPING.fromSql, AUTHENTICATED_FIELDS);
  const sorted = () => sortByAuthenticity(all.all() as SqlRecord[], verified);
  const findById = (id: string): TokenRow | undefined => {
    const sql = byId.get(id) as SqlRecord | undefined;
    return sql && verified(sql);
  };

  return {
    insert: (row) => void insert.run(ROW_MAPPING.toSql(row, macOf(row))),
    // Every authenticated request reads its token by id: verified once, then served from the cache.
    findById: readThrough(db, findById),
    list: () => sorted().authentic,
    revoke(id, at) {
      const row = findById(id);
      if (!row || row.revokedAt !== null) return false;
      revoke.run(at, macOf({ ...row, revokedAt: at }), id);
      // Read back: a trigger or another writer that swallowed or undid the change (even by writing
      // back the row's earlier, authentic state) must not pass for a revocation.
      if (findById(id)?.revokedAt !== at) throw new IntegrityError(`the revocation of token ${id} did not hold; run scalr-credd verify`);
      return true;
    },
    countActive: (role, now) => countActive.get(role, now) as number,
    count: () => count.get() as number,
    unauthenticated: () => sorted().failed,
    authenticateAll: () => authenticateAll(all.all() as SqlRecord[], (id, mac) => setMac.run(mac, id)),
  };
}
