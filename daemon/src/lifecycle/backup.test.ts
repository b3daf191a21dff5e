import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../barrier/secretbox-barrier.js';
import { backupStore, restoreStore } from './backup.js';
import { ConfigError } from '../errors.js';
import type { RequestContext } from '../services/context.js';
import { initStore } from './init-store.js';
import { acquireServeLock } from './serve-lock.js';
import { openStore } from './open-store.js';
import { ensureDataDir, storePaths, type StorePaths } from './store-paths.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-backup-'));
  dirs.push(dir);
  return dir;
}

/** A store with secrets for `hosts`; returns its paths and admin token. */
async function storeWith(hosts: string[]): Promise<{ paths: StorePaths; token: string }> {
  const paths = storePaths(join(tempDir(), 'data'));
  const { token } = await initStore(paths);
  const store = await openStore(paths);
  try {
    const ctx: RequestContext = { principal: await store.tokens.authenticate(token), requestId: 'arrange' };
    for (const host of hosts) await store.integrations.create(ctx, { host, username: 'u', secret: `secret-of-${host}`, export: true });
  } finally {
    await store.close();
  }
  return { paths, token };
}

async function secretsIn(paths: StorePaths, token: string): Promise<Record<string, string>> {
  const store = await openStore(paths);
  try {
    const ctx: RequestContext = { principal: await store.tokens.authenticate(token), requestId: 'check' };
    const rows = await store.store.integrations.list();
    return Object.fromEntries(await Promise.all(rows.map(async (row) => [row.host, (await store.credentials.lookupWithNotice(ctx, row.host)).credential.Secret])));
  } finally {
    await store.close();
  }
}

/** A second data dir holding a copy of the first store's root key, as an operator prepares a restore. */
function emptyTargetWithKey(source: StorePaths): StorePaths {
  const target = storePaths(join(tempDir(), 'data'));
  ensureDataDir(target.dataDir, true);
  copyFileSync(source.rootKeyPath, target.rootKeyPath);
  return target;
}

describe('backupStore and restoreStore', () => {
  it('round-trips every secret into a new data dir that has the root key', async () => {
    const { paths, token } = await storeWith(['one.example', 'two.example']);
    const out = join(tempDir(), 'credd.backup');
    const target = emptyTargetWithKey(paths);

    const backup = await backupStore(paths, out);
    const restored = await restoreStore(target, out);

    expect(backup.bytes).toBeGreaterThan(0);
    expect(restored).toMatchObject({ integrations: 2, tokens: 1, auditProblem: undefined, previous: undefined });
    expect(await secretsIn(target, token)).toEqual({ 'one.example': 'secret-of-one.example', 'two.example': 'secret-of-two.example' });
  });

  it('writes a single 0600 file that holds no plaintext secret and no key', async () => {
    const { paths } = await storeWith(['plain.example']);
    const out = join(tempDir(), 'credd.backup');

    await backupStore(paths, out);

    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(existsSync(`${out}-wal`)).toBe(false);
    const bytes = readFileSync(out);
    expect(bytes.includes('secret-of-plain.example')).toBe(false);
    expect(bytes.includes(readFileSync(paths.rootKeyPath, 'utf8').trim())).toBe(false);
  });

  it('records the backup and the restore in the audit log', async () => {
    const { paths } = await storeWith([]);
    const out = join(tempDir(), 'credd.backup');
    const target = emptyTargetWithKey(paths);

    await backupStore(paths, out);
    await restoreStore(target, out);

    const db = new Database(target.dbPath, { readonly: true });
    const actions = (db.prepare('SELECT action FROM audit_events ORDER BY seq').pluck().all() as string[]).slice(-2);
    db.close();
    expect(actions).toEqual(['store.backup', 'store.restore']);
  });

  it('refuses to overwrite an existing backup file', async () => {
    const { paths } = await storeWith([]);
    const out = join(tempDir(), 'exists.backup');
    writeFileSync(out, 'keep me');

    await expect(backupStore(paths, out)).rejects.toThrow(ConfigError);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  it('refuses to replace an existing store unless forced, and then keeps the old database', async () => {
    const { paths, token } = await storeWith(['kept.example']);
    const out = join(tempDir(), 'credd.backup');
    await backupStore(paths, out);
    const store = await openStore(paths);
    await store.integrations.create({ principal: await store.tokens.authenticate(token), requestId: 'x' }, { host: 'later.example', username: 'u', secret: 's', export: true });
    await store.close();

    await expect(restoreStore(paths, out)).rejects.toThrow(/already exists/);
    const forced = await restoreStore(paths, out, { force: true });

    expect(forced.previous).toBe(`${paths.dbPath}.pre-restore`);
    expect(Object.keys(await secretsIn(paths, token))).toEqual(['kept.example']);
    expect(existsSync(`${paths.dbPath}.pre-restore`)).toBe(true);
  });

  it('refuses while a daemon holds the data dir serve lock, whatever it listens on, and restores once it is released', async () => {
    const { paths } = await storeWith([]);
    const out = join(tempDir(), 'credd.backup');
    await backupStore(paths, out);
    const lock = acquireServeLock(paths);

    await expect(restoreStore(paths, out, { force: true })).rejects.toThrow(/a daemon is serving .* stop it before restoring/);
    lock.release();
    await expect(restoreStore(paths, out, { force: true })).resolves.toMatchObject({ integrations: 0 });
  });

  it('refuses a backup that does not open with the root key, and leaves the target untouched', async () => {
    const { paths } = await storeWith(['x.example']);
    const out = join(tempDir(), 'credd.backup');
    await backupStore(paths, out);
    const target = storePaths(join(tempDir(), 'data'));
    ensureDataDir(target.dataDir, true);
    writeFileSync(target.rootKeyPath, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });

    await expect(restoreStore(target, out)).rejects.toThrow(/does not open with root key/);
    expect(existsSync(target.dbPath)).toBe(false);
  });

  it('refuses a file that is not a database', async () => {
    const { paths } = await storeWith([]);
    const junk = join(tempDir(), 'junk.backup');
    writeFileSync(junk, 'this is not sqlite');
    const target = emptyTargetWithKey(paths);

    await expect(restoreStore(target, junk)).rejects.toThrow(ConfigError);
    expect(existsSync(target.dbPath)).toBe(false);
  });

  it('refuses when the root key file is not in place', async () => {
    const { paths } = await storeWith([]);
    const out = join(tempDir(), 'credd.backup');
    await backupStore(paths, out);
    const target = storePaths(join(tempDir(), 'data'));

    await expect(restoreStore(target, out)).rejects.toThrow(/root key file .* is missing/);
  });
});
