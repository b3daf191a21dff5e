import { existsSync } from 'node:fs';
import type { CreatedToken } from '@dcs/shared';
import { createAuditLog } from '../audit/audit-log.js';
import { mintToken } from '../auth/token-hash.js';
import { ConfigError } from '../errors.js';
import { durably, openDatabase } from '../store/database.js';
import { assertOwnSchema } from '../store/schema-check.js';
import { createTokenRepository, type TokenRow } from '../store/token-repository.js';
import { ensureDataDir, type StorePaths } from './store-paths.js';
import { usingUnlockedStore } from './unlock-store.js';

/**
 * Mints a new admin token offline, for a store nobody can administer any more (the admin tokens
 * were lost, revoked or expired). Holding the root key is the proof of authority: the store is
 * unlocked with it (the new row needs its MAC), and the mint is audited as a `token.create` with
 * `recovery: true` in the same transaction. Safe while the daemon serves.
 */
export function recoverAdmin(paths: StorePaths, name: string, now: () => Date = () => new Date()): CreatedToken {
  ensureDataDir(paths.dataDir, false);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist`);
  const db = openDatabase(paths.dbPath);
  try {
    const subject = `database ${paths.dbPath}`;
    assertOwnSchema(db, subject);
    return usingUnlockedStore(db, { keyPath: paths.rootKeyPath, subject }, ({ rows }) => {
      const minted = mintToken();
      const row: TokenRow = { id: minted.id, name, role: 'admin', hash: minted.hash, hosts: null, createdAt: now().toISOString(), expiresAt: null, revokedAt: null };
      durably(db, () => {
        createTokenRepository(db, rows).insert(row);
        createAuditLog(db, now).append({ action: 'token.create', targetId: row.id, outcome: 'ok', detail: { role: 'admin', recovery: true, via: 'cli' } });
      });
      return { id: row.id, name, role: row.role, hosts: null, createdAt: row.createdAt, expiresAt: null, revokedAt: null, token: minted.value };
    });
  } finally {
    db.close();
  }
}
