/**
 * Rows edited in the database file (or a backup) without the root key: a planted admin token, a
 * promoted role, an un-revoke trigger, an integration moved or exported. Each is refused when read,
 * reported, and found by verify; a backup holding one does not restore; a store from before row MACs
 * has them computed once on its next unlock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLegacyRootKeyCheck, checkVersion, loadRootKey } from '../barrier/root-key.js';
import { ConfigError, IntegrityError } from '../errors.js';
import type { RequestContext } from '../services/context.js';
import { AuthenticationFailure } from '../services/token-service.js';
import { RowAuthenticationError } from '../store/row-integrity.js';
import { backupStore, restoreStore } from './backup.js';
import { initStore } from './init-store.js';
import { openStore, type OpenStore } from './open-store.js';
import { storePaths, type StorePaths } from './store-paths.js';
import { verifyStore } from './verify-store.js';
import { UNREVOKE_TRIGGER, editDatabase, plantAdminToken, sqliteDbOf } from '../../../test/support/tamper.js';
import { rejectionOf } from '../../../test/support/thrown.js';

/** Lets the event loop turn once: the store sees another connection's commit from the next turn on (read-cache.ts). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const dirs: string[] = [];
const stores: OpenStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-rows-'));
  dirs.push(dir);
  return dir;
}

interface Fixture {
  paths: StorePaths;
  admin: string;
  runner: { id: string; token: string };
  revoked: { id: string; token: string };
}

/** A store with an integration, a runner and a revoked runner; closed again. */
async function fixture(): Promise<Fixture> {
  const paths = storePaths(join(tempDir(), 'data'));
  const admin = (await initStore(paths)).token;
  const store = await openStore(paths);
  try {
    const ctx: RequestContext = { principal: await store.tokens.authenticate(admin), requestId: 'arrange' };
    await store.integrations.create(ctx, { host: 'ghcr.io', username: 'u', secret: 'secret-of-ghcr', export: false });
    const runner = await store.tokens.create(ctx, { name: 'runner', role: 'runner' });
    const revoked = await store.tokens.create(ctx, { name: 'revoked', role: 'runner' });
    await store.tokens.revoke(ctx, revoked.id);
    return { paths, admin, runner: { id: runner.id, token: runner.token }, revoked: { id: revoked.id, token: revoked.token } };
  } finally {
    await store.close();
  }
}

async function serve(paths: StorePaths, failures: Array<{ table: string; id: string }> = []): Promise<OpenStore> {
  const store = await openStore(paths, { onRowFailure: (failure) => void failures.push(failure) });
  stores.push(store);
  return store;
}

