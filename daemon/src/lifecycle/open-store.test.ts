import { CreatedTokenSchema } from '@dcs/shared';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeRootKey } from '../barrier/root-key.js';
import { generateKey } from '../barrier/secretbox-barrier.js';
import { ConfigError } from '../errors.js';
import { initStore } from './init-store.js';
import { openStore } from './open-store.js';
import { ensureDataDir, isEmptyStore, storePaths, type StorePaths } from './store-paths.js';
import { rejectionOf } from '../../../test/support/thrown.js';

let root: string;
let paths: StorePaths;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'credd-store-'));
  paths = storePaths(join(root, 'data'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('initStore', () => {
  it('creates a 0700 data dir, a 0600 root key and a database, and returns the first admin token', async () => {
    const token = await initStore(paths);

    expect(CreatedTokenSchema.parse(token).role).toBe('admin');
    expect(statSync(paths.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(paths.rootKeyPath).mode & 0o777).toBe(0o600);
    expect(existsSync(paths.dbPath)).toBe(true);
    expect(isEmptyStore(paths)).toBe(false);
  });

  it('refuses an existing store and leaves its key untouched', async () => {
    await initStore(paths);
    const key = readFileSync(paths.rootKeyPath, 'utf8');

    await expect(initStore(paths)).rejects.toThrow(ConfigError);
    expect(readFileSync(paths.rootKeyPath, 'utf8')).toBe(key);
  });

  it('refuses a data dir that group or others can enter', async () => {
    mkdirSync(paths.dataDir, { mode: 0o755 });
    chmodSync(paths.dataDir, 0o755);

    await expect(initStore(paths)).rejects.toThrow(ConfigError);
    expect(existsSync(paths.rootKeyPath)).toBe(false);
  });
});

describe('openStore', () => {
  it('authenticates the first admin token when the store is reopened', async () => {
    const token = await initStore(paths);

    const store = await openStore(paths);
    try {
      expect(await store.tokens.authenticate(token.token)).toMatchObject({ tokenId: token.id, role: 'admin' });
    } finally {
      await store.close();
    }
  });

  it('serves a secret stored before a close after it is reopened', async () => {
    const token = await initStore(paths);
    const first = await openStore(paths);
    const ctx = { principal: await first.tokens.authenticate(token.token), requestId: 'test' };
    await first.integrations.create(ctx, { host: 'ghcr.io', username: 'bot', secret: 'kept-across-restarts', export: true });
    await first.close();

    const second = await openStore(paths);
    try {
      const { credential: lookup } = await second.credentials.lookupWithNotice({ principal: await second.tokens.authenticate(token.token), requestId: 'test' }, 'ghcr.io');

      expect(lookup.Secret).toBe('kept-across-restarts');
    } finally {
      await second.close();
    }
  });

  it('wipes the barrier when closed', async () => {
    await initStore(paths);
    const store = await openStore(paths);

    await store.close();

    expect(store.barrier.isSealed()).toBe(true);
  });

  it("throws ConfigError saying the key 'does not match' when another root key file is given", async () => {
    await initStore(paths);
    const otherKey = join(root, 'other.key');
    writeRootKey(otherKey, generateKey());

    const error = await rejectionOf(ConfigError, openStore(storePaths(paths.dataDir, otherKey)));

    expect(error.message).toContain('does not match');
    expect(error.message).toContain(otherKey);
  });

  it('refuses a root key file that group or others can read', async () => {
    await initStore(paths);
    chmodSync(paths.rootKeyPath, 0o644);

    const error = await rejectionOf(ConfigError, openStore(paths));

    expect(error.message).toContain(paths.rootKeyPath);
  });

  it('refuses a data dir that group or others can enter', async () => {
    await initStore(paths);
    chmodSync(paths.dataDir, 0o755);

    const error = await rejectionOf(ConfigError, openStore(paths));

    expect(error.message).toContain(paths.dataDir);
  });

  it('refuses a data dir that does not exist', async () => {
    await expect(openStore(paths)).rejects.toThrow(ConfigError);
  });

  it('refuses when the database is missing but the root key exists', async () => {
    await initStore(paths);
    unlinkSync(paths.dbPath);

    await expect(openStore(paths)).rejects.toThrow(ConfigError);
  });

  it('refuses when the root key file is missing', async () => {
    await initStore(paths);
    unlinkSync(paths.rootKeyPath);

    await expect(openStore(paths)).rejects.toThrow(ConfigError);
  });
});

describe('ensureDataDir', () => {
  it('creates the dir with mode 0700 when asked to', () => {
    const dir = join(root, 'nested', 'dir');

    ensureDataDir(dir, true);

    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a path that is a file', () => {
    const file = join(root, 'file');
    writeRootKey(file, generateKey());

    expect(() => ensureDataDir(file, false)).toThrow(ConfigError);
  });
});
