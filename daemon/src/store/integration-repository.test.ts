import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database.js';
import { createIntegrationRepository, type IntegrationRepository, type IntegrationRow } from './integration-repository.js';
import { createKeyringRepository } from './keyring-repository.js';
import { integrationSummary } from '../../../test/support/factories.js';
import { testRowGuard } from '../../../test/support/row-guard.js';

/** One row key for every connection of a test, as one store has. */
const rows = testRowGuard();

let db: Db;
let repo: IntegrationRepository;
let counter = 0;

function buildRow(overrides: Partial<IntegrationRow> = {}): IntegrationRow {
  counter += 1;
  const at = '2026-03-02T09:00:00.000Z';
  return {
    ...integrationSummary({ id: `int_${counter.toString(16).padStart(16, '0')}`, host: `registry-${counter}.example.com`, username: 'bot', createdAt: at, updatedAt: at }),
    envelope: new Uint8Array([1, 0, 0, 0, 1, counter & 0xff]),
    term: 1,
    ...overrides,
  };
}

/** What a listing shows of a row: every field but the envelope and the term, in the summary's order. */
function listing({ envelope: _envelope, term: _term, ...rest }: IntegrationRow) {
  return {
    id: rest.id, host: rest.host, username: rest.username, export: rest.export, description: rest.description,
    createdAt: rest.createdAt, updatedAt: rest.updatedAt, expiresAt: rest.expiresAt, caCert: rest.caCert,
    lastTestedAt: rest.lastTestedAt, lastTestResult: rest.lastTestResult, lastTestDetail: rest.lastTestDetail,
    provider: rest.provider, identity: rest.identity,
  };
}

beforeEach(() => {
  db = openDatabase(':memory:');
  const keyring = createKeyringRepository(db);
  // integrations.term references keyring.term.
  for (const term of [1, 2]) keyring.insert({ term, sealedKey: new Uint8Array([term]), createdAt: '2026-03-02T09:00:00.000Z' });
  repo = createIntegrationRepository(db, rows);
});

describe('IntegrationRepository', () => {
  it('returns an inserted row unchanged when found by id or by host', () => {
    const row = buildRow({ description: 'ci', export: false });

    repo.insert(row);

    expect(repo.findById(row.id)).toEqual(row);
    expect(repo.findByHost(row.host)).toEqual(row);
    expect(repo.findById(row.id)?.envelope).toBeInstanceOf(Uint8Array);
  });

  it('returns undefined when nothing matches', () => {
    expect(repo.findById('int_ffffffffffffffff')).toBeUndefined();
    expect(repo.findByHost('nowhere.example.com')).toBeUndefined();
  });

  it('throws when a second row has the same host', () => {
    repo.insert(buildRow({ host: 'ghcr.io' }));

    expect(() => repo.insert(buildRow({ host: 'ghcr.io' }))).toThrow();
    expect(repo.count()).toBe(1);
  });

  it('throws when the row names a key term the keyring does not have', () => {
    expect(() => repo.insert(buildRow({ term: 9 }))).toThrow();
  });

  it('writes every mutable field and keeps host and createdAt when updated', () => {
    const row = buildRow();
    repo.insert(row);
    const next = { ...row, username: 'new', envelope: new Uint8Array([9, 9]), term: 2, export: false, description: 'd', updatedAt: '2026-03-03T00:00:00.000Z' };

    repo.update(next);

    expect(repo.findById(row.id)).toEqual(next);
  });

  it('returns true once and false after that when a row is removed', () => {
    const row = buildRow();
    repo.insert(row);

    expect(repo.remove(row.id)).toBe(true);
    expect(repo.remove(row.id)).toBe(false);
    expect(repo.findById(row.id)).toBeUndefined();
  });

  it('lists rows by host and lists only exported hosts with their usernames', () => {
    repo.insert(buildRow({ host: 'quay.io', username: 'q' }));
    repo.insert(buildRow({ host: 'ghcr.io', username: 'g' }));
    repo.insert(buildRow({ host: 'hidden.example.com', export: false }));

    const hosts = repo.list().map((row) => row.host);
    const exported = repo.listExported();

    expect(hosts).toEqual(['ghcr.io', 'hidden.example.com', 'quay.io']);
    expect(exported).toEqual([
      { host: 'ghcr.io', username: 'g' },
      { host: 'quay.io', username: 'q' },
    ]);
    expect(repo.count()).toBe(3);
  });

  it('lists every row by host as JSON, the summary fields only, as JSON.stringify writes them', () => {
    const rows = [
      buildRow({ host: 'quay.io', export: false, description: 'mirror "eu" \\ tab\there\n', expiresAt: '2027-01-01T00:00:00.000Z' }),
      buildRow({ host: 'ghcr.io', username: 'bøt ✓ 🚀', caCert: 'PEM\r\n', lastTestedAt: '2026-03-03T09:00:00.000Z', lastTestResult: 'ok', lastTestDetail: 'HTTP 200 \u0001\u001f\u007f\u2028' }),
    ];
    for (const row of rows) repo.insert(row);

    const json = repo.listingsJson(null);

    expect(json).toBe(JSON.stringify([rows[1]!, rows[0]!].map(listing)));
    expect(json).not.toMatch(/envelope|term/);
  });

  it('lists only the given hosts, and an empty array when none match', () => {
    for (const host of ['a.example', 'b.example', 'c.example']) repo.insert(buildRow({ host }));

    expect((JSON.parse(repo.listingsJson(['c.example', 'a.example'])) as Array<{ host: string }>).map((row) => row.host)).toEqual(['a.example', 'c.example']);
    expect(repo.listingsJson([])).toBe('[]');
    expect(repo.listingsJson(['none.example'])).toBe('[]');
  });

  it('writes any text field exactly as JSON.stringify does (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (username, detail) => {
        db.exec('DELETE FROM integrations');
        // SQLite stores UTF-8: a lone surrogate is stored (and read back) as U+FFFD, as from the API.
        const row = buildRow({ username, description: detail, lastTestDetail: detail, lastTestResult: 'unauthorized' });
        repo.insert(row);
        const stored = repo.findById(row.id)!;
        expect(repo.listingsJson(null)).toBe(JSON.stringify([listing(stored)]));
      }),
      { numRuns: 300 },
    );
  });

  it('finds rows sealed under an older term and replaces only the envelope and term', () => {
    const old = buildRow({ term: 1 });
    const current = buildRow({ term: 2 });
    repo.insert(old);
    repo.insert(current);

    const stale = repo.listSealedBefore(2);
    repo.replaceEnvelope(old.id, new Uint8Array([7, 7, 7]), 2);

    expect(stale.map((row) => row.id)).toEqual([old.id]);
    expect(repo.findById(old.id)).toEqual({ ...old, envelope: new Uint8Array([7, 7, 7]), term: 2 });
    expect(repo.listSealedBefore(2)).toEqual([]);
  });
});
