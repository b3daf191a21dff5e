import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { createKeyringRepository, type KeyringRepository } from './keyring-repository.js';

let repo: KeyringRepository;

beforeEach(() => {
  repo = createKeyringRepository(openDatabase(':memory:'));
});

describe('KeyringRepository', () => {
  it('lists inserted terms in ascending order with their sealed keys', () => {
    repo.insert({ term: 2, sealedKey: new Uint8Array([2, 2]), createdAt: '2026-03-02T10:00:00.000Z' });
    repo.insert({ term: 1, sealedKey: new Uint8Array([1, 1]), createdAt: '2026-03-02T09:00:00.000Z' });

    const rows = repo.list();

    expect(rows).toEqual([
      { term: 1, sealedKey: new Uint8Array([1, 1]), createdAt: '2026-03-02T09:00:00.000Z' },
      { term: 2, sealedKey: new Uint8Array([2, 2]), createdAt: '2026-03-02T10:00:00.000Z' },
    ]);
  });

  it('refuses a duplicate term and a term below 1', () => {
    repo.insert({ term: 1, sealedKey: new Uint8Array([1]), createdAt: '2026-03-02T09:00:00.000Z' });

    expect(() => repo.insert({ term: 1, sealedKey: new Uint8Array([9]), createdAt: '2026-03-02T09:00:00.000Z' })).toThrow();
    expect(() => repo.insert({ term: 0, sealedKey: new Uint8Array([9]), createdAt: '2026-03-02T09:00:00.000Z' })).toThrow();
  });

  it('replaces only the sealed key of the given term', () => {
    repo.insert({ term: 1, sealedKey: new Uint8Array([1]), createdAt: '2026-03-02T09:00:00.000Z' });
    repo.insert({ term: 2, sealedKey: new Uint8Array([2]), createdAt: '2026-03-02T09:00:00.000Z' });

    repo.replaceSealedKey(1, new Uint8Array([7, 7]));

    expect(repo.list().map((row) => [...row.sealedKey])).toEqual([[7, 7], [2]]);
  });

  it('has no root key check until one is set, then returns the latest one', () => {
    const before = repo.findRootKeyCheck();

    repo.setRootKeyCheck(new Uint8Array([1, 2, 3]));
    repo.setRootKeyCheck(new Uint8Array([4, 5]));

    expect(before).toBeUndefined();
    expect(repo.findRootKeyCheck()).toEqual(new Uint8Array([4, 5]));
  });
});
