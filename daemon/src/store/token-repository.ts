import type { Role } from '@dcs/shared';
import { IntegrityError } from '../errors.js';
import type { Db } from './database.js';
import { prepareWrite, readThrough } from './read-cache.js';
import type { SqlRecord } from './row-mapping.js';
import { TOKEN_AUTHENTICATED_FIELDS, TOKEN_ROW_MAPPING, type TokenRow } from './rows.js';
import { authenticateTable, sortByAuthenticity, type AuthenticatedRows, type RowGuard } from './row-integrity.js';

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
  const insert = prepareWrite(db, `INSERT INTO tokens (${TOKEN_ROW_MAPPING.columns}) VALUES (${TOKEN_ROW_MAPPING.params})`);
  const byId = db.prepare(`SELECT ${TOKEN_ROW_MAPPING.columns} FROM tokens WHERE id = ?`);
  const all = db.prepare(`SELECT ${TOKEN_ROW_MAPPING.columns} FROM tokens ORDER BY created_at, id`);
  const revoke = prepareWrite(db, 'UPDATE tokens SET revoked_at = ?, mac = ? WHERE id = ? AND revoked_at IS NULL');
  const setMac = prepareWrite(db, 'UPDATE tokens SET mac = ? WHERE id = ?');
  const countActive = db
    .prepare('SELECT COUNT(*) FROM tokens WHERE role = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
    .pluck();
  const count = db.prepare('SELECT COUNT(*) FROM tokens').pluck();

  const { macOf, verified, authenticateAll } = authenticateTable(guard, 'tokens', TOKEN_ROW_MAPPING.fromSql, TOKEN_AUTHENTICATED_FIELDS);
  const sorted = () => sortByAuthenticity(all.all() as SqlRecord[], verified);
  const findById = (id: string): TokenRow | undefined => {
    const sql = byId.get(id) as SqlRecord | undefined;
    return sql && verified(sql);
  };

  return {
    insert: (row) => void insert.run(TOKEN_ROW_MAPPING.toSql(row, macOf(row))),
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

export type { TokenRow } from './rows.js';
