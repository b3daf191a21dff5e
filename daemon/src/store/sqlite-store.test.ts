import { describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from './sqlite-store.js';

const keyringRow = (term: number) => ({ term, sealedKey: new Uint8Array([term]), createdAt: '2026-03-02T09:00:00.000Z' });

describe('SQLite store: write', () => {
  it('commits what the transaction wrote and returns its result', async () => {
    const store = openSqliteStore(':memory:');

    const result = await store.write(async (tx) => {
      await tx.keyring.insert(keyringRow(1));
      return 'done';
    });

    expect(result).toBe('done');
    expect(await store.keyring.list()).toHaveLength(1);
  });

  it('rolls everything back and rethrows when the transaction throws', async () => {
    const store = openSqliteStore(':memory:');

    await expect(
      store.write(async (tx) => {
        await tx.keyring.insert(keyringRow(1));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');

    expect(await store.keyring.list()).toEqual([]);
  });

  it('fsyncs a durable commit (synchronous FULL around it) and not a lookup batch', async () => {
    const store = openSqliteStore(':memory:');
    const draft = { at: '2026-03-02T09:00:00.000Z', requestId: null, tokenId: null, tokenName: null, role: null, action: 'test', host: null, targetId: null, outcome: 'ok', detail: null };
    const pragmas = vi.spyOn(store.db, 'pragma');

    await store.write((tx) => tx.audit.append([draft]));
    const durable = pragmas.mock.calls.map(([text]) => text);
    pragmas.mockClear();
    await store.appendLookupBatch([draft]);

    expect({ durable, batch: pragmas.mock.calls.map(([text]) => text) }).toEqual({ durable: ['synchronous = FULL', 'synchronous = NORMAL'], batch: [] });
    expect((await store.audit.scan(0, 10)).map((row) => row.seq)).toEqual([1, 2]);
  });

  it('never lets a read outside the transaction see rows that may still roll back', async () => {
    const store = openSqliteStore(':memory:');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));

    const writing = store.write(async (tx) => {
      await tx.keyring.insert(keyringRow(1));
      inserted();
      await held;
      throw new Error('rolled back');
    });
    await insertedYet;
    const reading = store.keyring.list();
    release();

    await expect(writing).rejects.toThrow('rolled back');
    expect(await reading).toEqual([]);
  });

  it('runs concurrent transactions one after the other', async () => {
    const store = openSqliteStore(':memory:');
    const order: string[] = [];
    const transaction = (name: string, term: number) =>
      store.write(async (tx) => {
        order.push(`${name} begins`);
        await tx.keyring.insert(keyringRow(term));
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`${name} ends`);
      });

    await Promise.all([transaction('a', 1), transaction('b', 2)]);

    expect(order).toEqual(['a begins', 'a ends', 'b begins', 'b ends']);
    expect((await store.keyring.list()).map((row) => row.term)).toEqual([1, 2]);
  });

  it('rejects a write after close and still closes again, instead of holding its write lock forever', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();

    await expect(store.write(async () => 1)).rejects.toThrow(/not open/);
    await expect(store.close()).resolves.toBeUndefined();
  });
});
