/**
 * When another daemon may have changed the rows this one caches, on a database several daemons share.
 *
 * The epoch moves whenever the store may have changed:
 * - a `credd_changed` notification arrives on the LISTEN connection (every transaction that changes
 *   tokens, integrations, the keyring or meta sends one as it commits: about one round trip);
 * - this daemon committed such a transaction;
 * - the periodic revalidation saw the change counter move (a notification can be lost);
 * - the LISTEN connection was lost, and again once it listens anew.
 * While it is not listening, nothing is cached: every read asks the database, until it listens again.
 */
import pg from 'pg';
import { epochCache, READ_CACHE_MAX_ENTRIES } from '../read-cache.js';

/** The channel every change is announced on. */
export const CHANGE_CHANNEL = 'credd_changed';

/** What application_name the LISTEN connection shows in pg_stat_activity. */
export const LISTEN_APPLICATION = 'scalr-credd listen';

/** The change epoch of one store. */
export interface ChangeFeed {
  epoch(): number;
  /** Whether notifications reach this daemon now; caches are bypassed while they do not. */
  listening(): boolean;
  /** The store may have changed (a local commit, a moved counter). */
  bump(): void;
  close(): Promise<void>;
}

/** The longest wait between two reconnection attempts. */
const MAX_BACKOFF_MS = 5_000;

/** Listens on a dedicated connection (not from the pool); resolves once the first attempt is over. */
export async function startChangeFeed(config: pg.ClientConfig, firstBackoffMs = 100): Promise<ChangeFeed> {
  let epoch = 0;
  let current: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const listen = async (): Promise<void> => {
    retry = undefined;
    const client = new pg.Client({ ...config, application_name: LISTEN_APPLICATION });
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (current === client) current = undefined;
      epoch++;
      client.end().catch(() => undefined);
      if (closed) return;
      const delay = Math.min(firstBackoffMs * 2 ** failures, MAX_BACKOFF_MS);
      failures++;
      retry = setTimeout(() => void listen(), delay);
      retry.unref();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', () => void epoch++);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch {
      onLost();
      return;
    }
    if (closed || lost) {
      if (!lost) await client.end().catch(() => undefined);
      return;
    }
    current = client;
    failures = 0;
    // Notifications were missed while not listening: whatever was cached before is suspect.
    epoch++;
  };

  await listen();
  return {
    epoch: () => epoch,
    listening: () => current !== undefined,
    bump: () => void epoch++,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}

/**
 * Wraps `load` in a cache keyed by its argument, kept for one epoch of `feed`; misses (undefined) are
 * cached as well, and cached values are frozen (callers share them). Bypassed while the feed is not
 * listening. A value loaded while the epoch moved is returned but not cached: it may predate the change.
 */
export function readThroughAsync<K, V extends object | number>(
  feed: ChangeFeed,
  load: (key: K) => Promise<V | undefined>,
  maxEntries = READ_CACHE_MAX_ENTRIES,
): (key: K) => Promise<V | undefined> {
  const cache = epochCache<K, V>(maxEntries);
  return async (key) => {
    if (!feed.listening()) return load(key);
    const epoch = feed.epoch();
    const hit = cache.get(epoch, key);
    if (hit !== undefined) return hit ?? undefined;
    const value = await load(key);
    if (feed.listening() && feed.epoch() === epoch) cache.set(epoch, key, value);
    return value;
  };
}
