import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { createTokenRepository, type TokenRepository, type TokenRow } from './token-repository.js';
import { testRowGuard } from '../../../test/support/row-guard.js';

/** One row key for every connection of a test, as one store has. */
const rows = testRowGuard();

let repo: TokenRepository;
let counter = 0;

function buildRow(overrides: Partial<TokenRow> = {}): TokenRow {
  counter += 1;
  return {
    id: `tok_${counter.toString(16).padStart(16, '0')}`,
    name: `token ${counter}`,
    role: 'runner',
    hash: new Uint8Array(32).fill(counter),
    hosts: null,
    createdAt: `2026-03-02T09:00:${String(counter % 60).padStart(2, '0')}.000Z`,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

beforeEach(() => {
  repo = createTokenRepository(openDatabase(':memory:'), rows);
});

describe('TokenRepository', () => {
  it('returns an inserted row unchanged, hosts included', () => {
    const limited = buildRow({ hosts: ['ghcr.io', 'quay.io'], expiresAt: '2026-04-01T00:00:00.000Z' });
    const unlimited = buildRow({ role: 'admin' });

    repo.insert(limited);
    repo.insert(unlimited);

    expect(repo.findById(limited.id)).toEqual(limited);
    expect(repo.findById(unlimited.id)).toEqual(unlimited);
  });

  it('returns undefined for an unknown id', () => {
    expect(repo.findById('tok_ffffffffffffffff')).toBeUndefined();
  });

  it('refuses a role the schema does not know', () => {
    expect(() => repo.insert(buildRow({ role: 'root' as TokenRow['role'] }))).toThrow();
  });

  it('lists tokens by creation time', () => {
    const later = buildRow({ createdAt: '2026-03-02T10:00:00.000Z' });
    const earlier = buildRow({ createdAt: '2026-03-02T08:00:00.000Z' });
    repo.insert(later);
    repo.insert(earlier);

    expect(repo.list().map((row) => row.id)).toEqual([earlier.id, later.id]);
    expect(repo.count()).toBe(2);
  });

  it('revokes once, keeping the first time, and reports false after that', () => {
    const row = buildRow();
    repo.insert(row);

    const first = repo.revoke(row.id, '2026-03-02T10:00:00.000Z');
    const second = repo.revoke(row.id, '2026-03-02T11:00:00.000Z');

    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(repo.findById(row.id)?.revokedAt).toBe('2026-03-02T10:00:00.000Z');
    expect(repo.revoke('tok_ffffffffffffffff', '2026-03-02T10:00:00.000Z')).toBe(false);
  });

  it('counts only tokens of the role that are neither revoked nor expired at the given time', () => {
    const now = '2026-03-02T12:00:00.000Z';
    repo.insert(buildRow({ role: 'admin' }));
    repo.insert(buildRow({ role: 'admin', expiresAt: '2026-03-02T13:00:00.000Z' }));
    repo.insert(buildRow({ role: 'admin', expiresAt: now }));
    repo.insert(buildRow({ role: 'admin', revokedAt: '2026-03-02T11:00:00.000Z' }));
    repo.insert(buildRow({ role: 'runner' }));

    expect(repo.countActive('admin', now)).toBe(2);
    expect(repo.countActive('runner', now)).toBe(1);
    expect(repo.countActive('auditor', now)).toBe(0);
  });
});
