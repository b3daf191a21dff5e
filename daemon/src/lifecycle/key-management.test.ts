import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring } from '../barrier/keyring.js';
import { loadRootKey, openKeyring, rootKeyMatches, stagedRootKeyPath } from '../barrier/root-key.js';
import { generateKey } from '../barrier/secretbox-barrier.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { openKeyStore, rekeyStore, resealIntegrations, rotateKeyring } from './key-management.js';
import type { RequestContext } from '../services/context.js';
import { initStore } from './init-store.js';
import { openStore, type OpenStore } from './open-store.js';
import { storePaths, type StorePaths } from './store-paths.js';
import { sqliteDbOf } from '../../../test/support/tamper.js';

const dirs: string[] = [];
const stores: OpenStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newStore(): Promise<{ paths: StorePaths; adminToken: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-keys-'));
  dirs.push(dir);
  const paths = storePaths(join(dir, 'data'));
  const { token } = await initStore(paths);
  return { paths, adminToken: token };
}

async function serve(paths: StorePaths): Promise<OpenStore> {
  const store = await openStore(paths);
  stores.push(store);
  return store;
}

async function adminCtx(store: OpenStore, token: string): Promise<RequestContext> {
  return { principal: await store.tokens.authenticate(token), requestId: 'test' };
}

async function addSecrets(store: OpenStore, token: string, hosts: string[]): Promise<void> {
  for (const host of hosts) await store.integrations.create(await adminCtx(store, token), { host, username: 'u', secret: `secret-of-${host}`, export: true });
}

async function readSecret(store: OpenStore, token: string, host: string): Promise<string> {
  return (await store.credentials.lookupWithNotice(await adminCtx(store, token), host)).credential.Secret;
}

function writeNewKey(dir: string): { path: string; key: Uint8Array } {
  const key = generateKey();
  const path = join(dir, `new-${Math.random().toString(16).slice(2)}.key`);
  writeFileSync(path, `${Buffer.from(key).toString('base64')}\n`, { mode: 0o600 });
  return { path, key };
}

async function termsOf(store: OpenStore): Promise<number[]> {
  return (await store.store.integrations.list()).map((row) => row.term);
}

describe('rotateKeyring', () => {
  it('adds term 2, which a serving store uses for new secrets while term 1 stays readable', async () => {
    const { paths, adminToken } = await newStore();
    const daemon = await serve(paths);
    await addSecrets(daemon, adminToken, ['old.example']);

    const cli = await openKeyStore(paths);
    const { term } = await rotateKeyring(cli);
    await cli.close();
    await addSecrets(daemon, adminToken, ['new.example']);

    expect(term).toBe(2);
    expect((await daemon.store.integrations.findByHost('old.example'))!.term).toBe(1);
    expect((await daemon.store.integrations.findByHost('new.example'))!.term).toBe(2);
    expect(await readSecret(daemon, adminToken, 'old.example')).toBe('secret-of-old.example');
    expect(await readSecret(daemon, adminToken, 'new.example')).toBe('secret-of-new.example');
  });

  it('bumps the keyring version and records the rotation in the audit log', async () => {
    const { paths } = await newStore();
    const cli = await openKeyStore(paths);
    const before = await cli.store.keyring.version();

    await rotateKeyring(cli);

    expect(await cli.store.keyring.version()).toBe(before + 1);
    expect(await cli.audit.list({ action: 'keyring.rotate', limit: 5 })).toEqual([expect.objectContaining({ outcome: 'ok', detail: { term: 2, via: 'cli' } })]);
    await cli.close();
  });
});

describe('resealIntegrations', () => {
  it('moves every row to the active term in batches, and every secret still opens', async () => {
    const { paths, adminToken } = await newStore();
    const daemon = await serve(paths);
    const hosts = Array.from({ length: 7 }, (_, i) => `r${i}.example`);
    await addSecrets(daemon, adminToken, hosts);
    const cli = await openKeyStore(paths);
    await rotateKeyring(cli);
    const batches: number[] = [];

    const { resealed, term } = await resealIntegrations(cli, { batchSize: 3, onBatch: (done) => batches.push(done) });
    await cli.close();

    expect([resealed, term]).toEqual([7, 2]);
    expect(batches).toEqual([3, 6, 7]);
    expect(await termsOf(daemon)).toEqual(hosts.map(() => 2));
    for (const host of hosts) expect(await readSecret(daemon, adminToken, host)).toBe(`secret-of-${host}`);
  });

  it('does nothing when every row already uses the active term', async () => {
    const { paths, adminToken } = await newStore();
    await addSecrets(await serve(paths), adminToken, ['same.example']);
    const cli = await openKeyStore(paths);

    const result = await resealIntegrations(cli);
    await cli.close();

    expect(result).toEqual({ resealed: 0, term: 1 });
  });

  it('stops with IntegrityError naming the row when a ciphertext does not open, leaving that batch untouched', async () => {
    const { paths, adminToken } = await newStore();
    const daemon = await serve(paths);
    await addSecrets(daemon, adminToken, ['a.example', 'b.example']);
    const b = (await daemon.store.integrations.findByHost('b.example'))!;
    const a = (await daemon.store.integrations.findByHost('a.example'))!;
    await daemon.store.write((tx) => tx.integrations.replaceEnvelope(b.id, a.envelope, 1));
    const cli = await openKeyStore(paths);
    await rotateKeyring(cli);

    await expect(resealIntegrations(cli)).rejects.toThrow(IntegrityError);
    await cli.close();

    expect(await termsOf(daemon)).toEqual([1, 1]);
  });
});

