/**
 * Read-through caches for the rows every lookup reads (its token, its integration, the keyring
 * version), dropped whenever the store may have changed.
 *
 * A change reaches a connection in one of two ways, and both are watched:
 *
 * - another connection commits (the offline CLI's rotate, rekey or restore, a second process on the
 *   same file): SQLite's `PRAGMA data_version` moves — read once per turn of the event loop;
 * - this connection writes through a repository: its write statements are prepared with
 *   `prepareWrite`, which calls `noteWrite` before every run (this connection's own commits do not
 *   move `data_version`). The audit log's statements are plain: audit rows are never cached, and
 *   every lookup batch would otherwise drop the caches.
 *
 * Reads inside a transaction bypass the cache, so rows a transaction wrote but may still roll back
 * are never cached; the write's `noteWrite` already dropped what was cached before it.
 * Cached rows are frozen: callers share them.
 */
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

/** The change counter of one database connection. */
export interface StoreChanges {
  /** A number that moves whenever the store may have changed since it was last read. */
  epoch(): number;
  /** Tells the caches that this connection is about to write. */
  noteWrite(): void;
  /**
   * Runs `check` whenever another connection changed the schema (a trigger, view or table added while
   * this connection serves). A check that throws throws again on every later read until the schema is
   * changed back: a foreign trigger must not get to run inside this connection's writes.
   */
  watchSchema(check: () => void): void;
}

const trackers = new WeakMap<Db, StoreChanges>();

/** The change counter of `db`; one per connection, shared by its repositories. */
export function storeChanges(db: Db): StoreChanges {
  let tracker = trackers.get(db);
  if (!tracker) {
    const dataVersion = db.prepare('PRAGMA data_version').pluck();
    const schemaVersion = db.prepare('PRAGMA schema_version').pluck();
    let seenVersion = dataVersion.get() as number;
    let seenSchema = schemaVersion.get() as number;
    let schemaCheck: (() => void) | undefined;
    let epoch = 0;
    // PRAGMA data_version is a read transaction of its own (a quarter of a lookup's CPU when every
    // cached read asked it). Asked once per turn of the event loop: every read in the same turn
    // shares the answer, as if they had all run at its start.
    let askedThisTurn = false;
    const nextTurn = () => void (askedThisTurn = false);
    tracker = {
      epoch() {
        if (askedThisTurn) return epoch;
        const version = dataVersion.get() as number;
        if (version !== seenVersion) {
          // Only another connection's commit can add a trigger; the check runs before the new
          // version counts as seen, so a check that throws is run again on the next read.
          const schema = schemaCheck ? (schemaVersion.get() as number) : seenSchema;
          if (schema !== seenSchema) {
            schemaCheck!();
            seenSchema = schema;
          }
          seenVersion = version;
          epoch++;
        }
        // Only once the answer holds: a schema check that threw is asked again by the next read.
        askedThisTurn = true;
        setImmediate(nextTurn);
        return epoch;
      },
      noteWrite() {
        epoch++;
      },
      watchSchema(check) {
        schemaCheck = check;
        seenSchema = schemaVersion.get() as number;
      },
    };
    trackers.set(db, tracker);
  }
  return tracker;
}

/** A statement that writes: only `run`, and every run first tells the caches of its connection. */
export interface WriteStatement {
  run(...params: unknown[]): Database.RunResult;
}

/** Prepares a write statement for a table some cache reads (integrations, tokens, keyring, meta). */
export function prepareWrite(db: Db, sql: string): WriteStatement {
  const statement = db.prepare(sql);
  const changes = storeChanges(db);
  return {
    run(...params) {
      changes.noteWrite();
      return statement.run(...params);
    },
  };
}

/** How many keys a cache holds before it starts over (bounds memory under a flood of unknown keys). */
export const READ_CACHE_MAX_ENTRIES = 1024;

/** The values cached in one change epoch, by key. */
export interface EpochCache<K, V> {
  /** The value cached for `key` in `epoch`: a value, null for a cached miss, undefined when nothing is cached. */
  get(epoch: number, key: K): V | null | undefined;
  /** Caches `value` (undefined: a miss) for `key`, unless the cache has moved on from `epoch` meanwhile. */
  set(epoch: number, key: K, value: V | undefined): void;
}

/**
 * A cache that starts over whenever the epoch it is asked at moves, and when it holds `maxEntries`
 * keys (bounds memory under a flood of unknown keys). Values are frozen: callers share them. The read
 * caches of both store kinds keep their rows here.
 */
export function epochCache<K, V extends object | number>(maxEntries = READ_CACHE_MAX_ENTRIES): EpochCache<K, V> {
  const cache = new Map<K, V | null>();
  let cachedAt = -1;
  return {
    get(epoch, key) {
      if (epoch !== cachedAt) {
        cache.clear();
        cachedAt = epoch;
      }
      return cache.get(key);
    },
    set(epoch, key, value) {
      if (epoch !== cachedAt) return;
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, value === undefined ? null : typeof value === 'object' ? Object.freeze(value) : value);
    },
  };
}

/** Wraps `load` in a cache keyed by its argument; misses (undefined) are cached as well. */
export function readThrough<K, V extends object | number>(
  db: Db,
  load: (key: K) => V | undefined,
  maxEntries = READ_CACHE_MAX_ENTRIES,
): (key: K) => V | undefined {
  const changes = storeChanges(db);
  const cache = epochCache<K, V>(maxEntries);
  return (key) => {
    if (db.inTransaction) return load(key);
    const epoch = changes.epoch();
    const hit = cache.get(epoch, key);
    if (hit !== undefined) return hit ?? undefined;
    const value = load(key);
    cache.set(epoch, key, value);
    return value;
  };
}
