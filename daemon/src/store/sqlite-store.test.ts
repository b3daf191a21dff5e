import { describe, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite-store.js';

describe('openSqliteStore', () => {
  it('rejects a write after close and still closes again, instead of holding its write lock forever', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();

    await expect(store.write(async () => 1)).rejects.toThrow(/not open/);
    await expect(store.close()).resolves.toBeUndefined();
  });
});