describe('rekeyStore', () => {
  it('re-seals the keyring so only the new key opens it, and moves the new key file into place', async () => {
    const { paths, adminToken } = await newStore();
    await addSecrets(await serve(paths), adminToken, ['k.example']);
    const oldKey = loadRootKey(paths.rootKeyPath);
    const fresh = writeNewKey(join(paths.dataDir, '..'));

    const result = await rekeyStore(paths, fresh.path);

    expect(result.terms).toBe(1);
    expect(existsSync(fresh.path)).toBe(false);
    expect(existsSync(stagedRootKeyPath(paths.rootKeyPath))).toBe(false);
    expect(Buffer.from(loadRootKey(paths.rootKeyPath)).equals(Buffer.from(fresh.key))).toBe(true);
    expect(statSync(paths.rootKeyPath).mode & 0o777).toBe(0o600);
    const cli = await openKeyStore(paths);
    const check = (await cli.store.keyring.findRootKeyCheck())!;
    expect(rootKeyMatches(oldKey, check)).toBe(false);
    const rows = await cli.store.keyring.list();
    expect(() => openKeyring(oldKey, rows)).toThrow(IntegrityError);
    expect(openKeyring(fresh.key, rows)).toBeInstanceOf(Keyring);
    await cli.close();
  });

  it('keeps a serving store serving: it re-reads the root key file, then loads later terms with it', async () => {
    const { paths, adminToken } = await newStore();
    const daemon = await serve(paths);
    await addSecrets(daemon, adminToken, ['before.example']);
    const fresh = writeNewKey(join(paths.dataDir, '..'));

    await rekeyStore(paths, fresh.path);
    const afterRekey = await readSecret(daemon, adminToken, 'before.example');
    const cli = await openKeyStore(paths);
    await rotateKeyring(cli);
    await cli.close();
    await addSecrets(daemon, adminToken, ['after.example']);

    expect(afterRekey).toBe('secret-of-before.example');
    expect((await daemon.store.integrations.findByHost('after.example'))!.term).toBe(2);
    expect(await readSecret(daemon, adminToken, 'after.example')).toBe('secret-of-after.example');
  });

  it('leaves the store on the old key when the transaction fails, and removes the staged key', async () => {
    const { paths } = await newStore();
    const oldKey = loadRootKey(paths.rootKeyPath);
    const fresh = writeNewKey(join(paths.dataDir, '..'));
    const cli = await openKeyStore(paths);
    sqliteDbOf(cli.store).exec(`CREATE TRIGGER refuse_rekey BEFORE UPDATE ON keyring BEGIN SELECT RAISE(ABORT, 'interrupted'); END`);
    await cli.close();

    await expect(rekeyStore(paths, fresh.path)).rejects.toThrow(/interrupted/);

    expect(existsSync(stagedRootKeyPath(paths.rootKeyPath))).toBe(false);
    expect(existsSync(fresh.path)).toBe(true);
    expect(Buffer.from(loadRootKey(paths.rootKeyPath)).equals(Buffer.from(oldKey))).toBe(true);
    const reopened = await openKeyStore(paths);
    expect(rootKeyMatches(oldKey, (await reopened.store.keyring.findRootKeyCheck())!)).toBe(true);
    await reopened.close();
  });

  it('finishes on the next open when it was interrupted after the commit but before the move', async () => {
    const { paths, adminToken } = await newStore();
    await addSecrets(await serve(paths), adminToken, ['resume.example']);
    for (const store of stores.splice(0)) await store.close();
    const fresh = writeNewKey(join(paths.dataDir, '..'));
    await rekeyStore(paths, fresh.path);
    // Put the world back as it was right after the commit: the old key in place, the new one staged.
    const newKeyText = readFileSync(paths.rootKeyPath, 'utf8');
    writeFileSync(stagedRootKeyPath(paths.rootKeyPath), newKeyText, { mode: 0o600 });
    writeFileSync(paths.rootKeyPath, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });

    const daemon = await serve(paths);

    expect(daemon.recoveredRekey).toBe(true);
    expect(readFileSync(paths.rootKeyPath, 'utf8')).toBe(newKeyText);
    expect(await readSecret(daemon, adminToken, 'resume.example')).toBe('secret-of-resume.example');
  });

  it('refuses the current key, a key file readable by others, and a missing file', async () => {
    const { paths } = await newStore();
    const open = writeNewKey(join(paths.dataDir, '..'));
    chmodSync(open.path, 0o644);

    await expect(rekeyStore(paths, paths.rootKeyPath)).rejects.toThrow(ConfigError);
    await expect(rekeyStore(paths, open.path)).rejects.toThrow(/readable by group or others/);
    await expect(rekeyStore(paths, join(paths.dataDir, 'absent.key'))).rejects.toThrow(/missing/);
  });
});
