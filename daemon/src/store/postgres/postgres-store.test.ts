import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chainText, GENESIS_HASH } from '../../audit/chain.js';
import { ConflictError, ValidationError } from '../../errors.js';
import { RowAuthenticationError } from '../row-integrity.js';
import type { IntegrationRow, TokenRow } from '../rows.js';
import { openSqliteStore } from '../sqlite-store.js';
import type { AuditDraft, AuditRow, Store } from '../store.js';
import { migratePostgresSchema, openPostgresStore, type PostgresStore } from './postgres-store.js';
import { integrationSummary, tokenRow } from '../../../../test/support/factories.js';
import { createTestDatabase, requirePostgres, withPgClient, type TestDatabase } from '../../../../test/support/postgres.js';
import { testRowGuard } from '../../../../test/support/row-guard.js';

/** One row key for every store of the file, as one deployment has. */
const guard = testRowGuard();
const AT = '2026-03-02T09:00:00.000Z';
let counter = 0;

function integrationRow(overrides: Partial<IntegrationRow> = {}): IntegrationRow {
  counter += 1;
  return {
    ...integrationSummary({ id: `int_${counter.toString(16).padStart(16, '0')}`, host: `registry-${counter}.example.com`, username: 'bot', createdAt: AT, updatedAt: AT }),
    envelope: new Uint8Array([1, 0, 0, 0, 1, counter & 0xff]),
    term: 1,
    ...overrides,
  };
}

/** Both key terms the rows use: integrations.term references keyring.term. */
async function addKeyring(store: Store): Promise<void> {
  await store.write(async (tx) => {
    for (const term of [1, 2]) await tx.keyring.insert({ term, sealedKey: new Uint8Array([term]), createdAt: AT });
  });
}

