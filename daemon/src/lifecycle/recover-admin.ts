import type { CreatedToken } from '@dcs/shared';
import { createAuditLog } from '../audit/audit-log.js';
import { mintToken } from '../auth/token-hash.js';
import type { TokenRow } from '../store/rows.js';
import { assertOwnSchema, connectStore } from './store-connection.js';
import { requireExistingStore, type StorePaths } from './store-paths.js';
import { usingUnlockedStore } from './unlock-store.js';

/**
 * Mints a new admin token offline, for a store nobody can administer any more (the admin tokens
 * were lost, revoked or expired). Holding the root key is the proof of authority: the store is
 * unlocked with it (the new row needs its MAC), and the mint is audited as a `token.create` with
 * `recovery: true` in the same transaction. Safe while the daemon serves.
 */
export async function recoverAdmin(paths: StorePaths, name: string, now: () => Date = () => new Date()): Promise<CreatedToken> {
  requireExistingStore(paths);
  const store = await connectStore(paths);
  try {
    await assertOwnSchema(store);
    return await usingUnlockedStore(store, { keyPath: paths.rootKeyPath, subject: store.subject }, async () => {
      const minted = mintToken();
      const row: TokenRow = { id: minted.id, name, role: 'admin', hash: minted.hash, hosts: null, createdAt: now().toISOString(), expiresAt: null, revokedAt: null };
      const audit = createAuditLog(store, now);
      await store.write(async (tx) => {
        await tx.tokens.insert(row);
        await audit.appendIn(tx, { action: 'token.create', targetId: row.id, outcome: 'ok', detail: { role: 'admin', recovery: true, via: 'cli' } });
      });
      return { id: row.id, name, role: row.role, hosts: null, createdAt: row.createdAt, expiresAt: null, revokedAt: null, token: minted.value };
    });
  } finally {
    await store.close();
  }
}