describe('rows edited in the live database', () => {
  it('refuses a planted admin token and a promoted runner as tampered, and reports both rows', async () => {
    const t = await fixture();
    let planted = '';
    editDatabase(t.paths.dbPath, (db) => {
      planted = plantAdminToken(db);
      db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(t.runner.id);
    });
    const failures: Array<{ table: string; id: string }> = [];
    const store = await serve(t.paths, failures);

    expect((await rejectionOf(AuthenticationFailure, store.tokens.authenticate(planted))).reason).toBe('tampered');
    expect((await rejectionOf(AuthenticationFailure, store.tokens.authenticate(t.runner.token))).reason).toBe('tampered');
    expect(failures.map((failure) => failure.table)).toEqual(['tokens', 'tokens']);
    expect((await store.tokens.authenticate(t.admin)).role).toBe('admin');
  });

  it('refuses the same edits made while it serves (the read cache is dropped and the row read again)', async () => {
    const t = await fixture();
    const store = await serve(t.paths);
    expect((await store.tokens.authenticate(t.runner.token)).role).toBe('runner');

    editDatabase(t.paths.dbPath, (db) => db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(t.runner.id));
    await nextTurn();

    expect((await rejectionOf(AuthenticationFailure, store.tokens.authenticate(t.runner.token))).reason).toBe('tampered');
  });

  it('refuses an un-revoked token, and an integration whose export flag or host was changed', async () => {
    const t = await fixture();
    editDatabase(t.paths.dbPath, (db) => {
      db.prepare('UPDATE tokens SET revoked_at = NULL WHERE id = ?').run(t.revoked.id);
      db.prepare("UPDATE integrations SET export = 1 WHERE host = 'ghcr.io'").run();
    });
    const store = await serve(t.paths);
    const ctx: RequestContext = { principal: await store.tokens.authenticate(t.admin), requestId: 'test' };

    expect((await rejectionOf(AuthenticationFailure, store.tokens.authenticate(t.revoked.token))).reason).toBe('tampered');
    await expect(store.credentials.lookupWithNotice(ctx, 'ghcr.io')).rejects.toThrow(IntegrityError);
    expect(await store.credentials.list(ctx)).toEqual({});
  });

  it('refuses to read or write once a trigger is added while it serves, and serves again when it is dropped', async () => {
    const t = await fixture();
    const store = await serve(t.paths);
    const ctx: RequestContext = { principal: await store.tokens.authenticate(t.admin), requestId: 'test' };

    editDatabase(t.paths.dbPath, (db) => db.exec(UNREVOKE_TRIGGER));
    await nextTurn();

    await expect(store.tokens.authenticate(t.runner.token)).rejects.toThrow(/gained schema objects scalr-credd did not create \(trigger unrevoke\)/);
    await expect(store.tokens.revoke(ctx, t.runner.id)).rejects.toThrow(IntegrityError);
    await expect(store.tokens.authenticate(t.runner.token)).rejects.toThrow(IntegrityError);
    editDatabase(t.paths.dbPath, (db) => db.exec('DROP TRIGGER unrevoke'));
    await nextTurn();
    expect((await store.tokens.authenticate(t.runner.token)).role).toBe('runner');
  });

  it('fails a revoke that a trigger swallowed instead of answering that it revoked', async () => {
    const t = await fixture();
    const store = await serve(t.paths);
    const ctx: RequestContext = { principal: await store.tokens.authenticate(t.admin), requestId: 'test' };
    // Added on the daemon's own connection, where no other process's commit announces it.
    sqliteDbOf(store.store).exec("CREATE TRIGGER keep BEFORE UPDATE OF revoked_at ON tokens BEGIN SELECT RAISE(IGNORE); END");

    await expect(store.tokens.revoke(ctx, t.runner.id)).rejects.toThrow(/revocation of token .* did not hold/);
    expect((await store.tokens.authenticate(t.runner.token)).role).toBe('runner');
  });

  it('will not start over a trigger, view or table the migrations did not create', async () => {
    const t = await fixture();
    editDatabase(t.paths.dbPath, (db) => db.exec(UNREVOKE_TRIGGER));

    await expect(openStore(t.paths)).rejects.toThrow(ConfigError);
    await expect(openStore(t.paths)).rejects.toThrow(/holds schema objects scalr-credd did not create \(trigger unrevoke\)/);
  });

  it('is reported by verify, row by row, with the foreign trigger', async () => {
    const t = await fixture();
    expect((await verifyStore(t.paths)).ok).toBe(true);
    editDatabase(t.paths.dbPath, (db) => {
      db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(t.runner.id);
      db.exec(UNREVOKE_TRIGGER);
    });

    const result = await verifyStore(t.paths);

    expect(result.ok).toBe(false);
    expect(result.failedRows).toEqual([`tokens row ${t.runner.id}`]);
    expect(result.foreignSchema).toEqual(['trigger unrevoke']);
  });

  it('is skipped in the token list, and revoking such a row fails as an integrity error', async () => {
    const t = await fixture();
    editDatabase(t.paths.dbPath, (db) => db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(t.runner.id));
    const store = await serve(t.paths);
    const ctx: RequestContext = { principal: await store.tokens.authenticate(t.admin), requestId: 'test' };

    expect((await store.tokens.list(ctx)).map((token) => token.id)).not.toContain(t.runner.id);
    await expect(store.tokens.revoke(ctx, t.runner.id)).rejects.toThrow(RowAuthenticationError);
  });
});

describe('restore of an edited backup', () => {
  const cases: Array<[string, (db: Database.Database, t: Fixture) => void, RegExp]> = [
    ['a planted admin token', (db) => void plantAdminToken(db), /holds rows that fail authentication \(tokens row tok_/],
    ['a promoted runner', (db, t) => void db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(t.runner.id), /tokens row tok_/],
    ['an un-revoke trigger', (db) => db.exec(UNREVOKE_TRIGGER), /schema objects scalr-credd did not create \(trigger unrevoke\)/],
    ['an extra index', (db) => db.exec('CREATE INDEX sneaky ON tokens (role)'), /\(index sneaky\)/],
  ];
  for (const [label, tamper, message] of cases) {
    it(`refuses ${label} and leaves the data dir untouched`, async () => {
      const t = await fixture();
      const out = join(tempDir(), 'backup.sqlite');
      await backupStore(t.paths, out);
      editDatabase(out, (db) => tamper(db, t));
      const target = storePaths(join(tempDir(), 'data'), t.paths.rootKeyPath);

      await expect(restoreStore(target, out)).rejects.toThrow(message);
      await expect(openStore(target)).rejects.toThrow(/is missing but root key/);
    });
  }
});

describe('a store from before row MACs', () => {
  it('has every MAC computed on its next unlock, once; later a missing MAC fails', async () => {
    const t = await fixture();
    const rootKey = loadRootKey(t.paths.rootKeyPath);
    editDatabase(t.paths.dbPath, (db) => {
      db.exec('UPDATE tokens SET mac = NULL; UPDATE integrations SET mac = NULL');
      db.prepare("UPDATE meta SET value = ? WHERE key = 'root_key_check'").run(Buffer.from(buildLegacyRootKeyCheck(rootKey)));
    });

    const store = await serve(t.paths);

    expect((await store.tokens.authenticate(t.runner.token)).role).toBe('runner');
    expect(checkVersion(rootKey, (await store.store.keyring.findRootKeyCheck())!)).toBe(2);
    expect(sqliteDbOf(store.store).prepare("SELECT detail FROM audit_events WHERE action = 'store.authenticate_rows'").pluck().all()).toEqual([
      JSON.stringify({ tokens: 3, integrations: 1 }),
    ]);
    await store.close();
    editDatabase(t.paths.dbPath, (db) => db.prepare('UPDATE tokens SET mac = NULL WHERE id = ?').run(t.runner.id));
    expect((await rejectionOf(AuthenticationFailure, (await serve(t.paths)).tokens.authenticate(t.runner.token))).reason).toBe('tampered');
  });
});
