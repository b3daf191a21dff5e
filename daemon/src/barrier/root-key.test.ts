import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, IntegrityError } from '../errors.js';
import { loadRootKey, openKeyring, sealDataKey, writeRootKey } from './root-key.js';
import { generateKey } from './secretbox-barrier.js';
import { thrownBy } from '../../../test/support/thrown.js';
import { tempDirPerTest } from '../../../test/support/temp-dir.js';

const temp = tempDirPerTest('credd-root-key-');

describe('loadRootKey', () => {
  it('returns the key written by writeRootKey', () => {
    const path = join(temp.path, 'root.key');
    const key = generateKey();
    writeRootKey(path, key);

    const loaded = loadRootKey(path);

    expect(Buffer.from(loaded)).toEqual(Buffer.from(key));
  });

  it('refuses a file group or others can read, naming the path, the mode and the fix', () => {
    const path = join(temp.path, 'root.key');
    writeRootKey(path, generateKey());
    chmodSync(path, 0o644);

    const error = thrownBy(Error, () => loadRootKey(path));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(path);
    expect(error.message).toContain('0644');
    expect(error.message).toContain(`chmod 600 ${path}`);
  });

  it('refuses a file that only the group can read', () => {
    const path = join(temp.path, 'root.key');
    writeRootKey(path, generateKey());
    chmodSync(path, 0o640);

    expect(() => loadRootKey(path)).toThrow(ConfigError);
  });

  it('throws ConfigError saying the file is missing when it does not exist', () => {
    const path = join(temp.path, 'absent.key');

    expect(() => loadRootKey(path)).toThrow(ConfigError);
    expect(() => loadRootKey(path)).toThrow(/missing/);
  });

  it.each([
    ['16 bytes', Buffer.alloc(16, 1).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
    ['nothing', ''],
  ])('throws ConfigError without echoing the content when the file holds %s', (_label, content) => {
    const path = join(temp.path, 'root.key');
    writeFileSync(path, `${content}\n`, { mode: 0o600 });

    const error = thrownBy(Error, () => loadRootKey(path));

    expect(error).toBeInstanceOf(ConfigError);
    if (content) expect(error.message).not.toContain(content);
  });
});

describe('writeRootKey', () => {
  it('creates the file with mode 0600 and refuses to overwrite it', () => {
    const path = join(temp.path, 'root.key');

    writeRootKey(path, generateKey());

    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeRootKey(path, generateKey())).toThrow();
  });
});

describe('openKeyring', () => {
  it('returns every data key by term when the rows are intact', () => {
    const rootKey = generateKey();
    const keys = [generateKey(), generateKey()];
    const rows = keys.map((key, i) => ({ term: i + 1, sealedKey: sealDataKey(rootKey, i + 1, key) }));

    const keyring = openKeyring(rootKey, rows);

    expect(keyring.activeTerm).toBe(2);
    expect(Buffer.from(keyring.find(1)!)).toEqual(Buffer.from(keys[0]!));
    expect(Buffer.from(keyring.find(2)!)).toEqual(Buffer.from(keys[1]!));
  });

  it("throws IntegrityError when term 1's sealed key was copied onto term 2", () => {
    const rootKey = generateKey();
    const term1 = sealDataKey(rootKey, 1, generateKey());

    expect(() => openKeyring(rootKey, [{ term: 1, sealedKey: term1 }, { term: 2, sealedKey: term1 }])).toThrow(IntegrityError);
  });

  it('throws IntegrityError when the rows were sealed under another root key', () => {
    const rows = [{ term: 1, sealedKey: sealDataKey(generateKey(), 1, generateKey()) }];

    expect(() => openKeyring(generateKey(), rows)).toThrow(IntegrityError);
  });
});