describe.skipIf(!requirePostgres())('PostgreSQL store: tables', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  const sql = (text: string, params: unknown[] = []) => withPgClient(database.url, (client) => client.query(text, params));

  beforeAll(async () => {
    database = await createTestDatabase('credd_tables');
    await migratePostgresSchema(database.url);
  });
  afterAll(() => database.drop());

  beforeEach(async () => {
    await sql('TRUNCATE tokens, integrations, keyring, meta, audit_events');
    await sql(`UPDATE audit_head SET seq = 0, hash = repeat('0', 64)`);
    // A fresh store per test: no cache outlives the truncation.
    store = await openPostgresStore(database.url);
    store.useRowGuard(guard);
    await addKeyring(store);
  });
  afterEach(() => store.close());

  describe('tokens', () => {
    it('returns an inserted row unchanged, hosts included, and undefined for an unknown id', async () => {
      const limited = tokenRow({ hosts: ['ghcr.io', 'quay.io'], expiresAt: '2026-04-01T00:00:00.000Z' });
      const unlimited = tokenRow({ role: 'admin' });
      await store.tokens.insert(limited);
      await store.write((tx) => tx.tokens.insert(unlimited));

      expect(await store.tokens.findById(limited.id)).toEqual(limited);
      expect(await store.tokens.findById(unlimited.id)).toEqual(unlimited);
      expect(await store.tokens.findById('tok_ffffffffffffffff')).toBeUndefined();
      expect(Object.isFrozen(await store.tokens.findById(limited.id))).toBe(true);
    });

    it('refuses a role the schema does not know', async () => {
      await expect(store.tokens.insert(tokenRow({ role: 'root' as TokenRow['role'] }))).rejects.toThrow(/check constraint/);
    });

    it('lists tokens by creation time, then id, and counts them', async () => {
      const later = tokenRow({ createdAt: '2026-03-02T10:00:00.000Z' });
      const earlier = tokenRow({ createdAt: '2026-03-02T08:00:00.000Z' });
      await store.tokens.insert(later);
      await store.tokens.insert(earlier);

      expect((await store.tokens.list()).map((row) => row.id)).toEqual([earlier.id, later.id]);
      expect(await store.tokens.count()).toBe(2);
    });

    it('revokes once, keeping the first time, and reports false after that', async () => {
      const row = tokenRow();
      await store.tokens.insert(row);
      expect(await store.tokens.findById(row.id)).toEqual(row);

      expect(await store.tokens.revoke(row.id, '2026-03-02T10:00:00.000Z')).toBe(true);
      expect(await store.write((tx) => tx.tokens.revoke(row.id, '2026-03-02T11:00:00.000Z'))).toBe(false);
      expect((await store.tokens.findById(row.id))?.revokedAt).toBe('2026-03-02T10:00:00.000Z');
      expect(await store.tokens.revoke('tok_ffffffffffffffff', AT)).toBe(false);
    });

    it('refuses a revocation that a trigger undoes by writing back the authentic earlier row (read back)', async () => {
      const row = tokenRow();
      await store.tokens.insert(row);
      await sql(`CREATE FUNCTION unrevoke() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`);
      await sql('CREATE TRIGGER unrevoke BEFORE UPDATE ON tokens FOR EACH ROW EXECUTE FUNCTION unrevoke()');
      try {
        await expect(store.tokens.revoke(row.id, '2026-03-02T10:00:00.000Z')).rejects.toThrow(/did not hold/);
      } finally {
        await sql('DROP TRIGGER unrevoke ON tokens; DROP FUNCTION unrevoke()');
      }
    });

    it('counts only tokens of the role that are neither revoked nor expired at the given time', async () => {
      const now = '2026-03-02T12:00:00.000Z';
      for (const row of [
        tokenRow({ role: 'admin' }),
        tokenRow({ role: 'admin', expiresAt: '2026-03-02T13:00:00.000Z' }),
        tokenRow({ role: 'admin', expiresAt: now }),
        tokenRow({ role: 'admin', revokedAt: '2026-03-02T11:00:00.000Z' }),
        tokenRow({ role: 'runner' }),
      ]) {
        await store.tokens.insert(row);
      }

      expect(await store.tokens.countActive('admin', now)).toBe(2);
      expect(await store.tokens.countActive('runner', now)).toBe(1);
      expect(await store.tokens.countActive('auditor', now)).toBe(0);
    });

    it('refuses an edited row on read, leaves it out of the list, names it, and authenticates it again when asked', async () => {
      const edited = tokenRow();
      const intact = tokenRow();
      await store.tokens.insert(edited);
      await store.tokens.insert(intact);
      await sql(`UPDATE tokens SET role = 'admin' WHERE id = $1`, [edited.id]);

      await expect(store.write((tx) => tx.tokens.findById(edited.id))).rejects.toThrow(RowAuthenticationError);
      expect((await store.tokens.list()).map((row) => row.id)).toEqual([intact.id]);
      expect(await store.tokens.unauthenticated()).toEqual([edited.id]);

      expect(await store.tokens.authenticateAll()).toBe(2);
      expect(await store.tokens.unauthenticated()).toEqual([]);
    });
  });

  describe('integrations', () => {
    it('returns an inserted row unchanged when found by id or by host', async () => {
      const row = integrationRow({ description: 'ci', export: false, identity: null });
      await store.integrations.insert(row);

      expect(await store.integrations.findById(row.id)).toEqual(row);
      expect(await store.integrations.findByHost(row.host)).toEqual(row);
      expect((await store.integrations.findById(row.id))?.envelope).toBeInstanceOf(Uint8Array);
      expect(await store.integrations.findByHost('nowhere.example.com')).toBeUndefined();
    });

    it('refuses a second row for a host (ConflictError) and a term the keyring does not have', async () => {
      await store.integrations.insert(integrationRow({ host: 'ghcr.io' }));

      await expect(store.integrations.insert(integrationRow({ host: 'ghcr.io' }))).rejects.toThrow(ConflictError);
      await expect(store.integrations.insert(integrationRow({ term: 9 }))).rejects.toThrow(/foreign key/);
      expect(await store.integrations.count()).toBe(1);
    });

    it('writes every mutable field on update, and removes a row once', async () => {
      const row = integrationRow();
      await store.integrations.insert(row);
      const next = { ...row, username: 'new', envelope: new Uint8Array([9, 9]), term: 2, export: false, description: 'd', updatedAt: '2026-03-03T00:00:00.000Z' };

      await store.integrations.update(next);
      expect(await store.integrations.findByHost(row.host)).toEqual(next);

      expect(await store.integrations.remove(row.id)).toBe(true);
      expect(await store.integrations.remove(row.id)).toBe(false);
      expect(await store.integrations.findByHost(row.host)).toBeUndefined();
    });

    it('lists rows by host in code point order, and only exported hosts with their usernames', async () => {
      for (const [host, exported] of [['quay.io', true], ['b.io', true], ['B.io', true], ['_x.io', false]] as const) {
        await store.integrations.insert(integrationRow({ host, username: host[0]!, export: exported }));
      }

      expect((await store.integrations.list()).map((row) => row.host)).toEqual(['B.io', '_x.io', 'b.io', 'quay.io']);
      expect(await store.integrations.listExported()).toEqual([
        { host: 'B.io', username: 'B' },
        { host: 'b.io', username: 'b' },
        { host: 'quay.io', username: 'q' },
      ]);
    });

    it('leaves an edited row out of the exported listing and refuses it on read', async () => {
      const edited = integrationRow();
      const intact = integrationRow();
      await store.integrations.insert(edited);
      await store.integrations.insert(intact);
      await sql(`UPDATE integrations SET username = 'mallory' WHERE id = $1`, [edited.id]);

      expect(await store.integrations.listExported()).toEqual([{ host: intact.host, username: intact.username }]);
      await expect(store.integrations.findById(edited.id)).rejects.toThrow(RowAuthenticationError);
      await expect(store.integrations.list()).rejects.toThrow(RowAuthenticationError);
    });

    it('finds rows sealed under an older term, replaces only envelope and term, and counts rows by term', async () => {
      const old = integrationRow({ term: 1 });
      const current = integrationRow({ term: 2 });
      await store.integrations.insert(old);
      await store.integrations.insert(current);

      expect((await store.integrations.listSealedBefore(2)).map((row) => row.id)).toEqual([old.id]);
      expect(await store.integrations.countByTerm()).toEqual([{ term: 1, count: 1 }, { term: 2, count: 1 }]);
      await store.integrations.replaceEnvelope(old.id, new Uint8Array([7, 7, 7]), 2);

      expect(await store.integrations.findById(old.id)).toEqual({ ...old, envelope: new Uint8Array([7, 7, 7]), term: 2 });
      expect(await store.integrations.listSealedBefore(2, 10)).toEqual([]);
    });

    it('records a test outcome without touching the MAC, and reports a missing row', async () => {
      const row = integrationRow();
      await store.integrations.insert(row);

      expect(await store.integrations.recordTest(row.id, { at: AT, result: 'unauthorized', detail: 'HTTP 401' })).toBe(true);
      expect(await store.integrations.recordTest('int_ffffffffffffffff', { at: AT, result: 'ok', detail: '' })).toBe(false);
      expect(await store.integrations.findByHost(row.host)).toMatchObject({ lastTestedAt: AT, lastTestResult: 'unauthorized', lastTestDetail: 'HTTP 401' });
    });

    it('writes the same listing JSON as the SQLite store for the same rows', async () => {
      const sqlite = openSqliteStore(':memory:');
      sqlite.useRowGuard(guard);
      try {
        await addKeyring(sqlite);
        const rows = [
          integrationRow({ host: 'quay.io', export: false, description: 'mirror "eu" \\ tab\there\n', expiresAt: '2027-01-01T00:00:00.000Z' }),
          integrationRow({ host: 'ghcr.io', username: 'bøt ✓ 🚀', caCert: 'PEM\r\n', lastTestedAt: AT, lastTestResult: 'ok', lastTestDetail: 'HTTP 200 \u0001\u001f\u007f\u2028' }),
          integrationRow({ host: 'B.io', provider: 'aws-ecr', identity: { kind: 'aws-ecr', roleArn: 'arn:aws:iam::1:role/r', region: 'eu-west-1' } as unknown as IntegrationRow['identity'] }),
          integrationRow({ host: '_x.io' }),
        ];
        for (const target of [store, sqlite]) for (const row of rows) await target.integrations.insert(row);

        const json = await store.integrations.listingsJson(null);
        expect(json).toBe(await sqlite.integrations.listingsJson(null));
        expect(json).not.toMatch(/envelope|"term"/);
        expect(await store.integrations.listingsJson(['quay.io', 'B.io'])).toBe(await sqlite.integrations.listingsJson(['quay.io', 'B.io']));
        expect(await store.integrations.listingsJson([])).toBe('[]');
        expect(await store.integrations.listingsJson(['none.example'])).toBe('[]');
      } finally {
        await sqlite.close();
      }
    });

    it('refuses text with a lone surrogate instead of storing it altered', async () => {
      await expect(store.integrations.insert(integrationRow({ username: 'bot\uD800name' }))).rejects.toThrow(ValidationError);
      await expect(store.tokens.insert(tokenRow({ name: 'x\uDC00' }))).rejects.toThrow(ValidationError);
      expect(await store.integrations.count()).toBe(0);
    });
  });

  describe('keyring', () => {
    it('lists terms in order, refuses a duplicate or a term below 1, and replaces one sealed key', async () => {
      await expect(store.keyring.insert({ term: 1, sealedKey: new Uint8Array([9]), createdAt: AT })).rejects.toThrow();
      await expect(store.keyring.insert({ term: 0, sealedKey: new Uint8Array([9]), createdAt: AT })).rejects.toThrow();
      await store.keyring.replaceSealedKey(1, new Uint8Array([7, 7]));

      expect(await store.keyring.list()).toEqual([
        { term: 1, sealedKey: new Uint8Array([7, 7]), createdAt: AT },
        { term: 2, sealedKey: new Uint8Array([2]), createdAt: AT },
      ]);
    });

    it('keeps the latest root key check, bumps the version, and reads both in a snapshot', async () => {
      expect(await store.keyring.findRootKeyCheck()).toBeUndefined();
      expect(await store.keyring.version()).toBe(0);

      await store.keyring.setRootKeyCheck(new Uint8Array([1, 2, 3]));
      await store.write(async (tx) => {
        await tx.keyring.setRootKeyCheck(new Uint8Array([4, 5]));
        expect(await tx.keyring.bumpVersion()).toBe(1);
      });
      expect(await store.keyring.bumpVersion()).toBe(2);

      expect(await store.keyring.version()).toBe(2);
      expect(await store.snapshot(async (tx) => [await tx.keyring.findRootKeyCheck(), (await tx.keyring.list()).length])).toEqual([new Uint8Array([4, 5]), 2]);
    });

    it('rolls back every change of a transaction that throws', async () => {
      const row = tokenRow();
      await expect(
        store.write(async (tx) => {
          await tx.tokens.insert(row);
          await tx.keyring.bumpVersion();
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');

      expect(await store.tokens.findById(row.id)).toBeUndefined();
      expect(await store.keyring.version()).toBe(0);
    });
  });

  describe('audit', () => {
    const event = (seq: number, fields: Partial<{ host: string | null; action: string; tokenId: string | null; at: string }> = {}): AuditDraft => ({
      at: fields.at ?? `2026-03-02T09:00:0${seq}.000Z`,
      requestId: `req-${seq}`,
      tokenId: fields.tokenId ?? 'tok_a',
      tokenName: 'ci',
      role: 'runner',
      action: fields.action ?? 'credential.lookup',
      host: fields.host === undefined ? 'ghcr.io' : fields.host,
      targetId: null,
      outcome: 'ok',
      detail: seq === 2 ? '{"b":1,"a":"x"}' : null,
    });
    /** The rows as the audit log's verify hashes them: seq 1, 2, … each after the previous row's hash. */
    const expectChained = (rows: readonly AuditRow[]) => {
      let prev = GENESIS_HASH;
      rows.forEach((row, i) => {
        expect({ seq: row.seq, prevHash: row.prevHash }).toEqual({ seq: i + 1, prevHash: prev });
        const fields = [row.seq, row.at, row.requestId, row.tokenId, row.tokenName, row.role, row.action, row.host, row.targetId, row.outcome, row.detail] as const;
        expect(row.hash).toBe(createHash('sha256').update(chainText(prev, [...fields])).digest('hex'));
        prev = row.hash;
      });
      return prev;
    };

    it('appends after the head, records it, and lists, filters and scans as the SQLite table does', async () => {
      expect(await store.audit.recordedHead()).toBeUndefined();
      await store.write((tx) => tx.audit.append([event(1), event(2, { host: null, tokenId: 'tok_b' }), event(3, { host: 'quay.io', action: 'integration.create' })]));
      await store.appendLookupBatch([event(4, { host: null, tokenId: 'tok_a' })]);

      const head = expectChained(await store.audit.scan(0, 10));
      expect(await store.audit.recordedHead()).toBe(`4:${head}`);
      expect((await store.audit.scan(1, 2)).map((row) => row.seq)).toEqual([2, 3]);
      expect((await store.audit.scan(0, 10))[1]).toMatchObject({ seq: 2, ...event(2, { host: null, tokenId: 'tok_b' }) });
      const seqs = async (filter: Parameters<Store['audit']['list']>[0]) => (await store.audit.list(filter)).map((row) => row.seq);
      expect(await seqs({ limit: 10 })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ limit: 2, order: 'desc' })).toEqual([4, 3]);
      expect(await seqs({ limit: 10, before: 4, order: 'desc' })).toEqual([3, 2, 1]);
      expect(await seqs({ limit: 10, after: 1, since: '2026-03-02T09:00:03.000Z' })).toEqual([3, 4]);
      expect(await seqs({ limit: 10, host: 'quay.io' })).toEqual([3]);
      expect(await seqs({ limit: 10, action: 'credential.lookup', tokenId: 'tok_a' })).toEqual([1, 4]);
      expect(await seqs({ limit: 10, within: { hosts: ['ghcr.io'], tokenIds: ['tok_a'] } })).toEqual([1, 4]);
      expect(await seqs({ limit: 10, within: { hosts: [], tokenIds: [] } })).toEqual([]);
    });

    it('hashes in SQL exactly as the audit log verifies, whatever the text (quotes, backslashes, JSON escapes, astral characters)', async () => {
      const awkward = ["it's", 'back\\slash \\n', '"quoted" \u2028 line', 'naïve ✓ 𝄞 😀', '{"k":"v\\u0000"}', '', "O'Brien\\'; DROP TABLE tokens; --"];
      const drafts = awkward.map((text, i): AuditDraft => ({ ...event(1), requestId: text, tokenName: text, detail: JSON.stringify({ text, i }), host: i % 2 ? text : null }));

      await store.write((tx) => tx.audit.append(drafts.slice(0, 3)));
      await store.appendLookupBatch(drafts.slice(3));

      const rows = await store.audit.scan(0, 100);
      expectChained(rows);
      expect(rows.map((row) => row.requestId)).toEqual(awkward);
      expect(await store.tokens.count()).toBe(0);
    });

    it('refuses a lookup batch holding a NUL or a lone surrogate, and appends nothing', async () => {
      await expect(store.appendLookupBatch([{ ...event(1), tokenName: 'a\u0000b' }])).rejects.toThrow(/NUL/);
      await expect(store.appendLookupBatch([{ ...event(1), tokenName: 'a\ud800b' }])).rejects.toThrow(/lone surrogate/);
      expect(await store.audit.scan(0, 10)).toEqual([]);
    });

    it('an audit append alone does not move the change counter (lookups never notify)', async () => {
      const version = async () => (await sql('SELECT version FROM store_version')).rows[0].version as string;
      const before = await version();
      await store.write((tx) => tx.audit.append([event(1)]));
      await store.appendLookupBatch([event(2)]);
      expect(await version()).toBe(before);
      await store.tokens.insert(tokenRow());
      expect(Number(await version())).toBe(Number(before) + 1);
    });
  });
});
