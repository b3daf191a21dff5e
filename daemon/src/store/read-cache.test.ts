import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database.js';
import { createKeyringRepository } from './keyring-repository.js';
import { readThrough, storeChanges } from './read-cache.js';
import { createTokenRepository, type TokenRow } from './token-repository.js';
import { testRowGuard } from '../../../test/support/row-guard.js';

/** One row key for every connection of a test, as one store has. */
const rows = testRowGuard();

/** Lets the event loop turn once: the read cache asks SQLite about other connections' commits once per turn. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

let dir: string;
let db: Db;
let other: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'read-cache-'));
  db = openDatabase(join(dir, 'store.db'));
  db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT');
  // A second connection to the same file: what the offline CLI or another process is.
  other = openDatabase(join(dir, 'store.db'));
});

afterEach(() => {
  db.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A cached reader of `kv` that counts how often it reached SQLite. */
function cachedKv(maxEntries?: number) {
  const select = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
  let loads = 0;
  const read = readThrough(
    db,
    (key: string) => {
      loads++;
      const v = select.get(key) as string | undefined;
      return v === undefined ? undefined : { v };
    },
    maxEntries,
  );
  return { read, loads: () => loads };
}

const put = (conn: Db, k: string, v: string) => conn.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run(k, v);

describe('readThrough', () => {
  it('reads SQLite once for repeated reads of an unchanged store, misses included', () => {
    put(db, 'a', '1');
    const kv = cachedKv();

    expect([kv.read('a'), kv.read('a'), kv.read('a')]).toEqual([{ v: '1' }, { v: '1' }, { v: '1' }]);
    expect([kv.read('missing'), kv.read('missing')]).toEqual([undefined, undefined]);
    expect(kv.loads()).toBe(2);
  });

  it('sees a commit by another connection from the next turn of the event loop on', async () => {
    put(db, 'a', '1');
    const kv = cachedKv();
    kv.read('a');
    kv.read('gone');

    put(other, 'a', '2');
    put(other, 'gone', 'here');
    await nextTurn();

    expect(kv.read('a')).toEqual({ v: '2' });
    expect(kv.read('gone')).toEqual({ v: 'here' });
  });

  it('asks SQLite whether another connection committed once per turn of the event loop, however many reads', async () => {
    put(db, 'a', '1');
    const kv = cachedKv();
    kv.read('a');
    await nextTurn();
    kv.read('a');

    put(other, 'a', '2');
    const sameTurn = kv.read('a');
    await nextTurn();

    expect([sameTurn, kv.read('a')]).toEqual([{ v: '1' }, { v: '2' }]);
  });

  it('sees a write of its own connection once the writer called noteWrite', () => {
    put(db, 'a', '1');
    const kv = cachedKv();
    kv.read('a');

    storeChanges(db).noteWrite();
    put(db, 'a', '2');

    expect(kv.read('a')).toEqual({ v: '2' });
  });

  it('does not cache inside a transaction, so a rolled-back write is never served', () => {
    put(db, 'a', '1');
    const kv = cachedKv();
    kv.read('a');

    expect(() =>
      db.transaction(() => {
        storeChanges(db).noteWrite();
        put(db, 'a', 'rolled back');
        expect(kv.read('a')).toEqual({ v: 'rolled back' });
        throw new Error('abort');
      })(),
    ).toThrow('abort');

    expect(kv.read('a')).toEqual({ v: '1' });
  });

  it('starts over when full, and serves correct values after', () => {
    for (const k of ['a', 'b', 'c']) put(db, k, k.toUpperCase());
    const kv = cachedKv(2);

    expect([kv.read('a'), kv.read('b'), kv.read('c'), kv.read('a')]).toEqual([{ v: 'A' }, { v: 'B' }, { v: 'C' }, { v: 'A' }]);
    expect(kv.loads()).toBe(4);
  });

  it('hands out frozen rows', () => {
    put(db, 'a', '1');
    const row = cachedKv().read('a')!;

    expect(Object.isFrozen(row)).toBe(true);
  });
});

describe('the cached repository reads', () => {
  const tokenRow = (overrides: Partial<TokenRow> = {}): TokenRow => ({
    id: 'tok_00000000000000aa',
    name: 'runner',
    role: 'runner',
    hash: new Uint8Array(32).fill(7),
    hosts: null,
    createdAt: '2026-03-02T09:00:00.000Z',
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  });

  it('a token revoked through the repository is read as revoked at once', () => {
    const tokens = createTokenRepository(db, rows);
    tokens.insert(tokenRow());
    expect(tokens.findById('tok_00000000000000aa')?.revokedAt).toBeNull();

    tokens.revoke('tok_00000000000000aa', '2026-03-02T10:00:00.000Z');

    expect(tokens.findById('tok_00000000000000aa')?.revokedAt).toBe('2026-03-02T10:00:00.000Z');
  });

  it('a token revoked by another process is read as revoked from the next turn of the event loop on', async () => {
    const tokens = createTokenRepository(db, rows);
    tokens.insert(tokenRow());
    expect(tokens.findById('tok_00000000000000aa')?.revokedAt).toBeNull();

    createTokenRepository(other, rows).revoke('tok_00000000000000aa', '2026-03-02T10:00:00.000Z');
    await nextTurn();

    expect(tokens.findById('tok_00000000000000aa')?.revokedAt).toBe('2026-03-02T10:00:00.000Z');
  });

  it('the keyring version follows bumps from this connection and from another', async () => {
    const keyrings = createKeyringRepository(db);
    const before = keyrings.version();

    keyrings.bumpVersion();
    const afterOwn = keyrings.version();
    createKeyringRepository(other).bumpVersion();
    await nextTurn();

    expect([afterOwn, keyrings.version()]).toEqual([before + 1, before + 2]);
  });
});
