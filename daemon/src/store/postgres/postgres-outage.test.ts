import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../errors.js';
import { migratePostgresSchema, openPostgresStore } from './postgres-store.js';
import { requirePostgres } from '../../../../test/support/postgres.js';
// @ts-expect-error: a plain ESM script without types (scripts/lib/pg-cluster.mjs)
import { startPgCluster } from '../../../../scripts/lib/pg-cluster.mjs';

interface Cluster {
  url: string;
  stop(): void;
}

/** PostgreSQL going away under a serving store: an outage, never an answer. */
describe.skipIf(!requirePostgres())('PostgreSQL store: the database stops answering', () => {
  it('answers StoreUnavailableError (503) for reads, writes and readiness once the server is gone', async () => {
    // A cluster of its own: stopping the shared one would stop every other suite.
    const cluster = (await startPgCluster()) as Cluster;
    const store = await (async () => {
      try {
        await migratePostgresSchema(cluster.url);
        return await openPostgresStore(cluster.url);
      } catch (error) {
        cluster.stop();
        throw error;
      }
    })();
    try {
      await store.ping();
      await store.write((tx) => tx.keyring.insert({ term: 1, sealedKey: new Uint8Array([1]), createdAt: '2026-03-02T09:00:00.000Z' }));

      cluster.stop();

      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.keyring.list()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.write((tx) => tx.keyring.bumpVersion())).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      cluster.stop();
      await store.close().catch(() => undefined);
    }
  }, 30_000);
});
