import type { Db } from './database.js';
import type { KeyringRow } from './rows.js';
import { prepareWrite, readThrough } from './read-cache.js';

/** SQL access to the keyring table and the root-key check value in `meta`. */
export interface KeyringRepository {
  list(): KeyringRow[];
  insert(row: KeyringRow): void;
  replaceSealedKey(term: number, sealedKey: Uint8Array): void;
  findRootKeyCheck(): Uint8Array | undefined;
  setRootKeyCheck(check: Uint8Array): void;
  /** A counter bumped by every change to the keyring or the root key, so a running daemon notices it. */
  version(): number;
  /** Increments the keyring version; call it in the transaction that changes the keyring. */
  bumpVersion(): number;
}

const ROOT_KEY_CHECK = 'root_key_check';
const KEYRING_VERSION = 'keyring_version';

/** Builds the repository with its statements compiled once. */
export function createKeyringRepository(db: Db): KeyringRepository {
  const list = db.prepare('SELECT term, sealed_key, created_at FROM keyring ORDER BY term');
  const insert = prepareWrite(db, 'INSERT INTO keyring (term, sealed_key, created_at) VALUES (?, ?, ?)');
  const replace = prepareWrite(db, 'UPDATE keyring SET sealed_key = ? WHERE term = ?');
  const getMeta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const setMeta = prepareWrite(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  // Read before every seal and open (barrier/keyring-sync.ts); a store created before the counter existed has none: version 0.
  const cachedVersion = readThrough(db, (_key: 'version') => {
    const value = getMeta.get(KEYRING_VERSION) as Buffer | undefined;
    return value ? Number(value.toString()) : 0;
  });
  const readVersion = (): number => cachedVersion('version')!;

  return {
    list: () =>
      (list.all() as Array<{ term: number; sealed_key: Buffer; created_at: string }>).map((row) => ({
        term: row.term,
        sealedKey: new Uint8Array(row.sealed_key),
        createdAt: row.created_at,
      })),
    insert: (row) => void insert.run(row.term, Buffer.from(row.sealedKey), row.createdAt),
    replaceSealedKey: (term, sealedKey) => void replace.run(Buffer.from(sealedKey), term),
    findRootKeyCheck: () => {
      const value = getMeta.get(ROOT_KEY_CHECK) as Buffer | undefined;
      return value ? new Uint8Array(value) : undefined;
    },
    setRootKeyCheck: (check) => void setMeta.run(ROOT_KEY_CHECK, Buffer.from(check)),
    version: readVersion,
    bumpVersion: () => {
      const next = readVersion() + 1;
      setMeta.run(KEYRING_VERSION, Buffer.from(String(next)));
      return next;
    },
  };
}

export type { KeyringRow } from './rows.js';
